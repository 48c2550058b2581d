//! A private SoftHSM2 token directory per test, and per benchmark run.
//!
//! A test made with [`crate::softhsm_test!`] (or calling [`run`]) first runs in the test
//! harness's process, the parent: it makes a temporary directory with a `softhsm2.conf` and an
//! empty `tokens/`, then re-executes its own test binary for just this test with
//! `SOFTHSM2_CONF` pointing there. The child sees [`CHILD_DIR_VAR`] and runs the body; the
//! parent forwards the child's output and fails when the child's test did not pass. Tests are
//! so isolated from each other and run in parallel.
//!
//! A test that cannot check what it is for on this machine (no root for a mount, a tool
//! missing) calls [`skip`] and returns: it passes, and says `SKIP: <test>: <reason>` where
//! `cargo test` shows it, captured output or not. [`NO_SKIP_VAR`] turns skips into failures.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::{SOFTHSM2_CONF, conf_text};

/// Set in the child to its private directory.
pub const CHILD_DIR_VAR: &str = "KMS_TEST_SOFTHSM_DIR";

/// When set (not empty), [`skip`] fails the test instead: for a run that must check
/// everything (as root, with every tool installed).
pub const NO_SKIP_VAR: &str = "KMS_TEST_NO_SKIP";

/// What a skipped test prints first on its line.
pub const SKIP_PREFIX: &str = "SKIP: ";

/// A token directory: `softhsm2.conf`, `tokens/`, and whatever the test adds.
#[derive(Debug, Clone)]
pub struct Env {
    dir: PathBuf,
}

impl Env {
    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The SoftHSM2 configuration file.
    pub fn softhsm_conf(&self) -> PathBuf {
        self.dir.join("softhsm2.conf")
    }

    /// The token directory.
    pub fn tokens(&self) -> PathBuf {
        self.dir.join("tokens")
    }
}

/// The child's directory, when this process is the re-run one (a [`run`] child or a
/// [`rerun_binary`] one).
pub fn child_env() -> Option<Env> {
    std::env::var_os(CHILD_DIR_VAR).map(|dir| Env {
        dir: PathBuf::from(dir),
    })
}

/// A temporary token directory (removed when dropped) with its `softhsm2.conf` written and an
/// empty `tokens/`.
#[derive(Debug)]
pub struct TokenDir {
    _temp: tempfile::TempDir,
    env: Env,
}

impl TokenDir {
    /// Makes one under the system's temporary directory, named `<prefix><random>`.
    pub fn new(prefix: &str) -> std::io::Result<TokenDir> {
        let temp = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let env = Env {
            dir: temp.path().to_owned(),
        };
        std::fs::create_dir(env.tokens())?;
        std::fs::write(env.softhsm_conf(), conf_text(&env.tokens()))?;
        Ok(TokenDir { _temp: temp, env })
    }

    /// Its paths.
    pub fn env(&self) -> &Env {
        &self.env
    }
}

/// Runs `body` in a child process with a fresh token directory. `path` is the test's full
/// module path including the binary's crate name (`it::conformance::oasis_vectors`); use
/// [`crate::softhsm_test!`] rather than calling this directly.
///
/// Panics (failing the test) when the directory cannot be made, the child cannot start, or the
/// child's test did not pass; the child's output is forwarded either way, and its `SKIP:`
/// lines are written past the test harness's capture.
pub fn run(path: &str, body: impl FnOnce(&Env)) {
    if let Some(env) = child_env() {
        body(&env);
        return;
    }
    // The test name libtest knows is the path without the crate name.
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    let dir = TokenDir::new("kms-test-").expect("temporary token directory");
    let output = Command::new(std::env::current_exe().expect("path of the test binary"))
        // The parent runs this test, so the child must too, even one marked #[ignore].
        .args([
            name,
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SOFTHSM2_CONF, dir.env().softhsm_conf())
        .env(CHILD_DIR_VAR, dir.env().dir())
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Forward the child's output (libtest captures it unless --nocapture), its skips past
    // the capture: a skipped test must not look like one that checked something.
    let (skips, rest): (Vec<&str>, Vec<&str>) = stderr
        .lines()
        .partition(|line| line.starts_with(SKIP_PREFIX));
    print!("{stdout}");
    for line in rest {
        eprintln!("{line}");
    }
    for line in skips {
        write_uncaptured(line);
    }
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {name} failed (status {}); its output is above",
        output.status
    );
}

/// Re-runs this binary (a benchmark's) with the same arguments in `dir`: `SOFTHSM2_CONF` and
/// [`CHILD_DIR_VAR`] set, so that [`child_env`] finds it. Returns the child's status.
pub fn rerun_binary(dir: &TokenDir) -> std::io::Result<ExitStatus> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    Command::new(std::env::current_exe()?)
        .args(args)
        .env(SOFTHSM2_CONF, dir.env().softhsm_conf())
        .env(CHILD_DIR_VAR, dir.env().dir())
        .status()
}

/// Says that the calling test cannot check what it is for here, and why; the test then returns
/// (and passes). Prints `SKIP: <test>: <reason>` to standard error past the test harness's
/// capture, so `cargo test` shows it. With [`NO_SKIP_VAR`] set, fails the test instead.
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map(|name| format!("{name}: "))
        .unwrap_or_default();
    if std::env::var_os(NO_SKIP_VAR).is_some_and(|v| !v.is_empty()) {
        panic!("{test}{reason}, and {NO_SKIP_VAR} is set: skipping is a failure");
    }
    write_uncaptured(&format!("{SKIP_PREFIX}{test}{reason}"));
}

/// Writes a line to this process's standard error directly: libtest captures what `print!`
/// and `eprint!` write, not writes to the stream itself.
fn write_uncaptured(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// A test that runs in its own process with its own SoftHSM2 token directory:
///
/// ```ignore
/// softhsm_support::softhsm_test! {
///     fn token_starts_empty(env) {
///         assert!(env.tokens().read_dir().unwrap().next().is_none());
///     }
/// }
/// ```
#[macro_export]
macro_rules! softhsm_test {
    ($(#[$meta:meta])* fn $name:ident($env:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::harness::run(
                concat!(module_path!(), "::", stringify!($name)),
                |$env: &$crate::harness::Env| $body,
            );
        }
    };
}
