//! Interoperability with PyKMIP, a widely used independent KMIP client: its `ProxyKmipClient`
//! (KMIP 1.2) runs `tests/pykmip/interop.py` against the server (create, get, activate,
//! get_attributes, locate by name, register, revoke, destroy, get after destroy; then
//! create_key_pair RSA-2048, get of both keys, sign / signature_verify with RSA-PSS, RSA-OAEP
//! encrypt / decrypt).
//!
//! The interpreter is `KMS_PYTHON` (set by `scripts/test.sh`, which installs PyKMIP into a
//! virtualenv under `target/`), else `python3`. Without an importable PyKMIP the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The script may take this long (PyKMIP's own socket timeout is 30 s).
const SCRIPT_LIMIT: Duration = Duration::from_secs(90);

pub(crate) fn python() -> String {
    std::env::var("KMS_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pykmip/interop.py")
}

/// Runs `command` with its output in files under `dir`, killing it after [`SCRIPT_LIMIT`].
/// Returns whether it exited 0, and its stdout and stderr.
fn run_bounded(mut command: Command, dir: &Path) -> (bool, String, String) {
    let out = dir.join("pykmip.out");
    let err = dir.join("pykmip.err");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break Some(status);
        }
        if start.elapsed() > SCRIPT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(out).unwrap_or_default();
    let stderr = std::fs::read_to_string(err).unwrap_or_default();
    match status {
        Some(s) => (s.success(), stdout, stderr),
        None => (
            false,
            stdout,
            format!("{stderr}\nkilled after {SCRIPT_LIMIT:?}"),
        ),
    }
}

kms_tests::server_test! {
    async fn pykmip_client_interoperates(server) {
        let python = python();
        let probe = Command::new(&python)
            .args(["-c", "import kmip"])
            .output();
        let importable = probe.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            importable,
            "PyKMIP is not importable by `{python}` ({}). Run `bash scripts/test.sh` (it installs \
             PyKMIP into target/pyvenv and sets KMS_PYTHON), or set KMS_PYTHON to a Python with \
             PyKMIP installed.",
            match &probe {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
                Err(e) => e.to_string(),
            }
        );
        let files = server.client_files("acme").expect("acme's client files");
        let mut command = Command::new(&python);
        command
            .arg(script())
            .args(["--host", "127.0.0.1", "--port"])
            .arg(server.addr().port().to_string())
            .arg("--cert")
            .arg(&files.cert)
            .arg("--key")
            .arg(&files.key)
            .arg("--ca")
            .arg(server.ca_path());
        let dir = server.layout().dir.clone();
        let (passed, stdout, stderr) =
            tokio::task::spawn_blocking(move || run_bounded(command, &dir))
                .await
                .expect("script runner");
        println!("--- PyKMIP interop output ---\n{stdout}");
        if !stderr.trim().is_empty() {
            println!("--- PyKMIP stderr ---\n{stderr}");
        }
        assert!(passed, "the PyKMIP interop script failed; its output is above");
        assert!(stdout.contains("\n0 failed"), "the script did not finish its checks");
    }
}
