//! KMIP enumerations (KMIP 1.4 section 9.1.3.2, KMIP 2.1 section 11) and masks (KMIP 1.4
//! section 9.1.3.3, KMIP 2.1 section 12), generated from the specifications of KMIP 1.0 to 2.1
//! by `tools/gen_tables.py` into `enums/generated.rs`.
//!
//! Every enumeration is an open newtype over its wire value with named constants, so an unknown
//! value still decodes (`ObjectType::SYMMETRIC_KEY`, `ObjectType(0x8000_0001)`). Each one has a
//! static [`EnumTable`] giving, per value, the KMIP XML name ("SymmetricKey"), the
//! specification name ("Symmetric Key") and the [`VersionSet`] of versions that define it.
//! [`enum_for_tag`] and [`mask_for_tag`] find the table an item's tag uses.
//!
//! # KMIP 1.x and 2.x
//!
//! No enumeration value changed meaning between 1.x and 2.x (the generator checks that no value
//! has two different names), but 2.0 withdrew values (Object Type Template, Key Format Types
//! Transparent ECDSA/ECDH/ECMQV, Result Reasons Illegal Operation and Index Out of Bounds, the
//! 1.x Profile Names, Cryptographic Usage Mask Export and the Translate/Cryptogram flags), added
//! many, and respelled a few (Result Reason "Object archived" -> "Object Archived", Hashing
//! Algorithm "SHA-3-256" -> "SHA3-256"; the 2.x tables' "MFG1" typo is read as "MGF1", as the
//! vectors write it). So one table per
//! enumeration is exact, with per-value versions: use [`EnumTable::name_in`] or
//! [`EnumTable::is_defined_in`] for a version-dependent lookup. The XML names are the newest
//! spelling; [`EnumTable::value_of`] also accepts the older ones.

mod generated;

use std::fmt::Write as _;

pub use generated::*;

use crate::tags::{Tag, VersionSet};
use crate::version::ProtocolVersion;

/// One named value of an enumeration, or one flag of a mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumEntry {
    /// The wire value (for a mask: the flag's bit).
    pub value: u32,
    /// The KMIP XML name, e.g. "SymmetricKey", "SHA_256".
    pub name: &'static str,
    /// The specification name, e.g. "Symmetric Key", "SHA-256".
    pub spec_name: &'static str,
    /// The versions that define this value.
    pub versions: VersionSet,
}

/// The names of one enumeration or mask.
#[derive(Debug)]
pub struct EnumTable {
    /// The enumeration's specification name, e.g. "Object Type".
    pub name: &'static str,
    /// The values, sorted by value.
    pub entries: &'static [EnumEntry],
    /// XML names, older spellings included, sorted by name, with their value.
    pub by_name: &'static [(&'static str, u32)],
}

impl EnumTable {
    /// The entry for a value.
    pub fn entry(&self, value: u32) -> Option<&'static EnumEntry> {
        let entries = self.entries;
        entries
            .binary_search_by_key(&value, |e| e.value)
            .ok()
            .and_then(|i| entries.get(i))
    }

    /// The XML name of a value in any version.
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        self.entry(value).map(|e| e.name)
    }

    /// The XML name of a value if `version` defines it.
    pub fn name_in(&self, value: u32, version: ProtocolVersion) -> Option<&'static str> {
        self.entry(value)
            .filter(|e| e.versions.contains(version))
            .map(|e| e.name)
    }

    /// The value of an XML name (current or older spelling).
    pub fn value_of(&self, name: &str) -> Option<u32> {
        let by_name = self.by_name;
        by_name
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .and_then(|i| by_name.get(i))
            .map(|(_, v)| *v)
    }

    /// The first version that defines a value.
    pub fn since(&self, value: u32) -> Option<ProtocolVersion> {
        self.entry(value).and_then(|e| e.versions.first())
    }

    /// True when `version` defines the value. Extension values (high bit set, KMIP 1.4
    /// section 9.1.3.2) are valid in every version.
    pub fn is_defined_in(&self, value: u32, version: ProtocolVersion) -> bool {
        value & 0x8000_0000 != 0
            || self
                .entry(value)
                .is_some_and(|e| e.versions.contains(version))
    }

    /// A mask written as the XML encoding does: flag names separated by spaces, in bit order,
    /// then any bits without a name as one hex number ("Encrypt Decrypt", "Sign 0x00100000");
    /// zero is "0".
    pub fn format_mask(&self, value: u32) -> String {
        let mut out = String::new();
        let mut rest = value;
        for e in self.entries {
            if e.value != 0 && value & e.value == e.value {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(e.name);
                rest &= !e.value;
            }
        }
        if rest != 0 || out.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            if rest == 0 {
                out.push('0');
            } else {
                // Writing to a String cannot fail.
                let _ = write!(out, "0x{rest:08X}");
            }
        }
        out
    }

    /// Parses a mask written as flag names and/or numbers (decimal or "0x" hex) separated by
    /// spaces or '|'; `None` if a name is unknown or a number does not fit.
    pub fn parse_mask(&self, text: &str) -> Option<u32> {
        let mut value = 0u32;
        let mut any = false;
        for token in text.split(|c: char| c.is_whitespace() || c == '|') {
            if token.is_empty() {
                continue;
            }
            any = true;
            value |= match self.value_of(token) {
                Some(v) => v,
                None => parse_u32(token)?,
            };
        }
        any.then_some(value)
    }
}

/// Parses "0x..." hex or decimal into a `u32`.
pub(crate) fn parse_u32(token: &str) -> Option<u32> {
    match token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => token.parse().ok(),
    }
}

/// The enumeration whose names an Enumeration item with `tag` uses (Tag::OBJECT_TYPE ->
/// Object Type's table). Attribute Value items are resolved by their Attribute Name (1.x) by
/// the caller; Attribute Reference values (2.x) are tags, see [`Tag::from_xml_name`].
pub fn enum_for_tag(tag: Tag) -> Option<&'static EnumTable> {
    enum_table_for(tag)
}

/// The mask whose flag names an Integer item with `tag` uses (Cryptographic Usage Mask,
/// Storage Status Mask, Protection Storage Mask).
pub fn mask_for_tag(tag: Tag) -> Option<&'static EnumTable> {
    mask_table_for(tag)
}

/// Every enumeration and mask table.
pub fn all_tables() -> &'static [&'static EnumTable] {
    &ALL_TABLES
}

/// Defines an open enumeration newtype with named constants, its [`EnumTable`] and lookups
/// (the shape of rustls `msgs/macros.rs`).
macro_rules! kmip_enum {
    (
        $(#[$meta:meta])*
        $ty:ident, $table:ident, $ename:literal {
            $( $(#[$cmeta:meta])* $konst:ident = $val:literal, $xml:literal, $spec:literal, $vers:expr; )*
        }
        by_name: [ $( ($bn:literal, $bv:literal), )* ]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $ty(pub u32);

        impl $ty {
            $( $(#[$cmeta])* pub const $konst: Self = Self($val); )*

            /// The table of names and versions.
            pub const TABLE: &'static $crate::enums::EnumTable = &$table;

            /// The KMIP XML name ("SymmetricKey"), `None` for an unknown or extension value.
            pub fn name(self) -> Option<&'static str> {
                $table.name_of(self.0)
            }

            /// The value of an XML name.
            pub fn from_name(name: &str) -> Option<Self> {
                $table.value_of(name).map(Self)
            }

            /// The first version that defines this value.
            pub fn since(self) -> Option<$crate::version::ProtocolVersion> {
                $table.since(self.0)
            }

            /// True when `version` defines this value (extensions: always).
            pub fn is_defined_in(self, version: $crate::version::ProtocolVersion) -> bool {
                $table.is_defined_in(self.0, version)
            }
        }

        impl From<u32> for $ty {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }

        impl From<$ty> for u32 {
            fn from(v: $ty) -> u32 {
                v.0
            }
        }

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", stringify!($ty), n),
                    None => write!(f, "{}(0x{:08X})", stringify!($ty), self.0),
                }
            }
        }

        #[doc = concat!("Names and versions of ", $ename, ".")]
        pub static $table: $crate::enums::EnumTable = $crate::enums::EnumTable {
            name: $ename,
            entries: &[
                $( $crate::enums::EnumEntry { value: $val, name: $xml, spec_name: $spec, versions: $vers }, )*
            ],
            by_name: &[ $( ($bn, $bv), )* ],
        };
    };
}

/// Defines a mask newtype (flags OR-ed into an Integer) with named flags and its table.
macro_rules! kmip_mask {
    (
        $(#[$meta:meta])*
        $ty:ident, $table:ident, $ename:literal {
            $( $(#[$cmeta:meta])* $konst:ident = $val:literal, $xml:literal, $spec:literal, $vers:expr; )*
        }
        by_name: [ $( ($bn:literal, $bv:literal), )* ]
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $ty(pub u32);

        impl $ty {
            $( $(#[$cmeta])* pub const $konst: Self = Self($val); )*

            /// No flag set.
            pub const EMPTY: Self = Self(0);

            /// The table of flag names and versions.
            pub const TABLE: &'static $crate::enums::EnumTable = &$table;

            /// True when every flag of `other` is set in `self`.
            pub fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when some flag of `other` is set in `self`.
            pub fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// Flag names separated by spaces, as the XML encoding writes them.
            pub fn to_names(self) -> String {
                $table.format_mask(self.0)
            }

            /// Parses flag names (and numbers) separated by spaces or '|'.
            pub fn from_names(text: &str) -> Option<Self> {
                $table.parse_mask(text).map(Self)
            }

            /// True when `version` defines every set flag.
            pub fn is_defined_in(self, version: $crate::version::ProtocolVersion) -> bool {
                (0..32).map(|b| 1u32 << b).filter(|b| self.0 & b != 0).all(|b| {
                    $table.entry(b).is_some_and(|e| e.versions.contains(version))
                })
            }
        }

        impl ::std::ops::BitOr for $ty {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl ::std::ops::BitOrAssign for $ty {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl ::std::ops::BitAnd for $ty {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl From<u32> for $ty {
            fn from(v: u32) -> Self {
                Self(v)
            }
        }

        impl From<$ty> for u32 {
            fn from(v: $ty) -> u32 {
                v.0
            }
        }

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($ty), self.to_names())
            }
        }

        #[doc = concat!("Flag names and versions of ", $ename, ".")]
        pub static $table: $crate::enums::EnumTable = $crate::enums::EnumTable {
            name: $ename,
            entries: &[
                $( $crate::enums::EnumEntry { value: $val, name: $xml, spec_name: $spec, versions: $vers }, )*
            ],
            by_name: &[ $( ($bn, $bv), )* ],
        };
    };
}

use {kmip_enum, kmip_mask};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in all_tables() {
            assert!(
                t.entries.windows(2).all(|w| w[0].value < w[1].value),
                "{}",
                t.name
            );
            assert!(t.by_name.windows(2).all(|w| w[0].0 < w[1].0), "{}", t.name);
            for e in t.entries {
                assert_eq!(t.value_of(e.name), Some(e.value), "{} {}", t.name, e.name);
            }
        }
    }

    #[test]
    fn well_known_values_and_names() {
        assert_eq!(ObjectType::SYMMETRIC_KEY, ObjectType(2));
        assert_eq!(ObjectType::SYMMETRIC_KEY.name(), Some("SymmetricKey"));
        assert_eq!(State::from_name("PreActive"), Some(State::PRE_ACTIVE));
        assert_eq!(HashingAlgorithm::SHA_256.name(), Some("SHA_256"));
        assert_eq!(
            NameType::UNINTERPRETED_TEXT_STRING.name(),
            Some("UninterpretedTextString")
        );
        assert_eq!(Operation::GET_ATTRIBUTES, Operation(0xB));
        assert_eq!(ResultReason::ITEM_NOT_FOUND, ResultReason(1));
        assert_eq!(BlockCipherMode::GCM.name(), Some("GCM"));
        assert_eq!(
            CryptographicAlgorithm::from_name("DES3"),
            Some(CryptographicAlgorithm(2))
        );
        assert_eq!(format!("{:?}", Operation::CREATE), "Operation::Create");
        assert_eq!(
            format!("{:?}", Operation(0x8000_0001)),
            "Operation(0x80000001)"
        );
    }

    #[test]
    fn versions_of_values() {
        assert_eq!(ObjectType::TEMPLATE.since(), Some(ProtocolVersion::V1_0));
        assert!(ObjectType::TEMPLATE.is_defined_in(ProtocolVersion::V1_4));
        assert!(!ObjectType::TEMPLATE.is_defined_in(ProtocolVersion::V2_0));
        assert_eq!(OBJECT_TYPE_TABLE.name_in(6, ProtocolVersion::V2_1), None);
        assert!(ObjectType(0x8000_0001).is_defined_in(ProtocolVersion::V1_0));
        assert_eq!(
            Operation::DISCOVER_VERSIONS.since(),
            Some(ProtocolVersion::V1_1)
        );
        // Older spellings still parse.
        assert_eq!(
            HashingAlgorithm::from_name("SHA_3_256"),
            HashingAlgorithm::from_name("SHA3_256")
        );
    }

    #[test]
    fn registry_by_tag() {
        let t = enum_for_tag(Tag::OBJECT_TYPE).map(|t| t.name);
        assert_eq!(t, Some("Object Type"));
        let t = enum_for_tag(Tag::MASK_GENERATOR_HASHING_ALGORITHM).map(|t| t.name);
        assert_eq!(t, Some("Hashing Algorithm"));
        assert!(enum_for_tag(Tag::UNIQUE_BATCH_ITEM_ID).is_none());
        let m = mask_for_tag(Tag::CRYPTOGRAPHIC_USAGE_MASK).map(|t| t.name);
        assert_eq!(m, Some("Cryptographic Usage Mask"));
    }

    #[test]
    fn masks_format_and_parse() {
        let m = CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT;
        assert_eq!(m.to_names(), "Encrypt Decrypt");
        assert_eq!(
            CryptographicUsageMask::from_names("Decrypt   Encrypt"),
            Some(m)
        );
        assert_eq!(CryptographicUsageMask::from_names("Encrypt|0x8"), Some(m));
        assert_eq!(CryptographicUsageMask::from_names("Encrypt Bogus"), None);
        assert_eq!(CryptographicUsageMask::from_names(""), None);
        let odd = CryptographicUsageMask(0x4 | 0x4000_0000);
        assert_eq!(odd.to_names(), "Encrypt 0x40000000");
        assert_eq!(
            CryptographicUsageMask::from_names(&odd.to_names()),
            Some(odd)
        );
        assert_eq!(CryptographicUsageMask(0).to_names(), "0");
        assert!(!CryptographicUsageMask::EXPORT.is_defined_in(ProtocolVersion::V2_0));
        assert!(m.is_defined_in(ProtocolVersion::V2_1));
    }
}
