//! The Root of Trust: an AES-256 token object that wraps Domain Keys and never leaves an HSM
//! in plaintext.
//!
//! Attributes (read back by [`RootAttributes`]): `CKA_TOKEN`, `CKA_PRIVATE`,
//! `CKA_SENSITIVE`, `CKA_MODIFIABLE=false`, `CKA_WRAP`/`CKA_UNWRAP`, no
//! `CKA_ENCRYPT`/`CKA_DECRYPT`/`CKA_SIGN`. Its exportability is one of [`RootExport`]: see
//! `docs/KEY-CEREMONY.md` for why the ceremony's source copy is
//! `CKA_EXTRACTABLE=true` + `CKA_WRAP_WITH_TRUSTED=true`.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use serde::{Deserialize, Serialize};

use crate::config::KcvSource;
use crate::error::{Error, Result};

/// AES-256.
pub(crate) const ROOT_KEY_LEN: usize = 32;

/// A key check value: 3 bytes identifying a key without revealing it. Shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kcv(pub [u8; 3]);

impl std::fmt::Display for Kcv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl std::fmt::Debug for Kcv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kcv({self})")
    }
}

impl Serialize for Kcv {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Kcv {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kcv, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut bytes = [0u8; 3];
        hex::decode_to_slice(&text, &mut bytes).map_err(serde::de::Error::custom)?;
        Ok(Kcv(bytes))
    }
}

/// How a Root of Trust may leave its HSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootExport {
    /// `CKA_EXTRACTABLE=false`: it can never leave, not even wrapped. For HSMs that only
    /// receive the root (ceremony targets) or use the vendor's own cloning.
    Never,
    /// `CKA_EXTRACTABLE=true` with `CKA_WRAP_WITH_TRUSTED=true`: it can leave only wrapped
    /// under a key marked `CKA_TRUSTED`, which only the Security Officer can mark. For the
    /// ceremony's source HSM and for restores from the disaster-recovery backup.
    WrappedUnderTrustedOnly,
}

/// The security-relevant attributes of the root, as the token reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootAttributes {
    /// `CKA_TOKEN`.
    pub token: bool,
    /// `CKA_PRIVATE`.
    pub private: bool,
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_ALWAYS_SENSITIVE`.
    pub always_sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_NEVER_EXTRACTABLE`.
    pub never_extractable: bool,
    /// `CKA_WRAP_WITH_TRUSTED`.
    pub wrap_with_trusted: bool,
    /// `CKA_MODIFIABLE`.
    pub modifiable: bool,
    /// `CKA_WRAP`.
    pub wrap: bool,
    /// `CKA_UNWRAP`.
    pub unwrap: bool,
    /// `CKA_ENCRYPT`.
    pub encrypt: bool,
    /// `CKA_DECRYPT`.
    pub decrypt: bool,
}

/// The template of a Root of Trust (for `C_GenerateKey` and `C_UnwrapKey`).
pub(crate) fn root_template(label: &str, export: RootExport, with_class: bool) -> Vec<Attribute> {
    let mut template = Vec::with_capacity(16);
    if with_class {
        template.push(Attribute::Class(ObjectClass::SECRET_KEY));
        template.push(Attribute::KeyType(KeyType::AES));
    }
    template.extend([
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
        Attribute::Sensitive(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ]);
    match export {
        RootExport::Never => template.push(Attribute::Extractable(false)),
        RootExport::WrappedUnderTrustedOnly => {
            template.push(Attribute::Extractable(true));
            template.push(Attribute::WrapWithTrusted(true));
        }
    }
    // Last: SoftHSM applies a C_UnwrapKey template in order and rejects attributes that
    // follow CKA_MODIFIABLE=false with CKR_ATTRIBUTE_READ_ONLY.
    template.push(Attribute::Modifiable(false));
    template
}

/// Generates a new Root of Trust on the token (fails if one with the label exists).
pub(crate) fn generate(session: &Session, label: &str, export: RootExport) -> Result<ObjectHandle> {
    match find(session, label) {
        Ok(_) => {
            return Err(Error::RootExists {
                label: label.to_owned(),
            });
        }
        Err(Error::RootNotFound { .. }) => {}
        Err(err) => return Err(err),
    }
    let mut template = root_template(label, export, false);
    template.push(Attribute::ValueLen((ROOT_KEY_LEN as u64).into()));
    Ok(session.generate_key(&Mechanism::AesKeyGen, &template)?)
}

/// Finds the root by label; exactly one secret key must carry it.
pub(crate) fn find(session: &Session, label: &str) -> Result<ObjectHandle> {
    let handles = session.find_objects(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Label(label.as_bytes().to_vec()),
    ])?;
    match handles.as_slice() {
        [handle] => Ok(*handle),
        [] => Err(Error::RootNotFound {
            label: label.to_owned(),
        }),
        more => Err(Error::Ambiguous {
            label: label.to_owned(),
            count: more.len(),
        }),
    }
}

/// Reads the root's security attributes from the token.
pub(crate) fn attributes(session: &Session, root: ObjectHandle) -> Result<RootAttributes> {
    let values = session.get_attributes(
        root,
        &[
            AttributeType::Token,
            AttributeType::Private,
            AttributeType::Sensitive,
            AttributeType::AlwaysSensitive,
            AttributeType::Extractable,
            AttributeType::NeverExtractable,
            AttributeType::WrapWithTrusted,
            AttributeType::Modifiable,
            AttributeType::Wrap,
            AttributeType::Unwrap,
            AttributeType::Encrypt,
            AttributeType::Decrypt,
        ],
    )?;
    let mut attrs = RootAttributes::default();
    for value in values {
        match value {
            Attribute::Token(v) => attrs.token = v,
            Attribute::Private(v) => attrs.private = v,
            Attribute::Sensitive(v) => attrs.sensitive = v,
            Attribute::AlwaysSensitive(v) => attrs.always_sensitive = v,
            Attribute::Extractable(v) => attrs.extractable = v,
            Attribute::NeverExtractable(v) => attrs.never_extractable = v,
            Attribute::WrapWithTrusted(v) => attrs.wrap_with_trusted = v,
            Attribute::Modifiable(v) => attrs.modifiable = v,
            Attribute::Wrap(v) => attrs.wrap = v,
            Attribute::Unwrap(v) => attrs.unwrap = v,
            Attribute::Encrypt(v) => attrs.encrypt = v,
            Attribute::Decrypt(v) => attrs.decrypt = v,
            _ => {}
        }
    }
    Ok(attrs)
}

/// The KCV of an AES key, computed inside the HSM.
pub(crate) fn kcv(session: &Session, key: ObjectHandle, source: KcvSource) -> Result<Kcv> {
    match source {
        KcvSource::CheckValue => {
            let values = session.get_attributes(key, &[AttributeType::CheckValue])?;
            values
                .into_iter()
                .find_map(|value| match value {
                    Attribute::CheckValue(bytes) => bytes.get(..3).and_then(|b| b.try_into().ok()),
                    _ => None,
                })
                .map(Kcv)
                .ok_or(Error::KcvUnavailable)
        }
        KcvSource::WrapZeroKey => {
            // A known all-zero AES-256 session key, wrapped (RFC 3394, deterministic) under
            // `key`: only `CKA_WRAP` is needed on `key`.
            let zero = session.create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Value(vec![0u8; ROOT_KEY_LEN]),
            ])?;
            let wrapped = session.wrap_key(&Mechanism::AesKeyWrap, key, zero);
            let destroyed = session.destroy_object(zero);
            let wrapped = wrapped?;
            destroyed?;
            wrapped
                .get(..3)
                .and_then(|b| b.try_into().ok())
                .map(Kcv)
                .ok_or(Error::Malformed {
                    what: "key wrap output",
                    reason: "shorter than 3 bytes",
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcv_serialises_as_hex_and_back() {
        let kcv = Kcv([0x0a, 0xbc, 0xde]);
        let json = serde_json::to_string(&kcv).expect("serialise");
        assert_eq!(json, "\"0ABCDE\"");
        let back: Kcv = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, kcv);
        assert!(serde_json::from_str::<Kcv>("\"0ABC\"").is_err());
    }

    #[test]
    fn templates_encode_the_export_decision() {
        let never = root_template("r", RootExport::Never, true);
        assert!(never.contains(&Attribute::Extractable(false)));
        assert!(!never.contains(&Attribute::WrapWithTrusted(true)));
        let trusted = root_template("r", RootExport::WrappedUnderTrustedOnly, true);
        assert!(trusted.contains(&Attribute::Extractable(true)));
        assert!(trusted.contains(&Attribute::WrapWithTrusted(true)));
        assert!(trusted.contains(&Attribute::Sensitive(true)));
        assert!(trusted.contains(&Attribute::Modifiable(false)));
    }
}
