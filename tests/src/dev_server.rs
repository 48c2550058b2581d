//! `kmsd dev` as a real process: the binary of this build (see [`crate::cluster::kmsd_path`])
//! started in a directory of its own, its stdout and stderr kept in files, stopped with
//! SIGTERM. For tests of what only the binary does: its command line, its banner, its log
//! lines.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::cluster::kmsd_path;
use crate::error::Error;

/// Time `kmsd dev` gets to print its banner (a first run makes a token, a PKI and tenants).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Time it gets to exit after SIGTERM (it drains connections for up to 5 s, then records
/// what is pending and signs a last checkpoint).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The banner line that says the server is up, followed by the KMIP address.
const LISTENING: &str = "kmsd dev server listening on ";

/// A running `kmsd dev`.
#[derive(Debug)]
pub struct DevServer {
    child: Child,
    dir: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    addr: SocketAddr,
}

impl DevServer {
    /// Runs `kmsd dev --dir <dir> <args>` with `env` added (and no other `KMSD_` variable),
    /// `RUST_LOG` unset (the binary's default filter) and `NO_COLOR=1`, and waits for its
    /// banner. `run` numbers the output files (`<dir>.run-<run>.stdout`), so that a test can
    /// start a server on the same directory again.
    pub async fn start(
        dir: &Path,
        run: u32,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<DevServer, Error> {
        let kmsd = kmsd_path()?;
        let stdout = output_path(dir, run, "stdout");
        let stderr = output_path(dir, run, "stderr");
        let create = |path: &Path| {
            std::fs::File::create(path).map_err(|source| Error::File {
                what: "creating",
                path: path.to_owned(),
                source,
            })
        };
        let mut cmd = Command::new(kmsd);
        cmd.arg("dev")
            .arg("--dir")
            .arg(dir)
            .args(args)
            .env_remove("RUST_LOG")
            // Set up front, as `kmsd dev` would set it before re-executing itself: the process
            // started is then the server itself, which `kill_on_drop` reaches if a test fails.
            .env(
                softhsm_support::SOFTHSM2_CONF,
                server::dev::DevLayout::new(dir)?.softhsm_conf(),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(create(&stdout)?))
            .stderr(Stdio::from(create(&stderr)?))
            .kill_on_drop(true);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KMSD_") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().map_err(|source| Error::Io {
            what: "spawning kmsd dev",
            source,
        })?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let addr = loop {
            let out = read(&stdout);
            if let Some(addr) = out
                .lines()
                .find_map(|l| l.strip_prefix(LISTENING))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
            {
                break addr;
            }
            let exited = child.try_wait().map_err(|source| Error::Io {
                what: "waiting for kmsd dev",
                source,
            })?;
            if exited.is_some() || tokio::time::Instant::now() > deadline {
                let _ = child.start_kill();
                return Err(Error::Command {
                    command: "kmsd dev".to_owned(),
                    detail: format!(
                        "no banner ({exited:?}); stdout:\n{out}\nstderr:\n{}",
                        read(&stderr)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Ok(DevServer {
            child,
            dir: dir.to_owned(),
            stdout,
            stderr,
            addr,
        })
    }

    /// The KMIP address the banner names.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The directory given with `--dir`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What it printed on stdout so far (the banner).
    pub fn stdout(&self) -> String {
        read(&self.stdout)
    }

    /// What it logged on stderr so far.
    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    /// SIGTERM, then waits for the exit (killed when it does not exit in time); returns how
    /// it ended and everything it printed.
    pub async fn stop(self) -> Result<Exited, Error> {
        let (stdout, stderr) = (self.stdout.clone(), self.stderr.clone());
        let success = self.terminate().await?;
        Ok(Exited {
            success,
            stdout: read(&stdout),
            stderr: read(&stderr),
        })
    }

    async fn terminate(mut self) -> Result<bool, Error> {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let waited = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await;
        match waited {
            Ok(status) => Ok(status
                .map_err(|source| Error::Io {
                    what: "waiting for kmsd dev",
                    source,
                })?
                .success()),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                Ok(false)
            }
        }
    }
}

/// A `kmsd dev` that was stopped.
#[derive(Debug)]
pub struct Exited {
    /// Whether it exited with status 0 on SIGTERM.
    pub success: bool,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it logged on stderr.
    pub stderr: String,
}

fn output_path(dir: &Path, run: u32, stream: &str) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(format!(".run-{run}.{stream}"));
    PathBuf::from(name)
}

fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
