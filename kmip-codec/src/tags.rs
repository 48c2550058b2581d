//! KMIP tags (KMIP 1.4 section 9.1.3.1, KMIP 2.1 section 9.1.3.1). A tag is open: an unknown
//! value still decodes, so the server can answer it with a precise KMIP error.

use std::fmt;

/// A 3-byte KMIP tag, held in a `u32` (only the low 24 bits are meaningful).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag(0x{:06X})", self.0)
    }
}
