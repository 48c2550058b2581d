//! The KMIP JSON encoding (KMIP Profiles 1.3-2.1, JSON Profile, "JSON Encoding"; the MSGENC-JSON
//! test cases): one JSON object per item,
//!
//! ```json
//! {"tag":"RequestMessage","value":[
//!   {"tag":"RequestHeader","value":[
//!     {"tag":"ProtocolVersion","value":[
//!       {"tag":"ProtocolVersionMajor","type":"Integer","value":2},
//!       {"tag":"ProtocolVersionMinor","type":"Integer","value":1}]},
//!     {"tag":"BatchCount","type":"Integer","value":1}]},
//!   {"tag":"BatchItem","value":[
//!     {"tag":"Operation","type":"Enumeration","value":"Query"},
//!     {"tag":"RequestPayload","value":[
//!       {"tag":"QueryFunction","type":"Enumeration","value":"QueryOperations"}]}]}]}
//! ```
//!
//! - `tag`: the tag's normalized name (the XML element name, `"UniqueIdentifier"`) or `"0x"`
//!   and six hex digits (`"0x540001"`, the only form for extension tags).
//! - `type`: the item type's name (`"Integer"`, `"DateTimeExtended"`...); absent means
//!   Structure.
//! - `value`, by type: Structure: an array of items. Integer: a number, a hex string
//!   (`"0x0000000C"`), or for a mask (Cryptographic Usage Mask...) flag names and hex values
//!   joined by `|` (`"Encrypt|Decrypt"`). Long Integer: a number or a hex string (written as
//!   hex beyond ±2^52, which JSON numbers do not carry exactly). Big Integer: a hex string
//!   (`"0x..."`, two's complement) or a number. Enumeration: the value's name, a hex string or
//!   a number (for an Attribute Value, the names of the attribute its sibling Attribute Name
//!   names; for an Attribute Reference, tag names). Boolean: `true` / `false` or the hex strings
//!   `"0x0000000000000001"` / `"0x0000000000000000"`. Text String: a string. Byte String: hex
//!   digits without `0x`. Date-Time and Date-Time Extended: ISO 8601 (`"2012-04-27T08:12:21+00:00"`)
//!   or a hex string. Interval: a number or a hex string.
//!
//! The writer uses names wherever a name exists, numbers for Integer, Long Integer (within
//! ±2^52) and Interval, and ISO 8601 for dates, so what it writes reads back equal.
//!
//! Reading is for the network (the MSGENC-JSON profile's `POST /kmip` bodies): it takes the same
//! [`Limits`] as binary TTLV and checks each before anything is allocated for the item it
//! guards: the body size first, then nesting depth and the items of each structure as they are
//! read. serde_json does the token level; its own recursion limit (128) lies far above
//! [`Limits::max_depth`] in JSON levels. Errors say where: the byte offset and the tags of the
//! enclosing items.

mod read;
mod write;

pub use read::from_json;
pub use write::to_json;

#[cfg(doc)]
use crate::limits::Limits;

/// How well-formed JSON can fail to be the KMIP JSON encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonShape {
    /// An item that is not a JSON object.
    #[error("an item must be a JSON object")]
    NotAnObject,
    /// An item without a `tag`.
    #[error("missing tag")]
    MissingTag,
    /// A `tag` that is neither a tag name nor `0x` and six hex digits.
    #[error("invalid tag")]
    InvalidTag,
    /// A `type` that names no item type.
    #[error("unknown item type name")]
    UnknownType,
    /// An item without a `value`.
    #[error("missing value")]
    MissingValue,
    /// A member other than `tag`, `type` and `value`, or one of them twice.
    #[error("unexpected or repeated member")]
    UnexpectedMember,
    /// A Structure whose value is not an array, or an array for another type.
    #[error("a structure's value must be an array, and only a structure's")]
    StructureValue,
    /// A `value` that is `null` or a JSON object.
    #[error("a value cannot be null or an object")]
    NullOrObjectValue,
}

#[cfg(test)]
mod tests;
