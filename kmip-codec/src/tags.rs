//! KMIP tags (KMIP 1.4 section 9.1.3.1, KMIP 2.1 section 11.56). A tag is open: an unknown
//! value still decodes, so the server can answer it with a precise KMIP error.
//!
//! Every tag of KMIP 1.0 to 2.1 is a constant on [`Tag`] named after the specification in
//! SCREAMING_SNAKE_CASE (`Tag::UNIQUE_IDENTIFIER`, `Tag::TEMPLATE_ATTRIBUTE`), generated from
//! the specifications by `tools/gen_tables.py` into `tags/generated.rs`. Each tag also has its
//! specification name ("Unique Identifier"), its KMIP XML element name ("UniqueIdentifier") and
//! the set of versions that define it. KMIP 2.0 withdrew a few 1.x tags (Attribute Index,
//! Template-Attribute, the deprecated certificate tags...) and renamed none; withdrawn tags keep
//! their 1.x names here and [`Tag::is_defined_in`] says which versions have them.

mod generated;

use std::fmt;

use crate::version::ProtocolVersion;

/// A 3-byte KMIP tag, held in a `u32` (only the low 24 bits are meaningful).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

/// The KMIP versions that define a tag, enumeration value or mask flag: bit `i` stands for
/// [`VersionSet::ORDER`]`[i]` (1.0, 1.1, 1.2, 1.3, 1.4, 2.0, 2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VersionSet(pub u8);

impl VersionSet {
    /// The versions the bits stand for, oldest first.
    pub const ORDER: [ProtocolVersion; 7] = [
        ProtocolVersion::V1_0,
        ProtocolVersion::V1_1,
        ProtocolVersion::V1_2,
        ProtocolVersion::V1_3,
        ProtocolVersion::V1_4,
        ProtocolVersion::V2_0,
        ProtocolVersion::V2_1,
    ];

    /// Every known version.
    pub const ALL: Self = Self(0b111_1111);

    /// The bit index for a version. A later minor version of a known major (1.5, 2.2) or a
    /// later major is treated as the newest version this crate knows of that major (or 2.1),
    /// because KMIP only adds to the tables; versions before 1.0 have no index.
    fn index(v: ProtocolVersion) -> Option<usize> {
        match (v.major, v.minor) {
            (1, m @ 0..=4) => usize::try_from(m).ok(),
            (1, m) if m > 4 => Some(4),
            (2, 0) => Some(5),
            (2, m) if m > 0 => Some(6),
            (major, _) if major > 2 => Some(6),
            _ => None,
        }
    }

    /// True when `v` defines the item.
    pub fn contains(self, v: ProtocolVersion) -> bool {
        Self::index(v).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The first version that defines the item.
    pub fn first(self) -> Option<ProtocolVersion> {
        Self::ORDER
            .iter()
            .enumerate()
            .find(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, v)| *v)
    }

    /// The last version that defines the item.
    pub fn last(self) -> Option<ProtocolVersion> {
        Self::ORDER
            .iter()
            .enumerate()
            .rev()
            .find(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, v)| *v)
    }
}

/// What the specifications say about one tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagInfo {
    /// The tag.
    pub tag: Tag,
    /// The name in the specification's tag table, e.g. "Unique Identifier".
    pub spec_name: &'static str,
    /// The KMIP XML element name, e.g. "UniqueIdentifier".
    pub xml_name: &'static str,
    /// The versions that define the tag.
    pub versions: VersionSet,
}

impl Tag {
    /// First tag of the extension range (KMIP 1.4 section 9.1.3.1): always valid, never named.
    pub const EXTENSION_FIRST: Tag = Tag(0x54_0000);
    /// Last tag of the extension range.
    pub const EXTENSION_LAST: Tag = Tag(0x54_FFFF);

    /// The specification's entry for this tag, or `None` for an extension or unknown tag.
    pub fn info(self) -> Option<&'static TagInfo> {
        generated::TAGS
            .binary_search_by_key(&self.0, |t| t.tag.0)
            .ok()
            .and_then(|i| generated::TAGS.get(i))
    }

    /// The specification name ("Unique Identifier"), or `None` for an unknown tag.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|t| t.spec_name)
    }

    /// The KMIP XML element name ("UniqueIdentifier"), or `None` for an unknown tag.
    pub fn xml_name(self) -> Option<&'static str> {
        self.info().map(|t| t.xml_name)
    }

    /// The first version that defines this tag (`None` for extension and unknown tags).
    pub fn since(self) -> Option<ProtocolVersion> {
        self.info().and_then(|t| t.versions.first())
    }

    /// True when `version` defines this tag; extension tags are valid in every version.
    pub fn is_defined_in(self, version: ProtocolVersion) -> bool {
        self.is_extension() || self.info().is_some_and(|t| t.versions.contains(version))
    }

    /// True for a tag of the extension range 0x540000..=0x54FFFF.
    pub fn is_extension(self) -> bool {
        (Self::EXTENSION_FIRST.0..=Self::EXTENSION_LAST.0).contains(&self.0)
    }

    /// True when a specification defines the tag or it is in the extension range.
    pub fn is_known(self) -> bool {
        self.is_extension() || self.info().is_some()
    }

    /// The tag of a KMIP XML element name ("UniqueIdentifier"); older spellings are accepted.
    pub fn from_xml_name(name: &str) -> Option<Tag> {
        lookup(&generated::BY_XML_NAME, name)
    }

    /// The tag of a specification name ("Cryptographic Algorithm"), as KMIP 1.x writes
    /// Attribute Name. Custom attribute names ("x-...", "y-...") have no tag.
    pub fn from_spec_name(name: &str) -> Option<Tag> {
        lookup(&generated::BY_SPEC_NAME, name)
    }

    /// Every specified tag, sorted by value.
    pub fn all() -> &'static [TagInfo] {
        &generated::TAGS
    }
}

fn lookup(table: &[(&str, u32)], name: &str) -> Option<Tag> {
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| table.get(i))
        .map(|(_, v)| Tag(*v))
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.xml_name() {
            Some(n) => write!(f, "Tag({n})"),
            None => write!(f, "Tag(0x{:06X})", self.0),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:06X}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(generated::TAGS.windows(2).all(|w| w[0].tag < w[1].tag));
        assert!(generated::BY_XML_NAME.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(generated::BY_SPEC_NAME.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn names_round_trip_for_every_tag() {
        for t in Tag::all() {
            assert_eq!(
                Tag::from_xml_name(t.xml_name),
                Some(t.tag),
                "{}",
                t.spec_name
            );
            assert_eq!(
                Tag::from_spec_name(t.spec_name),
                Some(t.tag),
                "{}",
                t.spec_name
            );
        }
    }

    #[test]
    fn well_known_tags() {
        assert_eq!(Tag::UNIQUE_IDENTIFIER, Tag(0x420094));
        assert_eq!(Tag::UNIQUE_IDENTIFIER.name(), Some("Unique Identifier"));
        assert_eq!(
            Tag::TEMPLATE_ATTRIBUTE.xml_name(),
            Some("TemplateAttribute")
        );
        assert_eq!(
            Tag::from_xml_name("IVCounterNonce"),
            Some(Tag::IV_COUNTER_NONCE)
        );
        assert_eq!(
            Tag::from_xml_name("PKCS_11Function"),
            Some(Tag::PKCS11_FUNCTION)
        );
        assert_eq!(
            Tag::from_spec_name("Cryptographic Usage Mask"),
            Some(Tag::CRYPTOGRAPHIC_USAGE_MASK)
        );
        assert_eq!(Tag::from_spec_name("x-custom"), None);
        assert_eq!(
            Tag::UNIQUE_BATCH_ITEM_ID.since(),
            Some(ProtocolVersion::V1_0)
        );
        assert_eq!(Tag::ATTRIBUTES.since(), Some(ProtocolVersion::V2_0));
    }

    #[test]
    fn versions_and_extensions() {
        assert!(Tag::TEMPLATE_ATTRIBUTE.is_defined_in(ProtocolVersion::V1_4));
        assert!(!Tag::TEMPLATE_ATTRIBUTE.is_defined_in(ProtocolVersion::V2_0));
        assert!(!Tag::ATTRIBUTES.is_defined_in(ProtocolVersion::V1_4));
        assert!(Tag::ATTRIBUTES.is_defined_in(ProtocolVersion::new(2, 7)));
        let ext = Tag(0x540001);
        assert!(ext.is_extension() && ext.is_known() && ext.name().is_none());
        assert!(ext.is_defined_in(ProtocolVersion::V1_0));
        assert!(!Tag(0x42FFFF).is_known());
        assert_eq!(format!("{:?}", Tag(0x420094)), "Tag(UniqueIdentifier)");
        assert_eq!(Tag(0x540001).to_string(), "0x540001");
    }
}
