//! `kmsctl bench` against the real server (real TLS, real SoftHSM2), run in-process through
//! `client::cli::execute`: every workload for about a second with `--json`, each must
//! measure successes and no error; then the scale test's `bench populate` (tenants, clients
//! and keys through the admin API and KMIP) and `bench ready` (a Get of a known key).
//! No timing is asserted: the figures belong in docs/PERFORMANCE.md.

use certs::files::PemPaths;
use certs::identity::{PrincipalUri, Role, TenantId};
use certs::{ClientRequest, KeyAlgorithm};
use client::cli::Exit;
use serde_json::Value;

/// Runs `kmsctl <args>`; returns the exit status, stdout and stderr.
async fn kmsctl(args: &[&str]) -> (Exit, String, String) {
    kms_tests::kmsctl::run(args.iter().map(|a| (*a).to_owned())).await
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

kms_tests::server_test! {
    async fn every_workload_runs_without_errors_against_the_server(server) {
        let files = server.client_files("acme").expect("acme client");
        let addr = server.addr().to_string();
        let ca = server.ca_path().display().to_string();
        let cert = files.cert.display().to_string();
        let key = files.key.display().to_string();
        let runs: [(&str, &[&str]); 6] = [
            ("get", &[]),
            ("create", &[]),
            ("mixed", &[]),
            ("locate", &[]),
            ("vcenter", &["--resumption", "on"]),
            ("vcenter", &["--resumption", "off"]),
        ];
        for (workload, extra) in runs {
            let mut args = vec![
                "bench", "--addr", &addr, "--server-name", "127.0.0.1", "--ca", &ca,
                "--cert", &cert, "--key", &key, "--workload", workload,
                "--connections", "4", "--keys", "20", "--warmup", "200ms",
                "--duration", "1s", "--json", "--quiet",
            ];
            args.extend_from_slice(extra);
            let (exit, out, err) = kmsctl(&args).await;
            assert_eq!(exit, Exit::Success, "{workload} {extra:?}: {out}\n{err}");
            let report = json(&out);
            assert!(report["ok"].as_u64().expect("ok") > 0, "{workload}: {report}");
            assert_eq!(report["errors"], 0, "{workload}: {report}");
            assert_eq!(report["warmup_errors"], 0, "{workload}: {report}");
            assert!(report["unsupported"].is_null(), "{workload}: {report}");
            // The probe found this server's versions (2.1 first, its preference).
            assert_eq!(report["server_versions"][0], "2.1", "{report}");
            if workload == "vcenter" {
                let h = &report["handshakes"];
                let total = h["full"].as_u64().expect("full") + h["resumed"].as_u64().expect("resumed");
                assert_eq!(total, report["ok"].as_u64().expect("ok"), "{report}");
                if extra == ["--resumption", "off"] {
                    assert_eq!(h["resumed"], 0, "{report}");
                } else {
                    assert!(h["resumed"].as_u64().expect("resumed") > 0, "{report}");
                }
            }
        }
    }
}

kms_tests::server_test! {
    async fn populate_makes_tenants_clients_and_keys_and_ready_gets_one(server) {
        let operator = server.admin_identity(Role::Operator, None, "ops").await.expect("operator");
        let ca_pem = server.ca_path().display().to_string();
        // The clients' certificates, named as `kms-certs client` writes them.
        let clients = server.layout().dir.join("scale-clients");
        certs::files::create_private_dir(&clients).expect("dir");
        let ca = certs::files::load_ca(&PemPaths::in_dir(&server.layout().pki(), "ca")).expect("CA");
        for i in 0..3 {
            let tenant = format!("scale-{i}");
            let pair = ca
                .issue_client(&ClientRequest {
                    principal: PrincipalUri::kmip_client(TenantId::new(&tenant).expect("id"), "bench")
                        .expect("principal"),
                    algorithm: KeyAlgorithm::EcdsaP256,
                    days: 1,
                })
                .expect("issue");
            let paths = PemPaths::in_dir(&clients, &format!("kmip-client-{tenant}-bench"));
            certs::files::write_certified_key(&paths, &pair, false).expect("write");
        }
        let addr = server.addr().to_string();
        let admin = server.admin_addr().expect("admin API").to_string();
        let clients_dir = clients.display().to_string();
        let op_cert = operator.cert.display().to_string();
        let op_key = operator.key.display().to_string();
        let populate = [
            "bench", "populate", "--addr", &addr, "--admin-addr", &admin,
            "--server-name", "127.0.0.1", "--ca", &ca_pem, "--operator-cert", &op_cert,
            "--operator-key", &op_key, "--clients-dir", &clients_dir, "--tenants", "3",
            "--keys", "5", "--connections", "2", "--json", "--quiet",
        ];
        let (exit, out, err) = kmsctl(&populate).await;
        assert_eq!(exit, Exit::Success, "{out}\n{err}");
        let made = json(&out);
        assert_eq!(made["tenants"], 3, "{made}");
        assert_eq!(made["keys"], 15, "{made}");
        for i in 0..3 {
            let tenant = format!("scale-{i}");
            let mut keys = 0;
            server
                .kms()
                .store()
                .for_each_object_of(&tenant, |_| {
                    keys += 1;
                    true
                })
                .expect("store");
            assert_eq!(keys, 5, "{tenant}");
        }
        // Again: the tenants and clients exist and are reused, five more keys each.
        let (exit, out, err) = kmsctl(&populate).await;
        assert_eq!(exit, Exit::Success, "{out}\n{err}");
        assert_eq!(json(&out)["keys"], 15);

        let known = &made["known_key"];
        assert_eq!(known["tenant"], "scale-0", "{made}");
        let uid = known["uid"].as_str().expect("uid");
        let cert = known["cert"].as_str().expect("cert");
        let key = known["key"].as_str().expect("key");
        let ready = |uid: &str| {
            let args: Vec<String> = [
                "bench", "ready", "--addr", &addr, "--server-name", "127.0.0.1",
                "--ca", &ca_pem, "--cert", cert, "--key", key, "--uid", uid,
                "--within", "300ms",
            ]
            .map(str::to_owned)
            .to_vec();
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                kmsctl(&args).await
            }
        };
        let (exit, out, err) = ready(uid).await;
        assert_eq!(exit, Exit::Success, "{out}\n{err}");
        assert!(json(&out)["attempts"].as_u64().expect("attempts") >= 1);
        // A key that does not exist never becomes ready.
        let (exit, _out, err) = ready("no-such-key").await;
        assert_ne!(exit, Exit::Success);
        assert!(err.contains("ItemNotFound") || err.contains("Item Not Found"), "{err}");
    }
}

/// Against a server in a process of its own on this machine, the report says where the CPU
/// went: the server found by the port it listens on, its CPU per operation, the load tool's,
/// and the idle share of the machine.
#[test]
fn the_report_names_the_servers_cpu_per_operation() {
    kms_tests::testbed::runtime().block_on(async {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("kms");
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .to_string();
        let server = kms_tests::dev_server::DevServer::start(
            &dir,
            1,
            &["--listen", &listen],
            &[("KMSD_ADMIN__LISTEN", "127.0.0.1:0")],
        )
        .await
        .expect("kmsd dev starts");
        let pki = dir.join("pki");
        let path = |p: &str| pki.join(p).display().to_string();
        let (ca, cert, key) = (
            path("ca.pem"),
            path("clients/acme/vcenter.pem"),
            path("clients/acme/vcenter.key"),
        );
        let args = [
            "bench",
            "--addr",
            &listen,
            "--server-name",
            "127.0.0.1",
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "--workload",
            "get",
            "--connections",
            "4",
            "--keys",
            "20",
            "--warmup",
            "200ms",
            "--duration",
            "1s",
            "--json",
            "--quiet",
        ];
        let (exit, out, err) = kmsctl(&args).await;
        let stopped = server.pid();
        assert_eq!(exit, Exit::Success, "{out}\n{err}");
        let report = json(&out);
        let cpu = &report["cpu"];
        assert_eq!(
            cpu["server_pid"].as_u64(),
            stopped.map(u64::from),
            "{report}"
        );
        let server_us = cpu["server_us_per_op"].as_f64().expect("server CPU per op");
        assert!(server_us > 0.0, "{report}");
        assert!(
            cpu["tool_us_per_op"].as_f64().expect("tool CPU") > 0.0,
            "{report}"
        );
        let idle = cpu["machine_idle_share"].as_f64().expect("idle share");
        assert!((0.0..=1.0).contains(&idle), "{report}");
        assert!(server.stop().await.expect("stop").success);
    });
}
