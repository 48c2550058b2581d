//! The one place that decides what a protocol version may carry.
//!
//! Every message the model encodes (requests and responses) goes through
//! [`VersionFilter::apply`] as its last step, so the typed code above it never has to ask "is
//! this defined in 1.1?". The filter walks the TTLV tree and:
//!
//! 1. drops every item whose tag the version does not define ([`Tag::is_defined_in`]: tags a
//!    later version introduced, or that 2.0 withdrew, e.g. Template-Attribute, Attribute Index);
//! 2. drops Date-Time Extended items before 2.0;
//! 3. drops a 1.x Attribute whose name is not an attribute in that version (Sensitive or
//!    Description in a 1.1 reply, Key Format Type as an attribute in any 1.x reply), and any
//!    Attribute Name / Attribute Reference naming one;
//! 4. drops an Enumeration item whose value the version does not define (the whole attribute
//!    when it sits inside one, e.g. a 1.2 Link Type in a 1.1 Link), except Result Reason, which is mapped to the closest reason the version has
//!    (see [`VersionFilter::result_reason`]);
//! 5. clears mask flags (Cryptographic Usage Mask, Storage Status Mask, ...) the version does
//!    not define.
//!
//! Extension tags (0x54xxxx) and extension enumeration values (high bit set) pass in every
//! version; custom attributes (`x-`, `y-`, vendor attributes) always pass. A required field
//! dropped this way leaves a message that version's peer would reject anyway; the server is
//! expected not to produce one (e.g. answer a 1.1 Get of a 2.x-only key type with an error).

use crate::enums::{ResultReason, enum_for_tag, mask_for_tag};
use crate::model::attributes::{AttributeName, table};
use crate::tags::Tag;
use crate::ttlv::{Ttlv, Value};
use crate::version::ProtocolVersion;

/// What becomes of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    Drop,
    /// Drop the attribute this item belongs to.
    DropAttribute,
}

/// 2.x structures whose every child is one attribute.
const ATTRIBUTE_CONTAINERS: [Tag; 6] = [
    Tag::ATTRIBUTES,
    Tag::COMMON_ATTRIBUTES,
    Tag::PRIVATE_KEY_ATTRIBUTES,
    Tag::PUBLIC_KEY_ATTRIBUTES,
    Tag::NEW_ATTRIBUTE,
    Tag::CURRENT_ATTRIBUTE,
];

/// Prunes a TTLV tree to what one protocol version defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionFilter {
    version: ProtocolVersion,
}

/// Result Reasons a version lacks, and the closest older reason they map to. Checked in
/// order; anything not listed (or whose replacement the version lacks too) becomes General
/// Failure, which every version defines.
const REASON_FALLBACKS: &[(ResultReason, ResultReason)] = &[
    // 1.2 / 1.4 additions, answered to 1.0 / 1.1 clients
    (
        ResultReason::KEY_VALUE_NOT_PRESENT,
        ResultReason::ITEM_NOT_FOUND,
    ),
    (
        ResultReason::ATTESTATION_REQUIRED,
        ResultReason::PERMISSION_DENIED,
    ),
    (
        ResultReason::ATTESTATION_FAILED,
        ResultReason::PERMISSION_DENIED,
    ),
    (ResultReason::SENSITIVE, ResultReason::PERMISSION_DENIED),
    (
        ResultReason::NOT_EXTRACTABLE,
        ResultReason::PERMISSION_DENIED,
    ),
    (
        ResultReason::OBJECT_ALREADY_EXISTS,
        ResultReason::INVALID_FIELD,
    ),
    // 2.0 additions, answered to 1.x clients
    (ResultReason::OBJECT_NOT_FOUND, ResultReason::ITEM_NOT_FOUND),
    (
        ResultReason::ATTRIBUTE_NOT_FOUND,
        ResultReason::ITEM_NOT_FOUND,
    ),
    (
        ResultReason::ATTRIBUTE_INSTANCE_NOT_FOUND,
        ResultReason::ITEM_NOT_FOUND,
    ),
    (
        ResultReason::WRAPPING_OBJECT_NOT_FOUND,
        ResultReason::ITEM_NOT_FOUND,
    ),
    (ResultReason::OBJECT_DESTROYED, ResultReason::ITEM_NOT_FOUND),
    (
        ResultReason::NOT_AUTHORISED,
        ResultReason::PERMISSION_DENIED,
    ),
    (
        ResultReason::BAD_PASSWORD,
        ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
    ),
    (
        ResultReason::READ_ONLY_ATTRIBUTE,
        ResultReason::PERMISSION_DENIED,
    ),
    (
        ResultReason::ATTRIBUTE_READ_ONLY,
        ResultReason::PERMISSION_DENIED,
    ),
    (
        ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
        ResultReason::PERMISSION_DENIED,
    ),
    // The OASIS 1.x profile vectors (SKLC-M-3, CS-BC-M-7/14) expect Permission Denied for an
    // operation the object's state forbids.
    (
        ResultReason::WRONG_KEY_LIFECYCLE_STATE,
        ResultReason::PERMISSION_DENIED,
    ),
    (ResultReason::INVALID_ATTRIBUTE, ResultReason::INVALID_FIELD),
    (
        ResultReason::NON_UNIQUE_NAME_ATTRIBUTE,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::INVALID_ATTRIBUTE_VALUE,
        ResultReason::INVALID_FIELD,
    ),
    (ResultReason::INVALID_DATA_TYPE, ResultReason::INVALID_FIELD),
    (ResultReason::NUMERIC_RANGE, ResultReason::INVALID_FIELD),
    (
        ResultReason::ATTRIBUTE_SINGLE_VALUED,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::MULTI_VALUED_ATTRIBUTE,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::UNKNOWN_ENUMERATION,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::ILLEGAL_OBJECT_TYPE,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::INVALID_OBJECT_TYPE,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::BAD_CRYPTOGRAPHIC_PARAMETERS,
        ResultReason::INVALID_FIELD,
    ),
    (
        ResultReason::MISSING_INITIALIZATION_VECTOR,
        ResultReason::MISSING_DATA,
    ),
    (
        ResultReason::UNSUPPORTED_ATTRIBUTE,
        ResultReason::FEATURE_NOT_SUPPORTED,
    ),
    (
        ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
        ResultReason::FEATURE_NOT_SUPPORTED,
    ),
    (
        ResultReason::KEY_WRAP_TYPE_NOT_SUPPORTED,
        ResultReason::FEATURE_NOT_SUPPORTED,
    ),
    (ResultReason::CODEC_ERROR, ResultReason::INVALID_MESSAGE),
    (ResultReason::UNKNOWN_TAG, ResultReason::INVALID_MESSAGE),
    (
        ResultReason::UNSUPPORTED_PROTOCOL_VERSION,
        ResultReason::INVALID_MESSAGE,
    ),
    (
        ResultReason::UNKNOWN_MESSAGE_EXTENSION,
        ResultReason::INVALID_MESSAGE,
    ),
    // 1.x reasons withdrawn in 2.0, answered to 2.x clients
    (
        ResultReason::ILLEGAL_OPERATION,
        ResultReason::WRONG_KEY_LIFECYCLE_STATE,
    ),
    (
        ResultReason::INDEX_OUT_OF_BOUNDS,
        ResultReason::ATTRIBUTE_INSTANCE_NOT_FOUND,
    ),
];

impl VersionFilter {
    /// The filter for `version`.
    pub fn new(version: ProtocolVersion) -> Self {
        Self { version }
    }

    /// The version filtered for.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// True when the version defines `tag`.
    pub fn allows_tag(&self, tag: Tag) -> bool {
        tag.is_defined_in(self.version)
    }

    /// True when the version defines enumeration `value` for items tagged `tag` (tags without
    /// an enumeration table, and extension values, always pass).
    pub fn allows_enum(&self, tag: Tag, value: u32) -> bool {
        enum_for_tag(tag).is_none_or(|t| t.is_defined_in(value, self.version))
    }

    /// True when the version has attribute `name` (custom attributes always; 1.x names the
    /// table does not know only in 1.x, where they came from).
    pub fn allows_attribute(&self, name: &AttributeName) -> bool {
        match name {
            AttributeName::Standard(tag) => match table::by_tag(*tag) {
                Some(def) => def.since <= self.version && self.allows_tag(*tag),
                None => self.allows_tag(*tag),
            },
            AttributeName::Vendor { .. } => true,
            AttributeName::Other(_) => !self.version.is_2x(),
        }
    }

    /// The Result Reason to send in this version: `r` itself when defined, else its mapping in
    /// `REASON_FALLBACKS` (the closest older reason), else General Failure.
    pub fn result_reason(&self, r: ResultReason) -> ResultReason {
        let defined = |r: ResultReason| self.allows_enum(Tag::RESULT_REASON, r.0);
        if defined(r) {
            return r;
        }
        REASON_FALLBACKS
            .iter()
            .find(|(from, _)| *from == r)
            .map(|(_, to)| *to)
            .filter(|to| defined(*to))
            .unwrap_or(ResultReason::GENERAL_FAILURE)
    }

    /// Prunes `item` in place; `false` when `item` itself must be dropped.
    pub fn apply(&self, item: &mut Ttlv) -> bool {
        self.visit(item, Tag(0), false) == Verdict::Keep
    }

    /// `parent`: the enclosing structure's tag; `in_attribute`: `item` is an attribute or
    /// lies inside one.
    fn visit(&self, item: &mut Ttlv, parent: Tag, in_attribute: bool) -> Verdict {
        if !self.allows_tag(item.tag) {
            return Verdict::Drop;
        }
        let tag = item.tag;
        if tag == Tag::ATTRIBUTE && !self.version.is_2x() && !self.keep_attribute_1x(item) {
            return Verdict::Drop;
        }
        let keep = match &mut item.value {
            Value::Structure(children) => {
                let holds_attributes = ATTRIBUTE_CONTAINERS.contains(&tag);
                let mut verdict = Verdict::Keep;
                children.retain_mut(|c| {
                    let is_attribute = holds_attributes || c.tag == Tag::ATTRIBUTE;
                    match self.visit(c, tag, in_attribute || is_attribute) {
                        Verdict::Keep => true,
                        Verdict::Drop => false,
                        // Drop the child if it is the attribute, else pass it up to it.
                        Verdict::DropAttribute if is_attribute => false,
                        Verdict::DropAttribute => {
                            verdict = Verdict::DropAttribute;
                            false
                        }
                    }
                });
                return verdict;
            }
            // A bare name (Get Attributes, Get Attribute List, Key Wrapping Specification):
            // only well-known names are gated; a vendor attribute's own name passes.
            Value::TextString(name) if tag == Tag::ATTRIBUTE_NAME => {
                match AttributeName::from_1x(name) {
                    n @ AttributeName::Standard(_) => self.allows_attribute(&n),
                    _ => true,
                }
            }
            // A batch item echoes the operation the client sent, whatever the version.
            Value::Enumeration(_) if tag == Tag::OPERATION && parent == Tag::BATCH_ITEM => true,
            Value::Enumeration(t) if tag == Tag::ATTRIBUTE_REFERENCE => {
                self.allows_attribute(&AttributeName::Standard(Tag(*t)))
            }
            value => self.keep_value(tag, value),
        };
        match (keep, in_attribute) {
            (true, _) => Verdict::Keep,
            // A value the version lacks inside an attribute (a 1.2 Link Type in a 1.1 Link)
            // would leave a broken attribute: drop the whole attribute.
            (false, true) => Verdict::DropAttribute,
            (false, false) => Verdict::Drop,
        }
    }

    /// Checks (and for Result Reasons and masks, adjusts) one leaf value that belongs to
    /// `tag` (the item's tag, or a 1.x attribute's tag for its Attribute Value).
    fn keep_value(&self, tag: Tag, value: &mut Value) -> bool {
        match value {
            Value::DateTimeExtended(_) => self.version.is_2x(),
            Value::Enumeration(e) if tag == Tag::RESULT_REASON => {
                *e = self.result_reason(ResultReason(*e)).0;
                true
            }
            Value::Enumeration(e) => self.allows_enum(tag, *e),
            Value::Integer(m) => {
                if let Some(mask) = mask_for_tag(tag) {
                    for flag in mask.entries {
                        if !flag.versions.contains(self.version) {
                            *m &= !(flag.value as i32);
                        }
                    }
                }
                true
            }
            _ => true,
        }
    }

    /// For a 1.x Attribute structure: is its name an attribute in this version, and its value
    /// defined? Adjusts mask values in place.
    fn keep_attribute_1x(&self, item: &mut Ttlv) -> bool {
        let Value::Structure(children) = &mut item.value else {
            return true;
        };
        let name = children.iter().find_map(|c| match (&c.value, c.tag) {
            (Value::TextString(s), Tag::ATTRIBUTE_NAME) => Some(AttributeName::from_1x(s)),
            _ => None,
        });
        let Some(name) = name else {
            return true;
        };
        if !self.allows_attribute(&name) {
            return false;
        }
        let AttributeName::Standard(attr_tag) = name else {
            return true;
        };
        children
            .iter_mut()
            .filter(|c| c.tag == Tag::ATTRIBUTE_VALUE)
            .all(|c| self.keep_value(attr_tag, &mut c.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_reasons_map_to_what_the_version_has() {
        let v11 = VersionFilter::new(ProtocolVersion::V1_1);
        assert_eq!(
            v11.result_reason(ResultReason::OBJECT_NOT_FOUND),
            ResultReason::ITEM_NOT_FOUND
        );
        assert_eq!(
            v11.result_reason(ResultReason::SENSITIVE),
            ResultReason::PERMISSION_DENIED
        );
        assert_eq!(
            v11.result_reason(ResultReason::INVALID_TICKET),
            ResultReason::GENERAL_FAILURE
        );
        assert_eq!(
            v11.result_reason(ResultReason::ITEM_NOT_FOUND),
            ResultReason::ITEM_NOT_FOUND
        );
        let v21 = VersionFilter::new(ProtocolVersion::V2_1);
        assert_eq!(
            v21.result_reason(ResultReason::OBJECT_NOT_FOUND),
            ResultReason::OBJECT_NOT_FOUND
        );
        assert_eq!(
            v21.result_reason(ResultReason::INDEX_OUT_OF_BOUNDS),
            ResultReason::ATTRIBUTE_INSTANCE_NOT_FOUND
        );
    }

    #[test]
    fn every_fallback_target_is_defined_in_1_0_or_2_0() {
        // A fallback whose target its own era lacks would silently become General Failure.
        for (from, to) in REASON_FALLBACKS {
            let era = if from.0 == ResultReason::ILLEGAL_OPERATION.0
                || from.0 == ResultReason::INDEX_OUT_OF_BOUNDS.0
            {
                ProtocolVersion::V2_0
            } else {
                ProtocolVersion::V1_0
            };
            assert!(
                VersionFilter::new(era).allows_enum(Tag::RESULT_REASON, to.0),
                "{from:?} -> {to:?}"
            );
        }
    }

    #[test]
    fn drops_attributes_and_values_the_version_lacks() {
        let f = VersionFilter::new(ProtocolVersion::V1_1);
        let attr = |name: &str, value: Value| {
            Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name.into())),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, value),
                ],
            )
        };
        assert!(!f.apply(&mut attr("Sensitive", Value::Boolean(true))));
        assert!(!f.apply(&mut attr("Key Format Type", Value::Enumeration(1))));
        assert!(f.apply(&mut attr("x-Product", Value::TextString("v".into()))));
        assert!(f.apply(&mut attr("State", Value::Enumeration(1))));
        // State 6 (Destroyed Compromised) exists in 1.1; a made-up 0x77 does not.
        assert!(!f.apply(&mut attr("State", Value::Enumeration(0x77))));
        assert!(!f.apply(&mut Ttlv::new(Tag::ATTRIBUTES, Value::Structure(vec![]))));
    }
}
