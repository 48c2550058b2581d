//! The audit writer against real files: durability order, group commit, rotation, retention,
//! recovery from a torn tail, refusal of edited files, fail-closed when the directory is gone.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use audit_log::{
    AuditEvent, Checkpoint, Finding, Kind, PublicKey, Scope, Status, read_checkpoints,
    read_records, verify,
};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use time::OffsetDateTime;

use super::*;

/// A software audit key: unit tests only (the server signs with the HSM).
#[derive(Clone)]
struct SoftKey(Arc<EcdsaKeyPair>);

impl SoftKey {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("parse");
        Self(Arc::new(pair))
    }

    fn public(&self) -> PublicKey {
        PublicKey::from_sec1(self.0.public_key().as_ref()).expect("sec1")
    }
}

impl CheckpointSigner for SoftKey {
    fn sign_checkpoint(&self, message: &[u8]) -> Result<Vec<u8>, hsm::Error> {
        let sig = self.0.sign(&SystemRandom::new(), message).expect("sign");
        Ok(sig.as_ref().to_vec())
    }
}

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        time: OffsetDateTime::now_utc(),
        node: "node-a".into(),
        tenant: Some(["acme", "globex"][(i % 2) as usize].into()),
        principal: Some(audit_log::Principal {
            fingerprint: format!("{:064x}", i),
            subject: format!("CN=client-{i}"),
            issuer: "CN=KMS Client CA".into(),
            client: Some("vcenter".into()),
        }),
        client_addr: Some("192.0.2.1:40000".into()),
        kind: Kind::Kmip,
        operation: "Create".into(),
        object: Some(format!("uid-{i}")),
        status: Status::Success,
        reason: None,
        request_id: Some(format!("{i:04x}")),
        change: None,
    }
}

fn config() -> AuditConfig {
    AuditConfig::new("node-a")
}

/// Every record in the directory's segments (in order) and every checkpoint.
fn load(dir: &Path) -> (Vec<audit_log::AuditRecord>, Vec<Checkpoint>, Vec<Finding>) {
    let mut records = Vec::new();
    let mut findings = Vec::new();
    for (_, path) in segment::list_segments(dir).expect("list") {
        let parsed = read_records(fs::read(&path).expect("read").as_slice()).expect("parse");
        records.extend(parsed.items);
        findings.extend(parsed.findings);
    }
    let cps = match fs::read(dir.join(segment::CHECKPOINTS)) {
        Ok(bytes) => {
            let parsed = read_checkpoints(bytes.as_slice()).expect("parse");
            findings.extend(parsed.findings);
            parsed.items
        }
        Err(_) => Vec::new(),
    };
    (records, cps, findings)
}

async fn append_many(log: &AuditLog, range: std::ops::Range<u64>) -> Vec<u64> {
    let mut set = tokio::task::JoinSet::new();
    for i in range {
        let log = log.clone();
        set.spawn(async move { log.append(event(i)).await });
    }
    let mut seqs = Vec::new();
    while let Some(r) = set.join_next().await {
        seqs.push(r.expect("task").expect("append"));
    }
    seqs.sort_unstable();
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_durable_chained_and_share_fsyncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    let started = std::time::Instant::now();
    let seqs = append_many(&log, 0..300).await;
    let concurrent = started.elapsed();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    let key = SoftKey::new();
    let cp = log.checkpoint(key.clone()).await.expect("checkpoint");
    assert_eq!(cp.seq, 300);
    let stats = log.stats();
    assert_eq!((stats.records, stats.seq), (300, 300));
    assert!(stats.syncs <= stats.records);
    let started = std::time::Instant::now();
    for i in 300..350 {
        log.append(event(i)).await.expect("append");
    }
    let alone = started.elapsed() / 50;
    println!(
        "group commit: 300 concurrent appends in {} fsyncs, {concurrent:?}; \
         one append at a time: {alone:?} each",
        stats.syncs
    );
    log.shutdown().await;

    let (records, cps, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    let report = verify(&records, &cps, &key.public(), &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.records, 350);
    // a tenant's auditor checks that tenant alone against its view of the checkpoint
    let acme: Vec<_> = records
        .into_iter()
        .filter(|r| r.event.tenant.as_deref() == Some("acme"))
        .collect();
    let view = cps[0].for_tenant(Some("acme")).expect("listed");
    let report = verify(
        &acme,
        &[view],
        &key.public(),
        &Scope::Tenant(Some("acme".into())),
    );
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.records, 175);
}

#[tokio::test]
async fn a_checkpoint_of_a_thousand_tenants_reopens() {
    // Found by the scale test: a checkpoint lists every tenant's head, and 1000 tenants made
    // a line longer than a record line may be, so the node could not restart.
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SoftKey::new();
    let log = AuditLog::open(dir.path(), config()).expect("open");
    let receipts: Vec<_> = (0..1000u64)
        .map(|i| {
            let mut e = event(i);
            e.tenant = Some(format!("scale-tenant-{i:04}"));
            log.submit(e)
        })
        .collect();
    for r in receipts {
        r.await.expect("writer").expect("append");
    }
    let cp = log.checkpoint(key.clone()).await.expect("checkpoint");
    assert!(cp.to_json_line().expect("json").len() > audit_log::MAX_LINE_LEN);
    log.shutdown().await;
    let log = AuditLog::open(dir.path(), config()).expect("reopen");
    assert_eq!(log.recovery().checkpoint, Some(1000));
    log.shutdown().await;
}

#[tokio::test]
async fn a_reopened_log_continues_both_chains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SoftKey::new();
    let log = AuditLog::open(dir.path(), config()).expect("open");
    append_many(&log, 0..5).await;
    log.checkpoint(key.clone()).await.expect("checkpoint");
    append_many(&log, 5..8).await;
    log.shutdown().await;

    let log = AuditLog::open(dir.path(), config()).expect("reopen");
    assert_eq!(log.recovery().seq, 8);
    assert_eq!(log.recovery().checkpoint, Some(5));
    assert_eq!(log.recovery().replayed, 3);
    assert_eq!(log.append(event(8)).await.expect("append"), 9);
    log.checkpoint(key.clone()).await.expect("checkpoint");
    log.shutdown().await;
    let (records, cps, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    let report = verify(&records, &cps, &key.public(), &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.records, 9);
}

#[tokio::test]
async fn a_torn_tail_is_moved_aside_reported_and_the_log_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    append_many(&log, 0..4).await;
    log.shutdown().await;
    let (_, last) = segment::list_segments(dir.path())
        .expect("list")
        .pop()
        .expect("a segment");
    let torn = b"{\"log\":\"node-a\",\"seq\":5,\"ten";
    fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .and_then(|mut f| f.write_all(torn))
        .expect("tear");

    let log = AuditLog::open(dir.path(), config()).expect("reopen");
    let q = log.recovery().quarantined.clone();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].bytes, torn.len() as u64);
    assert_eq!(fs::read(&q[0].saved_to).expect("saved"), torn);
    assert_eq!(log.append(event(4)).await.expect("append"), 5);
    log.shutdown().await;
    let (records, _, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    assert_eq!(records.len(), 5);
    let report = verify(&records, &[], &SoftKey::new().public(), &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
}

#[tokio::test]
async fn an_edited_record_stops_the_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    append_many(&log, 0..4).await;
    log.shutdown().await;
    let (_, path) = segment::list_segments(dir.path())
        .expect("list")
        .pop()
        .expect("a segment");
    let text = fs::read_to_string(&path).expect("read");
    fs::write(&path, text.replacen("\"Create\"", "\"Locate\"", 1)).expect("edit");
    match AuditLog::open(dir.path(), config()) {
        Err(AuditError::Corrupt { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    assert!(matches!(
        AuditLog::open(dir.path(), config()),
        Err(AuditError::Locked { .. })
    ));
    log.shutdown().await;
    AuditLog::open(dir.path(), config()).expect("free again after shutdown");
}

#[tokio::test]
async fn segments_rotate_by_size_and_retention_keeps_every_unsigned_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SoftKey::new();
    let cfg = AuditConfig {
        segment_bytes: 4096,
        retain_segments: 2,
        ..config()
    };
    let log = AuditLog::open(dir.path(), cfg.clone()).expect("open");
    for i in 0..60 {
        log.append(event(i)).await.expect("append");
    }
    let many = segment::list_segments(dir.path()).expect("list").len();
    assert!(many > 3, "{many} segments");
    for (_, p) in segment::list_segments(dir.path()).expect("list") {
        assert!(fs::metadata(&p).expect("meta").len() <= 4096);
    }
    // nothing is signed yet, so nothing may go
    let (records, _, _) = load(dir.path());
    assert_eq!(records.len(), 60);

    log.checkpoint(key.clone()).await.expect("checkpoint");
    for i in 60..70 {
        log.append(event(i)).await.expect("append");
    }
    log.checkpoint(key.clone()).await.expect("checkpoint");
    let left = segment::list_segments(dir.path()).expect("list");
    assert!(left.len() < many, "{} of {many} segments left", left.len());
    assert_eq!(left.first().map(|(f, _)| *f), Some(61));
    log.shutdown().await;

    let (records, cps, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    assert_eq!(records.first().map(|r| r.seq), Some(61));
    let report = verify(&records, &cps, &key.public(), &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
    // and the state survives a reopen after retention
    let log = AuditLog::open(dir.path(), cfg).expect("reopen");
    assert_eq!(log.append(event(70)).await.expect("append"), 71);
    log.shutdown().await;
}

#[tokio::test]
async fn an_unusable_directory_fails_closed_and_health_degrades() {
    // a path below a regular file can never be a directory
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").expect("write");
    assert!(matches!(
        AuditLog::open(file.join("audit"), config()),
        Err(AuditError::Io { .. })
    ));

    // the directory disappears under a running log: the next segment cannot be created
    let audit_dir = dir.path().join("audit");
    let log = AuditLog::open(&audit_dir, config()).expect("open");
    log.append(event(0)).await.expect("append");
    assert_eq!(log.health(), AuditHealth::Healthy);
    assert!(log.is_healthy());
    log.checkpoint(SoftKey::new())
        .await
        .expect("checkpoint ends the segment");
    fs::remove_dir_all(&audit_dir).expect("remove");
    let err = log.append(event(1)).await.expect_err("must refuse");
    assert!(
        err.to_string().starts_with("audit trail unavailable"),
        "{err}"
    );
    assert!(matches!(
        log.health(),
        AuditHealth::Degraded {
            failures: 1,
            poisoned: false,
            ..
        }
    ));
    assert!(!log.is_healthy());
    assert_eq!(log.stats().seq, 1, "the refused record is not counted");

    // once the directory is back, writes go on and health recovers
    fs::create_dir_all(&audit_dir).expect("recreate");
    assert_eq!(log.append(event(2)).await.expect("append"), 2);
    assert_eq!(log.health(), AuditHealth::Healthy);
    assert!(log.is_healthy());
    log.shutdown().await;
}

#[tokio::test]
async fn a_signer_failure_stores_no_checkpoint() {
    struct Broken;
    impl CheckpointSigner for Broken {
        fn sign_checkpoint(&self, _: &[u8]) -> Result<Vec<u8>, hsm::Error> {
            Ok(vec![0; 10])
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    log.append(event(0)).await.expect("append");
    assert!(matches!(
        log.checkpoint(Broken).await,
        Err(AuditError::Signature(_))
    ));
    log.shutdown().await;
    assert!(!dir.path().join(segment::CHECKPOINTS).exists());
}

#[test]
fn kmip_outcomes_map_to_audit_statuses() {
    use kmip_codec::enums::{ResultReason, ResultStatus};
    assert_eq!(
        kmip_status(ResultStatus::SUCCESS, None),
        (Status::Success, None)
    );
    assert_eq!(
        kmip_status(
            ResultStatus::OPERATION_FAILED,
            Some(ResultReason::PERMISSION_DENIED)
        ),
        (Status::Denied, Some("PermissionDenied".into()))
    );
    assert_eq!(
        kmip_status(
            ResultStatus::OPERATION_FAILED,
            Some(ResultReason::ITEM_NOT_FOUND)
        )
        .0,
        Status::Failure
    );
    assert_eq!(
        kmip_status(ResultStatus::OPERATION_UNDONE, None).0,
        Status::Undone
    );
}

/// Records of state changes are written once each, in change order: a record sent again (a
/// node replaying its outbox) is answered once the first copy is durable, without a second
/// line; one that skips a change is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_records_are_written_once_and_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), config()).expect("open");
    log.resume_changes(1).await.expect("resume");
    let change = |c: u64| AuditEvent {
        change: Some(c),
        ..event(c)
    };
    let first = log.submit(change(1));
    let again = log.submit(change(1));
    let second = log.submit(change(2));
    assert_eq!(first.await.expect("answer").expect("durable"), 1);
    assert_eq!(again.await.expect("answer").expect("durable"), 0);
    assert_eq!(second.await.expect("answer").expect("durable"), 2);
    assert!(matches!(
        log.append(change(4)).await,
        Err(AuditError::ChangeGap {
            expected: 3,
            found: 4
        })
    ));
    assert_eq!(log.next_change(), 3);
    log.shutdown().await;
    let (records, _, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    let changes: Vec<_> = records.iter().map(|r| r.event.change).collect();
    assert_eq!(changes, [Some(1), Some(2)]);
}

#[tokio::test]
async fn retention_keeps_what_the_siem_has_not_received_and_the_tail_reads_across_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SoftKey::new();
    let cfg = AuditConfig {
        segment_bytes: 4096,
        retain_segments: 2,
        ..config()
    };
    let log = AuditLog::open(dir.path(), cfg).expect("open");
    // forwarding has sent records 1..=10 only
    log.hold_from(11);
    for i in 0..70 {
        log.append(event(i)).await.expect("append");
    }
    log.checkpoint(key.clone()).await.expect("checkpoint");
    let segments = segment::list_segments(dir.path()).expect("list");
    assert!(segments.len() > 3, "{} segments", segments.len());
    let first = segments.first().map(|(f, _)| *f).expect("a segment");
    assert!(
        first <= 11,
        "record 11 is kept: the oldest segment starts at {first}"
    );

    // the tail reads every record from 11 on, in order, across the segment files, in batches
    let mut tail = forward::Tail::default();
    let mut seqs = Vec::new();
    loop {
        let batch = tail
            .read(dir.path(), 11 + seqs.len() as u64, 70, 16)
            .expect("read");
        if batch.is_empty() {
            break;
        }
        seqs.extend(batch.iter().map(|r| r.seq));
    }
    assert_eq!(seqs, (11..=70).collect::<Vec<_>>());
    // records past the durable point are not read
    let mut tail = forward::Tail::default();
    let batch = tail.read(dir.path(), 11, 15, 100).expect("read");
    assert_eq!(
        batch.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );

    // once everything is forwarded, retention may cut at the next checkpoint
    log.forwarded(70);
    for i in 70..140 {
        log.append(event(i)).await.expect("append");
    }
    log.checkpoint(key.clone()).await.expect("checkpoint");
    let left = segment::list_segments(dir.path()).expect("list");
    assert_eq!(
        left.first().map(|(f, _)| *f),
        Some(71),
        "cut where forwarding stands"
    );
    log.shutdown().await;
}

#[tokio::test]
async fn retention_by_size_moves_segments_to_the_archive_and_both_halves_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let key = SoftKey::new();
    let cfg = AuditConfig {
        segment_bytes: 4096,
        retain_bytes: 3 * 4096,
        archive_dir: Some(archive.clone()),
        ..config()
    };
    let log = AuditLog::open(dir.path(), cfg).expect("open");
    for i in 0..80 {
        log.append(event(i)).await.expect("append");
    }
    log.checkpoint(key.clone()).await.expect("checkpoint");
    for i in 80..90 {
        log.append(event(i)).await.expect("append");
    }
    log.checkpoint(key.clone()).await.expect("checkpoint");
    log.shutdown().await;

    let kept: u64 = segment::list_segments(dir.path())
        .expect("list")
        .iter()
        .map(|(_, p)| fs::metadata(p).expect("meta").len())
        .sum();
    assert!(kept <= 3 * 4096, "{kept} bytes kept");
    let archived = segment::list_segments(&archive).expect("archive");
    assert!(!archived.is_empty(), "segments were archived, not deleted");

    // What is left verifies on its own, continuing from a signed head ...
    let (records, cps, findings) = load(dir.path());
    assert_eq!(findings, vec![]);
    let first_kept = records.first().map(|r| r.seq).expect("records");
    assert!(first_kept > 1);
    assert!(verify(&records, &cps, &key.public(), &Scope::All).is_clean());
    // ... and the archive with it is the whole trail from record 1, unbroken.
    let (old, _, findings) = load(&archive);
    assert_eq!(findings, vec![]);
    let mut all = old;
    all.extend(records);
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=90).collect::<Vec<_>>()
    );
    let report = verify(&all, &cps, &key.public(), &Scope::All);
    assert!(report.is_clean(), "{:?}", report.findings);
}
