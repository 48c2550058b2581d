//! What a run counts and the final report: successful operations with their latencies
//! (HdrHistogram, microseconds, 3 significant digits), failures by kind, handshakes.
//!
//! Each worker records into its own [`Recorder`] (no lock on the hot path); the recorders
//! are merged when the workers are done. [`Live`] holds the two atomic counters the progress
//! line reads while the run goes on.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::probe::ServerFacts;
use super::workload::Workload;
use crate::error::{ClientError, Result};

/// Highest latency the histograms tell apart (10 minutes, in microseconds); slower
/// operations are recorded as this value.
pub const MAX_LATENCY_US: u64 = 600_000_000;

/// Prefix of the failure kinds that are a KMIP answer (the server refused the request).
pub const KMIP_KIND: &str = "kmip: ";

/// Why one operation did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The client library's error (transport, TLS, KMIP failure status...).
    Client(ClientError),
    /// The answer was a success but not what the workload needs (a Locate finding nothing).
    Check(&'static str),
}

impl Failure {
    /// The kind failures are counted under: stable, short, and free of message bytes.
    pub fn kind(&self) -> String {
        let e = match self {
            Self::Check(what) => return format!("check: {what}"),
            Self::Client(e) => e,
        };
        match e {
            ClientError::Io { step, source } => format!("io: {step}: {:?}", source.kind()),
            ClientError::Tls(_) => "tls".to_owned(),
            ClientError::Timeout { step, .. } => format!("timeout: {step}"),
            ClientError::Closed { .. } => "closed by server".to_owned(),
            ClientError::Broken => "connection broken".to_owned(),
            ClientError::Codec(_) => "bad response".to_owned(),
            ClientError::Kmip {
                operation, reason, ..
            } => {
                let op = operation.name().unwrap_or("?");
                let reason = reason.map_or("no reason", |r| r.name().unwrap_or("?"));
                format!("{KMIP_KIND}{op}: {reason}")
            }
            ClientError::UnexpectedResponse(what) => format!("unexpected response: {what}"),
            ClientError::NotInVersion { operation, version } => {
                format!("not in KMIP {version}: {}", operation.name().unwrap_or("?"))
            }
            ClientError::ReadFile { .. }
            | ClientError::MissingPem { .. }
            | ClientError::ServerName(_)
            | ClientError::Config(_)
            | ClientError::ConfigFile { .. }
            | ClientError::WriteFile { .. }
            | ClientError::Usage(_) => "configuration".to_owned(),
            // The bench speaks KMIP only; kept exhaustive so a new variant is classified.
            ClientError::Admin { .. } | ClientError::Http { .. } | ClientError::Json(_) => {
                "admin API".to_owned()
            }
            ClientError::Audit(_) => "audit data".to_owned(),
            ClientError::Bundle(_) => "bundle".to_owned(),
            ClientError::Backup(_) => "backup".to_owned(),
            ClientError::TransferKey(_) => "migration transfer key".to_owned(),
        }
    }

    /// True when the connection is gone or never came (not a KMIP answer).
    pub fn is_transport(&self) -> bool {
        match self {
            Self::Check(_) => false,
            Self::Client(e) => match e {
                ClientError::Io { .. }
                | ClientError::Tls(_)
                | ClientError::Timeout { .. }
                | ClientError::Closed { .. }
                | ClientError::Broken
                | ClientError::Codec(_) => true,
                ClientError::Kmip { .. }
                | ClientError::UnexpectedResponse(_)
                | ClientError::NotInVersion { .. }
                | ClientError::ReadFile { .. }
                | ClientError::MissingPem { .. }
                | ClientError::ServerName(_)
                | ClientError::Config(_)
                | ClientError::ConfigFile { .. }
                | ClientError::WriteFile { .. }
                | ClientError::Usage(_)
                | ClientError::Admin { .. }
                | ClientError::Json(_)
                | ClientError::Audit(_)
                | ClientError::Bundle(_)
                | ClientError::Backup(_)
                | ClientError::TransferKey(_) => false,
                ClientError::Http { .. } => true,
            },
        }
    }
}

/// Counters read by the progress line while workers run (warm-up included).
#[derive(Debug, Default)]
pub struct Live {
    /// Successful operations so far.
    pub ok: AtomicU64,
    /// Failed operations so far.
    pub errors: AtomicU64,
}

/// TLS handshakes of the `vcenter` workload, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Handshakes {
    /// Full handshakes.
    pub full: u64,
    /// Resumed sessions.
    pub resumed: u64,
}

/// One worker's counts.
#[derive(Debug, Default)]
pub struct Recorder {
    latencies: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    handshakes: Handshakes,
    warmup_ok: u64,
    warmup_errors: u64,
}

impl Recorder {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Recorder) {
        for (name, h) in other.latencies {
            match self.latencies.entry(name) {
                Entry::Vacant(v) => {
                    v.insert(h);
                }
                Entry::Occupied(mut o) => {
                    // Every histogram has the same bounds, so adding cannot fail.
                    let _same_bounds = o.get_mut().add(&h);
                }
            }
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.handshakes.full += other.handshakes.full;
        self.handshakes.resumed += other.handshakes.resumed;
        self.warmup_ok += other.warmup_ok;
        self.warmup_errors += other.warmup_errors;
    }
}

/// Where a worker reports the outcome of each operation: warm-up operations are only
/// counted, measured ones recorded.
#[derive(Debug)]
pub struct Sink<'a> {
    recorder: &'a mut Recorder,
    live: &'a Live,
    measuring: bool,
    transport_failed: bool,
}

impl<'a> Sink<'a> {
    /// A sink for one iteration.
    pub fn new(recorder: &'a mut Recorder, live: &'a Live, measuring: bool) -> Self {
        Self {
            recorder,
            live,
            measuring,
            transport_failed: false,
        }
    }

    /// Records `result` of operation `name` started at `started`; returns the value on
    /// success.
    pub fn outcome<T>(
        &mut self,
        name: &'static str,
        started: Instant,
        result: Result<T>,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.succeeded(name, started.elapsed());
                Some(value)
            }
            Err(e) => {
                self.failed(Failure::Client(e));
                None
            }
        }
    }

    fn succeeded(&mut self, name: &'static str, latency: Duration) {
        self.live.ok.fetch_add(1, Ordering::Relaxed);
        if !self.measuring {
            self.recorder.warmup_ok += 1;
            return;
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let h = match self.recorder.latencies.entry(name) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => match Histogram::new_with_bounds(1, MAX_LATENCY_US, 3) {
                Ok(h) => v.insert(h),
                // Constant, valid bounds: not reached.
                Err(_) => return,
            },
        };
        h.saturating_record(us.max(1));
    }

    /// Counts a failure under its kind.
    pub fn failed(&mut self, failure: Failure) {
        self.live.errors.fetch_add(1, Ordering::Relaxed);
        self.transport_failed |= failure.is_transport();
        if self.measuring {
            *self.recorder.errors.entry(failure.kind()).or_default() += 1;
        } else {
            self.recorder.warmup_errors += 1;
        }
    }

    /// Counts a completed handshake.
    pub fn handshake(&mut self, resumed: bool) {
        if self.measuring {
            let h = &mut self.recorder.handshakes;
            if resumed {
                h.resumed += 1;
            } else {
                h.full += 1;
            }
        }
    }

    /// Whether a transport failure happened since the last call.
    pub fn take_transport_failure(&mut self) -> bool {
        std::mem::take(&mut self.transport_failed)
    }
}

/// Latency summary, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        Self {
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// One timed operation's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OperationReport {
    /// Its name (`Get`, `Create`, ...).
    pub name: String,
    /// Successes.
    pub ok: u64,
    /// Successes per second of measurement.
    pub ops_per_sec: f64,
    /// Latency of the successes.
    pub latency_us: Latency,
}

/// The final report of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The workload.
    pub workload: Workload,
    /// The KMIP protocol version spoken.
    pub protocol: String,
    /// Concurrent connections (workers).
    pub connections: usize,
    /// Keys the setup created.
    pub setup_keys: usize,
    /// Warm-up length, seconds.
    pub warmup_secs: f64,
    /// Measured time, seconds (from the end of warm-up until the last worker stopped).
    pub measured_secs: f64,
    /// Successful operations measured.
    pub ok: u64,
    /// Failed operations measured.
    pub errors: u64,
    /// `ok` per second.
    pub ops_per_sec: f64,
    /// Latency of all successful operations together.
    pub latency_us: Latency,
    /// Per operation.
    pub operations: Vec<OperationReport>,
    /// Failures by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Handshakes (`vcenter` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshakes: Option<Handshakes>,
    /// Successes during warm-up (not in the figures above).
    pub warmup_ok: u64,
    /// Failures during warm-up.
    pub warmup_errors: u64,
    /// Vendor Identification the server gave to Query, if any.
    pub server_vendor: Option<String>,
    /// Versions the server listed in Discover Versions, its preference first (empty when it
    /// did not answer).
    pub server_versions: Vec<String>,
    /// Set when the server cannot serve this workload: the KMIP refusal of the setup or of
    /// every measured operation (`kmip: Locate: OperationNotSupported`), or a protocol
    /// version it does not speak. The counts are then zero or errors only.
    pub unsupported: Option<String>,
    /// Where the CPU went while measuring (`None` where `/proc` cannot be read).
    pub cpu: Option<super::cpu::CpuReport>,
}

/// What the report says about the run besides the counts.
#[derive(Clone, Debug)]
pub struct RunFacts {
    /// The workload.
    pub workload: Workload,
    /// The protocol version.
    pub protocol: String,
    /// Connections.
    pub connections: usize,
    /// Keys made by the setup.
    pub setup_keys: usize,
    /// Warm-up.
    pub warmup: Duration,
    /// Measured time.
    pub measured: Duration,
    /// What the probe learnt about the server.
    pub server: ServerFacts,
}

impl Report {
    /// The report of `recorder` (all workers merged).
    pub fn new(facts: RunFacts, recorder: Recorder) -> Self {
        let secs = facts.measured.as_secs_f64();
        let rate = |n: u64| {
            if secs > 0.0 { n as f64 / secs } else { 0.0 }
        };
        let mut all: Option<Histogram<u64>> = None;
        let mut operations = Vec::new();
        for (name, h) in &recorder.latencies {
            operations.push(OperationReport {
                name: (*name).to_owned(),
                ok: h.len(),
                ops_per_sec: rate(h.len()),
                latency_us: Latency::of(h),
            });
            match &mut all {
                None => all = Some(h.clone()),
                Some(a) => {
                    let _same_bounds = a.add(h);
                }
            }
        }
        let ok = all.as_ref().map_or(0, Histogram::len);
        let errors = recorder.errors.values().sum();
        // Nothing succeeded and the server answered every time, refusing: it does not serve
        // this workload (the most frequent refusal says why).
        let unsupported =
            (ok == 0 && errors > 0 && recorder.errors.keys().all(|k| k.starts_with(KMIP_KIND)))
                .then(|| {
                    recorder
                        .errors
                        .iter()
                        .max_by_key(|(_, n)| **n)
                        .map(|(k, _)| k.clone())
                })
                .flatten();
        Self {
            workload: facts.workload,
            protocol: facts.protocol,
            connections: facts.connections,
            setup_keys: facts.setup_keys,
            warmup_secs: facts.warmup.as_secs_f64(),
            measured_secs: secs,
            ok,
            errors,
            ops_per_sec: rate(ok),
            latency_us: all.as_ref().map(Latency::of).unwrap_or_default(),
            operations,
            error_kinds: recorder.errors,
            handshakes: (facts.workload == Workload::Vcenter).then_some(recorder.handshakes),
            warmup_ok: recorder.warmup_ok,
            warmup_errors: recorder.warmup_errors,
            server_vendor: facts.server.vendor,
            server_versions: facts
                .server
                .versions
                .iter()
                .map(ToString::to_string)
                .collect(),
            unsupported,
            cpu: None,
        }
    }

    /// The report of a run that did not load the server because it cannot serve the
    /// workload: `why` is the KMIP refusal of the setup or the version mismatch.
    pub fn unsupported(facts: RunFacts, why: String) -> Self {
        let mut report = Self::new(facts, Recorder::default());
        report.unsupported = Some(why);
        report
    }
}

/// Microseconds as milliseconds with three decimals.
fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} ms  p99 {} ms  p99.9 {} ms  max {} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let workload = serde_json::to_value(self.workload)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        writeln!(
            f,
            "workload {workload}, KMIP {}, {} connections, {:.1} s measured after {:.1} s warm-up",
            self.protocol, self.connections, self.measured_secs, self.warmup_secs
        )?;
        if let Some(vendor) = &self.server_vendor {
            writeln!(f, "  server: {vendor}")?;
        }
        writeln!(
            f,
            "  {} ok, {} errors, {:.1} ops/s",
            self.ok, self.errors, self.ops_per_sec
        )?;
        writeln!(f, "  latency: {}", self.latency_us)?;
        if self.operations.len() > 1 {
            for op in &self.operations {
                writeln!(
                    f,
                    "  {:<16} {:>9} ok {:>9.1}/s  {}",
                    op.name, op.ok, op.ops_per_sec, op.latency_us
                )?;
            }
        }
        if let Some(why) = &self.unsupported {
            writeln!(f, "  unsupported by the server: {why}")?;
        }
        if let Some(h) = self.handshakes {
            writeln!(f, "  handshakes: {} full, {} resumed", h.full, h.resumed)?;
        }
        if let Some(cpu) = &self.cpu {
            let server = match (cpu.server_us_per_op, cpu.server_cores, cpu.server_pid) {
                (Some(us), Some(cores), Some(pid)) => {
                    format!("server (pid {pid}) {us:.1} us/op on {cores:.2} cores, ")
                }
                _ => "server not measured (not on this machine, or this process), ".to_owned(),
            };
            writeln!(
                f,
                "  cpu: {server}load tool {:.1} us/op on {:.2} cores, machine {:.0} % idle of {} cores",
                cpu.tool_us_per_op,
                cpu.tool_cores,
                cpu.machine_idle_share * 100.0,
                cpu.cores
            )?;
        }
        for (kind, n) in &self.error_kinds {
            writeln!(f, "  error {kind}: {n}")?;
        }
        write!(
            f,
            "  warm-up: {} ok, {} errors; setup made {} keys",
            self.warmup_ok, self.warmup_errors, self.setup_keys
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip_codec::enums::{Operation, ResultReason, ResultStatus};

    fn kmip_failure() -> Failure {
        Failure::Client(ClientError::Kmip {
            operation: Operation::GET,
            status: ResultStatus::OPERATION_FAILED,
            reason: Some(ResultReason::ITEM_NOT_FOUND),
            message: Some("secret detail".to_owned()),
        })
    }

    #[test]
    fn failures_are_counted_by_kind_and_warm_up_apart() {
        let live = Live::default();
        let mut a = Recorder::default();
        let mut sink = Sink::new(&mut a, &live, false);
        sink.outcome(op_name(), Instant::now(), Ok(()));
        sink.failed(kmip_failure());
        let mut sink = Sink::new(&mut a, &live, true);
        sink.failed(kmip_failure());
        assert!(!sink.take_transport_failure());
        sink.failed(Failure::Client(ClientError::Broken));
        assert!(sink.take_transport_failure());
        assert!(!sink.take_transport_failure());
        let mut b = Recorder::default();
        let mut sink = Sink::new(&mut b, &live, true);
        sink.failed(kmip_failure());
        for _ in 0..3 {
            sink.outcome(op_name(), Instant::now(), Ok(()));
        }
        sink.handshake(true);
        a.merge(b);
        let facts = RunFacts {
            workload: Workload::Vcenter,
            protocol: "1.1".to_owned(),
            connections: 2,
            setup_keys: 0,
            warmup: Duration::ZERO,
            measured: Duration::from_secs(2),
            server: ServerFacts::default(),
        };
        let report = Report::new(facts, a);
        assert_eq!((report.ok, report.errors), (3, 3));
        assert_eq!((report.warmup_ok, report.warmup_errors), (1, 1));
        assert!((report.ops_per_sec - 1.5).abs() < 1e-9);
        assert_eq!(report.error_kinds.get("kmip: Get: ItemNotFound"), Some(&2));
        assert_eq!(report.error_kinds.get("connection broken"), Some(&1));
        assert_eq!(
            report.handshakes,
            Some(Handshakes {
                full: 0,
                resumed: 1
            })
        );
        assert_eq!(live.ok.load(Ordering::Relaxed), 4);
        assert_eq!(live.errors.load(Ordering::Relaxed), 4);
        let text = report.to_string();
        assert!(!text.contains("secret detail"), "{text}");
        assert!(text.contains("3 ok, 3 errors"), "{text}");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["workload"], "vcenter");
        assert_eq!(json["error_kinds"]["kmip: Get: ItemNotFound"], 2);
    }

    #[test]
    fn latencies_are_recorded_in_microseconds() {
        let live = Live::default();
        let mut r = Recorder::default();
        let mut sink = Sink::new(&mut r, &live, true);
        sink.succeeded("Get", Duration::from_micros(1500));
        sink.succeeded("Get", Duration::from_micros(2500));
        sink.succeeded("Create", Duration::from_secs(7200));
        let report = Report::new(
            RunFacts {
                workload: Workload::Mixed,
                protocol: "1.4".to_owned(),
                connections: 1,
                setup_keys: 0,
                warmup: Duration::ZERO,
                measured: Duration::from_secs(1),
                server: ServerFacts::default(),
            },
            r,
        );
        let get = report
            .operations
            .iter()
            .find(|o| o.name == "Get")
            .expect("Get");
        assert_eq!(get.ok, 2);
        assert!((1499..=1501).contains(&get.latency_us.p50), "{get:?}");
        assert!((2498..=2502).contains(&get.latency_us.max), "{get:?}");
        // Beyond the histogram's range: clamped, not lost.
        assert_eq!(report.ok, 3);
        assert!(report.latency_us.max >= MAX_LATENCY_US / 2);
    }

    fn op_name() -> &'static str {
        "Get"
    }
}
