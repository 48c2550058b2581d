//! `kmsd dev`, the binary (issue 14, M5): it listens on 127.0.0.1:5696 unless told otherwise,
//! a later run serves the `listen` of its own `kmsd.toml` unless `--listen` is given, its
//! directory, token directory and private keys are the owner's only, and the banner's
//! commands work as printed: the first key is one pasted `kmsctl` command.
//!
//! No run binds the default port 5696, which a dev server on the same machine may hold: the
//! first run is moved to a free port by `KMSD_SERVER__LISTEN` (which the file does not record),
//! so the file it writes shows the default; the second run serves that file, edited to a free
//! port of 127.0.0.1, and is checked to listen on 127.0.0.1 alone.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kms_tests::dev_server::DevServer;
use tokio::net::TcpStream;

/// The admin API on a free port: its default 127.0.0.1:5697 is not under test.
const ADMIN: (&str, &str) = ("KMSD_ADMIN__LISTEN", "127.0.0.1:0");

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// The banner line running `kmsctl <verb>`, as kmsctl's arguments (without the program and
/// the trailing comment).
fn pasted(banner: &str, verb: &str) -> Vec<String> {
    let line = banner
        .lines()
        .find(|l| l.contains(&format!("kmsctl {verb} ")))
        .unwrap_or_else(|| panic!("no `kmsctl {verb}` command in the banner:\n{banner}"));
    let command = line.split('#').next().unwrap_or_default();
    command
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The `listen` line of the directory's `kmsd.toml`.
fn listen_in_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kmsd.toml"))
        .expect("kmsd.toml")
        .lines()
        .find(|l| l.starts_with("listen"))
        .expect("a listen line")
        .to_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn kmsd_dev_listens_on_loopback_and_its_file_wins_unless_listen_is_given() {
    kms_tests::testbed::runtime().block_on(async {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("kms");

        // First run, no --listen: the default 127.0.0.1:5696 is written into the file (the
        // environment moves this run to a free port, and is not written).
        let first = free_port();
        let moved = ("KMSD_SERVER__LISTEN", first.to_string());
        let server = DevServer::start(&dir, 1, &[], &[ADMIN, (moved.0, moved.1.as_str())])
            .await
            .expect("kmsd dev starts");
        assert_eq!(server.addr(), first, "{}", server.stdout());
        assert_eq!(listen_in_file(&dir), r#"listen = "127.0.0.1:5696""#);

        // The banner's commands, pasted: acme's first key, then the operator's tenant list.
        let banner = server.stdout();
        assert!(!banner.contains("openssl"), "{banner}");
        let (exit, out, err) = kms_tests::kmsctl::run(pasted(&banner, "key create")).await;
        assert_eq!(exit, client::cli::Exit::Success, "{err}\n{banner}");
        assert!(!out.trim().is_empty(), "no UID printed");
        let (exit, out, err) = kms_tests::kmsctl::run(pasted(&banner, "tenant list")).await;
        assert_eq!(exit, client::cli::Exit::Success, "{err}\n{banner}");
        assert!(out.contains("acme") && out.contains("globex"), "{out}");

        // What it made is the owner's only.
        for private_dir in [
            dir.clone(),
            dir.join("tokens"),
            dir.join("pki"),
            dir.join("kmsctl"),
        ] {
            assert_eq!(mode(&private_dir), 0o700, "{}", private_dir.display());
        }
        let keys: Vec<_> = [
            "pki/ca.key",
            "pki/clients/acme/vcenter.key",
            "pki/admins/operator-admin.key",
            "hsm-user.pin",
            "hsm-so.pin",
            "kmsd.toml",
            "kmsctl/acme-vcenter.toml",
        ]
        .iter()
        .map(|f| dir.join(f))
        .collect();
        for file in &keys {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
        assert!(server.stop().await.expect("stop").success);

        // Second run, no --listen: the file's `listen` wins.
        let from_file = free_port();
        let toml = std::fs::read_to_string(dir.join("kmsd.toml")).expect("kmsd.toml");
        let toml = toml.replace(
            r#"listen = "127.0.0.1:5696""#,
            &format!(r#"listen = "{from_file}""#),
        );
        std::fs::write(dir.join("kmsd.toml"), toml).expect("edit kmsd.toml");
        let server = DevServer::start(&dir, 2, &[], &[ADMIN])
            .await
            .expect("kmsd dev starts again");
        assert_eq!(server.addr(), from_file, "the file's listen was ignored");
        // Bound to 127.0.0.1 itself: another loopback address is refused (a listener on
        // 0.0.0.0 would take it).
        TcpStream::connect(from_file)
            .await
            .expect("served on 127.0.0.1");
        let other = SocketAddr::new([127, 0, 0, 2].into(), from_file.port());
        assert!(
            TcpStream::connect(other).await.is_err(),
            "the dev server listens beyond 127.0.0.1"
        );
        assert!(server.stop().await.expect("stop").success);

        // Third run, --listen: the flag wins, and the file is left as it is.
        let flag = free_port();
        let server = DevServer::start(&dir, 3, &["--listen", &flag.to_string()], &[ADMIN])
            .await
            .expect("kmsd dev starts with --listen");
        assert_eq!(server.addr(), flag, "--listen was ignored");
        // The kmsctl settings follow the address of this run.
        let acme = std::fs::read_to_string(dir.join("kmsctl/acme-vcenter.toml")).expect("settings");
        assert!(acme.contains(&format!(r#"addr = "{flag}""#)), "{acme}");
        assert!(server.stop().await.expect("stop").success);
        assert_eq!(listen_in_file(&dir), format!(r#"listen = "{from_file}""#));
    });
}
