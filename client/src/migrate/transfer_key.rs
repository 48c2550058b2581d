//! The transfer key of a pull: an AES-256 key created here (KMIP Create as the destination
//! client, Wrap Key / Unwrap Key usage, Extractable), read back and Registered on the foreign
//! server, both copies activated. The foreign server wraps each key under its copy (NIST key
//! wrap, RFC 3394); this server unwraps under its own inside the process. Both copies are
//! revoked and destroyed when the pull ends.
//!
//! The key bytes cross this process only between the Get here and the Register there, in a
//! wiped buffer ([`kmip_codec::ttlv::Bytes`]).

use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption, KeyFormatType,
    NameType, RevocationReasonCode, WrappingMethod,
};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, CryptographicParameters, KeyBlock, KeyInformation,
    KeyMaterial, KeyValue, KeyWrappingSpecification, ManagedObject, Name, SymmetricKey,
};
use kmip_codec::tags::Tag;

use crate::connection::Connection;
use crate::error::{ClientError, Result};

/// Length of the transfer key in bits.
const BITS: i32 = 256;

/// Beginning of the Name both copies carry, so an operator recognises one a crash left
/// behind; the rest is the time of the pull, as Names are unique in a tenant here and a
/// destroyed key keeps its own.
pub const NAME_PREFIX: &str = "kms-pull transfer key";

/// The custom attribute the copy here carries: the foreign server it was made for.
pub const MARK_ATTRIBUTE: &str = "x-kms-pull-transfer-key";

/// The transfer key's two copies.
#[derive(Debug)]
pub struct TransferKey {
    /// Its UID here.
    pub local_uid: String,
    /// Its UID on the foreign server.
    pub foreign_uid: String,
}

fn usage() -> AttributeValue {
    let mask = CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY;
    AttributeValue::Integer(i32::from_be_bytes(mask.0.to_be_bytes()))
}

fn name(value: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: value.to_owned(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

/// A Name no earlier pull used: the prefix and the time in nanoseconds.
fn fresh_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{NAME_PREFIX} {}", now.as_nanos())
}

/// NIST key wrap (RFC 3394), the mode every KMIP server with key wrapping offers.
fn key_information(uid: &str) -> KeyInformation {
    KeyInformation {
        unique_identifier: uid.to_owned(),
        cryptographic_parameters: Some(CryptographicParameters {
            block_cipher_mode: Some(BlockCipherMode::NISTKEYWRAP),
            ..CryptographicParameters::default()
        }),
    }
}

impl TransferKey {
    /// Creates the key here (marked with [`MARK_ATTRIBUTE`] = `source`) and copies it to the
    /// foreign server. Whatever was made before a failure is removed again.
    pub async fn establish(
        local: &mut Connection,
        foreign: &mut Connection,
        source: &str,
    ) -> Result<Self> {
        let name_text = fresh_name();
        let mut extra = Attributes::new()
            .with(Tag::EXTRACTABLE, AttributeValue::Boolean(true))
            .with(Tag::SENSITIVE, AttributeValue::Boolean(false));
        extra.push(name(&name_text));
        extra.push(Attribute::custom(
            MARK_ATTRIBUTE,
            AttributeValue::TextString(source.to_owned()),
        ));
        let local_uid = local
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                BITS,
                CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY,
                extra,
            )
            .await?;
        match Self::copy(local, foreign, &local_uid, &name_text).await {
            Ok(foreign_uid) => Ok(Self {
                local_uid,
                foreign_uid,
            }),
            Err(e) => {
                let _removed = retire(local, &local_uid).await;
                Err(e)
            }
        }
    }

    /// Activates the key here, reads it and registers an active copy on the foreign server;
    /// returns the copy's UID.
    async fn copy(
        local: &mut Connection,
        foreign: &mut Connection,
        uid: &str,
        name_text: &str,
    ) -> Result<String> {
        local.activate(uid).await?;
        let got = local.get(uid, Some(KeyFormatType::RAW)).await?;
        let ManagedObject::SymmetricKey(key) = got.object else {
            return Err(ClientError::UnexpectedResponse(
                "the transfer key came back as another object type",
            ));
        };
        let Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(bytes),
            ..
        }) = key.key_block.key_value
        else {
            return Err(ClientError::UnexpectedResponse(
                "the transfer key came back wrapped or not as raw bytes",
            ));
        };
        let object = ManagedObject::SymmetricKey(SymmetricKey {
            key_block: KeyBlock::raw(bytes, CryptographicAlgorithm::AES, BITS),
        });
        let mut attributes = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, usage());
        attributes.push(name(name_text));
        let foreign_uid = foreign.register(object, attributes).await?;
        if let Err(e) = foreign.activate(&foreign_uid).await {
            let _removed = retire(foreign, &foreign_uid).await;
            return Err(e);
        }
        Ok(foreign_uid)
    }

    /// The Key Wrapping Specification of a Get on the foreign server: encrypt under its copy
    /// with NIST key wrap, no encoding (the raw key bytes are wrapped).
    pub fn specification(&self) -> KeyWrappingSpecification {
        KeyWrappingSpecification {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(key_information(&self.foreign_uid)),
            mac_signature_key_information: None,
            attribute_names: Vec::new(),
            encoding_option: Some(EncodingOption::NO_ENCODING),
        }
    }

    /// Points the Key Wrapping Data of a block the foreign server wrapped at the copy here
    /// (the foreign server named its own copy). False when the block is not wrapped under the
    /// foreign copy as asked (not wrapped at all, or wrapped otherwise).
    ///
    /// With No Encoding, KMIP 1.x lets a server wrap the Key Material alone and keep the Key
    /// Value structure around it (PyKMIP does); the block is given here in the form this
    /// server's unwrap takes, the wrapped bytes as the Key Value.
    pub fn readdress(&self, block: &mut KeyBlock) -> bool {
        let Some(data) = block.key_wrapping_data.as_deref_mut() else {
            return false;
        };
        let Some(info) = data.encryption_key_information.as_mut() else {
            return false;
        };
        if data.wrapping_method != WrappingMethod::ENCRYPT
            || info.unique_identifier != self.foreign_uid
            || data.mac_signature_key_information.is_some()
            || data.encoding_option.unwrap_or(EncodingOption::NO_ENCODING)
                != EncodingOption::NO_ENCODING
        {
            return false;
        }
        let wrapped = match block.key_value.take() {
            Some(KeyValue::Wrapped(b)) => b,
            Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(b),
                attributes,
            }) if attributes.is_empty() => b,
            other => {
                block.key_value = other;
                return false;
            }
        };
        block.key_value = Some(KeyValue::Wrapped(wrapped));
        *info = key_information(&self.local_uid);
        data.encoding_option = Some(EncodingOption::NO_ENCODING);
        true
    }

    /// Revokes and destroys both copies; the first failure, after trying both.
    pub async fn retire(self, local: &mut Connection, foreign: &mut Connection) -> Result<()> {
        let there = retire(foreign, &self.foreign_uid).await;
        let here = retire(local, &self.local_uid).await;
        there.and(here)
    }
}

/// Revokes (Cessation of Operation) and destroys the key `uid` over `conn`; a key that was
/// never activated is destroyed directly.
async fn retire(conn: &mut Connection, uid: &str) -> Result<()> {
    let revoked = conn
        .revoke(uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
        .await;
    match conn.destroy(uid).await {
        Ok(()) => Ok(()),
        Err(e) => revoked.and(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip_codec::model::KeyWrappingData;
    use kmip_codec::ttlv::Bytes;

    fn key() -> TransferKey {
        TransferKey {
            local_uid: "here".into(),
            foreign_uid: "there".into(),
        }
    }

    fn wrapped_under(uid: &str) -> KeyBlock {
        let mut block = KeyBlock::raw(
            Bytes::from(&[0u8; 40][..]),
            CryptographicAlgorithm::AES,
            256,
        );
        block.key_value = Some(KeyValue::Wrapped(Bytes::from(&[1u8; 40][..])));
        block.key_wrapping_data = Some(Box::new(KeyWrappingData {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(key_information(uid)),
            mac_signature_key_information: None,
            mac_signature: None,
            iv_counter_nonce: None,
            encoding_option: Some(EncodingOption::NO_ENCODING),
        }));
        block
    }

    /// A block wrapped under the foreign copy comes to name the copy here.
    #[test]
    fn a_block_wrapped_there_is_readdressed_to_the_copy_here() {
        let mut block = wrapped_under("there");
        assert!(key().readdress(&mut block));
        let data = block.key_wrapping_data.expect("still wrapped");
        let info = data.encryption_key_information.expect("key information");
        assert_eq!(info.unique_identifier, "here");
    }

    /// PyKMIP's form: the wrapped Key Material inside a Key Value structure.
    #[test]
    fn wrapped_key_material_in_a_key_value_structure_becomes_the_wrapped_key_value() {
        let mut block = wrapped_under("there");
        block.key_value = Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(Bytes::from(&[7u8; 40][..])),
            attributes: Attributes::new(),
        });
        assert!(key().readdress(&mut block));
        assert!(
            matches!(&block.key_value, Some(KeyValue::Wrapped(b)) if b.as_slice() == [7u8; 40])
        );
    }

    /// A plain answer, or one wrapped under another key, is not taken for wrapped.
    #[test]
    fn a_plain_block_or_another_wrapping_key_is_refused() {
        let mut plain = KeyBlock::raw(
            Bytes::from(&[0u8; 32][..]),
            CryptographicAlgorithm::AES,
            256,
        );
        assert!(!key().readdress(&mut plain));
        let mut other = wrapped_under("someone-else");
        assert!(!key().readdress(&mut other));
    }
}
