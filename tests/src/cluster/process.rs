//! `kmsd serve` processes: finding the binary, spawning one node with its own SoftHSM2
//! configuration and log file, and ending it with SIGKILL or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::setup::{remove_kmsd_overrides, tail};
use crate::error::Error;

/// Time a node has to exit after SIGTERM before it is killed (and the stop reported failed).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for a killed process to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// The line the fixture writes into a node's log before each start, followed by the start's
/// number.
const START_MARKER: &str = "==== kms_tests::cluster: start #";

/// The `kmsd` binary of the same build as this test binary: `<target>/<profile>/kmsd`, the
/// test binary being `<target>/<profile>/deps/<name>-<hash>`.
pub fn kmsd_path() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        what: "finding the test binary",
        source,
    })?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| missing(&exe))?;
    let kmsd = profile_dir.join("kmsd");
    if kmsd.is_file() {
        Ok(kmsd)
    } else {
        Err(missing(&kmsd))
    }
}

fn missing(path: &Path) -> Error {
    Error::Command {
        command: "kmsd".to_owned(),
        detail: format!(
            "no binary at {}: the cluster tests run real kmsd processes; build it first with \
             `cargo build -p server --bin kmsd` (same profile as the tests), or run \
             `cargo test --workspace --all-targets`",
            path.display()
        ),
    }
}

/// Starts `kmsd serve --config <config>` with `SOFTHSM2_CONF=<softhsm_conf>` and
/// `RUST_LOG=info`, its stdout and stderr appended to `log`. The process is killed if the
/// handle is dropped.
pub fn spawn(
    kmsd: &Path,
    config: &Path,
    softhsm_conf: &Path,
    log: &Path,
    start_number: u32,
) -> Result<Child, Error> {
    let file_error = |source| Error::File {
        what: "opening the node log",
        path: log.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(file_error)?;
    {
        use std::io::Write;
        writeln!(file, "{START_MARKER}{start_number} ====").map_err(file_error)?;
    }
    let stderr = file.try_clone().map_err(file_error)?;
    let mut cmd = Command::new(kmsd);
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .env(softhsm_support::SOFTHSM2_CONF, softhsm_conf)
        .env("RUST_LOG", "info")
        // Plain text in the log file (tracing-subscriber colours by default).
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    remove_kmsd_overrides(&mut cmd);
    cmd.spawn().map_err(|source| Error::Io {
        what: "spawning kmsd serve",
        source,
    })
}

/// SIGKILL, then reaps the process.
pub async fn kill9(child: &mut Child) -> Result<(), Error> {
    // Fails only when the process already exited, which is what we want anyway.
    let _ = child.start_kill();
    tokio::time::timeout(REAP_TIMEOUT, child.wait())
        .await
        .map_err(|_| Error::Timeout {
            what: "a SIGKILLed kmsd to be reaped".to_owned(),
            secs: REAP_TIMEOUT.as_secs(),
        })?
        .map_err(|source| Error::Io {
            what: "reaping kmsd",
            source,
        })?;
    Ok(())
}

/// SIGSTOP (`pause`) or SIGCONT (`!pause`): the process freezes or goes on. A frozen node's
/// kernel still accepts TCP connections on its listeners (as under `docker pause`); nothing
/// answers on them.
pub fn freeze(child: &Child, pause: bool) -> Result<(), Error> {
    let signal = if pause {
        Signal::SIGSTOP
    } else {
        Signal::SIGCONT
    };
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| Error::Command {
            command: "kmsd".to_owned(),
            detail: "the process has exited".to_owned(),
        })?;
    kill(Pid::from_raw(pid), signal).map_err(|e| Error::Io {
        what: "signalling kmsd",
        source: std::io::Error::from(e),
    })
}

/// SIGTERM, then waits up to [`STOP_TIMEOUT`] for the exit. Returns whether the process exited
/// on its own with success; when it did not exit in time it is killed and `Ok(false)` returned.
pub async fn terminate(child: &mut Child) -> Result<bool, Error> {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(status) => Ok(status
            .map_err(|source| Error::Io {
                what: "waiting for kmsd",
                source,
            })?
            .success()),
        Err(_) => {
            kill9(child).await?;
            Ok(false)
        }
    }
}

/// The last `lines` lines of a node's log file (or why it cannot be read).
pub fn log_tail(log: &Path, lines: usize) -> String {
    match std::fs::read(log) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("(no log at {}: {e})", log.display()),
    }
}

/// A node's log after the fixture's last start marker.
pub fn log_since_start(log: &Path) -> String {
    let text = match std::fs::read(log) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return format!("(no log at {}: {e})", log.display()),
    };
    match text.rfind(START_MARKER) {
        Some(at) => text[at..].to_owned(),
        None => text,
    }
}
