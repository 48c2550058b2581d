//! The export protections of a managed object: Sensitive, Extractable, Always Sensitive and
//! Never Extractable (KMIP 1.4 sections 3.48-3.51; 2.1 sections 4.55, 4.23, 4.3, 4.33).
//!
//! The rule, whoever asks and whatever the path: protections only tighten. Sensitive may go
//! false -> true and Extractable true -> false, never back, and neither may be deleted ("Deletable
//! by client: No"). Always Sensitive and Never Extractable are facts, not views: the server
//! records them when the object is made (Always Sensitive = Sensitive, Never Extractable = not
//! Extractable), stores them with the object, clears them for good the first time Sensitive is
//! false or Extractable true, and reports what it stored.
//!
//! Every write of an object goes through one of the functions here: [`record_initial`] for a new
//! object (Create, Register, Re-key's new key, via `attribute_model::init_server_set`), [`check_change`]
//! for a changed one (`Ctx::update`: Add / Modify / Set / Delete Attribute and every other
//! operation; Re-key's old key), [`check_replacement`] for a Re-key's new key against the old
//! one, and [`keep_current`] for Batch Undo, which restores an old record but never its looser
//! protections.
//!
//! The facts live as attribute instances among the client-settable ones (`attribute_model::others`), so
//! the record format is unchanged; a record made before they were kept has none and reports
//! both as false: the server cannot vouch for a history it did not record.

use kmip_codec::enums::ObjectType;
use kmip_codec::model::{Attribute, AttributeValue};
use kmip_codec::tags::Tag;

use super::{OpError, attribute_model};
use crate::store::records::ObjectRecord;

/// The four attributes this module owns.
const TAGS: [Tag; 4] = [
    Tag::SENSITIVE,
    Tag::EXTRACTABLE,
    Tag::ALWAYS_SENSITIVE,
    Tag::NEVER_EXTRACTABLE,
];

/// An object's protections as the server enforces and reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Protections {
    /// Sensitive: the value leaves only wrapped (default false).
    pub(crate) sensitive: bool,
    /// Extractable: the value may leave at all (default true).
    pub(crate) extractable: bool,
    /// Always Sensitive, as stored (false when not stored).
    pub(crate) always_sensitive: bool,
    /// Never Extractable, as stored (false when not stored).
    pub(crate) never_extractable: bool,
}

impl Protections {
    /// Reads the protections of `record`. The values are Booleans: the codec refuses any other
    /// type for these standard attributes when it decodes a request.
    pub(crate) fn of(record: &ObjectRecord) -> Self {
        let flag = |tag: Tag, absent: bool| {
            attribute_model::first_of(record, tag)
                .and_then(|a| a.value.as_bool())
                .unwrap_or(absent)
        };
        Self {
            sensitive: flag(Tag::SENSITIVE, false),
            extractable: flag(Tag::EXTRACTABLE, true),
            always_sensitive: flag(Tag::ALWAYS_SENSITIVE, false),
            never_extractable: flag(Tag::NEVER_EXTRACTABLE, false),
        }
    }

    /// True if `self` gives up a protection `before` had.
    fn loosens(&self, before: &Protections) -> bool {
        (before.sensitive && !self.sensitive) || (!before.extractable && self.extractable)
    }
}

/// Records the facts of a new object from its initial Sensitive and Extractable values. Not for
/// Opaque Objects, which report none of the four (they are not Managed Cryptographic Objects).
pub(crate) fn record_initial(record: &mut ObjectRecord) -> Result<(), OpError> {
    if ObjectType(record.object_type) == ObjectType::OPAQUE_OBJECT {
        return Ok(());
    }
    let p = Protections::of(record);
    write_facts(record, p.sensitive, !p.extractable)
}

/// Checks a change of an existing object (`before` -> `after`): refuses one that turns Sensitive
/// off or Extractable on, or deletes either, and clears Always Sensitive / Never Extractable in
/// `after` once Sensitive is false / Extractable true.
pub(crate) fn check_change(before: &ObjectRecord, after: &mut ObjectRecord) -> Result<(), OpError> {
    let was = Protections::of(before);
    let now = Protections::of(after);
    if now.loosens(&was) {
        return Err(OpError::ProtectionLoosened);
    }
    // Facts only ever clear: whatever `after` says, they are what `before` stored, cleared if
    // the flag is now unprotected.
    let always_sensitive = was.always_sensitive && now.sensitive;
    let never_extractable = was.never_extractable && !now.extractable;
    if (always_sensitive, never_extractable) != (now.always_sensitive, now.never_extractable) {
        write_facts(after, always_sensitive, never_extractable)?;
    }
    Ok(())
}

/// Checks a Re-key's new key against the key it replaces: it is at least as protected (a
/// replacement cannot be a way to get an extractable copy of a non-extractable key's role).
/// Its own facts are recorded afresh by [`record_initial`]: its material is new.
pub(crate) fn check_replacement(old: &ObjectRecord, new: &ObjectRecord) -> Result<(), OpError> {
    if Protections::of(new).loosens(&Protections::of(old)) {
        return Err(OpError::ProtectionLoosened);
    }
    Ok(())
}

/// Batch Undo: `restored` (the object's record before the batch) takes the protections of
/// `current` (the object as it is now, at least as tight as any earlier version), so an undo
/// restores everything but a looser Sensitive or Extractable, or a cleared fact.
pub(crate) fn keep_current(
    current: &ObjectRecord,
    restored: &mut ObjectRecord,
) -> Result<(), OpError> {
    let keep: Vec<Attribute> = attribute_model::others(current)
        .into_iter()
        .filter(|a| a.tag().is_some_and(|t| TAGS.contains(&t)))
        .collect();
    let mut list: Vec<Attribute> = attribute_model::others(restored)
        .into_iter()
        .filter(|a| !a.tag().is_some_and(|t| TAGS.contains(&t)))
        .collect();
    list.extend(keep);
    attribute_model::set_others(restored, &list)?;
    check_change(current, restored)
}

/// Stores Always Sensitive and Never Extractable, replacing earlier instances.
fn write_facts(
    record: &mut ObjectRecord,
    always_sensitive: bool,
    never_extractable: bool,
) -> Result<(), OpError> {
    let mut list: Vec<Attribute> = attribute_model::others(record)
        .into_iter()
        .filter(|a| {
            !matches!(
                a.tag(),
                Some(Tag::ALWAYS_SENSITIVE | Tag::NEVER_EXTRACTABLE)
            )
        })
        .collect();
    list.push(Attribute::new(
        Tag::ALWAYS_SENSITIVE,
        AttributeValue::Boolean(always_sensitive),
    ));
    list.push(Attribute::new(
        Tag::NEVER_EXTRACTABLE,
        AttributeValue::Boolean(never_extractable),
    ));
    attribute_model::set_others(record, &list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(flags: &[(Tag, bool)]) -> ObjectRecord {
        let mut record = ObjectRecord {
            uid: "u".into(),
            tenant: "t".into(),
            revision: 1,
            object_type: ObjectType::SYMMETRIC_KEY.0,
            state: 1,
            material: None,
            attributes: Default::default(),
        };
        let list: Vec<_> = flags
            .iter()
            .map(|(t, v)| Attribute::new(*t, AttributeValue::Boolean(*v)))
            .collect();
        attribute_model::set_others(&mut record, &list).expect("set");
        record
    }

    fn with(record: &ObjectRecord, tag: Tag, value: Option<AttributeValue>) -> ObjectRecord {
        let mut next = record.clone();
        let mut list: Vec<_> = attribute_model::others(&next)
            .into_iter()
            .filter(|a| a.tag() != Some(tag))
            .collect();
        if let Some(v) = value {
            list.push(Attribute::new(tag, v));
        }
        attribute_model::set_others(&mut next, &list).expect("set");
        next
    }

    /// The defaults (Sensitive false, Extractable true) and the facts they give a new object.
    #[test]
    fn a_new_object_records_its_initial_values_as_facts() {
        let mut plain = record(&[]);
        record_initial(&mut plain).expect("initial");
        let p = Protections::of(&plain);
        assert_eq!((p.sensitive, p.extractable), (false, true));
        assert_eq!((p.always_sensitive, p.never_extractable), (false, false));
        let mut locked = record(&[(Tag::SENSITIVE, true), (Tag::EXTRACTABLE, false)]);
        record_initial(&mut locked).expect("initial");
        let p = Protections::of(&locked);
        assert_eq!((p.always_sensitive, p.never_extractable), (true, true));
    }

    /// Tightening passes and keeps the facts false; loosening, or deleting a protecting
    /// instance, is refused.
    #[test]
    fn protections_only_tighten() {
        let mut before = record(&[]);
        record_initial(&mut before).expect("initial");
        let mut after = with(&before, Tag::SENSITIVE, Some(AttributeValue::Boolean(true)));
        after = with(
            &after,
            Tag::EXTRACTABLE,
            Some(AttributeValue::Boolean(false)),
        );
        check_change(&before, &mut after).expect("tightening");
        let p = Protections::of(&after);
        assert_eq!((p.always_sensitive, p.never_extractable), (false, false));
        for (tag, value) in [
            (Tag::SENSITIVE, Some(AttributeValue::Boolean(false))),
            (Tag::SENSITIVE, None),
            (Tag::EXTRACTABLE, Some(AttributeValue::Boolean(true))),
            (Tag::EXTRACTABLE, None),
        ] {
            let mut loose = with(&after, tag, value);
            assert!(
                matches!(
                    check_change(&after, &mut loose),
                    Err(OpError::ProtectionLoosened)
                ),
                "{tag:?}"
            );
        }
    }

    /// A fact that reads true while its flag is unprotected (only a writer bypassing this module
    /// could leave that) is cleared by the next change, and stays cleared when the flag is
    /// protected again.
    #[test]
    fn facts_clear_for_good() {
        let forced = record(&[
            (Tag::SENSITIVE, false),
            (Tag::ALWAYS_SENSITIVE, true),
            (Tag::EXTRACTABLE, true),
            (Tag::NEVER_EXTRACTABLE, true),
        ]);
        let mut next = with(
            &forced,
            Tag::COMMENT,
            Some(AttributeValue::TextString("x".into())),
        );
        check_change(&forced, &mut next).expect("unrelated change");
        let p = Protections::of(&next);
        assert_eq!((p.always_sensitive, p.never_extractable), (false, false));
        let mut back = with(&next, Tag::SENSITIVE, Some(AttributeValue::Boolean(true)));
        back = with(
            &back,
            Tag::EXTRACTABLE,
            Some(AttributeValue::Boolean(false)),
        );
        check_change(&next, &mut back).expect("tightening");
        let p = Protections::of(&back);
        assert_eq!((p.always_sensitive, p.never_extractable), (false, false));
    }

    /// Undo restores an old record but keeps the current, tighter protections.
    #[test]
    fn undo_keeps_the_current_protections() {
        let mut old = record(&[]);
        record_initial(&mut old).expect("initial");
        let mut current = with(&old, Tag::SENSITIVE, Some(AttributeValue::Boolean(true)));
        check_change(&old, &mut current).expect("tightening");
        let mut restored = old.clone();
        keep_current(&current, &mut restored).expect("undo");
        assert_eq!(Protections::of(&restored), Protections::of(&current));
    }
}
