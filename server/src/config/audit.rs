//! The settings of the audit trail (`[audit]`): the writer's, the disk watermark's and the
//! aggregation of refused connections. They are parsed and checked once at start
//! (`config/raw.rs`); the audit layer (`crate::audit`) takes them as they are.

use std::path::PathBuf;
use std::time::Duration;

/// Default segment size before rotation.
pub const DEFAULT_SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Smallest segment size accepted (one record must fit comfortably).
pub const MIN_SEGMENT_BYTES: u64 = 4096;
/// Most audit queries allowed to run at once (each holds a blocking thread).
pub const MAX_CONCURRENT_QUERIES: usize = 64;
/// Default of `audit.max_concurrent_queries`: one query at a time (per node).
pub const DEFAULT_MAX_CONCURRENT_QUERIES: usize = 1;
/// Longest log name (a field of every record).
const MAX_LOG_NAME: usize = audit_log::MAX_FIELD_LEN;

/// Default of `audit.min_free_bytes`: 1 GiB, room for some two million records at the ~450
/// bytes a typical record takes.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 1 << 30;
/// Default of `audit.min_free_percent`.
pub const DEFAULT_MIN_FREE_PERCENT: u8 = 5;

/// Default of `audit.refusal_interval_secs`.
pub const DEFAULT_REFUSAL_INTERVAL: Duration = Duration::from_secs(10);
/// Default of `audit.refusal_keys`.
pub const DEFAULT_REFUSAL_KEYS: usize = 64;

/// Settings of the audit trail's writer (the `[audit]` section of the server configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditConfig {
    /// The name of this node's log (the node name); every record and checkpoint carries it.
    pub log: String,
    /// A segment is closed and a new one started past this many bytes (and at every
    /// checkpoint).
    pub segment_bytes: u64,
    /// Keep at least this many segments, deleting older ones only where a signed checkpoint
    /// ends a segment (0: keep everything).
    pub retain_segments: usize,
    /// Remove segments last written more than this many days ago (0: no age limit), at
    /// checkpoint boundaries like `retain_segments`.
    pub retain_days: u32,
    /// Remove the oldest segments while all of them take more than this many bytes (0: no
    /// size limit), at checkpoint boundaries.
    pub retain_bytes: u64,
    /// Move removed segments here instead of deleting them.
    pub archive_dir: Option<PathBuf>,
    /// Audit record queries (admin API) that run at once, each on a blocking thread; more
    /// wait their turn, one per tenant (`crate::audit::query::QueryGate`).
    pub max_concurrent_queries: usize,
    /// Free space under the directory below which an alert is raised.
    pub watermark: DiskWatermark,
}

impl AuditConfig {
    /// Defaults for log `log`: 16 MiB segments, keep everything, one query at a time, the
    /// default watermark.
    pub fn new(log: impl Into<String>) -> Self {
        Self {
            log: log.into(),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            retain_segments: 0,
            retain_days: 0,
            retain_bytes: 0,
            archive_dir: None,
            max_concurrent_queries: DEFAULT_MAX_CONCURRENT_QUERIES,
            watermark: DiskWatermark::default(),
        }
    }

    /// Checks the values; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.log.is_empty() || self.log.len() > MAX_LOG_NAME {
            return Err("the log name must be 1 to 1024 bytes");
        }
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err("segment_bytes must be at least 4096");
        }
        if !(1..=MAX_CONCURRENT_QUERIES).contains(&self.max_concurrent_queries) {
            return Err("max_concurrent_queries must be between 1 and 64");
        }
        if self.watermark.min_free_percent > 100 {
            return Err("min_free_percent must be 0 to 100");
        }
        Ok(())
    }
}

/// When free space under the audit directory counts as low: below `min_free_bytes`, or below
/// `min_free_percent` of the file system's size, whichever is reached first. 0 turns a limit
/// off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskWatermark {
    /// Alert below this many free bytes.
    pub min_free_bytes: u64,
    /// Alert below this share of the file system, in percent (0 to 100).
    pub min_free_percent: u8,
}

impl Default for DiskWatermark {
    fn default() -> Self {
        Self {
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            min_free_percent: DEFAULT_MIN_FREE_PERCENT,
        }
    }
}

/// How connections refused before authentication are aggregated in the trail (`[audit]`,
/// see `docs/SECURITY.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusalSettings {
    /// Length of an aggregation interval.
    pub interval: Duration,
    /// Most (source, reason) keys known at a time; refusals of further ones are counted per
    /// reason only.
    pub max_keys: usize,
}

impl Default for RefusalSettings {
    fn default() -> Self {
        Self {
            interval: DEFAULT_REFUSAL_INTERVAL,
            max_keys: DEFAULT_REFUSAL_KEYS,
        }
    }
}
