//! A redacting pretty-printer for TTLV trees: one item per line, indented, with the tag's name,
//! the item type and the value, except that secrets show only their length. Use it to log or
//! display a message (`Redacted(&item)`); never log [`crate::xml::to_xml`] output or `Debug`
//! of raw values.
//!
//! Redacted: everything under a Key Value (KMIP 1.4 section 2.1.4: key material, transparent
//! key fields, wrapped attributes) hence the bytes of Symmetric Keys, Private Keys, Secret Data
//! and Split Keys; Key Material anywhere; Opaque Data Value; Password and a primitive Credential
//! Value; Data, MAC Data and Signature Data (the plaintext or ciphertext of Encrypt, Decrypt,
//! Sign, MAC..., KMIP 1.4 section 4.29 ff.); MAC/Signature; the streaming Correlation Value;
//! PKCS#11 input/output parameters; Derivation Data (a password for PBKDF2, KMIP 1.4 section
//! 4.6); the Server Hashed Password and a Ticket Value (KMIP 2.1 sections 8.5 and 7.39); and
//! every byte string whose tag has no name (vendor extensions). IV/Counter/Nonce, names and identifiers are not secret and are shown. Big
//! Integers show only their size everywhere.

use std::fmt;

use crate::enums::{enum_for_tag, mask_for_tag};
use crate::tags::Tag;
use crate::ttlv::{Ttlv, Value};

/// Displays a TTLV tree with secrets replaced by their length.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a Ttlv);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_item(f, self.0, 0, false)
    }
}

/// Tags whose value (and, for a structure, everything under it) is secret.
const SECRET_TAGS: [Tag; 14] = [
    Tag::KEY_VALUE,
    Tag::KEY_MATERIAL,
    Tag::OPAQUE_DATA_VALUE,
    Tag::PASSWORD,
    Tag::DATA,
    Tag::MAC_DATA,
    Tag::SIGNATURE_DATA,
    Tag::MAC_SIGNATURE,
    Tag::CORRELATION_VALUE,
    Tag::PKCS11_INPUT_PARAMETERS,
    Tag::PKCS11_OUTPUT_PARAMETERS,
    Tag::DERIVATION_DATA,
    Tag::SERVER_HASHED_PASSWORD,
    Tag::TICKET_VALUE,
];

/// True when `item`'s value must not be shown. A primitive Credential Value (a bare secret in
/// some credential types) is secret; a structured one shows its parts, of which Password is
/// secret.
fn is_secret(item: &Ttlv) -> bool {
    SECRET_TAGS.contains(&item.tag)
        || (item.tag == Tag::CREDENTIAL_VALUE && !matches!(item.value, Value::Structure(_)))
}

fn write_item(f: &mut fmt::Formatter<'_>, item: &Ttlv, depth: usize, secret: bool) -> fmt::Result {
    for _ in 0..depth {
        f.write_str("  ")?;
    }
    match item.tag.name() {
        Some(n) => f.write_str(n)?,
        None => write!(f, "0x{:06X}", item.tag.0)?,
    }
    let secret = secret || is_secret(item);
    write!(f, " ({}): ", item.value.item_type().xml_name())?;
    match &item.value {
        Value::Structure(children) => {
            writeln!(f, "{} items", children.len())?;
            for child in children {
                write_item(f, child, depth + 1, secret)?;
            }
            return Ok(());
        }
        // Every secret primitive shows only its size.
        Value::ByteString(b) if secret || item.tag.name().is_none() => {
            write!(f, "<redacted, {} bytes>", b.len())?
        }
        Value::BigInteger(b) if secret => write!(f, "<redacted, {} bytes>", b.len())?,
        Value::TextString(s) if secret => write!(f, "<redacted, {} bytes>", s.len())?,
        _ if secret => f.write_str("<redacted>")?,
        Value::Integer(v) => match mask_for_tag(item.tag) {
            Some(m) => write!(f, "{}", m.format_mask(*v as u32))?,
            None => write!(f, "{v}")?,
        },
        Value::Enumeration(v) => match enum_for_tag(item.tag).and_then(|t| t.name_of(*v)) {
            Some(n) => f.write_str(n)?,
            None => write!(f, "0x{v:08X}")?,
        },
        Value::LongInteger(v) => write!(f, "{v}")?,
        Value::BigInteger(b) => write!(f, "{} bytes", b.len())?,
        Value::Boolean(b) => write!(f, "{b}")?,
        Value::TextString(s) => write!(f, "{s:?}")?,
        Value::ByteString(b) => {
            for byte in b.as_slice() {
                write!(f, "{byte:02x}")?;
            }
        }
        Value::DateTime(v) => write!(f, "{v}")?,
        Value::Interval(v) => write!(f, "{v}s")?,
        Value::DateTimeExtended(v) => write!(f, "{v}us")?,
    }
    writeln!(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{CryptographicAlgorithm, ObjectType};
    use crate::ttlv::Bytes;

    /// A key byte pattern that must never show up in the output, in any radix we print.
    const KEY: [u8; 16] = [
        0xC0, 0xFF, 0xEE, 0x5E, 0xC2, 0xE7, 0xBE, 0xEF, 0x13, 0x37, 0xD0, 0x0D, 0xFA, 0xCE, 0xB0,
        0x0C,
    ];

    fn bytes(tag: Tag, b: &[u8]) -> Ttlv {
        Ttlv::new(tag, Value::ByteString(Bytes::from(b)))
    }

    fn get_response() -> Ttlv {
        let key_block = Ttlv::structure(
            Tag::KEY_BLOCK,
            vec![
                Ttlv::new(Tag::KEY_FORMAT_TYPE, Value::Enumeration(1)),
                Ttlv::structure(Tag::KEY_VALUE, vec![bytes(Tag::KEY_MATERIAL, &KEY)]),
                Ttlv::new(
                    Tag::CRYPTOGRAPHIC_ALGORITHM,
                    Value::Enumeration(CryptographicAlgorithm::AES.0),
                ),
            ],
        );
        Ttlv::structure(
            Tag::RESPONSE_PAYLOAD,
            vec![
                Ttlv::new(
                    Tag::OBJECT_TYPE,
                    Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
                ),
                Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString("uid-42".into())),
                Ttlv::structure(Tag::SYMMETRIC_KEY, vec![key_block]),
                bytes(Tag::DATA, &KEY),
                bytes(Tag::IV_COUNTER_NONCE, &[0xAB, 0xCD]),
                bytes(Tag(0x54_0001), &KEY),
                Ttlv::new(Tag::PASSWORD, Value::TextString("hunter2-secret".into())),
                Ttlv::structure(Tag::KEY_VALUE, vec![bytes(Tag::KEY_MATERIAL, &KEY)]),
            ],
        )
    }

    #[test]
    fn key_bytes_never_appear() {
        let out = Redacted(&get_response()).to_string();
        let hex_lower: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex_lower.to_uppercase();
        let decimal = format!("{:?}", KEY);
        for needle in [
            &hex_lower[..8],
            &hex_upper[..8],
            &decimal[..12],
            "c0ffee",
            "hunter2",
        ] {
            assert!(!out.contains(needle), "{needle} leaked:\n{out}");
        }
        assert!(
            out.contains("Key Material (ByteString): <redacted, 16 bytes>"),
            "{out}"
        );
        assert!(
            out.contains("Data (ByteString): <redacted, 16 bytes>"),
            "{out}"
        );
        assert!(
            out.contains("Password (TextString): <redacted, 14 bytes>"),
            "{out}"
        );
        assert!(
            out.contains("0x540001 (ByteString): <redacted, 16 bytes>"),
            "{out}"
        );
        assert_eq!(format!("{:?}", Redacted(&get_response())), out);
    }

    #[test]
    fn non_secrets_are_shown_with_names() {
        let out = Redacted(&get_response()).to_string();
        assert!(
            out.starts_with("Response Payload (Structure): 8 items\n"),
            "{out}"
        );
        assert!(
            out.contains("  Object Type (Enumeration): SymmetricKey\n"),
            "{out}"
        );
        assert!(
            out.contains("  Unique Identifier (TextString): \"uid-42\"\n"),
            "{out}"
        );
        assert!(
            out.contains("IV/Counter/Nonce (ByteString): abcd\n"),
            "{out}"
        );
        assert!(
            out.contains("      Cryptographic Algorithm (Enumeration): AES\n"),
            "{out}"
        );
    }
}
