//! Free space under the audit directory, and the watermark that raises an alert well before
//! the trail must fail closed for want of it (a full disk refuses every request: see
//! `docs/AUDIT.md`).
//!
//! The space is that of the file system holding the directory (`statvfs`: the blocks an
//! unprivileged writer may still use). It is sampled by the housekeeping task every
//! [`CHECK_EVERY`], by the writer each time it starts a segment, and by every `/readyz` and
//! `/metrics` call; the newest sample is kept for the metrics. Crossing the watermark either
//! way is logged once (WARN when space runs low, INFO when it is back).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::audit::DiskWatermark;

/// How often the housekeeping task samples the free space.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

/// The space of the file system holding a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes an unprivileged writer may still use.
    pub free_bytes: u64,
    /// Size of the file system.
    pub total_bytes: u64,
}

/// A sample of the audit directory's disk against the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskStatus {
    /// The space; `None` when it could not be read (the directory is gone, or `statvfs`
    /// failed), which counts as low.
    pub space: Option<DiskSpace>,
    /// The watermark it was compared with.
    pub watermark: DiskWatermark,
    /// Whether free space is below the watermark (or unknown).
    pub low: bool,
}

impl DiskSpace {
    /// Whether this space is below `watermark`.
    pub fn is_below(&self, watermark: DiskWatermark) -> bool {
        let percent_floor =
            u128::from(self.total_bytes) * u128::from(watermark.min_free_percent.min(100)) / 100;
        self.free_bytes < watermark.min_free_bytes || u128::from(self.free_bytes) < percent_floor
    }
}

/// Reads the space of the file system holding `dir`.
pub fn space_of(dir: &Path) -> nix::Result<DiskSpace> {
    let st = nix::sys::statvfs::statvfs(dir)?;
    // u64 on the 64-bit Linux targets kmsd is built for
    let fragment = st.fragment_size();
    Ok(DiskSpace {
        free_bytes: st.blocks_available().saturating_mul(fragment),
        total_bytes: st.blocks().saturating_mul(fragment),
    })
}

/// The newest sample, shared by the writer thread, the housekeeping task and the probes.
#[derive(Debug, Default)]
pub(super) struct DiskGauge {
    last: Mutex<Option<DiskStatus>>,
}

impl DiskGauge {
    /// Samples `dir` now, keeps the sample, and logs a crossing of the watermark.
    pub(super) fn sample(&self, dir: &Path, watermark: DiskWatermark) -> DiskStatus {
        let space = match space_of(dir) {
            Ok(space) => Some(space),
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "audit: cannot read the free disk space");
                None
            }
        };
        let status = DiskStatus {
            space,
            watermark,
            low: space.is_none_or(|s| s.is_below(watermark)),
        };
        let was_low = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            last.replace(status).is_some_and(|s| s.low)
        };
        match (was_low, status.low, space) {
            (false, true, Some(s)) => tracing::warn!(
                free_bytes = s.free_bytes,
                total_bytes = s.total_bytes,
                min_free_bytes = watermark.min_free_bytes,
                min_free_percent = watermark.min_free_percent,
                dir = %dir.display(),
                "audit disk space low: free space before the audit trail must refuse requests"
            ),
            (true, false, Some(s)) => tracing::info!(
                free_bytes = s.free_bytes,
                dir = %dir.display(),
                "audit disk space back above the watermark"
            ),
            _ => {}
        }
        status
    }

    /// The newest sample, if any.
    pub(super) fn last(&self) -> Option<DiskStatus> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::{DiskSpace, DiskWatermark};

    const GIB: u64 = 1 << 30;

    fn space(free: u64, total: u64) -> DiskSpace {
        DiskSpace {
            free_bytes: free,
            total_bytes: total,
        }
    }

    #[test]
    fn low_below_either_limit_and_a_zero_limit_is_off() {
        let w = DiskWatermark {
            min_free_bytes: GIB,
            min_free_percent: 5,
        };
        assert!(!space(10 * GIB, 100 * GIB).is_below(w));
        assert!(space(GIB - 1, 10 * GIB).is_below(w), "below the bytes");
        assert!(space(4 * GIB, 100 * GIB).is_below(w), "below 5 %");
        assert!(!space(5 * GIB, 100 * GIB).is_below(w), "at 5 % exactly");
        let off = DiskWatermark {
            min_free_bytes: 0,
            min_free_percent: 0,
        };
        assert!(!space(0, 100 * GIB).is_below(off));
        let huge = DiskWatermark {
            min_free_bytes: u64::MAX,
            min_free_percent: 0,
        };
        assert!(space(u64::MAX - 1, u64::MAX).is_below(huge));
    }

    #[test]
    fn the_space_of_a_real_directory_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = super::space_of(dir.path()).expect("statvfs");
        assert!(s.total_bytes > 0 && s.free_bytes <= s.total_bytes, "{s:?}");
        assert!(super::space_of(&dir.path().join("missing")).is_err());
    }
}
