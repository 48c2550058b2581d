//! A private SoftHSM2 configuration per test.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process when the module loads, and setting an
//! environment variable in-process needs `unsafe` (forbidden here). So a test, when the test
//! harness runs it, makes a temporary directory with a `softhsm2.conf` and an empty `tokens/`,
//! then re-executes its own test binary for just itself with `SOFTHSM2_CONF` pointing there. The
//! child sees [`CHILD_DIR_VAR`] and runs the body; the parent forwards the child's output and
//! fails when the child did not pass.
//!
//! The layout matches `server::dev::DevLayout` (`softhsm2.conf`, `tokens/`), so the directory
//! can be handed to `server::dev::prepare` as it is.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child to the test's private directory.
pub const CHILD_DIR_VAR: &str = "KMS_TEST_SOFTHSM_DIR";

/// The environment variable SoftHSM2 reads its configuration path from.
pub const SOFTHSM2_CONF: &str = "SOFTHSM2_CONF";

/// What the child gets: its private directory.
#[derive(Debug)]
pub struct Env {
    dir: PathBuf,
}

impl Env {
    /// The test's private directory (`softhsm2.conf`, `tokens/`, and whatever the test adds).
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

/// Runs `body` in a child process with a fresh SoftHSM2 configuration. `path` is the test's
/// full module path including the binary's crate name (`it::conformance::oasis_vectors`); use
/// [`crate::softhsm_test!`] rather than calling this directly.
///
/// Panics (failing the test) when the directory cannot be made, the child cannot start, or the
/// child's test did not pass; the child's stdout and stderr are printed either way.
pub fn run(path: &str, body: impl FnOnce(&Env)) {
    if let Some(dir) = std::env::var_os(CHILD_DIR_VAR) {
        body(&Env {
            dir: PathBuf::from(dir),
        });
        return;
    }
    // The test name libtest knows is the path without the crate name.
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    let dir = tempfile::Builder::new()
        .prefix("kms-test-")
        .tempdir()
        .expect("temporary directory");
    let env = Env {
        dir: dir.path().to_owned(),
    };
    std::fs::create_dir(env.tokens()).expect("token directory");
    std::fs::write(
        env.softhsm_conf(),
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            env.tokens().display()
        ),
    )
    .expect("write softhsm2.conf");
    let exe = std::env::current_exe().expect("path of the test binary");
    let output = Command::new(exe)
        // The parent runs this test, so the child must too, even one marked #[ignore].
        .args([
            name,
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SOFTHSM2_CONF, env.softhsm_conf())
        .env(CHILD_DIR_VAR, env.dir())
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Forward the child's output (libtest captures it unless --nocapture).
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {name} failed (status {}); its output is above",
        output.status
    );
}

/// A test that runs in its own process with its own SoftHSM2 token directory:
///
/// ```ignore
/// kms_tests::softhsm_test! {
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
            $crate::softhsm::run(
                concat!(module_path!(), "::", stringify!($name)),
                |$env: &$crate::softhsm::Env| $body,
            );
        }
    };
}
