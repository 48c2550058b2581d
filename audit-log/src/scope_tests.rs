//! The scope of a verification is the auditor's, and the files cannot narrow it: a checkpoint
//! stripped of the heads the scope needs is a finding (else records it covers could be cut),
//! records outside the scope are findings (else a forged record could hide there), and an
//! export's manifest states the scope it was made for and catches a cut the signatures cannot.

use time::OffsetDateTime;

use crate::tamper_tests::{TestKey, check, event, fixture, tenant_view, to_file};
use crate::{
    AuditRecord, ChainState, Checkpoint, CheckpointDraft, Finding, Manifest, Scope, verify,
};

fn acme() -> Scope {
    Scope::Tenant(Some("acme".into()))
}

fn missing_heads(found: &[Finding]) -> Vec<u64> {
    found
        .iter()
        .filter_map(|f| match f {
            Finding::MissingTenantHeads { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tenant_export_whose_checkpoints_lost_the_tenants_head_is_caught() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 45, 8);
    let (recs, views) = tenant_view(&records, &cps, Some("acme"));
    // the attacker cuts acme's records after log record 30, and strips the proof from the
    // checkpoints that cover them (at 32, 40, 45): nothing vouches for the cut records any more
    let kept: Vec<AuditRecord> = recs.iter().filter(|r| r.seq <= 30).cloned().collect();
    let mut stripped = views.clone();
    for cp in stripped.iter_mut().filter(|c| c.seq > 30) {
        cp.proof = None;
    }
    let found = check(&to_file(&kept), &stripped, &key.public(), &acme());
    assert_eq!(missing_heads(&found), vec![32, 40, 45], "{found:?}");
    assert!(
        found.iter().all(|f| matches!(
            f,
            Finding::MissingTenantHeads { tenant: Some(Some(t)), .. } if t == "acme"
        )),
        "{found:?}"
    );

    // or replaces it with another tenant's valid proof
    let (_, globex_views) = tenant_view(&records, &cps, Some("globex"));
    let mut swapped = views.clone();
    for (cp, other) in swapped.iter_mut().zip(&globex_views) {
        if cp.seq > 30 {
            cp.proof.clone_from(&other.proof);
        }
    }
    let found = check(&to_file(&kept), &swapped, &key.public(), &acme());
    assert_eq!(missing_heads(&found), vec![32, 40, 45], "{found:?}");

    // untouched, the same export is clean
    assert_eq!(
        check(&to_file(&recs), &views, &key.public(), &acme()),
        vec![]
    );
}

#[test]
fn a_full_list_proves_a_tenant_had_no_records_yet() {
    // acme's records 1..=5, a checkpoint, then initech's first records
    let key = TestKey::new();
    let mut state = ChainState::genesis("node-a");
    let (mut records, mut cps) = (Vec::new(), Vec::new());
    for i in 1..=10u64 {
        let mut e = event(i);
        e.tenant = Some(if i <= 5 { "acme" } else { "initech" }.into());
        let r = state.next(e);
        state.advance(&r).expect("chains");
        records.push(r);
        if i == 5 || i == 10 {
            let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i as i64);
            cps.push(key.sign(CheckpointDraft::new(&state, at)));
        }
    }
    let initech = Scope::Tenant(Some("initech".into()));
    let theirs: Vec<AuditRecord> = records.iter().filter(|r| r.seq > 5).cloned().collect();
    // the full checkpoint at 5 does not list initech, and says so with a signed root
    assert_eq!(
        check(&to_file(&theirs), &cps, &key.public(), &initech),
        vec![]
    );
    // its view leaves the checkpoint at 5 out (it vouches for nothing of initech's)
    let view: Vec<Checkpoint> = cps
        .iter()
        .filter_map(|c| c.for_tenant(Some("initech")).ok())
        .collect();
    assert_eq!(view.len(), 1);
    assert_eq!(
        check(&to_file(&theirs), &view, &key.public(), &initech),
        vec![]
    );
}

#[test]
fn records_outside_the_scope_are_findings_and_views_do_not_narrow_the_whole_trail() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 45, 8);
    let (_, views) = tenant_view(&records, &cps, Some("acme"));
    // a full export whose checkpoints were replaced by acme's view, verified as acme's: every
    // other record is reported, not skipped
    let found = verify(&records, &views, &key.public(), &acme()).findings;
    let outside: Vec<(Option<String>, u64)> = found
        .iter()
        .filter_map(|f| match f {
            Finding::OutOfScope {
                tenant, records, ..
            } => Some((tenant.clone(), *records)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outside,
        vec![(None, 15), (Some("globex".into()), 15)],
        "{found:?}"
    );
    // verified as the whole trail: every checkpoint lacks the full list
    let found = verify(&records, &views, &key.public(), &Scope::All).findings;
    assert_eq!(
        missing_heads(&found),
        vec![8, 16, 24, 32, 40, 45],
        "{found:?}"
    );
    // and a forged record of another tenant is found in the whole trail's scope
    let mut forged = records.clone();
    forged[4].event.operation = "Forged".into();
    let found = check(&to_file(&forged), &cps, &key.public(), &Scope::All);
    assert!(
        found.iter().any(|f| matches!(
            f,
            Finding::BrokenLink {
                tenant: None,
                seq: 6,
                ..
            }
        )),
        "{found:?}"
    );
}

#[test]
fn an_export_states_its_scope_and_its_manifest_catches_a_cut_unsigned_tail() {
    let key = TestKey::new();
    let (records, cps) = fixture(&key, 45, 8);
    // no checkpoint after 40: acme's record 43 is chained but not signed
    let signed = &cps[..5];
    let (recs, views) = tenant_view(&records, signed, Some("acme"));
    let mut manifest = Manifest::new(acme(), false);
    for r in &recs {
        manifest.note(r);
    }
    manifest.checkpoints = views.len() as u64;
    let text = manifest.to_json().expect("json");
    assert!(text.contains(r#""scope":{"tenant":"acme"}"#), "{text}");
    let manifest = Manifest::from_json(&text).expect("round trip");
    assert_eq!(manifest.check(&acme(), &recs, views.len()), vec![]);
    assert_eq!(
        verify(&recs, &views, &key.public(), &acme()).findings,
        vec![]
    );

    // the unsigned last record cut: the signatures cannot tell, the manifest can
    let cut = &recs[..recs.len() - 1];
    assert_eq!(verify(cut, &views, &key.public(), &acme()).findings, vec![]);
    let found = manifest.check(&acme(), cut, views.len());
    let what: Vec<&str> = found
        .iter()
        .filter_map(|f| match f {
            Finding::ManifestMismatch { what, .. } => Some(*what),
            _ => None,
        })
        .collect();
    assert_eq!(what, vec!["records", "end"], "{found:?}");
    // a checkpoint removed
    let found = manifest.check(&acme(), &recs, views.len() - 1);
    assert!(
        matches!(
            &found[..],
            [Finding::ManifestMismatch {
                what: "checkpoints",
                ..
            }]
        ),
        "{found:?}"
    );
    // verified as another scope than it states
    let found = manifest.check(&Scope::All, &recs, views.len());
    assert!(
        found.contains(&Finding::ScopeMismatch { stated: acme() }),
        "{found:?}"
    );
}

#[test]
fn a_tenant_export_made_before_any_checkpoint_covers_the_tenant_verifies_clean() {
    let key = TestKey::new();
    let (mut records, cps) = fixture(&key, 24, 8);
    // initech's first records come after the last checkpoint (at 24)
    let mut state = ChainState::genesis("node-a");
    for r in &records {
        state.advance(r).expect("chains");
    }
    for i in 25..=28u64 {
        let mut e = event(i);
        e.tenant = Some("initech".into());
        let r = state.next(e);
        state.advance(&r).expect("chains");
        records.push(r);
    }
    let (recs, views) = tenant_view_lenient(&records, &cps, "initech");
    assert!(views.is_empty(), "no checkpoint lists initech yet");
    let scope = Scope::Tenant(Some("initech".into()));
    let mut manifest = Manifest::new(scope.clone(), false);
    for r in &recs {
        manifest.note(r);
    }
    let start = manifest.start.clone().expect("records");
    assert_eq!(start.seq, 0, "the export starts initech's chain");
    assert_eq!(
        check(&to_file(&recs), &views, &key.public(), &scope),
        vec![]
    );
    assert_eq!(manifest.check(&scope, &recs, 0), vec![]);
}

/// A tenant's export as the server makes it: its records, and the checkpoints that list it
/// in its view (the others left out).
fn tenant_view_lenient(
    records: &[AuditRecord],
    cps: &[Checkpoint],
    tenant: &str,
) -> (Vec<AuditRecord>, Vec<Checkpoint>) {
    let recs = records
        .iter()
        .filter(|r| r.event.tenant.as_deref() == Some(tenant))
        .cloned()
        .collect();
    let views = cps
        .iter()
        .filter_map(|c| c.for_tenant(Some(tenant)).ok())
        .collect();
    (recs, views)
}
