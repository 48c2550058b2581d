//! `kmsctl bench`: a closed-loop KMIP load generator.
//!
//! A run has three phases: setup (the fixture: keys the workload reads, made over parallel
//! connections), warm-up (load that is counted apart), and measurement (until a duration is
//! over or a number of iterations is done, or the run is interrupted). Each of the
//! `connections` workers sends its next request as soon as the previous one is answered
//! ("closed loop"), so the offered load adapts to the server and the latency percentiles are
//! those of a server kept busy by exactly that many clients.
//!
//! - [`Args`]: the command line, validated by [`Args::plan`] into a [`Plan`].
//! - [`run`]: carries out a plan and returns a [`Report`] (also `Serialize`, for `--json`).
//! - [`probe`]: the server's versions and vendor, asked before the run.
//! - [`populate`]: `bench populate` and `bench ready`, the scale test's client steps.
//! - [`workload`]: what each workload sends (standard KMIP only).
//! - [`report`]: counting, percentiles, the report's text and JSON forms.
//! - [`cpu`]: where the CPU went during the measurement (server, load tool, idle).

mod args;
pub mod cpu;
pub mod populate;
pub mod probe;
pub mod report;
pub mod workload;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

pub use args::{
    Args, BenchCommand, MAX_CONNECTIONS, MAX_KEYS, TlsChoice, Toggle, Tool, parse_duration,
};
pub use probe::{ServerFacts, VersionChoice};
pub use report::{Handshakes, Latency, OperationReport, Report};
pub use workload::Workload;

use crate::config::ClientConfig;
use crate::connection::Connector;
use crate::error::{ClientError, Result};
use report::{Failure, Live, Recorder, RunFacts, Sink};
use workload::Worker;

/// When measurement ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this long (an iteration in flight at the end still completes and counts).
    After(Duration),
    /// After this many workload iterations.
    Requests(u64),
}

/// A validated run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How to reach the server (its protocol version is the one the probe speaks).
    pub settings: ClientConfig,
    /// The protocol version of the run, fixed or negotiated after the probe.
    pub version: VersionChoice,
    /// What to send.
    pub workload: Workload,
    /// Concurrent connections (workers).
    pub connections: usize,
    /// When measurement ends.
    pub stop: Stop,
    /// Load sent before measuring.
    pub warmup: Duration,
    /// Keys the setup creates (workloads that read keys).
    pub keys: usize,
    /// Print a progress line on stderr every second.
    pub progress: bool,
    /// The server's process, when known: its CPU time is reported per operation.
    pub server_pid: Option<u32>,
}

/// Carries out `plan`: setup, warm-up, measurement. `interrupt` ends the run early (the
/// report then covers what was measured so far); pass `std::future::pending()` for none.
///
/// A server that answers but cannot serve the workload (a protocol version it does not speak,
/// a KMIP refusal during setup) gives a report with `unsupported` set, not an error.
///
/// Errors: the connector could not be built (certificate files), the server could not be
/// reached, or the setup failed otherwise (the first error, e.g. a broken connection).
/// Failures during warm-up and measurement are counted in the report instead.
pub async fn run(plan: Plan, interrupt: impl Future<Output = ()>) -> Result<Report> {
    let server = probe::probe(&Connector::new(plan.settings.clone())?).await?;
    let mut facts = RunFacts {
        workload: plan.workload,
        protocol: plan.settings.protocol_version.to_string(),
        connections: plan.connections,
        setup_keys: 0,
        warmup: plan.warmup,
        measured: Duration::ZERO,
        server,
    };
    let mut settings = plan.settings.clone();
    match probe::choose(plan.version, &facts.server) {
        Ok(version) => settings.protocol_version = version,
        Err(why) => return Ok(Report::unsupported(facts, why)),
    }
    facts.protocol = settings.protocol_version.to_string();
    if plan.progress {
        eprintln!(
            "server: {}; KMIP {}",
            facts
                .server
                .vendor
                .as_deref()
                .unwrap_or("(no vendor given)"),
            facts.protocol
        );
    }
    let connector = Connector::new(settings.clone())?;
    if plan.progress && plan.workload.needs_keys() {
        eprintln!("setup: creating and activating {} keys", plan.keys);
    }
    let fixture =
        match workload::setup(plan.workload, &connector, plan.keys, plan.connections).await {
            Ok(fixture) => Arc::new(fixture),
            // The server answered and refused: it does not serve this workload.
            Err(e @ ClientError::Kmip { .. }) => {
                return Ok(Report::unsupported(
                    facts,
                    format!("setup: {}", Failure::Client(e).kind()),
                ));
            }
            Err(e) => return Err(e),
        };
    facts.setup_keys = fixture.uids.len();
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        tickets: AtomicU64::new(match plan.stop {
            Stop::Requests(n) => n,
            Stop::After(_) => 0,
        }),
        live: Live::default(),
    });
    let end = match plan.stop {
        Stop::After(d) => Some(measure_from + d),
        Stop::Requests(_) => None,
    };
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.connections {
        // Each vCenter is a client of its own, with its own TLS session cache: sharing one
        // would cap resumption at rustls's 8 TLS 1.3 tickets per server name.
        let connector = match plan.workload {
            Workload::Vcenter => Connector::new(settings.clone())?,
            _ => connector.clone(),
        };
        let worker = Worker::new(plan.workload, connector, Arc::clone(&fixture));
        workers.spawn(work(worker, Arc::clone(&shared), measure_from, end));
    }
    let progress = plan
        .progress
        .then(|| tokio::spawn(report_progress(Arc::clone(&shared), started, measure_from)));
    let server_pid = plan.server_pid;
    let cpu_at_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        cpu::sample(server_pid)
    });
    let collect = async {
        let mut total = Recorder::default();
        let mut last_done = Instant::now();
        while let Some(joined) = workers.join_next().await {
            let recorder = joined.map_err(|_| ClientError::Config("a bench worker panicked"))?;
            total.merge(recorder);
            last_done = Instant::now();
        }
        Ok::<_, ClientError>((total, last_done))
    };
    let mut collect = std::pin::pin!(collect);
    let mut interrupt = std::pin::pin!(interrupt);
    let (total, last_done) = tokio::select! {
        done = &mut collect => done?,
        () = &mut interrupt => {
            shared.stop.store(true, Ordering::Relaxed);
            collect.await?
        }
    };
    if let Some(task) = progress {
        task.abort();
    }
    facts.measured = last_done.saturating_duration_since(measure_from);
    let cpu_at_end = cpu::sample(server_pid);
    let cpu_at_start = if cpu_at_start.is_finished() {
        cpu_at_start.await.ok().flatten()
    } else {
        // Interrupted during the warm-up: nothing was measured.
        cpu_at_start.abort();
        None
    };
    let mut report = Report::new(facts, total);
    report.cpu = match (cpu_at_start, cpu_at_end) {
        (Some(start), Some(end)) => {
            cpu::report(&start, &end, server_pid, report.ok, report.measured_secs)
        }
        _ => None,
    };
    Ok(report)
}

/// What the workers share.
#[derive(Debug)]
struct Shared {
    /// Set on interrupt.
    stop: AtomicBool,
    /// Iterations left to measure (`Stop::Requests`).
    tickets: AtomicU64,
    live: Live,
}

impl Shared {
    /// Takes one iteration ticket; false when none is left.
    fn take_ticket(&self) -> bool {
        self.tickets
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A worker's loop: iterate until the end, the last ticket or an interrupt.
async fn work(
    mut worker: Worker,
    shared: Arc<Shared>,
    measure_from: Instant,
    end: Option<Instant>,
) -> Recorder {
    let mut recorder = Recorder::default();
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let measuring = now >= measure_from;
        match end {
            Some(end) if now >= end => break,
            None if measuring && !shared.take_ticket() => break,
            Some(_) | None => {}
        }
        let mut sink = Sink::new(&mut recorder, &shared.live, measuring);
        worker.iterate(&mut sink).await;
    }
    recorder
}

/// Prints one line per second on stderr: phase, elapsed time, totals and rates.
async fn report_progress(shared: Arc<Shared>, started: Instant, measure_from: Instant) {
    let mut tick =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    let (mut ok_before, mut errors_before) = (0, 0);
    loop {
        let now = tick.tick().await;
        let ok = shared.live.ok.load(Ordering::Relaxed);
        let errors = shared.live.errors.load(Ordering::Relaxed);
        // The phase of the second that just ended.
        let phase = if now <= measure_from {
            "warm-up"
        } else {
            "measure"
        };
        eprintln!(
            "[{:>4}s {phase}] {ok} ok ({}/s), {errors} errors ({}/s)",
            now.saturating_duration_since(started).as_secs(),
            ok.saturating_sub(ok_before),
            errors.saturating_sub(errors_before),
        );
        (ok_before, errors_before) = (ok, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_run_out_exactly() {
        let shared = Shared {
            stop: AtomicBool::new(false),
            tickets: AtomicU64::new(2),
            live: Live::default(),
        };
        assert!(shared.take_ticket());
        assert!(shared.take_ticket());
        assert!(!shared.take_ticket());
        assert!(!shared.take_ticket());
    }
}
