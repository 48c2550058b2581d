//! The `kms-certs` binary end to end (ECDSA only, to stay fast).

use std::path::Path;
use std::process::{Command, Output};

fn kms_certs(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms-certs"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn init_ca_client_fingerprint_and_refused_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = kms_certs(dir.path(), &["init-ca"]);
    assert!(out.status.success(), "{out:?}");
    let ca =
        certs::Certificate::from_pem(&std::fs::read_to_string(dir.path().join("ca.pem")).unwrap())
            .unwrap();
    assert!(stdout(&out).contains(&ca.fingerprint().hex()));
    assert!(stdout(&out).contains(&ca.fingerprint().colon_hex()));

    let out = kms_certs(
        dir.path(),
        &[
            "client",
            "--tenant",
            "acme",
            "--name",
            "vc1",
            "--out-dir",
            "out",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let pem = std::fs::read_to_string(dir.path().join("out/kmip-client-acme-vc1.pem")).unwrap();
    let cert = certs::Certificate::from_pem(&pem).unwrap();
    let id = certs::identity_from_cert_der(cert.der()).unwrap();
    assert_eq!(
        id.identity.to_string(),
        "urn:kms:principal:kmip-client:acme:vc1"
    );

    let out = kms_certs(dir.path(), &["fingerprint", "out/kmip-client-acme-vc1.pem"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains(&cert.fingerprint().hex()));
    assert!(stdout(&out).contains("urn:kms:principal:kmip-client:acme:vc1"));

    // Refusals: one line on stderr, exit code 1, file unchanged.
    let out = kms_certs(dir.path(), &["init-ca"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    let again = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    assert_eq!(again, ca.pem());

    let out = kms_certs(
        dir.path(),
        &[
            "client", "--role", "operator", "--tenant", "acme", "--name", "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = kms_certs(dir.path(), &["client", "--tenant", "Bad", "--name", "x"]);
    assert!(!out.status.success());

    let out = kms_certs(
        dir.path(),
        &[
            "node",
            "--node-id",
            "4",
            "--host",
            "kms4.example",
            "--algorithm",
            "ecdsa-p256",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let pem = std::fs::read_to_string(dir.path().join("node-4-ecdsa-p256.pem")).unwrap();
    let cert = certs::Certificate::from_pem(&pem).unwrap();
    let id = certs::identity_from_cert_der(cert.der()).unwrap();
    assert_eq!(id.identity.to_string(), "urn:kms:node:4");
}

#[test]
fn help_documents_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&kms_certs(dir.path(), &["--help"]));
    for cmd in [
        "init-ca",
        "node",
        "client",
        "sign-csr",
        "fingerprint",
        "dev",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
        let out = kms_certs(dir.path(), &[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help failed");
    }
    let client_help = stdout(&kms_certs(dir.path(), &["client", "--help"]));
    for opt in [
        "--role",
        "--tenant",
        "--name",
        "--algorithm",
        "--force",
        "--days",
    ] {
        assert!(client_help.contains(opt), "{opt} missing");
    }
}
