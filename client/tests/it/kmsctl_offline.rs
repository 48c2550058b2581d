//! `kmsctl` without a server: argument parsing, the flag > environment > file precedence of
//! settings, the configuration file, exit codes of usage errors, completions, and the
//! fingerprint of a certificate file (what `client bind --fingerprint` names). (End-to-end
//! runs against the real server are in the `kms-tests` crate, `tests/tests/it/kmsctl.rs`.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use client::cli::settings::{DEFAULT_ADDR, DEFAULT_ADMIN_ADDR, host_of};
use client::cli::{Console, Exit, FileConfig, Global, Settings, execute, fingerprint_of};
use client::error::ClientError;
use kmip_codec::version::ProtocolVersion;

use crate::scripted_server::pki;

/// Runs kmsctl in-process with `env` as the environment; exit, stdout, stderr.
fn kmsctl(args: &[&str], env: &[(&str, &str)]) -> (Exit, String, String) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |k: &str| env.get(k).cloned();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = std::io::empty();
    let mut console = Console {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        input_is_terminal: false,
        env: &lookup,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let argv = std::iter::once("kmsctl").chain(args.iter().copied());
    let exit = runtime.block_on(execute(argv, &mut console));
    (
        exit,
        String::from_utf8(out).expect("utf-8 stdout"),
        String::from_utf8(err).expect("utf-8 stderr"),
    )
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn flags_win_over_environment_which_wins_over_the_file() {
    let file = FileConfig {
        addr: Some("file:1".into()),
        admin_addr: Some("file:2".into()),
        ca: Some("/file/ca.pem".into()),
        cert: Some("/file/c.pem".into()),
        key: Some("/file/c.key".into()),
        protocol: Some("1.2".into()),
        timeout: Some(7),
        ..FileConfig::default()
    };
    let env = |k: &str| match k {
        "KMSCTL_ADDR" => Some("env:1".to_owned()),
        "KMSCTL_CA" => Some("/env/ca.pem".to_owned()),
        "KMSCTL_PROTOCOL" => Some("2.1".to_owned()),
        // Set but empty counts as unset.
        "KMSCTL_CERT" => Some(String::new()),
        _ => None,
    };
    let flags = Global {
        ca: Some("/flag/ca.pem".into()),
        ..Global::default()
    };
    let s = Settings::merge(&flags, &env, file.clone()).expect("settings");
    assert_eq!(s.addr, "env:1");
    assert_eq!(s.admin_addr, "file:2");
    assert_eq!(s.ca, Some(PathBuf::from("/flag/ca.pem")));
    assert_eq!(s.cert, Some(PathBuf::from("/file/c.pem")));
    assert_eq!(s.key, Some(PathBuf::from("/file/c.key")));
    assert_eq!(s.protocol, ProtocolVersion::V2_1);
    assert_eq!(s.timeout, Duration::from_secs(7));

    let s = Settings::merge(&Global::default(), &no_env, FileConfig::default()).unwrap();
    assert_eq!(s.addr, DEFAULT_ADDR);
    assert_eq!(s.admin_addr, DEFAULT_ADMIN_ADDR);
    assert_eq!(s.protocol, ProtocolVersion::V1_4);
    assert_eq!(s.ca, None);

    let bad = |k: &str| (k == "KMSCTL_PROTOCOL").then(|| "3.0".to_owned());
    assert!(matches!(
        Settings::merge(&Global::default(), &bad, FileConfig::default()),
        Err(ClientError::Usage(_))
    ));
}

#[test]
fn the_configuration_file_is_toml_and_its_paths_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kmsctl.toml");
    std::fs::write(
        &path,
        "addr = \"kms:5696\"\nca = \"pki/ca.pem\"\ncert = \"/abs/c.pem\"\n",
    )
    .unwrap();
    let file = FileConfig::load(&path).expect("config");
    assert_eq!(file.addr.as_deref(), Some("kms:5696"));
    assert_eq!(file.ca, Some(dir.path().join("pki/ca.pem")));
    assert_eq!(file.cert, Some(PathBuf::from("/abs/c.pem")));

    // Named by KMSCTL_CONFIG when there is no --config.
    let env = |k: &str| (k == "KMSCTL_CONFIG").then(|| path.display().to_string());
    let s = Settings::resolve(&Global::default(), &env).unwrap();
    assert_eq!(s.addr, "kms:5696");

    std::fs::write(&path, "adress = \"typo\"\n").unwrap();
    let err = FileConfig::load(&path).unwrap_err();
    assert!(matches!(err, ClientError::ConfigFile { .. }), "{err}");
    assert_eq!(Exit::of(&err), Exit::Usage);
}

#[test]
fn server_name_defaults_to_the_host_of_the_address() {
    assert_eq!(host_of("kms.example:5697"), "kms.example");
    assert_eq!(host_of("[::1]:5697"), "::1");
    assert_eq!(host_of("kms.example"), "kms.example");
    let flags = Global {
        ca: Some("/ca.pem".into()),
        cert: Some("/c.pem".into()),
        key: Some("/c.key".into()),
        ..Global::default()
    };
    let s = Settings::merge(&flags, &no_env, FileConfig::default()).unwrap();
    let config = s.client_config("kms.example:5697").unwrap();
    assert_eq!(config.server_name, "kms.example");
    assert_eq!(config.server_addr, "kms.example:5697");
    let half = Global {
        cert: None,
        ..flags
    };
    let s = Settings::merge(&half, &no_env, FileConfig::default()).unwrap();
    assert!(matches!(s.client_config("x:1"), Err(ClientError::Usage(_))));
}

#[test]
fn usage_errors_exit_2_with_one_line_and_help_exits_0() {
    let (exit, out, err) = kmsctl(&["frobnicate"], &[]);
    assert_eq!(exit, Exit::Usage);
    assert!(out.is_empty());
    assert!(err.contains("frobnicate"), "{err}");

    let (exit, _, err) = kmsctl(&["key", "create", "--attr", "Name=x"], &[]);
    assert_eq!(exit, Exit::Usage);
    assert!(err.contains("x- or y-"), "{err}");

    // Missing settings are usage errors too, reported before any connection.
    let (exit, out, err) = kmsctl(&["key", "attrs", "some-uid"], &[]);
    assert_eq!((exit, out.as_str()), (Exit::Usage, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("kmsctl: no CA file"), "{err}");

    let (exit, out, _) = kmsctl(&["--help"], &[]);
    assert_eq!(exit, Exit::Success);
    assert!(out.contains("Exit codes"), "{out}");
    assert!(out.contains("KMSCTL_ADMIN_ADDR"), "{out}");

    // Passwords are never taken from argv.
    let (exit, _, err) = kmsctl(
        &[
            "client",
            "password",
            "--tenant",
            "t",
            "--name",
            "n",
            "--password",
            "x",
        ],
        &[],
    );
    assert_eq!(exit, Exit::Usage, "{err}");
}

#[test]
fn settings_from_the_environment_reach_the_commands() {
    // A CA that does not exist: the failure names it, so the variable was used.
    let (exit, _, err) = kmsctl(
        &["key", "attrs", "u"],
        &[
            ("KMSCTL_CA", "/nonexistent/env-ca.pem"),
            ("KMSCTL_CERT", "/nonexistent/c.pem"),
            ("KMSCTL_KEY", "/nonexistent/c.key"),
        ],
    );
    assert_eq!(exit, Exit::Failure);
    assert!(err.contains("/nonexistent/env-ca.pem"), "{err}");
    let (_, _, err) = kmsctl(
        &["key", "attrs", "u", "--ca", "/nonexistent/flag-ca.pem"],
        &[
            ("KMSCTL_CA", "/nonexistent/env-ca.pem"),
            ("KMSCTL_CERT", "/nonexistent/c.pem"),
            ("KMSCTL_KEY", "/nonexistent/c.key"),
        ],
    );
    assert!(err.contains("/nonexistent/flag-ca.pem"), "{err}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (exit, out, _) = kmsctl(&["completions", shell], &[]);
        assert_eq!(exit, Exit::Success);
        assert!(out.contains("rotate-domain-key"), "{shell}");
    }
}

#[test]
fn the_pinned_fingerprint_is_the_sha256_of_the_certificate() {
    let client = pki().clients.first().expect("a client");
    let fp = fingerprint_of(&client.paths.cert).expect("fingerprint");
    let pem = std::fs::read(&client.paths.cert).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        fp,
        hex::encode(certs::identity::fingerprint_sha256(der.as_ref()))
    );
    assert_eq!(fp.len(), 64);
    assert!(matches!(
        fingerprint_of(&client.paths.key),
        Err(ClientError::MissingPem { .. })
    ));
}
