//! KMIP protocol versions (KMIP 1.4 section 6.1, 2.1 section 6.1): the request's version decides
//! how the response is encoded and which tags, attributes and enumeration values may appear.

use std::fmt;

/// A KMIP protocol version (Protocol Version Major / Minor).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Protocol Version Major.
    pub major: i32,
    /// Protocol Version Minor.
    pub minor: i32,
}

impl ProtocolVersion {
    /// KMIP 1.0
    pub const V1_0: Self = Self::new(1, 0);
    /// KMIP 1.1
    pub const V1_1: Self = Self::new(1, 1);
    /// KMIP 1.2
    pub const V1_2: Self = Self::new(1, 2);
    /// KMIP 1.3
    pub const V1_3: Self = Self::new(1, 3);
    /// KMIP 1.4
    pub const V1_4: Self = Self::new(1, 4);
    /// KMIP 2.0
    pub const V2_0: Self = Self::new(2, 0);
    /// KMIP 2.1
    pub const V2_1: Self = Self::new(2, 1);

    /// Every version this crate knows, newest first (the order Discover Versions answers in).
    pub const ALL_NEWEST_FIRST: [Self; 7] = [
        Self::V2_1,
        Self::V2_0,
        Self::V1_4,
        Self::V1_3,
        Self::V1_2,
        Self::V1_1,
        Self::V1_0,
    ];

    /// Builds a version.
    pub const fn new(major: i32, minor: i32) -> Self {
        Self { major, minor }
    }

    /// True for KMIP 2.x, whose attribute encoding (Attributes structure, tags as names) differs
    /// from 1.x (Attribute with Attribute Name / Index / Value, Template-Attribute).
    pub const fn is_2x(self) -> bool {
        self.major >= 2
    }
}

impl fmt::Debug for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
