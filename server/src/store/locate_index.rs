//! The Locate index: for each tenant, the objects carrying each indexed attribute value, in
//! Locate's answer order (newest Initial Date first, then by UID), so that a Locate on indexed
//! attributes reads only the index entries of its candidates, never the whole tenant.
//!
//! One table, [`tables::LOCATE_INDEX`], keyed `(tenant, term, order, UID)`:
//! - `term` is [`EVERY`] for every object (the walk of an unindexed Locate), or one attribute
//!   instance `(name, value)` encoded as its KMIP 1.x Attribute structure without an index
//!   ([`term`]); an encoding longer than [`MAX_EXACT`] bytes is replaced by its SHA-256.
//! - `order` is [`order`] of the Initial Date, so a term's entries come in answer order.
//!
//! Indexed attributes: Name, Object Type, Object Group, Cryptographic Algorithm, Cryptographic
//! Length, Link, and custom (`x-` / `y-`, 2.x Vendor) attributes, whatever their value type
//! except dates (two date instances in a Locate are a range, not a value). State and the dates
//! are not indexed: the effective state moves with the clock (Activation / Deactivation Date),
//! so the caller checks them on the candidates.
//!
//! A term is only a candidate generator: two different values never share an exact term, a
//! hashed one may (SHA-256), and the caller checks every filter on each candidate record, so
//! the index must only never miss an object that matches.
//!
//! Derived state: written by the deterministic apply in the same transaction as the object
//! ([`reindex`]), rebuilt from the objects when a store is migrated to schema version 4 and
//! when a snapshot is installed ([`rebuild`]); node-local, never carried in snapshots.

use std::collections::BTreeSet;

use kmip_codec::limits::Limits;
use kmip_codec::model::{Attribute, AttributeName, AttributeValue};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{decode::decode, encode::encode};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use sha2::{Digest as _, Sha256};

use super::records::ObjectRecord;
use super::{StoreError, tables};

/// The term every object carries.
pub(super) const EVERY: &[u8] = &[0];
/// Prefix of a term holding an attribute's encoding.
const EXACT: u8 = 1;
/// Prefix of a term holding the SHA-256 of an attribute's encoding.
const HASHED: u8 = 2;
/// Longest encoding kept as is in a term; longer ones are hashed (index keys stay small
/// whatever a client's custom attribute holds).
const MAX_EXACT: usize = 64;

/// Standard attributes the index keeps.
const INDEXED_TAGS: [Tag; 6] = [
    Tag::NAME,
    Tag::OBJECT_TYPE,
    Tag::OBJECT_GROUP,
    Tag::CRYPTOGRAPHIC_ALGORITHM,
    Tag::CRYPTOGRAPHIC_LENGTH,
    Tag::LINK,
];

/// The index order of an Initial Date: ascending order is newest first (an order-preserving
/// map of `i64` onto `u64`, then reversed).
pub(super) fn order(initial_date: i64) -> u64 {
    !(u64::from_be_bytes(initial_date.to_be_bytes()) ^ (1 << 63))
}

/// Whether instances of this attribute (with this value) are indexed.
pub fn indexed(a: &Attribute) -> bool {
    let by_name = match &a.name {
        AttributeName::Standard(tag) => INDEXED_TAGS.contains(tag),
        AttributeName::Vendor { .. } => true,
        AttributeName::Other(_) => false,
    };
    by_name
        && !matches!(
            a.value,
            AttributeValue::DateTime(_) | AttributeValue::DateTimeExtended(_)
        )
}

/// The index term of an attribute instance (a Locate filter or a stored instance: equal name
/// and value give the same term, whatever the Attribute Index), `None` if it is not indexed.
pub fn term(a: &Attribute) -> Option<Vec<u8>> {
    if !indexed(a) {
        return None;
    }
    let plain = Attribute {
        name: a.name.clone(),
        index: None,
        value: a.value.clone(),
    };
    let encoded = encode(&plain.to_ttlv_1x()?);
    let mut out = Vec::with_capacity(1 + encoded.len().min(32));
    if encoded.len() <= MAX_EXACT {
        out.push(EXACT);
        out.extend_from_slice(&encoded);
    } else {
        out.push(HASHED);
        out.extend_from_slice(&Sha256::digest(&encoded));
    }
    Some(out)
}

/// Every term of a stored object: [`EVERY`], its typed indexed attributes, and its stored
/// instances that are indexed (an instance that does not decode is not indexed; it could not
/// be reported, so no Locate can match it either).
fn terms_of(record: &ObjectRecord) -> BTreeSet<Vec<u8>> {
    let a = &record.attributes;
    let mut typed = vec![Attribute::new(
        Tag::OBJECT_TYPE,
        AttributeValue::Enumeration(record.object_type),
    )];
    if let Some(v) = a.cryptographic_algorithm {
        typed.push(Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(v),
        ));
    }
    if let Some(v) = a.cryptographic_length {
        typed.push(Attribute::new(
            Tag::CRYPTOGRAPHIC_LENGTH,
            AttributeValue::Integer(v),
        ));
    }
    let stored = a.other.iter().filter_map(|o| {
        let item = decode(&o.0, &Limits::DEFAULT).ok()?;
        Attribute::from_ttlv_1x(&item).ok()
    });
    let mut terms: BTreeSet<Vec<u8>> = typed
        .iter()
        .chain(&stored.collect::<Vec<_>>())
        .filter_map(term)
        .collect();
    terms.insert(EVERY.to_vec());
    terms
}

/// Brings the index from `previous` (absent for a new object) to `record`, in the write
/// transaction that stores `record`.
pub(super) fn reindex(
    txn: &WriteTransaction,
    previous: Option<&ObjectRecord>,
    record: &ObjectRecord,
) -> Result<(), StoreError> {
    let mut index = txn.open_table(tables::LOCATE_INDEX)?;
    let tenant = record.tenant.as_str();
    let uid = record.uid.as_str();
    let new_order = order(record.attributes.initial_date);
    let new = terms_of(record);
    let old = previous.map(|p| {
        (
            order(p.attributes.initial_date),
            p.tenant.as_str(),
            terms_of(p),
        )
    });
    let mut kept = BTreeSet::new();
    if let Some((old_order, old_tenant, old_terms)) = &old {
        for t in old_terms {
            if *old_order == new_order && *old_tenant == tenant && new.contains(t) {
                kept.insert(t.as_slice());
            } else {
                index.remove((*old_tenant, t.as_slice(), *old_order, uid))?;
            }
        }
    }
    for t in &new {
        if !kept.contains(t.as_slice()) {
            index.insert((tenant, t.as_slice(), new_order, uid), ())?;
        }
    }
    Ok(())
}

/// Rebuilds the whole index from the stored objects (a migration, a snapshot install).
pub(super) fn rebuild(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut index = txn.open_table(tables::LOCATE_INDEX)?;
    index.retain(|_, _| false)?;
    let objects = txn.open_table(tables::OBJECTS)?;
    let mut n = 0u64;
    for entry in objects.iter()? {
        let (_, v) = entry?;
        let record: ObjectRecord = super::decode(v.value())?;
        let o = order(record.attributes.initial_date);
        for t in terms_of(&record) {
            index.insert(
                (record.tenant.as_str(), t.as_slice(), o, record.uid.as_str()),
                (),
            )?;
        }
        n += 1;
    }
    Ok(n)
}

/// Hands `visit` the tenant's objects carrying every term of `terms` (every object when
/// `terms` is empty) in answer order, until it returns `false`. The walk follows the term with
/// the fewest entries and checks the others by key; finding it costs at most `terms.len()`
/// times the fewest entries. Only candidates carrying every term are read and decoded.
pub(super) fn walk(
    txn: &ReadTransaction,
    tenant: &str,
    terms: &[Vec<u8>],
    mut visit: impl FnMut(ObjectRecord) -> bool,
) -> Result<(), StoreError> {
    let index = txn.open_table(tables::LOCATE_INDEX)?;
    let objects = txn.open_table(tables::OBJECTS)?;
    let every = [EVERY.to_vec()];
    let terms = if terms.is_empty() { &every[..] } else { terms };
    let lead = fewest(&index, tenant, terms)?;
    for entry in index.range((tenant, terms[lead].as_slice(), 0u64, "")..)? {
        let (key, _) = entry?;
        let (t, term, order, uid) = key.value();
        if t != tenant || term != terms[lead].as_slice() {
            break;
        }
        let mut carries_all = true;
        for (i, other) in terms.iter().enumerate() {
            if i != lead && index.get((tenant, other.as_slice(), order, uid))?.is_none() {
                carries_all = false;
                break;
            }
        }
        if !carries_all {
            continue;
        }
        let Some(v) = objects.get(uid)? else {
            continue;
        };
        let record: ObjectRecord = super::decode(v.value())?;
        if record.tenant == tenant && !visit(record) {
            break;
        }
    }
    Ok(())
}

/// The position in `terms` of the term with the fewest entries for `tenant`: every term's
/// entries are counted one step at a time, side by side, until one ends.
fn fewest(
    index: &redb::ReadOnlyTable<(&str, &[u8], u64, &str), ()>,
    tenant: &str,
    terms: &[Vec<u8>],
) -> Result<usize, StoreError> {
    if terms.len() < 2 {
        return Ok(0);
    }
    let mut walks = terms
        .iter()
        .map(|t| index.range((tenant, t.as_slice(), 0u64, "")..))
        .collect::<Result<Vec<_>, _>>()?;
    loop {
        for (i, walk) in walks.iter_mut().enumerate() {
            let ended = match walk.next() {
                None => true,
                Some(entry) => {
                    let (key, _) = entry?;
                    let (t, term, _, _) = key.value();
                    t != tenant || term != terms[i].as_slice()
                }
            };
            if ended {
                return Ok(i);
            }
        }
    }
}

#[cfg(test)]
#[path = "locate_index_tests.rs"]
mod tests;
