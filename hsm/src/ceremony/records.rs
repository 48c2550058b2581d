//! The files a ceremony step reads and writes: public, serde-serialisable records, and
//! custodian shares (secret; explicit text form, never `Serialize` or `Debug`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::OaepHash;
use crate::error::{Error, Result};
use crate::root::Kcv;

/// Current [`WrappedRoot`] format.
pub const WRAPPED_ROOT_FORMAT: u8 = 1;

/// A transport public key, exported by the target HSM (step `transport-keygen`) and given to
/// the source HSM's officers. Compare `fingerprint` out of band (read it aloud) before use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportPublicKey {
    /// The token the private half lives on.
    pub token_label: String,
    /// `SubjectPublicKeyInfo` PEM (`-----BEGIN PUBLIC KEY-----`).
    pub pem: String,
    /// Hex SHA-256 of the DER `SubjectPublicKeyInfo`.
    pub fingerprint: String,
}

/// How a [`WrappedRoot`] was wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootWrapMechanism {
    /// `CKM_RSA_PKCS_OAEP` under a transport public key, with this hash and MGF1 hash.
    RsaOaep(OaepHash),
    /// `CKM_AES_KEY_WRAP_PAD` (RFC 5649) under the disaster-recovery backup key.
    AesKeyWrapPad,
    /// `CKM_AES_KEY_WRAP` (RFC 3394) under the disaster-recovery backup key.
    AesKeyWrap,
}

/// The Root of Trust, wrapped for transport to another HSM or for the disaster-recovery
/// backup. Not secret on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedRoot {
    /// Record format ([`WRAPPED_ROOT_FORMAT`]).
    pub format: u8,
    /// KCV of the root; the importing HSM must compute the same.
    pub kcv: Kcv,
    /// The wrapping mechanism.
    pub mechanism: RootWrapMechanism,
    /// Fingerprint of the transport key (RSA wraps) or `None` (backup wraps).
    pub transport_fingerprint: Option<String>,
    /// The wrapped key.
    #[serde(with = "hex::serde")]
    pub wrapped: Vec<u8>,
}

impl WrappedRoot {
    pub(crate) fn check_format(&self) -> Result<()> {
        if self.format != WRAPPED_ROOT_FORMAT {
            return Err(Error::Malformed {
                what: "wrapped root",
                reason: "unknown format",
            });
        }
        if self.wrapped.is_empty() || self.wrapped.len() > 1024 {
            return Err(Error::Length {
                what: "wrapped root",
                len: self.wrapped.len(),
                min: 1,
                max: 1024,
            });
        }
        Ok(())
    }
}

/// Text prefix of a custodian share.
const SHARE_PREFIX: &str = "kms-share-v1";
/// A share is one identifier byte plus one byte per secret byte.
const SHARE_LEN: usize = 1 + 32;

/// One custodian's share of the disaster-recovery backup key (Shamir over GF(256)).
///
/// Secret: zeroized on drop, `Debug` redacted, no `Serialize`. Hand it over as text
/// ([`CustodianShare::to_text`]): `kms-share-v1:<root KCV>:<threshold>:<hex>`.
pub struct CustodianShare {
    pub(crate) root_kcv: Kcv,
    pub(crate) threshold: u8,
    pub(crate) bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for CustodianShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodianShare")
            .field("root_kcv", &self.root_kcv)
            .field("threshold", &self.threshold)
            .field("bytes", &"[REDACTED]")
            .finish()
    }
}

impl CustodianShare {
    /// The KCV of the root this share's backup protects.
    pub fn root_kcv(&self) -> Kcv {
        self.root_kcv
    }

    /// How many shares are needed to restore.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The share's number (1..=255), distinct per custodian.
    pub fn number(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The text form for the custodian's file or paper copy.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{SHARE_PREFIX}:{}:{}:{}",
            self.root_kcv,
            self.threshold,
            Zeroizing::new(hex::encode(&*self.bytes)).as_str()
        ))
    }

    /// Parses the text form (surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Result<CustodianShare> {
        let bad = |reason| Error::Malformed {
            what: "custodian share",
            reason,
        };
        let mut parts = text.trim().split(':');
        if parts.next() != Some(SHARE_PREFIX) {
            return Err(bad("not a kms-share-v1 share"));
        }
        let kcv_hex = parts.next().ok_or_else(|| bad("missing root KCV"))?;
        let mut kcv = [0u8; 3];
        hex::decode_to_slice(kcv_hex, &mut kcv).map_err(|_| bad("bad root KCV"))?;
        let threshold: u8 = parts
            .next()
            .and_then(|t| t.parse().ok())
            .filter(|t| *t >= 2)
            .ok_or_else(|| bad("bad threshold"))?;
        let share_hex = parts.next().ok_or_else(|| bad("missing share"))?;
        if parts.next().is_some() || share_hex.len() != SHARE_LEN * 2 {
            return Err(bad("bad share length"));
        }
        let mut bytes = Zeroizing::new(vec![0u8; SHARE_LEN]);
        hex::decode_to_slice(share_hex, &mut bytes).map_err(|_| bad("bad share hex"))?;
        if bytes.first() == Some(&0) {
            return Err(bad("share number 0"));
        }
        Ok(CustodianShare {
            root_kcv: Kcv(kcv),
            threshold,
            bytes,
        })
    }
}

/// The disaster-recovery backup: the root wrapped under a backup key, and the backup key's
/// shares, one per custodian. `Debug` shows no share.
pub struct Backup {
    /// The root wrapped under the backup key (store it with the cluster's records).
    pub wrapped_root: WrappedRoot,
    /// One share per custodian.
    pub shares: Vec<CustodianShare>,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("wrapped_root", &self.wrapped_root)
            .field("shares", &self.shares.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> CustodianShare {
        let mut bytes = vec![7u8; SHARE_LEN];
        bytes[0] = 3;
        CustodianShare {
            root_kcv: Kcv([0xAA, 0xBB, 0xCC]),
            threshold: 2,
            bytes: Zeroizing::new(bytes),
        }
    }

    #[test]
    fn share_text_round_trips() {
        let text = share().to_text();
        assert!(text.starts_with("kms-share-v1:AABBCC:2:03"));
        let back = CustodianShare::from_text(&format!("  {}\n", text.as_str())).expect("parse");
        assert_eq!(back.number(), 3);
        assert_eq!(back.threshold(), 2);
        assert_eq!(&*back.bytes, &*share().bytes);
    }

    #[test]
    fn share_debug_is_redacted() {
        let shown = format!("{:?}", share());
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("0707"));
    }

    #[test]
    fn malformed_shares_are_rejected() {
        for text in [
            "",
            "kms-share-v2:AABBCC:2:00",
            "kms-share-v1:AABB:2:03",
            "kms-share-v1:AABBCC:1:03",
            "kms-share-v1:AABBCC:2:0307",
            "kms-share-v1:AABBCC:2:zz0707070707070707070707070707070707070707070707070707070707070707",
        ] {
            assert!(
                CustodianShare::from_text(text).is_err(),
                "{text:?} accepted"
            );
        }
        let zero = format!("kms-share-v1:AABBCC:2:00{}", "07".repeat(32));
        assert!(CustodianShare::from_text(&zero).is_err());
    }
}
