//! The HSM-resident audit-signing key: an EC P-256 key pair on the token that signs audit
//! checkpoints (ECDSA with SHA-256). The private half is non-extractable; the public half is
//! exported as a SEC1 uncompressed point for auditors.
//!
//! The digest is computed on the host and signed with `CKM_ECDSA`, the mechanism every
//! PKCS#11 EC implementation has (SoftHSM included); signatures are `r || s`, 64 bytes.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::hsm::Hsm;

/// DER of the P-256 (secp256r1) named-curve OID 1.2.840.10045.3.1.7.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// A SEC1 uncompressed P-256 point: 0x04 || x || y.
const POINT_LEN: usize = 65;

/// Finds the key of `class` with `label`.
fn find(session: &Session, label: &str, class: ObjectClass) -> Result<Option<ObjectHandle>> {
    let found = session.find_objects(&[
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    match found.as_slice() {
        [] => Ok(None),
        [handle] => Ok(Some(*handle)),
        more => Err(Error::Ambiguous {
            label: label.to_owned(),
            count: more.len(),
        }),
    }
}

/// The SEC1 point of an EC public key object. Tokens return `CKA_EC_POINT` as a DER OCTET
/// STRING (PKCS#11 2.40) or, some of them, the raw point.
fn public_point(session: &Session, public: ObjectHandle) -> Result<Vec<u8>> {
    let point = session
        .get_attributes(public, &[AttributeType::EcPoint])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(point) => Some(point),
            _ => None,
        })
        .unwrap_or_default();
    let raw = match point.as_slice() {
        [0x04, 0x41, rest @ ..] if rest.len() == POINT_LEN => rest.to_vec(),
        raw if raw.len() == POINT_LEN && raw.first() == Some(&0x04) => raw.to_vec(),
        _ => {
            return Err(Error::Malformed {
                what: "CKA_EC_POINT",
                reason: "not an uncompressed P-256 point",
            });
        }
    };
    Ok(raw)
}

impl Hsm {
    /// Creates the audit-signing key pair on the token unless it exists; returns its public
    /// key (SEC1 uncompressed point, 65 bytes).
    pub fn create_audit_key(&self) -> Result<Vec<u8>> {
        self.run_with_session(|label, session| {
            if let Some(public) = find(session, label, ObjectClass::PUBLIC_KEY)? {
                return public_point(session, public);
            }
            let id = label.as_bytes().to_vec();
            let (public, _) = session.generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Label(id.clone()),
                    Attribute::Id(id.clone()),
                    Attribute::EcParams(P256_PARAMS.to_vec()),
                    Attribute::Verify(true),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Label(id.clone()),
                    Attribute::Id(id),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                    Attribute::Modifiable(false),
                ],
            )?;
            public_point(session, public)
        })
    }

    /// The audit-signing public key (SEC1 uncompressed point), if the key pair exists.
    pub fn audit_public_key(&self) -> Result<Option<Vec<u8>>> {
        self.run_with_session(|label, session| {
            find(session, label, ObjectClass::PUBLIC_KEY)?
                .map(|public| public_point(session, public))
                .transpose()
        })
    }

    /// Signs `message` with the audit key: ECDSA P-256 over SHA-256, `r || s` (64 bytes).
    pub fn sign_audit(&self, message: &[u8]) -> Result<Vec<u8>> {
        let digest = Sha256::digest(message);
        self.run_with_session(|label, session| {
            let private = find(session, label, ObjectClass::PRIVATE_KEY)?.ok_or_else(|| {
                Error::AuditKeyNotFound {
                    label: label.to_owned(),
                }
            })?;
            Ok(session.sign(&Mechanism::Ecdsa, private, &digest)?)
        })
    }
}
