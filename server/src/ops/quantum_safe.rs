//! The Quantum Safe attribute (KMIP 2.0 / 2.1 section 4.45): "a flag to be set to indicate an
//! object is required to be Quantum Safe for the given Protection Period and Protection Level".
//! A server that stores the flag on an object that is not quantum safe would claim what it
//! cannot keep, so an object may carry Quantum Safe true only when the server holds it to be
//! quantum safe; otherwise the Create, Register, Re-key, Add / Modify / Set Attribute is
//! refused with General Failure, as the Quantum Safe profile's QS-M-2 expects.
//!
//! Quantum safe here: a Symmetric Key of at least 256 bits. Grover's search halves a symmetric
//! key's strength against a quantum computer, so a 256-bit key keeps 128 bits (NIST's
//! post-quantum security category 5 is that of AES-256) and a 128-bit key keeps 64, too few for
//! any Protection Level or Period. Public and Private Keys (RSA, EC) fall to Shor's algorithm;
//! Secret Data, Opaque Objects and certificates are bytes whose strength the server cannot
//! judge. None of those may carry the flag. Quantum Safe false, or no flag, is always accepted.

use kmip_codec::enums::ObjectType;
use kmip_codec::model::{Attribute, AttributeValue};
use kmip_codec::tags::Tag;

use super::OpError;
use crate::store::records::ObjectRecord;

/// The shortest symmetric key the server holds to be quantum safe, in bits.
pub(crate) const MIN_SYMMETRIC_BITS: i32 = 256;

/// True when `a` is a Quantum Safe attribute set to true.
fn claims_quantum_safety(a: &Attribute) -> bool {
    a.tag() == Some(Tag::QUANTUM_SAFE) && a.value == AttributeValue::Boolean(true)
}

/// True when the server holds the object of `record` to be quantum safe.
fn is_quantum_safe(record: &ObjectRecord) -> bool {
    record.object_type == ObjectType::SYMMETRIC_KEY.0
        && record
            .attributes
            .cryptographic_length
            .is_some_and(|bits| bits >= MIN_SYMMETRIC_BITS)
}

/// Refuses `attributes` for the object of `record` when one claims Quantum Safe true for an
/// object that is not.
pub(super) fn check<'a>(
    record: &ObjectRecord,
    attributes: impl IntoIterator<Item = &'a Attribute>,
) -> Result<(), OpError> {
    if attributes.into_iter().any(claims_quantum_safety) && !is_quantum_safe(record) {
        return Err(OpError::NotQuantumSafe);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(object_type: ObjectType, bits: Option<i32>) -> ObjectRecord {
        let mut r = ObjectRecord {
            uid: "u".into(),
            tenant: "t".into(),
            revision: 1,
            object_type: object_type.0,
            state: 1,
            material: None,
            attributes: Default::default(),
        };
        r.attributes.cryptographic_length = bits;
        r
    }

    fn flag(on: bool) -> Attribute {
        Attribute::new(Tag::QUANTUM_SAFE, AttributeValue::Boolean(on))
    }

    #[test]
    fn only_symmetric_keys_of_256_bits_or_more_may_claim_quantum_safety() {
        let yes = [flag(true)];
        let aes_128 = key(ObjectType::SYMMETRIC_KEY, Some(128));
        let aes_192 = key(ObjectType::SYMMETRIC_KEY, Some(192));
        let aes_256 = key(ObjectType::SYMMETRIC_KEY, Some(256));
        let rsa = key(ObjectType::PRIVATE_KEY, Some(4096));
        let secret = key(ObjectType::SECRET_DATA, None);
        assert!(check(&aes_256, &yes).is_ok());
        for refused in [&aes_128, &aes_192, &rsa, &secret] {
            assert!(matches!(check(refused, &yes), Err(OpError::NotQuantumSafe)));
        }
        // Quantum Safe false, or none, claims nothing.
        assert!(check(&aes_128, &[flag(false)]).is_ok());
        assert!(check(&aes_128, &[]).is_ok());
    }
}
