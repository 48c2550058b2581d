//! The crate's one error type: what went wrong ([`ErrorKind`]), and where (byte offset into the
//! input and the path of tags from the outermost item down to the failing one).
//!
//! Messages never contain value bytes (a value may be key material): they hold lengths, tags,
//! item types and type bytes only.

use std::fmt;

use crate::tags::Tag;
use crate::ttlv::ItemType;
use crate::version::ProtocolVersion;

/// A codec error: its [`ErrorKind`], the byte offset where it was found (binary decoding) and
/// the tag path to the item at fault.
///
/// Boxed inside, so a `Result<T, Error>` stays one pointer wide on the happy path.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    offset: Option<usize>,
    /// Outermost tag first.
    path: Vec<Tag>,
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with no location yet.
    pub fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            kind,
            offset: None,
            path: Vec::new(),
        }))
    }

    /// Sets the absolute byte offset (from the start of the decoded buffer) of the fault,
    /// usually the start of the item at fault.
    #[must_use]
    pub fn at_offset(mut self, offset: usize) -> Self {
        self.0.offset = Some(offset);
        self
    }

    /// Adds an enclosing tag to the path. Call it while unwinding, innermost tag first: each
    /// call puts `tag` in front, so [`Error::path`] reads outermost first.
    #[must_use]
    pub fn in_tag(mut self, tag: Tag) -> Self {
        self.0.path.insert(0, tag);
        self
    }

    /// Replaces the whole path (outermost tag first); for callers that already hold it.
    #[must_use]
    pub fn with_path(mut self, path: Vec<Tag>) -> Self {
        self.0.path = path;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Absolute byte offset of the fault in the input, when known.
    pub fn offset(&self) -> Option<usize> {
        self.0.offset
    }

    /// Tags from the outermost item down to the item at fault (may be empty).
    pub fn path(&self) -> &[Tag] {
        &self.0.path
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind)?;
        if let Some(o) = self.0.offset {
            write!(f, " at byte {o}")?;
        }
        if !self.0.path.is_empty() {
            f.write_str(" in ")?;
            for (i, t) in self.0.path.iter().enumerate() {
                if i > 0 {
                    f.write_str("/")?;
                }
                write!(f, "{}", Hex(*t))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("offset", &self.0.offset)
            .field("path", &self.0.path)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The kind's own message is already part of ours; skip to its source.
        std::error::Error::source(&self.0.kind)
    }
}

/// Prints a tag as `0x42007B` (names live in the tag table; the error stays independent of it).
struct Hex(Tag);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:06X}", self.0.0)
    }
}

/// Every way encoding, decoding or converting a KMIP message can fail.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    // --- binary TTLV (KMIP 1.4 section 9.1) ---
    /// The input ends before the item does: fewer bytes remain than its 8-byte header, or
    /// (at the top level) than its declared length rounded up to 8. Inside a structure an
    /// overrun is [`ErrorKind::LengthBeyondFrame`] instead.
    #[error("truncated item: need {needed} bytes, {available} available")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes left in the enclosing frame.
        available: usize,
    },
    /// The type byte is not a defined item type.
    #[error("unknown item type 0x{0:02X}")]
    UnknownItemType(u8),
    /// A fixed-length type (Integer, Long Integer, Enumeration, Boolean, Date-Time, Interval,
    /// Date-Time Extended) declared another length.
    #[error("invalid length {length} for item type {item_type:?}")]
    InvalidLength {
        /// The item's type.
        item_type: ItemType,
        /// The declared length.
        length: u32,
    },
    /// An item's declared length (rounded up to 8) runs past the end of its enclosing
    /// structure: the lengths disagree, the input was not merely cut short.
    #[error("declared length {declared} exceeds the {available} bytes left in the frame")]
    LengthBeyondFrame {
        /// Declared value length (with padding).
        declared: usize,
        /// Bytes left in the enclosing frame.
        available: usize,
    },
    /// The padding after a value (to a multiple of 8 bytes) is not all zero.
    #[error("non-zero padding")]
    NonZeroPadding,
    /// A Boolean holds something other than 0 or 1.
    #[error("invalid boolean value {0}")]
    InvalidBoolean(u64),
    /// A Text String is not valid UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// A Big Integer's length is not a multiple of 8.
    #[error("big integer length {0} is not a multiple of 8")]
    InvalidBigIntegerLength(u32),
    /// Structures nest deeper than [`crate::limits::Limits::max_depth`].
    #[error("structures nested deeper than {limit}")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// A structure holds more than [`crate::limits::Limits::max_items_per_structure`] items.
    #[error("more than {limit} items in one structure")]
    TooManyItems {
        /// The limit in force.
        limit: usize,
    },
    /// The message is larger than [`crate::limits::Limits::max_message_size`].
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Message size (header included), as declared or as given.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Bytes follow the one top-level item.
    #[error("{count} trailing bytes after the message")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The top-level item is not a Structure.
    #[error("top-level item {} is not a structure", Hex(*.0))]
    NotAStructure(Tag),

    // --- typed model ---
    /// A required field is absent.
    #[error("missing required field {}", Hex(*.0))]
    MissingField(Tag),
    /// A field has the wrong item type.
    #[error("field {} has type {found:?}, expected {expected:?}", Hex(*.tag))]
    UnexpectedType {
        /// The field's tag.
        tag: Tag,
        /// The type the model requires.
        expected: ItemType,
        /// The type on the wire.
        found: ItemType,
    },
    /// A field is not allowed here.
    #[error("unexpected field {}", Hex(*.0))]
    UnexpectedTag(Tag),
    /// Batch Count disagrees with the number of Batch Items.
    #[error("batch count {declared} but {actual} batch items")]
    BatchCountMismatch {
        /// Batch Count in the header.
        declared: i32,
        /// Batch Items present.
        actual: usize,
    },
    /// More Batch Items than [`crate::limits::Limits::max_batch_items`].
    #[error("more than {limit} batch items")]
    TooManyBatchItems {
        /// The limit in force.
        limit: usize,
    },
    /// A field's value is out of range or inconsistent.
    #[error("invalid value for {}: {reason}", Hex(*.tag))]
    InvalidValue {
        /// The field's tag.
        tag: Tag,
        /// Why (a fixed text, never the value).
        reason: &'static str,
    },
    /// A field that the negotiated protocol version does not define.
    #[error("field {} is not defined in KMIP {version}", Hex(*.tag))]
    NotInVersion {
        /// The field's tag.
        tag: Tag,
        /// The version in use.
        version: ProtocolVersion,
    },

    // --- XML encoding (OASIS test vectors) ---
    /// Malformed XML.
    #[error("XML syntax error")]
    XmlSyntax(#[source] quick_xml::Error),
    /// An element name that is not a known tag name (nor a `0x42XXXX` hex tag).
    #[error("unknown tag name")]
    UnknownTagName,
    /// An enumeration value name not defined for the tag.
    #[error("unknown enumeration name for {}", Hex(*.tag))]
    UnknownEnumName {
        /// The enumeration's tag.
        tag: Tag,
    },
    /// A `value` attribute that does not parse as its type.
    #[error("invalid XML value for item type {item_type:?}")]
    InvalidXmlValue {
        /// The declared type.
        item_type: ItemType,
    },
    /// Well-formed XML that is not the KMIP XML encoding (unknown `type`, missing `value`,
    /// text content, no or several elements...).
    #[error("not KMIP XML: {0}")]
    XmlShape(crate::xml::XmlShape),

    // --- JSON encoding (KMIP Profiles, JSON Profile) ---
    /// Malformed JSON, or a member of the wrong JSON type (serde_json's message: positions
    /// and token kinds, never values).
    #[error("JSON syntax error")]
    JsonSyntax(#[source] serde_json::Error),
    /// Well-formed JSON that is not the KMIP JSON encoding.
    #[error("not KMIP JSON: {0}")]
    JsonShape(crate::json::JsonShape),
    /// A `value` that does not convert to its item type.
    #[error("invalid JSON value for item type {item_type:?}")]
    InvalidJsonValue {
        /// The declared type.
        item_type: ItemType,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_and_path_outermost_first() {
        let e = Error::new(ErrorKind::Truncated {
            needed: 8,
            available: 3,
        })
        .at_offset(24)
        .in_tag(Tag(0x42000F))
        .in_tag(Tag(0x420078));
        assert_eq!(
            e.to_string(),
            "truncated item: need 8 bytes, 3 available at byte 24 in 0x420078/0x42000F"
        );
        assert_eq!(e.path(), &[Tag(0x420078), Tag(0x42000F)]);
        assert_eq!(e.offset(), Some(24));
    }

    #[test]
    fn error_is_send_sync_and_one_pointer_wide() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
        assert_eq!(size_of::<Error>(), size_of::<usize>());
    }

    #[test]
    fn display_without_location() {
        let e = Error::from(ErrorKind::NonZeroPadding);
        assert_eq!(e.to_string(), "non-zero padding");
        assert!(e.path().is_empty());
        assert_eq!(e.offset(), None);
    }
}
