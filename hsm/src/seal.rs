//! Sealing key bytes (KEKs) under a tenant's Domain Key: AES-256-GCM inside the HSM
//! (`C_Encrypt` with `CKM_AES_GCM`), with the tenant, object ID and versions bound in as
//! associated data, so a blob moved to another tenant or object fails to unseal.
//!
//! Binary format, version 1 (all integers big-endian):
//!
//! ```text
//! offset  len  field
//! 0       1    format = 1
//! 1       4    Domain Key version
//! 5       12   GCM IV (from C_GenerateRandom)
//! 17      n+16 ciphertext || 128-bit tag
//! ```
//!
//! Associated data (not stored; rebuilt from the caller's arguments):
//! `"kms.seal.v1" 0x00 | format u8 | dk_version u32 | len u16 | tenant | len u16 | object_id |
//! object_version u64`.

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::KeyBytes;

/// Current sealed blob format.
pub const SEAL_FORMAT: u8 = 1;
/// GCM IV length (96 bits, the only length GCM handles without hashing the IV).
const IV_LEN: usize = 12;
/// GCM tag length.
const TAG_LEN: usize = 16;
/// Header: format, Domain Key version, IV.
const HEADER_LEN: usize = 1 + 4 + IV_LEN;
/// Largest plaintext this crate seals (KEKs are at most 64 bytes; secret data objects larger).
pub const MAX_SEAL_LEN: usize = 64 * 1024;
/// Longest tenant or object identifier bound into the associated data.
pub const MAX_ID_LEN: usize = 1024;
const AAD_LABEL: &[u8] = b"kms.seal.v1\0";

/// What a sealed blob is bound to. All of it goes into the GCM associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The tenant that owns the object.
    pub tenant: &'a str,
    /// The object's unique identifier.
    pub object_id: &'a str,
    /// The object's version (e.g. bumped on re-key); callers may use 0 when unused.
    pub version: u64,
}

/// Key bytes sealed under a Domain Key. Not secret (authenticated ciphertext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SealedBlobBytes", into = "SealedBlobBytes")]
pub struct SealedBlob {
    dk_version: u32,
    iv: [u8; IV_LEN],
    ciphertext: Vec<u8>,
}

/// Serde form of a [`SealedBlob`]: the binary format, hex in human-readable formats.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct SealedBlobBytes(#[serde(with = "hex::serde")] Vec<u8>);

impl TryFrom<SealedBlobBytes> for SealedBlob {
    type Error = Error;
    fn try_from(bytes: SealedBlobBytes) -> Result<Self> {
        SealedBlob::from_bytes(&bytes.0)
    }
}

impl From<SealedBlob> for SealedBlobBytes {
    fn from(blob: SealedBlob) -> Self {
        SealedBlobBytes(blob.to_bytes())
    }
}

impl SealedBlob {
    /// The Domain Key version the blob was sealed under (pick the DK to unseal with).
    pub fn dk_version(&self) -> u32 {
        self.dk_version
    }

    /// The binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.ciphertext.len());
        out.push(SEAL_FORMAT);
        out.extend_from_slice(&self.dk_version.to_be_bytes());
        out.extend_from_slice(&self.iv);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses the binary encoding, checking lengths before copying anything.
    pub fn from_bytes(bytes: &[u8]) -> Result<SealedBlob> {
        const MIN: usize = HEADER_LEN + TAG_LEN + 1;
        const MAX: usize = HEADER_LEN + TAG_LEN + MAX_SEAL_LEN;
        if bytes.len() < MIN || bytes.len() > MAX {
            return Err(Error::Length {
                what: "sealed blob",
                len: bytes.len(),
                min: MIN,
                max: MAX,
            });
        }
        let (format, rest) = bytes.split_at(1);
        if format != [SEAL_FORMAT] {
            return Err(Error::Malformed {
                what: "sealed blob",
                reason: "unknown format",
            });
        }
        let (version, rest) = rest.split_at(4);
        let (iv, ciphertext) = rest.split_at(IV_LEN);
        let malformed = |_| Error::Malformed {
            what: "sealed blob",
            reason: "bad header",
        };
        Ok(SealedBlob {
            dk_version: u32::from_be_bytes(version.try_into().map_err(malformed)?),
            iv: iv.try_into().map_err(malformed)?,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// The associated data binding a blob to its context.
fn associated_data(context: &SealContext<'_>, dk_version: u32) -> Result<Vec<u8>> {
    let tenant = id_bytes("tenant ID", context.tenant)?;
    let object = id_bytes("object ID", context.object_id)?;
    let mut aad =
        Vec::with_capacity(AAD_LABEL.len() + 1 + 4 + 2 + tenant.len() + 2 + object.len() + 8);
    aad.extend_from_slice(AAD_LABEL);
    aad.push(SEAL_FORMAT);
    aad.extend_from_slice(&dk_version.to_be_bytes());
    for id in [tenant, object] {
        let len = u16::try_from(id.len()).map_err(|_| Error::Length {
            what: "identifier",
            len: id.len(),
            min: 1,
            max: MAX_ID_LEN,
        })?;
        aad.extend_from_slice(&len.to_be_bytes());
        aad.extend_from_slice(id);
    }
    aad.extend_from_slice(&context.version.to_be_bytes());
    Ok(aad)
}

fn id_bytes<'a>(what: &'static str, id: &'a str) -> Result<&'a [u8]> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::Length {
            what,
            len: id.len(),
            min: 1,
            max: MAX_ID_LEN,
        });
    }
    Ok(id.as_bytes())
}

/// Seals `plaintext` under the Domain Key object `dk`.
pub(crate) fn seal(
    session: &Session,
    dk: ObjectHandle,
    dk_version: u32,
    context: &SealContext<'_>,
    plaintext: &[u8],
) -> Result<SealedBlob> {
    if plaintext.is_empty() || plaintext.len() > MAX_SEAL_LEN {
        return Err(Error::Length {
            what: "plaintext to seal",
            len: plaintext.len(),
            min: 1,
            max: MAX_SEAL_LEN,
        });
    }
    let aad = associated_data(context, dk_version)?;
    let mut iv = [0u8; IV_LEN];
    session.generate_random_slice(&mut iv)?;
    let mut iv_param = iv;
    let params = GcmParams::new(&mut iv_param, &aad, ((TAG_LEN * 8) as u64).into())?;
    let ciphertext = session.encrypt(&Mechanism::AesGcm(params), dk, plaintext)?;
    Ok(SealedBlob {
        dk_version,
        iv,
        ciphertext,
    })
}

/// Unseals `blob` with the Domain Key object `dk`. Any authentication failure is
/// [`Error::UnsealFailed`].
pub(crate) fn unseal(
    session: &Session,
    dk: ObjectHandle,
    context: &SealContext<'_>,
    blob: &SealedBlob,
) -> Result<KeyBytes> {
    let aad = associated_data(context, blob.dk_version)?;
    let mut iv = blob.iv;
    let params = GcmParams::new(&mut iv, &aad, ((TAG_LEN * 8) as u64).into())?;
    match session.decrypt(&Mechanism::AesGcm(params), dk, &blob.ciphertext) {
        Ok(plaintext) => Ok(KeyBytes::new(plaintext)),
        Err(err) => {
            let err = Error::from(err);
            if is_authentication_failure(&err) {
                Err(Error::UnsealFailed)
            } else {
                Err(err)
            }
        }
    }
}

/// How tokens report a GCM tag mismatch: PKCS#11 says CKR_ENCRYPTED_DATA_INVALID (or
/// CKR_ENCRYPTED_DATA_LEN_RANGE for a blob too short to hold a tag); SoftHSM 2.6 returns
/// CKR_GENERAL_ERROR. A genuine general error is thus reported as a failed unseal too.
fn is_authentication_failure(err: &Error) -> bool {
    use cryptoki::error::RvError;
    matches!(
        err.rv(),
        Some(
            RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange | RvError::GeneralError
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> SealedBlob {
        SealedBlob {
            dk_version: 7,
            iv: [9; IV_LEN],
            ciphertext: vec![1; 48],
        }
    }

    #[test]
    fn binary_format_round_trips() {
        let bytes = blob().to_bytes();
        assert_eq!(bytes.len(), HEADER_LEN + 48);
        assert_eq!(bytes.first(), Some(&SEAL_FORMAT));
        assert_eq!(bytes.get(1..5), Some(&[0, 0, 0, 7][..]));
        assert_eq!(SealedBlob::from_bytes(&bytes).expect("parse"), blob());
    }

    #[test]
    fn short_long_and_unknown_blobs_are_rejected() {
        assert!(matches!(
            SealedBlob::from_bytes(&[1; 10]),
            Err(Error::Length { .. })
        ));
        assert!(matches!(
            SealedBlob::from_bytes(&vec![1; HEADER_LEN + TAG_LEN + MAX_SEAL_LEN + 1]),
            Err(Error::Length { .. })
        ));
        let mut bytes = blob().to_bytes();
        bytes[0] = 2;
        assert!(matches!(
            SealedBlob::from_bytes(&bytes),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn serde_uses_the_binary_format_as_hex() {
        let json = serde_json::to_string(&blob()).expect("serialise");
        assert_eq!(json, format!("\"{}\"", hex::encode(blob().to_bytes())));
        let back: SealedBlob = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, blob());
    }

    #[test]
    fn associated_data_separates_fields() {
        let a = SealContext {
            tenant: "ab",
            object_id: "c",
            version: 1,
        };
        let b = SealContext {
            tenant: "a",
            object_id: "bc",
            version: 1,
        };
        assert_ne!(associated_data(&a, 1).ok(), associated_data(&b, 1).ok());
        assert_ne!(associated_data(&a, 1).ok(), associated_data(&a, 2).ok());
        let empty = SealContext {
            tenant: "",
            object_id: "c",
            version: 1,
        };
        assert!(matches!(
            associated_data(&empty, 1),
            Err(Error::Length { .. })
        ));
    }
}
