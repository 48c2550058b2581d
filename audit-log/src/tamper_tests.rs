//! Tamper tests: every kind of edit an attacker with write access to the audit files could
//! make is detected at random positions, in the operator's view and in a tenant's view.

use proptest::prelude::*;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use time::OffsetDateTime;

use crate::{
    AuditEvent, AuditRecord, ChainState, Checkpoint, CheckpointDraft, Finding, Kind, Principal,
    PublicKey, Scope, Status, read_checkpoints, read_records, verify,
};

/// A software audit key (tests only; the server signs with the HSM).
pub(crate) struct TestKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl TestKey {
    pub(crate) fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("parse");
        Self { pair, rng }
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey::from_sec1(self.pair.public_key().as_ref()).expect("sec1")
    }

    pub(crate) fn sign(&self, draft: CheckpointDraft) -> Checkpoint {
        let sig = self.pair.sign(&self.rng, &draft.message()).expect("sign");
        draft.finish(sig.as_ref()).expect("64 bytes")
    }
}

pub(crate) const TENANTS: [Option<&str>; 3] = [Some("acme"), Some("globex"), None];

pub(crate) fn event(i: u64) -> AuditEvent {
    let tenant = TENANTS[(i % 3) as usize].map(str::to_owned);
    AuditEvent {
        time: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(i as i64 * 1537),
        node: "node-a".into(),
        tenant,
        principal: Some(Principal {
            fingerprint: format!("{:064x}", i * 7919),
            subject: format!("CN=client-{i},O=Example"),
            issuer: "CN=KMS Client CA".into(),
            client: Some(format!("client-{}", i % 4)),
        }),
        client_addr: Some(format!("192.0.2.{}:{}", i % 250, 40000 + i)),
        kind: if i.is_multiple_of(5) {
            Kind::Admin
        } else {
            Kind::Kmip
        },
        operation: ["Create", "Get", "Destroy", "Locate"][(i % 4) as usize].into(),
        object: i.is_multiple_of(2).then(|| format!("uid-{i}")),
        status: if i.is_multiple_of(7) {
            Status::Denied
        } else {
            Status::Success
        },
        reason: i.is_multiple_of(7).then(|| "Permission Denied".into()),
        request_id: Some(format!("{i:08x}")),
        change: None,
    }
}

/// `n` records, checkpointed every `every` records and at the end.
pub(crate) fn fixture(key: &TestKey, n: u64, every: u64) -> (Vec<AuditRecord>, Vec<Checkpoint>) {
    let mut state = ChainState::genesis("node-a");
    let mut records = Vec::new();
    let mut cps = Vec::new();
    for i in 1..=n {
        let r = state.next(event(i));
        state.advance(&r).expect("chains");
        records.push(r);
        if i.is_multiple_of(every) || i == n {
            let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i as i64);
            cps.push(key.sign(CheckpointDraft::new(&state, at)));
        }
    }
    (records, cps)
}

pub(crate) fn to_file(records: &[AuditRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(r.to_json_line().expect("json").as_bytes());
        out.push(b'\n');
    }
    out
}

/// Reads a file and verifies it; returns every finding.
pub(crate) fn check(
    file: &[u8],
    cps: &[Checkpoint],
    key: &PublicKey,
    scope: &Scope,
) -> Vec<Finding> {
    let parsed = read_records(file).expect("in memory");
    let mut findings = parsed.findings;
    findings.extend(verify(&parsed.items, cps, key, scope).findings);
    findings
}

pub(crate) fn tenant_view(
    records: &[AuditRecord],
    cps: &[Checkpoint],
    tenant: Option<&str>,
) -> (Vec<AuditRecord>, Vec<Checkpoint>) {
    let recs = records
        .iter()
        .filter(|r| r.event.tenant.as_deref() == tenant)
        .cloned()
        .collect();
    let cps = cps
        .iter()
        .map(|c| c.for_tenant(tenant).expect("tenant listed"))
        .collect();
    (recs, cps)
}

#[test]
fn untouched_files_verify_in_every_scope() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 40, 7);
    let file = to_file(&records);
    assert_eq!(check(&file, &cps, &key.public(), &Scope::All), vec![]);
    let report = verify(&records, &cps, &key.public(), &Scope::All);
    assert_eq!(report.records, 40);
    assert_eq!(report.valid_checkpoints, cps.len() as u64);
    let global = report
        .chains
        .iter()
        .find(|c| c.tenant.is_none())
        .expect("global");
    assert_eq!(
        (global.first, global.last, global.signed_through),
        (Some(1), Some(40), Some(40))
    );
    for t in TENANTS {
        let (recs, tcps) = tenant_view(&records, &cps, t);
        let scope = Scope::Tenant(t.map(str::to_owned));
        assert_eq!(check(&to_file(&recs), &tcps, &key.public(), &scope), vec![]);
        // the tenant's view holds no other tenant's name
        let text = serde_json::to_string(&tcps).expect("json");
        for other in TENANTS.iter().flatten().filter(|o| Some(**o) != t) {
            assert!(
                !text.contains(other),
                "{other} leaked into {t:?}'s checkpoints"
            );
        }
    }
}

#[test]
fn records_after_the_last_checkpoint_are_reported_as_unsigned() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 30, 10);
    // drop the final checkpoint (at 30): the tail 21..=30 is chained but not signed
    let report = verify(&records, &cps[..2], &key.public(), &Scope::All);
    assert!(report.is_clean());
    let global = report
        .chains
        .iter()
        .find(|c| c.tenant.is_none())
        .expect("global");
    assert_eq!(global.signed_through, Some(20));
}

#[test]
fn retention_cut_at_a_checkpoint_verifies_and_a_cut_elsewhere_does_not() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 30, 10);
    let pk = key.public();
    // segments 1..=10 deleted by retention: record 11 continues from checkpoint 10
    let kept = to_file(&records[10..]);
    assert_eq!(check(&kept, &cps, &pk, &Scope::All), vec![]);
    let (recs, tcps) = tenant_view(&records[10..], &cps, Some("acme"));
    assert_eq!(
        check(
            &to_file(&recs),
            &tcps,
            &pk,
            &Scope::Tenant(Some("acme".into()))
        ),
        vec![]
    );
    // cut at 13: nothing vouches for record 13's predecessor
    let cut = check(&to_file(&records[13..]), &cps, &pk, &Scope::All);
    assert!(
        cut.contains(&Finding::UnanchoredStart {
            log: "node-a".into(),
            tenant: None,
            seq: 14
        }),
        "{cut:?}"
    );
}

#[test]
fn checkpoint_files_round_trip_and_bad_lines_are_reported() {
    let key = TestKey::new();
    let (_, cps) = fixture(&key, 12, 5);
    let mut file = Vec::new();
    for c in &cps {
        file.extend_from_slice(c.to_json_line().expect("json").as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(b"{\"log\":");
    let parsed = read_checkpoints(file.as_slice()).expect("in memory");
    assert_eq!(parsed.items, cps);
    assert_eq!(
        parsed.findings,
        vec![Finding::TornTail { line: 4, bytes: 7 }]
    );
}

#[test]
fn a_torn_last_record_is_reported() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 10, 5);
    let mut file = to_file(&records);
    let torn = records[9].to_json_line().expect("json");
    file.extend_from_slice(&torn.as_bytes()[..20]);
    let f = check(&file, &cps, &key.public(), &Scope::All);
    assert_eq!(
        f,
        vec![Finding::TornTail {
            line: 11,
            bytes: 20
        }]
    );
}

#[test]
fn an_overlong_line_is_skipped_without_reading_it_whole() {
    let mut file = vec![b'x'; crate::MAX_LINE_LEN + 10];
    file.push(b'\n');
    file.extend_from_slice(b"{}\n");
    let parsed = read_records(file.as_slice()).expect("in memory");
    assert_eq!(
        parsed.findings,
        vec![
            Finding::LineTooLong { line: 1 },
            Finding::MalformedLine { line: 2 }
        ]
    );
}

/// Re-chains `records` from index `from` on, as a forger without the HSM key would after
/// editing record `from`.
fn rechain(records: &mut [AuditRecord], from: usize) {
    let mut state = ChainState::genesis("node-a");
    for (i, r) in records.iter_mut().enumerate() {
        if i >= from {
            let event = r.event.clone();
            *r = state.next(event);
        }
        state.advance(r).expect("re-chained");
    }
}

const N: u64 = 45;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flipping_any_bit_is_detected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let key = TestKey::new();
        let (records, cps) = fixture(&key, N, 8);
        let mut file = to_file(&records);
        let i = pos.index(file.len());
        file[i] ^= 1 << bit;
        prop_assert!(!check(&file, &cps, &key.public(), &Scope::All).is_empty());
    }

    #[test]
    fn flipping_any_bit_of_a_tenant_export_is_detected(
        pos in any::<prop::sample::Index>(), bit in 0u8..8, t in 0usize..3,
    ) {
        let key = TestKey::new();
        let (records, cps) = fixture(&key, N, 8);
        let (recs, tcps) = tenant_view(&records, &cps, TENANTS[t]);
        let mut file = to_file(&recs);
        let i = pos.index(file.len());
        file[i] ^= 1 << bit;
        let scope = Scope::Tenant(TENANTS[t].map(str::to_owned));
        prop_assert!(!check(&file, &tcps, &key.public(), &scope).is_empty());
    }

    #[test]
    fn deleting_any_record_is_detected(pos in any::<prop::sample::Index>(), t in 0usize..4) {
        let key = TestKey::new();
        let (records, cps) = fixture(&key, N, 8);
        let (mut recs, cps, scope) = match t {
            3 => (records, cps, Scope::All),
            t => {
                let (r, c) = tenant_view(&records, &cps, TENANTS[t]);
                (r, c, Scope::Tenant(TENANTS[t].map(str::to_owned)))
            }
        };
        recs.remove(pos.index(recs.len()));
        prop_assert!(!check(&to_file(&recs), &cps, &key.public(), &scope).is_empty());
    }

    #[test]
    fn swapping_any_two_records_is_detected(
        a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), t in 0usize..4,
    ) {
        let key = TestKey::new();
        let (records, cps) = fixture(&key, N, 8);
        let (mut recs, cps, scope) = match t {
            3 => (records, cps, Scope::All),
            t => {
                let (r, c) = tenant_view(&records, &cps, TENANTS[t]);
                (r, c, Scope::Tenant(TENANTS[t].map(str::to_owned)))
            }
        };
        let (i, j) = (a.index(recs.len()), b.index(recs.len()));
        prop_assume!(i != j);
        recs.swap(i, j);
        prop_assert!(!check(&to_file(&recs), &cps, &key.public(), &scope).is_empty());
    }

    #[test]
    fn truncating_below_the_last_checkpoint_is_detected(
        keep in any::<prop::sample::Index>(), t in 0usize..4, bytes in any::<bool>(),
    ) {
        let key = TestKey::new();
        let (records, cps) = fixture(&key, N, 8);
        let (recs, cps, scope) = match t {
            3 => (records, cps, Scope::All),
            t => {
                let (r, c) = tenant_view(&records, &cps, TENANTS[t]);
                (r, c, Scope::Tenant(TENANTS[t].map(str::to_owned)))
            }
        };
        let mut file = to_file(&recs);
        // cut at a record boundary, or at any byte
        let cut = if bytes {
            keep.index(file.len())
        } else {
            let k = keep.index(recs.len());
            to_file(&recs[..k]).len()
        };
        file.truncate(cut);
        let found = check(&file, &cps, &key.public(), &scope);
        prop_assert!(found.iter().any(|f| matches!(f, Finding::BeyondEnd { .. })), "{found:?}");
    }

    #[test]
    fn a_rechained_forgery_without_the_hsm_key_is_detected(
        pos in any::<prop::sample::Index>(), resign in any::<bool>(), t in 0usize..4,
    ) {
        let key = TestKey::new();
        let (mut records, cps) = fixture(&key, N, 8);
        let i = pos.index(records.len());
        records[i].event.status = Status::Success;
        records[i].event.operation = "Get".into();
        records[i].event.object = Some("innocent".into());
        rechain(&mut records, i);
        // either keep the real checkpoints, or re-sign every checkpoint from the forged state
        // with the forger's own key
        let forged_cps = if resign {
            let forger = TestKey::new();
            let mut state = ChainState::genesis("node-a");
            let mut out = Vec::new();
            for r in &records {
                state.advance(r).expect("chains");
                if let Some(c) = cps.iter().find(|c| c.seq == r.seq) {
                    out.push(forger.sign(CheckpointDraft::new(&state, c.time)));
                }
            }
            out
        } else {
            cps
        };
        let (recs, cps, scope) = match t {
            3 => (records, forged_cps, Scope::All),
            t => {
                let (r, c) = tenant_view(&records, &forged_cps, TENANTS[t]);
                (r, c, Scope::Tenant(TENANTS[t].map(str::to_owned)))
            }
        };
        // re-chaining changes every later record's hash, so a tenant sees the forgery if it
        // has any later record, or if the checkpoints were re-signed
        let touched = recs.iter().any(|r| r.seq > i as u64) || resign;
        let found = check(&to_file(&recs), &cps, &key.public(), &scope);
        prop_assert_eq!(!found.is_empty(), touched, "{:?}", found);
    }
}

#[test]
fn a_rewind_restores_every_chain_head() {
    let mut state = ChainState::genesis("node-a");
    for i in 0..4 {
        let record = state.next(event(i));
        state.advance(&record).expect("advance");
    }
    let before = state.clone();
    let mut rewind = state.rewind_point();
    // every tenant advanced, one of them twice, and a tenant chain started
    for i in 4..9 {
        let record = state.next(event(i));
        state
            .advance_undoable(&record, &mut rewind)
            .expect("advance");
    }
    let mut fresh = event(9);
    fresh.tenant = Some("initech".into());
    let record = state.next(fresh);
    state
        .advance_undoable(&record, &mut rewind)
        .expect("advance");
    assert_ne!(state, before);
    state.rewind(rewind);
    assert_eq!(state, before);
}
