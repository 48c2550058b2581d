//! `kmsctl` end to end against the real server (real TLS, real SoftHSM2), run in-process
//! through `client::cli::execute` so the code under test is this build's, not a stale binary.
//!
//! An operator creates a tenant and its admin; the admin enrolls a CA-issued KMIP client
//! whose certificate the KMS CA signs from vCenter's CSR, and claims a pinned self-signed one
//! that the operator binds; the KMIP client makes keys with `x-` attributes that the
//! inventory shows; revoke, rekey and a Domain Key rotation go through; `key get --out` writes
//! a 0600 file with the key's bytes; errors end with the documented exit codes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use client::IdentityFiles;
use client::cli::Exit;
use kms_tests::testbed::TestServer;
use serde_json::Value;
use server::store::records::Role;

/// What one kmsctl run printed.
#[derive(Debug)]
struct Run {
    exit: Exit,
    out: String,
    err: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.exit, Exit::Success, "{self:?}");
        self
    }
}

/// kmsctl as one principal: connection flags appended to every command line, an empty
/// environment.
struct Kmsctl {
    flags: Vec<String>,
}

impl Kmsctl {
    fn new(server: &TestServer, files: &IdentityFiles) -> Kmsctl {
        let admin = server.admin_addr().expect("admin API enabled");
        let flags = [
            "--addr".to_owned(),
            server.addr().to_string(),
            "--admin-addr".to_owned(),
            admin.to_string(),
            "--server-name".to_owned(),
            "127.0.0.1".to_owned(),
            "--ca".to_owned(),
            server.ca_path().display().to_string(),
            "--cert".to_owned(),
            files.cert.display().to_string(),
            "--key".to_owned(),
            files.key.display().to_string(),
        ];
        Kmsctl {
            flags: flags.to_vec(),
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        let argv = args
            .iter()
            .map(|a| (*a).to_owned())
            .chain(self.flags.iter().cloned());
        let (exit, out, err) = kms_tests::kmsctl::run(argv).await;
        Run { exit, out, err }
    }
}

/// A self-signed certificate like vCenter's, written to `dir`.
fn self_signed(dir: &Path, name: &str) -> (IdentityFiles, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["vcenter.example".to_owned()]).expect("cert");
    std::fs::create_dir_all(dir).expect("dir");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, generated.cert.pem()).expect("write cert");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key");
    let fingerprint = hex::encode(certs::identity::fingerprint_sha256(generated.cert.der()));
    (IdentityFiles { cert, key }, fingerprint)
}

/// vCenter's "New CSR": a key and a CSR made here (asking for another identity), signed by
/// the KMS CA through `kmsctl client sign-csr` for `name` of `initech`.
async fn csr_signed(admin: &Kmsctl, dir: &Path, name: &str) -> IdentityFiles {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["vcenter.example".to_owned()]).expect("params");
    params.subject_alt_names.push(rcgen::SanType::URI(
        "urn:kms:principal:operator:-:root".try_into().expect("URI"),
    ));
    let csr = params
        .serialize_request(&key)
        .expect("CSR")
        .pem()
        .expect("PEM");
    let files = IdentityFiles {
        cert: dir.join(format!("{name}-signed.pem")),
        key: dir.join(format!("{name}-csr.key")),
    };
    let csr_file = dir.join(format!("{name}.csr"));
    let ca_file = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&csr_file, csr).expect("CSR file");
    std::fs::write(&files.key, key.serialize_pem()).expect("key file");
    let (csr_file, out, ca) = (
        csr_file.display().to_string(),
        files.cert.display().to_string(),
        ca_file.display().to_string(),
    );
    let signed = admin
        .run(&[
            "client", "sign-csr", "--tenant", "initech", "--name", name, "--csr", &csr_file,
            "--out", &out, "--ca-out", &ca,
        ])
        .await
        .ok();
    let principal = format!("urn:kms:principal:kmip-client:initech:{name}");
    assert!(signed.out.contains(&principal), "{signed:?}");
    assert!(
        std::fs::read_to_string(&ca)
            .expect("CA written")
            .contains("BEGIN CERTIFICATE")
    );
    let again = admin
        .run(&[
            "client", "sign-csr", "--tenant", "initech", "--name", name, "--csr", &csr_file,
            "--out", &out,
        ])
        .await;
    assert_eq!(
        again.exit,
        Exit::Usage,
        "an existing file was overwritten: {again:?}"
    );
    files
}

/// The key's bytes as a KMIP client reads them directly (not through kmsctl).
async fn key_bytes(server: &TestServer, files: &IdentityFiles, uid: &str) -> Vec<u8> {
    let settings = client::ClientConfig::new(server.addr().to_string(), "127.0.0.1")
        .with_ca_file(server.ca_path())
        .with_identity(files.cert.clone(), files.key.clone());
    let mut conn = client::Connector::new(settings)
        .expect("connector")
        .connect()
        .await
        .expect("connect");
    kms_tests::testbed::key_bytes(&mut conn, uid).await
}

fn out_dir(server: &TestServer) -> PathBuf {
    let dir = server.layout().dir.join("kmsctl-out");
    std::fs::create_dir_all(&dir).expect("out dir");
    dir
}

kms_tests::server_test! {
    async fn kmsctl_takes_a_tenant_from_creation_to_domain_key_rotation(server) {
        let ops = server.admin_identity(Role::Operator, None, "ops").await.expect("operator");
        let ops = Kmsctl::new(server, &ops);

        // Operator: the tenant and its admin.
        let created = ops.run(&["tenant", "create", "initech", "--json"]).await.ok().json();
        assert_eq!(created["tenants"][0]["id"], "initech");
        assert_eq!(created["tenants"][0]["domain_key_version"], 1);
        let listed = ops.run(&["tenant", "list"]).await.ok();
        assert!(listed.out.starts_with("TENANT"), "{listed:?}");
        assert_eq!(listed.out.lines().count(), 4, "acme, globex, initech: {listed:?}");
        assert!(listed.out.contains("initech"));
        let again = ops.run(&["tenant", "create", "initech"]).await;
        assert_eq!(again.exit, Exit::Failure, "{again:?}");
        assert_eq!(again.err.trim(), "kmsctl: admin API: tenant already exists (HTTP 409)");
        let admin = ops
            .run(&["client", "enroll", "--tenant", "initech", "--name", "alice", "--role", "tenant-admin", "--json"])
            .await
            .ok()
            .json();
        assert_eq!(admin["clients"][0]["role"], "tenant-admin");
        let status = ops.run(&["node", "status"]).await.ok();
        assert!(status.out.contains(&server.kms().keys().hsm().root_kcv().to_string()), "{status:?}");

        // Tenant admin: a CA-issued KMIP client, its certificate signed from vCenter's CSR ...
        let alice = server.issue_identity(Role::TenantAdmin, Some("initech"), "alice").expect("alice");
        let alice = Kmsctl::new(server, &alice);
        let enrolled = alice.run(&["client", "enroll", "--tenant", "initech", "--name", "vcenter"]).await.ok();
        assert!(enrolled.out.contains("ca-issued"), "{enrolled:?}");
        let vc_files = csr_signed(&alice, &out_dir(server), "vcenter").await;
        // ... and a pinned self-signed one: claimed, a new token, then bound by the operator.
        let (esx, fingerprint) = self_signed(&out_dir(server), "esx");
        let esx_cert = esx.cert.display().to_string();
        let pinned = alice
            .run(&["client", "pin", "--tenant", "initech", "--name", "esx", "--pin-cert", &esx_cert, "--json"])
            .await
            .ok()
            .json();
        assert_eq!(pinned["clients"][0]["fingerprint"], fingerprint.as_str());
        assert_eq!(pinned["clients"][0]["identity"], "pinned");
        assert_eq!(pinned["clients"][0]["pin"], "pending");
        assert_eq!(pinned["clients"][0]["claim_token"].as_str().map(str::len), Some(32));
        let renewed = alice.run(&["client", "claim-token", "--tenant", "initech", "--name", "esx"]).await.ok();
        assert!(renewed.out.contains("enrollment token (shown once"), "{renewed:?}");
        let refused = Kmsctl::new(server, &esx).run(&["key", "create"]).await;
        assert_eq!(refused.exit, Exit::PermissionDenied, "a pending claim admitted: {refused:?}");
        let bound = ops
            .run(&["client", "bind", "--tenant", "initech", "--name", "esx", "--fingerprint", &fingerprint, "--json"])
            .await
            .ok()
            .json();
        assert_eq!(bound["clients"][0]["pin"], "bound");

        // The KMIP client makes a key the way vCenter labels it; the pinned one is admitted.
        let vc = Kmsctl::new(server, &vc_files);
        let uid = vc
            .run(&[
                "key", "create", "--name", "disk-web", "--attr", "x-Name=vm-web-01",
                "--attr", "x-Component=Virtual Machine", "--attr", "x-Identifier=uuid-web",
                "--activate",
            ])
            .await
            .ok()
            .out
            .trim()
            .to_owned();
        assert!(!uid.is_empty());
        let esx_key = Kmsctl::new(server, &esx).run(&["key", "create"]).await.ok();
        let attrs = vc.run(&["key", "attrs", &uid]).await.ok();
        for expected in ["x-Name", "vm-web-01", "Virtual Machine", "Active", "AES"] {
            assert!(attrs.out.contains(expected), "{expected}: {attrs:?}");
        }

        // The inventory shows it with its VM.
        let inv = alice.run(&["inventory", "--tenant", "initech"]).await.ok();
        assert!(inv.out.starts_with("UID"), "{inv:?}");
        assert!(inv.out.contains("X-NAME"));
        let row = inv.out.lines().find(|l| l.starts_with(&uid)).expect("the key's row");
        assert!(row.contains("vm-web-01") && row.contains("uuid-web") && row.contains("Active"), "{row}");
        assert!(inv.out.contains(esx_key.out.trim()), "the pinned client's key: {inv:?}");
        let by_name = alice
            .run(&["inventory", "--tenant", "initech", "--name", "vm-web-01", "--json"])
            .await
            .ok()
            .json();
        let keys = by_name["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "{by_name}");
        assert_eq!(keys[0]["uid"], uid.as_str());
        assert_eq!(keys[0]["vmware"]["component"], "Virtual Machine");
        let active = alice
            .run(&["inventory", "--tenant", "initech", "--state", "pre-active", "--json"])
            .await
            .ok()
            .json();
        assert_eq!(active["keys"].as_array().map(Vec::len), Some(1), "only the esx key: {active}");

        // Rotation: every key re-sealed, bytes unchanged.
        let before = key_bytes(server, &vc_files, &uid).await;
        let rotated = alice.run(&["rotate-domain-key", "--tenant", "initech", "--poll-ms", "20"]).await.ok();
        assert!(rotated.out.contains("completed"), "{rotated:?}");
        assert!(rotated.err.contains("re-sealed 2/2"), "{rotated:?}");
        let tenant = alice.run(&["tenant", "show", "initech", "--json"]).await.ok().json();
        assert_eq!(tenant["tenants"][0]["domain_key_versions"], serde_json::json!([2]));
        assert_eq!(key_bytes(server, &vc_files, &uid).await, before);

        // Revoke (admin API) with a reason.
        let revoked = alice
            .run(&["key-admin", "revoke", "--tenant", "initech", &uid, "--reason", "compromise", "--json"])
            .await
            .ok()
            .json();
        assert_eq!(revoked["state"], "Compromised");
        assert_eq!(revoked["revocation_reason"], "KeyCompromise");
        // A compromised key (and one without Wrap Key) cannot be trusted for wrapping; the
        // refusal says which rule.
        let trust = alice.run(&["key-admin", "trust-wrapping", "--tenant", "initech", &uid]).await;
        assert_ne!(trust.exit, Exit::Success, "{trust:?}");
        assert!(trust.err.contains("(HTTP 409)") || trust.err.contains("wrong key"), "{trust:?}");
        let shown = alice.run(&["key-admin", "show", "--tenant", "initech", &uid, "--json"]).await.ok().json();
        assert_eq!(shown["trusted_for_wrapping"], false, "{shown}");

        // Password from a file, never argv; cleared again.
        let pw = out_dir(server).join("pw.txt");
        std::fs::write(&pw, "correct horse\n").expect("password file");
        let pw = pw.display().to_string();
        let set = alice
            .run(&["client", "password", "--tenant", "initech", "--name", "vcenter", "--password-file", &pw, "--json"])
            .await
            .ok()
            .json();
        assert_eq!(set["clients"][0]["has_password"], true);
        let cleared = alice
            .run(&["client", "password", "--tenant", "initech", "--name", "vcenter", "--clear", "--json"])
            .await
            .ok()
            .json();
        assert_eq!(cleared["clients"][0]["has_password"], false);

        // Exit codes: another tenant is "not found" (3); an operator route is "denied" (4).
        let other = alice.run(&["inventory", "--tenant", "acme"]).await;
        assert_eq!(other.exit, Exit::NotFound, "{other:?}");
        assert_eq!(other.err.trim(), "kmsctl: admin API: no such tenant (HTTP 404)");
        let denied = alice.run(&["tenant", "list"]).await;
        assert_eq!(denied.exit, Exit::PermissionDenied, "{denied:?}");
        let missing = alice.run(&["key-admin", "show", "--tenant", "initech", "no-such-uid"]).await;
        assert_eq!(missing.exit, Exit::NotFound, "{missing:?}");
        let kmip_client = vc.run(&["inventory", "--tenant", "initech"]).await;
        assert_eq!(kmip_client.exit, Exit::PermissionDenied, "{kmip_client:?}");
        // A disabled client is refused at once.
        alice.run(&["client", "disable", "--tenant", "initech", "--name", "vcenter"]).await.ok();
        let refused = vc.run(&["key", "create"]).await;
        assert_eq!(refused.exit, Exit::PermissionDenied, "{refused:?}");

        let health = ops.run(&["health"]).await.ok();
        assert!(health.out.contains("ready"), "{health:?}");
    }
}

kms_tests::server_test! {
    async fn kmsctl_key_commands_speak_kmip_and_keep_key_bytes_off_the_terminal(server) {
        let acme = server.client_files("acme").expect("acme client");
        let kmsctl = Kmsctl::new(server, &acme);
        let created = kmsctl
            .run(&["key", "create", "--bits", "128", "--name", "backup-key", "--json"])
            .await
            .ok()
            .json();
        let uid = created["uid"].as_str().expect("uid").to_owned();
        let bytes = key_bytes(server, &acme, &uid).await;
        assert_eq!(bytes.len(), 16);

        // Without --out or --reveal: metadata only, no bytes anywhere in the output.
        let shown = kmsctl.run(&["key", "get", &uid]).await.ok();
        assert!(shown.out.contains("AES") && shown.out.contains("128"), "{shown:?}");
        assert!(!shown.out.contains(&hex::encode(&bytes)), "key bytes printed");
        assert!(shown.err.contains("--out"), "{shown:?}");

        // --out: a new 0600 file with exactly the key's bytes; never overwritten.
        let file = out_dir(server).join("backup.key");
        let path = file.display().to_string();
        let written = kmsctl.run(&["key", "get", &uid, "--out", &path]).await.ok();
        assert!(!written.out.contains(&hex::encode(&bytes)), "{written:?}");
        assert_eq!(std::fs::read(&file).expect("key file"), bytes);
        let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = kmsctl.run(&["key", "get", &uid, "--format", "transparent", "--out", &path]).await;
        assert_eq!(again.exit, Exit::Failure, "{again:?}");
        assert_eq!(std::fs::read(&file).expect("key file"), bytes);
        let revealed = kmsctl.run(&["key", "get", &uid, "--reveal", "--format", "transparent"]).await.ok();
        assert!(revealed.out.contains(&hex::encode(&bytes)), "{revealed:?}");

        // Register the same bytes back (Names are unique per tenant: another one); Locate
        // finds each by name and the copy by its custom attribute.
        let reg = kmsctl
            .run(&["key", "register", "--file", &path, "--name", "backup-copy", "--attr", "x-Purpose=restore-test", "--json"])
            .await
            .ok()
            .json();
        let copy = reg["uid"].as_str().expect("uid").to_owned();
        assert_ne!(copy, uid);
        assert_eq!(key_bytes(server, &acme, &copy).await, bytes);
        let found = kmsctl.run(&["key", "locate", "--name", "backup-key"]).await.ok();
        assert_eq!(found.out.trim(), uid);
        let found = kmsctl.run(&["key", "locate", "--attr", "x-Purpose=restore-test", "--json"]).await.ok().json();
        assert_eq!(found["uids"], serde_json::json!([copy]));

        // Lifecycle over KMIP.
        kmsctl.run(&["key", "activate", &uid]).await.ok();
        let active = kmsctl.run(&["key", "locate", "--name", "backup-key", "--state", "active"]).await.ok();
        assert_eq!(active.out.trim(), uid);
        let new = kmsctl.run(&["key", "rekey", &uid]).await.ok().out.trim().to_owned();
        assert_ne!(new, uid);
        assert_eq!(key_bytes(server, &acme, &new).await.len(), 16);
        kmsctl.run(&["key", "revoke", &uid, "--reason", "superseded"]).await.ok();
        let attrs = kmsctl.run(&["key", "attrs", &uid]).await.ok();
        assert!(attrs.out.contains("Deactivated"), "{attrs:?}");
        kmsctl.run(&["key", "destroy", &uid]).await.ok();

        // Not found is 3, over KMIP too; another tenant's key is not found either.
        let gone = kmsctl.run(&["key", "get", "no-such-uid"]).await;
        assert_eq!(gone.exit, Exit::NotFound, "{gone:?}");
        assert_eq!(gone.err.lines().count(), 1, "{gone:?}");
        let globex = Kmsctl::new(server, &server.client_files("globex").expect("globex"));
        let foreign = globex.run(&["key", "attrs", &copy]).await;
        assert_eq!(foreign.exit, Exit::NotFound, "{foreign:?}");
    }
}

kms_tests::server_test! {
    async fn kmsctl_audit_exports_over_the_api_and_verifies_offline(
        server,
        &[("KMSD_AUDIT__CHECKPOINT_INTERVAL_SECS", "1")]
    ) {
        // some traffic from two tenants
        for tenant in ["acme", "globex"] {
            let mut c = server.client(tenant).unwrap().connect().await.unwrap();
            for _ in 0..3 {
                let uid = c
                    .create_symmetric_key(
                        kmip_codec::enums::CryptographicAlgorithm::AES,
                        256,
                        kmip_codec::enums::CryptographicUsageMask::ENCRYPT,
                        kmip_codec::model::Attributes::new(),
                    )
                    .await
                    .expect("create");
                c.get(&uid, None).await.expect("get");
            }
        }
        let audit = server.kms().audit();
        for _ in 0..50 {
            if audit.checkpointed_seq() >= audit.stats().seq {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let out = out_dir(server);

        // the operator's export holds everything and verifies
        let operator = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let ops = Kmsctl::new(server, &operator);
        let all = out.join("all");
        let all_s = all.display().to_string();
        ops.run(&["audit", "export", "--out", &all_s]).await.ok();
        let report = ops.run(&["audit", "verify", "--dir", &all_s, "--json"]).await.ok().json();
        assert_eq!(report["clean"], true, "{report}");
        assert_eq!(report["manifest"]["scope"], "all", "{report}");
        let records = std::fs::read_to_string(all.join("records.jsonl")).expect("records");
        assert!(records.contains("\"globex\"") && records.contains("\"acme\""));

        // acme's auditor sees only acme, and that verifies on its own
        let auditor = server
            .admin_identity(Role::Auditor, Some("acme"), "eve")
            .await
            .unwrap();
        let eve = Kmsctl::new(server, &auditor);
        let mine = out.join("acme");
        let mine_s = mine.display().to_string();
        eve.run(&["audit", "export", "--out", &mine_s]).await.ok();
        let records = std::fs::read_to_string(mine.join("records.jsonl")).expect("records");
        assert!(!records.contains("globex"), "another tenant's records leaked");
        assert!(records.lines().count() >= 6);
        // the export says it is acme's (the server confined eve to acme), and eve verifies it
        // as acme's: the scope is the auditor's to give
        let report = eve
            .run(&["audit", "verify", "--dir", &mine_s, "--tenant", "acme", "--json"])
            .await
            .ok()
            .json();
        assert_eq!(report["clean"], true, "{report}");
        assert_eq!(report["manifest"]["scope"]["tenant"], "acme", "{report}");
        // and asking for another tenant's records is answered like a missing tenant
        let theirs = out.join("globex");
        let denied = eve
            .run(&["audit", "export", "--out", &theirs.display().to_string(), "--tenant", "globex"])
            .await;
        assert_ne!(denied.exit, Exit::Success, "{denied:?}");

        // a record edited in the export is found
        let path = all.join("records.jsonl");
        let edited = std::fs::read_to_string(&path)
            .expect("records")
            .replacen("\"Get\"", "\"Destroy\"", 1);
        std::fs::write(&path, edited).expect("write");
        let tampered = ops.run(&["audit", "verify", "--dir", &all_s, "--json"]).await;
        assert_eq!(tampered.exit, Exit::AuditFindings, "{tampered:?}");

        // tail shows the newest records
        let tail = ops.run(&["audit", "tail", "-n", "3", "--format", "jsonl"]).await.ok();
        assert_eq!(tail.out.lines().count(), 3, "{tail:?}");
    }
}

kms_tests::server_test! {
    async fn kmsctl_runs_the_platform_commands(server) {
        let ops = server.admin_identity(Role::Operator, None, "ops").await.expect("operator");
        let ops = Kmsctl::new(server, &ops);
        for name in ["console", "backup", "replication"] {
            ops.run(&["platform", "enroll", name]).await.ok();
        }
        let services = ops.run(&["platform", "services", "--json"]).await.ok().json();
        assert_eq!(services["services"].as_array().map(Vec::len), Some(3), "{services}");
        let as_service = |name: &str| {
            let files = server
                .issue_identity(Role::PlatformService, None, name)
                .expect("a service certificate");
            Kmsctl::new(server, &files)
        };
        let (console, backup, replication) =
            (as_service("console"), as_service("backup"), as_service("replication"));

        let vm = [
            "vm", "check", "--tenant", "acme", "--vm-id", "uuid-web", "--vm-name", "vm-web-01",
            "--vcenter", "vcenter",
        ];
        let check = [&vm[..], &["--power-state", "powered-off"]].concat();
        let refused = console.run(&check).await;
        assert_eq!(refused.exit, Exit::Failure, "{refused:?}");
        assert!(refused.out.contains("subscription_missing"), "{refused:?}");
        let set = console
            .run(&["policy", "set", "--tenant", "acme", "--advanced-protection", "on"])
            .await
            .ok()
            .json();
        assert_eq!(set["advanced_protection"], true, "{set}");
        let eligible = console.run(&check).await.ok();
        assert!(eligible.out.contains("eligible"), "{eligible:?}");
        let on = console
            .run(&[&vm[..], &["--power-state", "powered-on", "--snapshots", "2"]].concat())
            .await;
        assert_eq!(on.exit, Exit::Failure, "{on:?}");
        assert!(on.out.contains("vm_powered_on") && on.out.contains("snapshots_present"), "{on:?}");
        let usage = ops.run(&["policy", "set", "--tenant", "acme"]).await;
        assert_eq!(usage.exit, Exit::Usage, "{usage:?}");

        let vc = Kmsctl::new(server, &server.client_files("acme").expect("acme's vCenter"));
        let uid = vc
            .run(&[
                "key", "create", "--attr", "x-Name=vm-web-01", "--attr",
                "x-Component=Virtual Machine", "--attr", "x-Identifier=uuid-web", "--activate",
            ])
            .await
            .ok()
            .out
            .trim()
            .to_owned();
        let vms = console.run(&["vm", "list", "--tenant", "acme"]).await.ok();
        assert!(vms.out.contains("uuid-web") && vms.out.contains(&uid), "{vms:?}");
        let shown = console.run(&["vm", "show", "--tenant", "acme", "uuid-web"]).await.ok().json();
        assert_eq!(shown["kek_uid"], uid.as_str());
        let gm = replication
            .run(&["replication", "check", "--tenant", "acme", "--mode", "global-mirror", "uuid-web"])
            .await;
        assert_eq!(gm.exit, Exit::Failure, "{gm:?}");
        assert!(gm.out.contains("encrypted_vm_global_mirror"), "{gm:?}");

        backup
            .run(&["hold", "place", "--tenant", "acme", "--backup-set", "bs-9", "--until", "2100-01-01T00:00:00Z", &uid])
            .await
            .ok();
        let holds = backup.run(&["hold", "list", "--tenant", "acme"]).await.ok();
        assert!(holds.out.contains("bs-9"), "{holds:?}");
        ops.run(&["key-admin", "revoke", "--tenant", "acme", &uid]).await.ok();
        let destroy = ops.run(&["key-admin", "destroy", "--tenant", "acme", &uid]).await;
        assert_ne!(destroy.exit, Exit::Success, "a held key is not destroyed: {destroy:?}");
        assert!(destroy.err.contains("backup hold"), "{destroy:?}");
        backup.run(&["hold", "release", "--tenant", "acme", "bs-9"]).await.ok();
        let gone = backup.run(&["hold", "show", "--tenant", "acme", "bs-9"]).await;
        assert_eq!(gone.exit, Exit::NotFound, "{gone:?}");
        // With a destroy grace the destroy is pending, and the tenant's admin side cancels it.
        let grace = ops
            .run(&["policy", "set", "--tenant", "acme", "--destroy-grace-secs", "3600"])
            .await
            .ok()
            .json();
        assert_eq!(grace["destroy_grace_secs"], 3600, "{grace}");
        // A Domain Key rotation schedule: set, shown, refused out of range, cleared; the
        // console may not set it.
        let scheduled = ops
            .run(&["policy", "set", "--tenant", "acme", "--domain-key-rotation-days", "90"])
            .await
            .ok()
            .json();
        assert_eq!(scheduled["domain_key_rotation_days"], 90, "{scheduled}");
        let shown = ops.run(&["policy", "show", "--tenant", "acme"]).await.ok().json();
        assert_eq!(shown["domain_key_rotation_days"], 90, "{shown}");
        let zero = ops.run(&["policy", "set", "--tenant", "acme", "--domain-key-rotation-days", "0"]).await;
        assert_ne!(zero.exit, Exit::Success, "{zero:?}");
        assert!(zero.err.contains("every_days must be 1 to 36500"), "{zero:?}");
        let by_console = console.run(&["policy", "set", "--tenant", "acme", "--domain-key-rotation-days", "30"]).await;
        assert_eq!(by_console.exit, Exit::PermissionDenied, "{by_console:?}");
        let cleared = ops
            .run(&["policy", "set", "--tenant", "acme", "--domain-key-rotation-days", "none"])
            .await
            .ok()
            .json();
        assert!(cleared["domain_key_rotation_days"].is_null(), "{cleared}");
        let pending = ops.run(&["key-admin", "destroy", "--tenant", "acme", &uid, "--json"]).await.ok().json();
        assert_eq!(pending["state"], "Destroyed", "{pending}");
        assert!(pending["erase_at"].is_string(), "{pending}");
        let back = ops.run(&["key-admin", "cancel-destroy", "--tenant", "acme", &uid, "--json"]).await.ok().json();
        assert_eq!(back["state"], "Deactivated", "{back}");
        assert!(back.get("erase_at").is_none(), "{back}");
        let again = ops.run(&["key-admin", "cancel-destroy", "--tenant", "acme", &uid]).await;
        assert_ne!(again.exit, Exit::Success, "{again:?}");
        assert!(again.err.contains("not pending destruction"), "{again:?}");
        let events = console.run(&["events", "--tenant", "acme"]).await.ok();
        let kinds: Vec<String> = events
            .out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("one JSON object per line")["kind"].to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "\"policy_changed\"", "\"hold_placed\"", "\"key_revoked\"", "\"hold_released\"",
                "\"policy_changed\"", "\"policy_changed\"", "\"policy_changed\"", "\"key_destroy_pending\"", "\"key_destroy_cancelled\"",
            ],
            "{events:?}"
        );
    }
}
