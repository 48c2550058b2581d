//! The store's schema version, on the real binary (issue 20, upgrades): a data directory
//! whose store a newer kmsd wrote (its recorded schema version set above this build's) is
//! refused at start with one line naming both versions and a non-zero exit; the store is left
//! as it was, and the same directory serves again once its version is this build's.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use kms_tests::cluster::kmsd_path;
use kms_tests::dev_server::DevServer;
use server::store::schema::{self, SCHEMA_VERSION};

/// The admin API on a free port (its default port is not under test).
const ADMIN: (&str, &str) = ("KMSD_ADMIN__LISTEN", "127.0.0.1:0");
/// The KMIP listener on a free port.
const LISTEN: (&str, &str) = ("KMSD_SERVER__LISTEN", "127.0.0.1:0");
/// Time a refused start gets to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `kmsd dev --dir <dir>` as [`DevServer`] does, to its exit: (exit code, stdout, stderr).
async fn run_to_exit(dir: &Path) -> (Option<i32>, String, String) {
    let mut cmd = tokio::process::Command::new(kmsd_path().expect("kmsd binary"));
    cmd.arg("dev")
        .arg("--dir")
        .arg(dir)
        .env_remove("RUST_LOG")
        .env(
            softhsm_support::SOFTHSM2_CONF,
            server::dev::DevLayout::new(dir)
                .expect("layout")
                .softhsm_conf(),
        )
        .env("NO_COLOR", "1")
        .envs([ADMIN, LISTEN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("KMSD_") && name != ADMIN.0 && name != LISTEN.0 {
            cmd.env_remove(name);
        }
    }
    let out = tokio::time::timeout(EXIT_TIMEOUT, cmd.output())
        .await
        .expect("a refused kmsd exits on its own")
        .expect("kmsd runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn kmsd_refuses_a_store_written_by_a_newer_schema_and_names_both_versions() {
    kms_tests::testbed::runtime().block_on(async {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("kms");
        let store = dir.join("data").join(server::node::STORE_FILE);

        // A first run creates the store at this build's version.
        let server = DevServer::start(&dir, 1, &[], &[ADMIN, LISTEN])
            .await
            .expect("kmsd dev starts");
        assert!(server.stop().await.expect("stops").success);
        assert_eq!(
            schema::read_store_version(&store).expect("version readable"),
            Some(SCHEMA_VERSION)
        );

        // As a newer kmsd would leave it.
        let newer = SCHEMA_VERSION + 1;
        schema::overwrite_store_version(&store, Some(newer)).expect("version set");
        let (code, stdout, stderr) = run_to_exit(&dir).await;
        assert_eq!(code, Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("kmsd: "))
            .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
        println!("refused as: {line}");
        assert_eq!(line.matches("newer than").count(), 1, "said once: {line}");
        assert!(
            line.contains(&format!("schema version {newer}"))
                && line.contains(&format!("this kmsd's schema version {SCHEMA_VERSION}")),
            "{line}"
        );
        assert!(
            !stdout.contains("listening on"),
            "no banner once refused:\n{stdout}"
        );
        assert_eq!(
            schema::read_store_version(&store).expect("version readable"),
            Some(newer),
            "the refused store is left as it was"
        );

        // Back at this build's version, the same directory serves again.
        schema::overwrite_store_version(&store, Some(SCHEMA_VERSION)).expect("version set");
        let server = DevServer::start(&dir, 2, &[], &[ADMIN, LISTEN])
            .await
            .expect("kmsd dev starts again");
        assert!(server.stop().await.expect("stops").success);
    });
}
