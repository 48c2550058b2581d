//! The audit trail end to end, on a real server: every answered KMIP batch item, every admin
//! call and every refusal has exactly one record; state changes (KMIP items and admin calls
//! alike) carry their record and a change number, unique and without gaps; the trail verifies
//! offline against the HSM audit key, for the operator and for one tenant alone; no file of
//! the node holds key bytes; and when the audit directory runs out of space the server
//! refuses everything until it can record again, losing no record of a change it made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use audit_log::{AuditRecord, Checkpoint, Filter, Kind, PublicKey, Scope, Status};
use client::{ClientError, Connection};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, ObjectType, Operation, ResultReason,
    RevocationReasonCode,
};
use kmip_codec::model::{
    ActivateRequest, AttributeValue, Attributes, CreateRequest, GetRequest, RequestBatchItem,
    ResponsePayload,
};
use kmip_codec::tags::Tag;
use kms_tests::testbed::{TestServer, key_bytes};
use server::store::records::Role;

use crate::admin::Api;

/// Checkpoints every second, so a test can wait for the signatures to reach its records.
const FAST_CHECKPOINTS: (&str, &str) = ("KMSD_AUDIT__CHECKPOINT_INTERVAL_SECS", "1");

fn usage() -> CryptographicUsageMask {
    CryptographicUsageMask(CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0)
}

async fn new_key(c: &mut Connection) -> String {
    c.create_symmetric_key(CryptographicAlgorithm::AES, 256, usage(), Attributes::new())
        .await
        .expect("create")
}
fn op(o: Operation) -> String {
    o.name().expect("named operation").to_owned()
}

/// Every record of the server's log, in order.
pub(crate) fn all_records(server: &TestServer) -> Vec<AuditRecord> {
    let dir = server.kms().audit().dir().to_owned();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = server::audit::query::read_page(&dir, after, 10_000, &Filter::default())
            .expect("read the audit files");
        out.extend(page.records);
        if !page.more {
            return out;
        }
        after = page.next;
    }
}

/// Waits until a signed checkpoint covers every record, then returns the records, this log's
/// checkpoints from the replicated state, and the HSM's audit public key.
async fn settled(server: &TestServer) -> (Vec<AuditRecord>, Vec<Checkpoint>, PublicKey) {
    let audit = server.kms().audit();
    let log = server.kms().log_name().to_owned();
    let stored = || -> Vec<Checkpoint> {
        server
            .kms()
            .store()
            .audit_checkpoints()
            .expect("checkpoints")
            .into_iter()
            .filter(|c| c.log == log)
            .collect()
    };
    // A checkpoint reaches the log file first and the replicated state a commit later: wait
    // for the stored one.
    for _ in 0..100 {
        let seq = audit.stats().seq;
        if seq > 0 && stored().iter().any(|c| c.seq >= seq) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let records = all_records(server);
    let checkpoints = stored();
    let key = server
        .kms()
        .keys()
        .hsm()
        .audit_public_key()
        .expect("HSM")
        .expect("the audit key exists");
    (
        records,
        checkpoints,
        PublicKey::from_sec1(&key).expect("SEC1 point"),
    )
}

/// (tenant, kind, operation, object, status) of a record: what the completeness check compares.
type Seen = (
    Option<String>,
    &'static str,
    String,
    Option<String>,
    &'static str,
);

fn seen(r: &AuditRecord) -> Seen {
    let e = &r.event;
    (
        e.tenant.clone(),
        e.kind.as_str(),
        e.operation.clone(),
        e.object.clone(),
        e.status.as_str(),
    )
}

fn kmip(tenant: &str, operation: Operation, object: Option<&str>, status: Status) -> Seen {
    (
        Some(tenant.to_owned()),
        Kind::Kmip.as_str(),
        op(operation),
        object.map(str::to_owned),
        status.as_str(),
    )
}

fn counts(items: impl IntoIterator<Item = Seen>) -> BTreeMap<Seen, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_insert(0) += 1;
    }
    out
}

kms_tests::server_test! {
    async fn every_answered_item_and_admin_call_has_exactly_one_record(
        server,
        &[FAST_CHECKPOINTS]
    ) {
        // The server's logs, at debug level, go to a file in the node's directory (each test
        // runs in its own process), so the key-bytes scan below covers them too.
        let log_path = server.layout().dir.join("kmsd-test.log");
        let log_file = std::fs::File::create(&log_path).expect("log file");
        tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(log_file))
            .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber of this process");
        let before = all_records(server).len();
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let mut globex = server.client("globex").unwrap().connect().await.unwrap();
        let mut expected = Vec::new();

        let uid = new_key(&mut acme).await;
        expected.push(kmip("acme", Operation::CREATE, Some(&uid), Status::Success));
        acme.activate(&uid).await.expect("activate");
        expected.push(kmip("acme", Operation::ACTIVATE, Some(&uid), Status::Success));
        let material = key_bytes(&mut acme, &uid).await;
        expected.push(kmip("acme", Operation::GET, Some(&uid), Status::Success));

        // another tenant's key: refused like a missing one, and recorded under the asker
        assert!(globex.get(&uid, None).await.is_err());
        expected.push(kmip("globex", Operation::GET, Some(&uid), Status::Failure));

        // a three-item batch: Create, then Activate and Get through the ID Placeholder
        let answers = acme
            .batch(vec![
                RequestBatchItem::new(CreateRequest {
                    object_type: ObjectType::SYMMETRIC_KEY,
                    attributes: Attributes::new()
                        .with(
                            Tag::CRYPTOGRAPHIC_ALGORITHM,
                            AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
                        )
                        .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(128))
                        .with(
                            Tag::CRYPTOGRAPHIC_USAGE_MASK,
                            AttributeValue::Integer(i32::from_be_bytes(usage().0.to_be_bytes())),
                        ),
                    template_names: Vec::new(),
                    protection_storage_masks: None,
                }),
                RequestBatchItem::new(ActivateRequest {
                    unique_identifier: None,
                }),
                RequestBatchItem::new(GetRequest::default()),
            ])
            .await
            .expect("batch");
        assert_eq!(answers.len(), 3);
        let Some(ResponsePayload::Create(created)) = &answers[0].payload else {
            panic!("no Create payload: {:?}", answers[0]);
        };
        let batch_uid = created.unique_identifier.clone();
        for o in [Operation::CREATE, Operation::ACTIVATE, Operation::GET] {
            expected.push(kmip("acme", o, Some(&batch_uid), Status::Success));
        }

        acme.revoke(&uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
            .await
            .expect("revoke");
        expected.push(kmip("acme", Operation::REVOKE, Some(&uid), Status::Success));
        acme.destroy(&uid).await.expect("destroy");
        expected.push(kmip("acme", Operation::DESTROY, Some(&uid), Status::Success));
        assert!(acme.get(&uid, None).await.is_err(), "destroyed");
        expected.push(kmip("acme", Operation::GET, Some(&uid), Status::Failure));

        // a certificate from the CA for a client nobody enrolled: every item is refused
        let stranger = server
            .issue_identity(Role::KmipClient, Some("acme"), "stranger")
            .expect("issue");
        let config = server
            .client_config("acme")
            .unwrap()
            .with_identity(stranger.cert, stranger.key);
        let mut intruder = client::Connector::new(config).unwrap().connect().await.unwrap();
        let refused = intruder.rng_retrieve(16).await.expect_err("not enrolled");
        assert!(matches!(
            refused,
            ClientError::Kmip { reason: Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL), .. }
        ));
        expected.push((None, "kmip", op(Operation::RNG_RETRIEVE), None, "denied"));

        // admin calls: an operator creates a tenant (the record starts the tenant's chain), an
        // auditor may not suspend it
        let operator = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let (status, _) = Api::new(server, &operator)
            .post("/v1/tenants", serde_json::json!({ "id": "initech" }))
            .await;
        assert_eq!(status, 201);
        expected.push((
            Some("initech".to_owned()),
            "admin",
            "POST /v1/tenants".to_owned(),
            None,
            "success",
        ));
        let auditor = server
            .admin_identity(Role::Auditor, Some("initech"), "eve")
            .await
            .unwrap();
        let (status, _) = Api::new(server, &auditor)
            .post("/v1/tenants/initech/suspend", serde_json::json!({}))
            .await;
        assert_eq!(status, 403);
        expected.push((
            Some("initech".to_owned()),
            "admin",
            "POST /v1/tenants/{tenant}/suspend".to_owned(),
            None,
            "denied",
        ));

        let (records, checkpoints, key) = settled(server).await;
        // The test bed's own enrollments (`TestServer::setup`) have records too; they are
        // neither items nor calls.
        let ours: Vec<_> = records[before..]
            .iter()
            .filter(|r| r.event.kind != Kind::Connection && r.event.operation != "test setup")
            .map(seen)
            .collect();
        assert_eq!(counts(ours), counts(expected), "one record per answered item and call");

        // state changes are numbered 1, 2, 3... each once; reads and refusals carry none
        let changes: Vec<u64> = records.iter().filter_map(|r| r.event.change).collect();
        let last = server.kms().store().last_change().unwrap();
        assert_eq!(changes, (1..=last).collect::<Vec<_>>(), "every change once, in order");
        for r in &records {
            let e = &r.event;
            if e.change.is_some() {
                assert!(e.status == Status::Success && e.kind != Kind::Connection, "{e:?}");
            }
            if e.operation == "POST /v1/tenants" {
                assert!(e.change.is_some(), "the tenant creation carried its record: {e:?}");
            }
            if matches!(e.operation.as_str(), "Create" | "Activate" | "Revoke" | "Destroy")
                && e.status == Status::Success
            {
                assert!(e.change.is_some(), "a change without its number: {e:?}");
            }
        }

        // the operator's view and acme's own view both verify, signed through the end
        let report = audit_log::verify(&records, &checkpoints, &key, &Scope::All);
        assert!(report.is_clean(), "{:?}", report.findings);
        let global = report.chains.iter().find(|c| c.tenant.is_none()).expect("global chain");
        assert_eq!(global.signed_through, global.last, "checkpoints reach the last record");
        let acme_only: Vec<_> = records
            .iter()
            .filter(|r| r.event.tenant.as_deref() == Some("acme"))
            .cloned()
            .collect();
        let acme_checkpoints: Vec<_> = checkpoints
            .iter()
            .map(|c| c.for_tenant(Some("acme")).expect("proof"))
            .collect();
        let scope = Scope::Tenant(Some("acme".to_owned()));
        let report = audit_log::verify(&acme_only, &acme_checkpoints, &key, &scope);
        assert!(report.is_clean(), "{:?}", report.findings);
        assert!(report.records >= 9);

        // the key bytes the client received appear in no audit file, and nowhere else the
        // node keeps files either (store, token, PKI, config)
        assert_no_bytes_in(server.kms().audit().dir(), &material);
        assert_no_bytes_in(&server.layout().dir, &material);
        let logged = std::fs::metadata(&log_path).expect("log").len();
        assert!(logged > 0, "the server logged nothing: the scan of its log proves nothing");
    }
}

/// Fails if `needle` (raw, hex or base64) occurs in any file under `dir`.
fn assert_no_bytes_in(dir: &Path, needle: &[u8]) {
    use base64::Engine as _;
    assert!(needle.len() >= 16, "a key worth searching for");
    let forms = [
        needle.to_vec(),
        hex::encode(needle).into_bytes(),
        hex::encode_upper(needle).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(needle)
            .into_bytes(),
    ];
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("list") {
                stack.push(entry.expect("entry").path());
            }
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        files += 1;
        for form in &forms {
            assert!(
                !bytes.windows(form.len()).any(|w| w == form.as_slice()),
                "key bytes found in {}",
                path.display()
            );
        }
    }
    assert!(files > 0, "scanned nothing under {}", dir.display());
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            // mode: the node refuses an audit directory others may enter (tmpfs: 1777)
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(path.to_owned()))
    }

    /// Fills the free space with a file, to the last byte; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = [0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..1]).is_ok() {}
        path
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("mount");
        assert!(status.success(), "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_audit_disk_refuses_everything_and_loses_no_record() {
    kms_tests::softhsm::run(
        concat!(
            module_path!(),
            "::a_full_audit_disk_refuses_everything_and_loses_no_record"
        ),
        |env| {
            let dir = env.dir().join("audit-tmpfs");
            let Some(disk) = Tmpfs::mount(&dir, "256k") else {
                // Needs root (CI and the dev machines run the suite as root); says SKIP where
                // `cargo test` shows it, or fails under KMS_TEST_NO_SKIP.
                kms_tests::softhsm::skip("cannot mount a tmpfs here (needs root)");
                return;
            };
            let audit_dir = dir.display().to_string();
            let overrides = [FAST_CHECKPOINTS, ("KMSD_AUDIT__DIR", audit_dir.as_str())];
            kms_tests::testbed::with_server_config(env, &overrides, async |server| {
                full_disk(server, &disk).await;
            });
        },
    );
}

async fn full_disk(server: &TestServer, disk: &Tmpfs) {
    let mut acme = server.client("acme").unwrap().connect().await.unwrap();
    let kept = new_key(&mut acme).await;
    // fill the audit disk with the records of ordinary work until the server refuses
    let mut refusal = None;
    for _ in 0..5000 {
        match acme
            .create_symmetric_key(CryptographicAlgorithm::AES, 256, usage(), Attributes::new())
            .await
        {
            Ok(_) => {}
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let refusal = refusal.expect("a 256 KiB audit disk fills up");
    assert!(
        refusal.to_string().contains("audit trail unavailable"),
        "{refusal}"
    );
    // take the last free bytes too, so that not even a short record fits
    let filler = disk.fill();
    // fail-closed: reads are refused too, and readiness says why
    let read = acme
        .get(&kept, None)
        .await
        .expect_err("refused while degraded");
    assert!(
        read.to_string().contains("audit trail unavailable"),
        "{read}"
    );
    let operator = server.admin_identity(Role::Operator, None, "ops").await;
    // enrolling the operator is a write of the test bed, not a request: it is applied, its
    // record waits in the outbox (written below, once there is space)
    let operator = operator.expect("operator enrolled");
    let (status, _) = Api::new(server, &operator).get("/readyz").await;
    assert_eq!(status, 503, "not ready while the audit trail is down");
    let (status, body) = Api::new(server, &operator).get("/v1/tenants").await;
    assert_eq!(status, 503, "admin calls refused too: {body}");

    // space again: the next record goes through, and service comes back
    std::fs::remove_file(filler).expect("remove the filler");
    disk.resize("16m");
    let mut served = false;
    for _ in 0..5 {
        if acme.get(&kept, None).await.is_ok() {
            served = true;
            break;
        }
    }
    assert!(served, "served again once the audit trail can write");

    // the change whose record could not be written is recorded from the outbox, once
    let last = server.kms().store().last_change().unwrap();
    for _ in 0..100 {
        if server.kms().audit().next_change() > last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (records, checkpoints, key) = settled(server).await;
    let changes: Vec<u64> = records.iter().filter_map(|r| r.event.change).collect();
    assert_eq!(
        changes,
        (1..=last).collect::<Vec<_>>(),
        "every committed change has exactly one record"
    );
    let report = audit_log::verify(&records, &checkpoints, &key, &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
}
