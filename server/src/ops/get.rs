//! Get (KMIP 1.4 section 4.11): the object with its key material in Raw or Transparent
//! Symmetric Key format (public and private keys in the formats of `asymmetric_keys`); a
//! Symmetric Key, Secret Data, Public Key or Private Key optionally wrapped under another key of
//! the same tenant (AES key wrap, RFC 3394 or RFC 5649, or RSA-OAEP: see `key_wrap`). The hot
//! path: the record comes from the store, the plaintext from the unsealed-key cache; the HSM is
//! only called on a cache miss.

use kmip_codec::enums::{
    CryptographicAlgorithm, EncodingOption, KeyFormatType, ObjectType, OpaqueDataType, Operation,
    SecretDataType, WrappingMethod,
};
use kmip_codec::model::{
    Attributes, GetRequest, GetResponse, KeyBlock, KeyMaterial, KeyValue, KeyWrappingData,
    KeyWrappingSpecification, ManagedObject, OpaqueObject, SecretData, SymmetricKey,
};
use kmip_codec::ttlv::Bytes;
use kmip_codec::ttlv::encode::encode;
use zeroize::Zeroizing;

use super::protection::Protections;
use super::{Ctx, OpError, asymmetric_keys, attribute_model, key_wrap, pki, state};
use crate::store::records::ObjectRecord;

pub(super) async fn get(ctx: &mut Ctx<'_>, r: &GetRequest) -> Result<GetResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = ctx.object(&uid, Operation::GET)?;
    if r.key_compression_type.is_some() {
        return Err(OpError::FeatureNotSupported("key compression"));
    }
    let protections = Protections::of(&record);
    if !protections.extractable {
        return Err(OpError::NotExtractable);
    }
    if protections.sensitive && r.key_wrapping_specification.is_none() {
        return Err(OpError::Sensitive);
    }
    let object = object_with_material(ctx, &record, r.key_format_type).await?;
    let object = match &r.key_wrapping_specification {
        Some(spec) => wrap_object(ctx, object, spec, protections.sensitive).await?,
        None => object,
    };
    if attribute_model::is_fresh(&record) {
        // Served now: no longer Fresh (KMIP 1.4 section 3.34). Only the first Get writes.
        // A Get is a read: when that bookkeeping write loses every attempt to other writers
        // of the key, the key is still served and Fresh is cleared by a later Get.
        match ctx
            .update(&uid, Operation::GET, attribute_model::mark_served)
            .await
        {
            Ok(_) | Err(OpError::Contention) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(GetResponse {
        object_type: ObjectType(record.object_type),
        unique_identifier: uid,
        object,
    })
}

/// The managed object of `record` with its plaintext material in the requested format.
pub(super) async fn object_with_material(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
    format: Option<KeyFormatType>,
) -> Result<ManagedObject, OpError> {
    if state::is_destroyed(state::effective(record, ctx.now)) {
        return Err(OpError::ObjectDestroyed);
    }
    let material = record.material.as_ref().ok_or(OpError::ObjectDestroyed)?;
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, record).await?;
    let plain = || Bytes::from(bytes.expose());
    let object_type = ObjectType(record.object_type);
    Ok(if object_type == ObjectType::SYMMETRIC_KEY {
        // The registered format unless the client asks for another (KMIP 1.4 section 4.11).
        let format = format.unwrap_or(KeyFormatType(material.key_format));
        let key_material = if format == KeyFormatType::RAW {
            KeyMaterial::Bytes(plain())
        } else if format == KeyFormatType::TRANSPARENT_SYMMETRIC_KEY {
            KeyMaterial::TransparentSymmetricKey(plain())
        } else {
            return Err(OpError::KeyFormatTypeNotSupported);
        };
        ManagedObject::SymmetricKey(SymmetricKey {
            key_block: plain_key_block(record, format, key_material),
        })
    } else if object_type == ObjectType::SECRET_DATA {
        let stored = KeyFormatType(material.key_format);
        if format.is_some_and(|f| f != stored) {
            return Err(OpError::KeyFormatTypeNotSupported);
        }
        ManagedObject::SecretData(SecretData {
            secret_data_type: SecretDataType(material.data_type.unwrap_or(0)),
            key_block: KeyBlock {
                key_format_type: stored,
                key_compression_type: None,
                key_value: Some(KeyValue::Plain {
                    key_material: KeyMaterial::Bytes(plain()),
                    attributes: Attributes::new(),
                }),
                cryptographic_algorithm: None,
                cryptographic_length: None,
                key_wrapping_data: None,
            },
        })
    } else if object_type == ObjectType::OPAQUE_OBJECT {
        if format.is_some() {
            return Err(OpError::KeyFormatTypeNotSupported);
        }
        ManagedObject::OpaqueObject(OpaqueObject {
            opaque_data_type: OpaqueDataType(material.data_type.unwrap_or(0)),
            opaque_data_value: plain(),
        })
    } else if object_type == ObjectType::PUBLIC_KEY || object_type == ObjectType::PRIVATE_KEY {
        asymmetric_keys::key_object(
            record,
            KeyFormatType(material.key_format),
            bytes.expose(),
            format,
            ctx.version,
        )?
    } else if object_type == ObjectType::TEMPLATE {
        // Stored whole at Register (`templates`), returned as registered.
        pki::rebuild(bytes.expose())?
    } else if pki::TYPES.contains(&object_type) {
        let stored = KeyFormatType(material.key_format);
        if format.is_some_and(|f| f != stored) {
            return Err(OpError::KeyFormatTypeNotSupported);
        }
        pki::rebuild(bytes.expose())?
    } else {
        return Err(OpError::FeatureNotSupported("object type"));
    })
}

/// Wraps the Key Value of a key or secret (Symmetric Key, Secret Data, Public or Private Key)
/// under another key of the same tenant (a trusted one when the object is `sensitive`: see
/// `wrap_trust`).
async fn wrap_object(
    ctx: &Ctx<'_>,
    object: ManagedObject,
    spec: &KeyWrappingSpecification,
    sensitive: bool,
) -> Result<ManagedObject, OpError> {
    let info = key_wrap::check_specification(spec)?;
    let encoding = spec
        .encoding_option
        .unwrap_or(EncodingOption::TTLV_ENCODING);
    let mut typed = object
        .to_object(ctx.version)
        .map_err(|_| OpError::CryptographicFailure)?;
    let block = key_wrap::key_block_mut(&mut typed)
        .ok_or(OpError::FeatureNotSupported("wrapping this object type"))?;
    let value = block.key_value.take().ok_or(OpError::ObjectDestroyed)?;
    let to_wrap: Zeroizing<Vec<u8>> = if encoding == EncodingOption::NO_ENCODING {
        match &value {
            KeyValue::Plain { key_material, .. } => Zeroizing::new(
                key_material
                    .bytes()
                    .ok_or(OpError::KeyFormatTypeNotSupported)?
                    .as_slice()
                    .to_vec(),
            ),
            KeyValue::Wrapped(_) => return Err(OpError::FeatureNotSupported("double wrapping")),
        }
    } else {
        Zeroizing::new(encode(&value.to_ttlv(ctx.version)))
    };
    let wrapped = key_wrap::wrap(ctx, info, &to_wrap, sensitive).await?;
    block.key_value = Some(KeyValue::Wrapped(Bytes::new(wrapped)));
    block.key_wrapping_data = Some(Box::new(KeyWrappingData {
        wrapping_method: WrappingMethod::ENCRYPT,
        encryption_key_information: Some(info.clone()),
        mac_signature_key_information: None,
        mac_signature: None,
        iv_counter_nonce: None,
        encoding_option: spec.encoding_option,
    }));
    Ok(ManagedObject::from_object(typed, ctx.version))
}

/// A key's Key Block in plain: `key_material` in `format`, with the record's algorithm and
/// length and no attributes inside the Key Value (KMIP 1.x clients, vCenter, reject them).
pub(super) fn plain_key_block(
    record: &ObjectRecord,
    format: KeyFormatType,
    key_material: KeyMaterial,
) -> KeyBlock {
    KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Plain {
            key_material,
            attributes: Attributes::new(),
        }),
        cryptographic_algorithm: record
            .attributes
            .cryptographic_algorithm
            .map(CryptographicAlgorithm),
        cryptographic_length: record.attributes.cryptographic_length,
        key_wrapping_data: None,
    }
}
