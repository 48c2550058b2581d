//! The indexed Locate against a brute-force filter of the same records: random objects in two
//! tenants (names, object types, groups, algorithms and lengths, links, custom attributes of
//! text, integer and date values, states, activation and deactivation dates, Initial Date
//! ties), random filters of every kind and their combinations; the answer (order included) and
//! Located Items must be the old scan's, before and after the records are rewritten and
//! destroyed, and after a rejected batch.

use std::cmp::Reverse;

use kmip_codec::enums::{LinkType, NameType};
use kmip_codec::model::{Attribute, AttributeValue, Attributes, Link, Name};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;

use super::{Search, matches};
use crate::ops::{attribute_model, state};
use crate::store::records::{ObjectRecord, StoredAttributes};
use crate::store::tests::tenant;
use crate::store::{Command, Rejection, Store};

const NOW: i64 = 1_000_000;
const TENANTS: [&str; 2] = ["acme", "globex"];

/// A small deterministic generator (xorshift64*), so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

fn name(v: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: v.into(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

fn group(g: &str) -> Attribute {
    Attribute::new(Tag::OBJECT_GROUP, AttributeValue::TextString(g.into()))
}

fn link(target: &str) -> Attribute {
    Attribute::new(
        Tag::LINK,
        AttributeValue::Link(Link {
            link_type: LinkType::REPLACEMENT_OBJECT_LINK,
            linked_object_identifier: target.into(),
        }),
    )
}

fn custom(n: &str, v: AttributeValue) -> Attribute {
    Attribute::custom(n, v)
}

const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
const COLORS: [&str; 3] = [
    "red",
    "blue",
    "a-long-value-that-is-hashed-in-the-index-because-it-is-longer-than-sixty-four-bytes",
];
const OBJECT_TYPES: [u32; 3] = [2, 7, 8];
const ALGORITHMS: [u32; 2] = [3, 8];
const LENGTHS: [i32; 2] = [128, 256];
const STATES: [u32; 4] = [1, 2, 3, 5];

/// A random record of `tenant` (revision 1), its client attributes drawn from small pools so
/// that filters match several objects.
fn random_record(rng: &mut Rng, uid: &str, tenant: &str, uids: &[String]) -> ObjectRecord {
    let mut record = ObjectRecord {
        uid: uid.into(),
        tenant: tenant.into(),
        revision: 1,
        object_type: *rng.pick(&OBJECT_TYPES),
        state: 1,
        material: None,
        attributes: StoredAttributes::default(),
    };
    rewrite(rng, &mut record, uids);
    record
}

/// Draws new attributes and a new state for `record` (its UID, tenant and revision kept).
fn rewrite(rng: &mut Rng, record: &mut ObjectRecord, uids: &[String]) {
    let a = &mut record.attributes;
    a.cryptographic_algorithm = rng.chance(80).then(|| *rng.pick(&ALGORITHMS));
    a.cryptographic_length = rng.chance(80).then(|| *rng.pick(&LENGTHS));
    a.cryptographic_usage_mask = Some(if rng.chance(50) { 12 } else { 4 });
    // Ties on purpose: the answer order breaks them by UID.
    a.initial_date = i64::try_from(rng.below(20)).unwrap() * 100;
    a.activation_date = rng.chance(30).then_some(NOW - 10);
    a.deactivation_date = rng.chance(20).then_some(NOW - 5);
    record.state = *rng.pick(&STATES);
    let mut list = Vec::new();
    if rng.chance(70) {
        // Unique within the tenant: the UID is in it.
        list.push(name(&format!("n-{}-{}", record.uid, rng.below(2))));
    }
    for g in GROUPS {
        if rng.chance(40) {
            list.push(group(g));
        }
    }
    if rng.chance(30) && !uids.is_empty() {
        list.push(link(rng.pick(uids).as_str()));
    }
    if rng.chance(60) {
        list.push(custom(
            "x-color",
            AttributeValue::TextString((*rng.pick(&COLORS)).into()),
        ));
    }
    if rng.chance(40) {
        list.push(custom(
            "x-rank",
            AttributeValue::Integer(i32::try_from(rng.below(3)).unwrap()),
        ));
    }
    if rng.chance(50) {
        list.push(custom(
            "x-when",
            AttributeValue::DateTime(i64::try_from(rng.below(4)).unwrap() * 10),
        ));
    }
    // Attribute indexes as a client's Add Attribute gives them.
    let mut indexed: Vec<Attribute> = Vec::new();
    for mut at in list {
        at.index = Some(attribute_model::next_index(&indexed, &at.name));
        indexed.push(at);
    }
    attribute_model::set_others(record, &indexed).unwrap();
}

/// A random Locate filter: one to three attributes of any kind, sometimes none.
fn random_filter(rng: &mut Rng, uids: &[String]) -> Attributes {
    let mut f = Attributes::new();
    for _ in 0..rng.below(4) {
        let a = match rng.below(11) {
            0 => name(&format!("n-{}-{}", rng.pick(uids), rng.below(2))),
            1 => Attribute::new(
                Tag::OBJECT_TYPE,
                AttributeValue::Enumeration(*rng.pick(&OBJECT_TYPES)),
            ),
            2 => {
                let g: &&str = rng.pick(&GROUPS);
                group(g)
            }
            3 => Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(*rng.pick(&ALGORITHMS)),
            ),
            4 => Attribute::new(
                Tag::CRYPTOGRAPHIC_LENGTH,
                AttributeValue::Integer(*rng.pick(&LENGTHS)),
            ),
            5 => link(rng.pick(uids).as_str()),
            6 => custom(
                "x-color",
                AttributeValue::TextString((*rng.pick(&COLORS)).into()),
            ),
            7 => custom(
                "x-rank",
                AttributeValue::Integer(i32::try_from(rng.below(3)).unwrap()),
            ),
            8 => Attribute::new(Tag::STATE, AttributeValue::Enumeration(*rng.pick(&STATES))),
            9 => Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, AttributeValue::Integer(4)),
            _ => {
                // A date range (two instances), on a standard or a custom date.
                let lo = i64::try_from(rng.below(20)).unwrap() * 10;
                let hi = lo + i64::try_from(rng.below(1000)).unwrap();
                if rng.chance(50) {
                    f.push(Attribute::new(
                        Tag::INITIAL_DATE,
                        AttributeValue::DateTime(lo),
                    ));
                    Attribute::new(Tag::INITIAL_DATE, AttributeValue::DateTime(hi))
                } else {
                    f.push(custom("x-when", AttributeValue::DateTime(lo)));
                    custom("x-when", AttributeValue::DateTime(hi))
                }
            }
        };
        f.push(a);
    }
    f
}

/// The old Locate: every object of the tenant decoded and filtered, in answer order.
fn brute_force(store: &Store, tenant: &str, filters: &Attributes) -> Vec<String> {
    let wants_state = filters.iter().any(|a| a.tag() == Some(Tag::STATE));
    let mut found = Vec::new();
    store
        .for_each_object_of(tenant, |o| {
            let gone = state::is_destroyed(state::effective(&o, NOW));
            if (!gone || wants_state) && matches(&o, filters, NOW, ProtocolVersion::V1_4) {
                found.push((Reverse(o.attributes.initial_date), o.uid));
            }
            true
        })
        .unwrap();
    found.sort();
    found.into_iter().map(|(_, uid)| uid).collect()
}

fn search(tenant: &str, filters: &Attributes, keep: usize, paged: bool, budget: u64) -> Search {
    Search {
        tenant: tenant.into(),
        filters: filters.clone(),
        now: NOW,
        version: ProtocolVersion::V1_4,
        keep,
        paged,
        budget,
    }
}

/// Every way of asking gives the old scan's answer for `filters` in `tenant`.
fn check(store: &Store, tenant: &str, filters: &Attributes, seed: u64) {
    let expected = brute_force(store, tenant, filters);
    let whole = search(tenant, filters, usize::MAX, true, u64::MAX)
        .run(store)
        .unwrap();
    let got: Vec<String> = whole.newest.into_sorted().collect();
    assert_eq!(
        got, expected,
        "seed {seed}, tenant {tenant}, filters {filters:?}"
    );
    assert_eq!(
        whole.total,
        Some(expected.len()),
        "seed {seed}, {filters:?}"
    );
    // Unpaged: stops once its page is full, and the page is the first matches.
    let page = search(tenant, filters, 3, false, u64::MAX)
        .run(store)
        .unwrap();
    let first: Vec<String> = page.newest.into_sorted().collect();
    assert_eq!(
        first,
        expected[..expected.len().min(3)],
        "seed {seed}, {filters:?}"
    );
    // A spent budget: the matches found are the first ones, and no total is claimed.
    let short = search(tenant, filters, usize::MAX, true, 5)
        .run(store)
        .unwrap();
    let prefix: Vec<String> = short.newest.into_sorted().collect();
    assert_eq!(prefix, expected[..prefix.len()], "seed {seed}, {filters:?}");
    if short.total.is_some() {
        assert_eq!(
            short.total,
            Some(expected.len()),
            "seed {seed}, {filters:?}"
        );
    }
}

#[tokio::test]
async fn the_indexed_locate_answers_as_the_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = store.committer(()).unwrap();
    for t in TENANTS {
        c.apply(Command::CreateTenant(tenant(t)))
            .await
            .unwrap()
            .outcome
            .unwrap();
    }
    for seed in [1u64, 7, 42, 1234] {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let uids: Vec<String> = (0..60).map(|i| format!("s{seed}-u{i:02}")).collect();
        let mut records = Vec::new();
        for (i, uid) in uids.iter().enumerate() {
            // Both tenants hold objects with the same attribute values.
            let r = random_record(&mut rng, uid, TENANTS[i % 2], &uids);
            c.apply(Command::PutObject {
                expected_revision: None,
                record: Box::new(r.clone()),
            })
            .await
            .unwrap()
            .outcome
            .unwrap();
            records.push(r);
        }
        let rounds = |rng: &mut Rng| {
            for _ in 0..150 {
                let f = random_filter(rng, &uids);
                for t in TENANTS {
                    check(&store, t, &f, seed);
                }
            }
        };
        rounds(&mut rng);
        // Rewrite a third of the objects (attributes replaced, added, deleted; states moved,
        // some destroyed): the index follows.
        for r in records.iter_mut() {
            if rng.chance(33) {
                let expected = r.revision;
                rewrite(&mut rng, r, &uids);
                r.revision += 1;
                c.apply(Command::PutObject {
                    expected_revision: Some(expected),
                    record: Box::new(r.clone()),
                })
                .await
                .unwrap()
                .outcome
                .unwrap();
            }
        }
        rounds(&mut rng);
        // A batch whose second write is refused leaves nothing of the first, index included.
        let mut changed = records[0].clone();
        rewrite(&mut rng, &mut changed, &uids);
        changed.attributes.other.clear();
        attribute_model::set_others(&mut changed, &[name("batch-only"), group("batch-group")])
            .unwrap();
        changed.revision += 1;
        let refused = records[1].clone();
        let outcome = c
            .apply(Command::Batch(vec![
                Command::PutObject {
                    expected_revision: Some(records[0].revision),
                    record: Box::new(changed),
                },
                Command::PutObject {
                    expected_revision: Some(refused.revision + 5),
                    record: Box::new(refused),
                },
            ]))
            .await
            .unwrap()
            .outcome;
        assert_eq!(outcome, Err(Rejection::StaleRevision));
        for f in [
            Attributes(vec![name("batch-only")]),
            Attributes(vec![group("batch-group")]),
        ] {
            for t in TENANTS {
                assert!(brute_force(&store, t, &f).is_empty());
                check(&store, t, &f, seed);
            }
        }
        rounds(&mut rng);
    }
    c.shutdown().await;
}
