//! The tenant bundle's format (`docs/REVERSIBILITY.md`): what the admin API carries and what
//! `kmsctl` writes as files, readable with OpenSSL alone.
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: every key with its UID, type, format, attributes (KMIP 2.1 JSON), file and SHA-256 |
//! | `manifest.sig` | ECDSA P-256 / SHA-256 signature of `manifest.json` (DER), made by the exporting node's HSM audit key |
//! | `signer.pem` | that audit key's public key (SubjectPublicKeyInfo, PEM) |
//! | `transfer-key.bin` | RSA recipient only: the bundle's AES-256 transfer key under RSA-OAEP (SHA-256, MGF1-SHA-256) |
//! | `keys/NNNNN.bin` | one key's material in a standard format, wrapped under the transfer key with AES Key Wrap with Padding (RFC 5649) |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `format` of a manifest this server writes and reads.
pub const FORMAT: &str = "kms-tenant-bundle/1";

/// The file holding the RSA-wrapped transfer key.
pub const TRANSFER_KEY_FILE: &str = "transfer-key.bin";

/// A bundle as the admin API carries it; `kmsctl` writes each part as a file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFiles {
    /// `manifest.json`: the exact bytes signed.
    pub manifest: String,
    /// `manifest.sig`, base64.
    pub signature: String,
    /// `signer.pem`.
    pub signer: String,
    /// Every other file by its path in the bundle, base64.
    pub files: BTreeMap<String, String>,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The exported tenant.
    pub tenant: String,
    /// The export job.
    pub job: String,
    /// When the bundle was made (RFC 3339).
    pub created_at: String,
    /// The node that made and signed it (its audit log's name).
    pub source_node: String,
    /// Whom the keys are wrapped for.
    pub recipient: RecipientEntry,
    /// How each key file is wrapped.
    pub wrapping: String,
    /// The keys, in UID order.
    pub keys: Vec<KeyEntry>,
    /// Objects not exported, with why.
    pub skipped: Vec<Skipped>,
}

/// Whom a bundle's keys are wrapped for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientEntry {
    /// `rsa-oaep-sha256` or `aes-256-transfer-key`.
    pub kind: String,
    /// RSA: SHA-256 of the recipient's SubjectPublicKeyInfo (DER), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    /// RSA: the wrapped transfer key's file and digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_key: Option<FileEntry>,
    /// AES: the UID of the transfer key in the exporting tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_key_uid: Option<String>,
}

/// A file of the bundle with its SHA-256 (hex).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path in the bundle.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// One exported key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Its Unique Identifier.
    pub uid: String,
    /// KMIP Object Type name (`SymmetricKey`, `PrivateKey`, `PublicKey`, `Certificate`,
    /// `SecretData`, `OpaqueObject`).
    pub object_type: String,
    /// What the unwrapped bytes are: `Raw` (key bytes), `PKCS_8` (PrivateKeyInfo DER),
    /// `X_509` (SubjectPublicKeyInfo DER), `Certificate` (X.509 DER), `Opaque`.
    pub format: String,
    /// The file and its digest.
    #[serde(flatten)]
    pub file: FileEntry,
    /// Secret Data Type or Opaque Data Type, when the object has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<u32>,
    /// Key Format Type of a Secret Data's Key Block (as registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_format_type: Option<u32>,
    /// Certificate Type, for a certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_type: Option<u32>,
    /// Every attribute as Get Attributes reports it: a KMIP 2.1 Attributes structure in the
    /// KMIP JSON encoding (state, dates, Names, Links, `x-` attributes included).
    pub attributes: serde_json::Value,
}

/// An object left out of the bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// Its Unique Identifier.
    pub uid: String,
    /// Why (a fixed text).
    pub reason: String,
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A public key as PEM (SubjectPublicKeyInfo DER in, `PUBLIC KEY` block out).
pub fn spki_pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

/// The DER of the one `PUBLIC KEY` block of a PEM text (`None`: not exactly one such block).
pub fn spki_from_pem(pem: &str) -> Option<Vec<u8>> {
    let mut reader = std::io::Cursor::new(pem.as_bytes());
    let mut found = None;
    for item in rustls_pemfile::read_all(&mut reader) {
        match item.ok()? {
            rustls_pemfile::Item::SubjectPublicKeyInfo(spki) if found.is_none() => {
                found = Some(spki.as_ref().to_vec());
            }
            _ => return None,
        }
    }
    found
}

/// Base64 (standard alphabet, padded).
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes of a base64 text (`None`: not base64).
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_survives_pem_and_anything_else_is_refused() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        assert_eq!(spki_from_pem(&spki_pem(&der)), Some(der.clone()));
        let two = format!("{}{}", spki_pem(&der), spki_pem(&der));
        assert_eq!(spki_from_pem(&two), None);
        assert_eq!(spki_from_pem("not pem"), None);
        assert_eq!(unb64(&b64(b"abc")), Some(b"abc".to_vec()));
        assert_eq!(unb64("***"), None);
    }
}
