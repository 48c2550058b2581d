//! A SoftHSM2 token directory: its `softhsm2.conf` and `softhsm2-util --init-token`.

use std::path::Path;
use std::process::{Command, ExitStatus};

/// The environment variable SoftHSM2 reads its configuration path from.
pub const SOFTHSM2_CONF: &str = "SOFTHSM2_CONF";

/// `softhsm2-util` did not initialise the token. Holds no PIN.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// It could not be started.
    #[error("softhsm2-util could not run (is the softhsm2 package installed?): {0}")]
    Spawn(#[source] std::io::Error),
    /// It ran and failed; the first line of what it printed (it prints no PIN).
    #[error("softhsm2-util --init-token failed ({status}): {message}")]
    Failed {
        /// Its exit status.
        status: ExitStatus,
        /// The first line of its standard error.
        message: String,
    },
}

/// A `softhsm2.conf` whose tokens live in `tokens`: file object store, errors only in the log,
/// and slots that stay put (`slots.removable = false`).
pub fn conf_text(tokens: &Path) -> String {
    format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
         slots.removable = false\n",
        tokens.display()
    )
}

/// The `softhsm2-util --init-token --free` command for `label` under the configuration `conf`,
/// for a caller that runs it its own way (with a timeout, on tokio). `softhsm2-util` takes the
/// PINs only as arguments: use test or throw-away PINs, and never print the command.
pub fn init_token_command(conf: &Path, label: &str, user_pin: &str, so_pin: &str) -> Command {
    let mut command = Command::new("softhsm2-util");
    command
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", user_pin, "--so-pin", so_pin])
        .env(crate::SOFTHSM2_CONF, conf);
    command
}

/// Initialises a token `label` in the first free slot of the configuration `conf`.
pub fn init_token(
    conf: &Path,
    label: &str,
    user_pin: &str,
    so_pin: &str,
) -> Result<(), TokenError> {
    let output = init_token_command(conf, label, user_pin, so_pin)
        .output()
        .map_err(TokenError::Spawn)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(TokenError::Failed {
        status: output.status,
        message: stderr.lines().next().unwrap_or("no message").to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "user-pin-8642";
    const SO_PIN: &str = "so-pin-7531";

    fn labels(conf: &Path) -> String {
        let out = Command::new("softhsm2-util")
            .arg("--show-slots")
            .env(SOFTHSM2_CONF, conf)
            .output()
            .expect("softhsm2-util --show-slots");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn a_token_is_made_in_the_configured_directory() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(&conf, conf_text(&tokens)).unwrap();
        init_token(&conf, "made-here", PIN, SO_PIN).expect("init");
        assert!(labels(&conf).contains("made-here"));
        assert_eq!(
            std::fs::read_dir(&tokens).unwrap().count(),
            1,
            "one token directory"
        );
    }

    #[test]
    fn a_failure_is_an_error_without_the_pins() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("softhsm2.conf");
        // The token directory does not exist.
        std::fs::write(&conf, conf_text(&dir.path().join("missing"))).unwrap();
        let err = init_token(&conf, "nowhere", PIN, SO_PIN).expect_err("no token directory");
        assert!(matches!(err, TokenError::Failed { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(PIN) && !shown.contains(SO_PIN), "{shown}");
    }
}
