//! Importing a tenant bundle: checked whole before anything is written (the signer key the
//! importer trusts, the signature, every digest, the recipient), each key unwrapped in this
//! process and passed through the operation code's Import (the same checks as a KMIP Import,
//! the UID kept), and every new object committed in ONE replicated change: all or nothing.

use kmip_codec::enums::{
    CertificateType, CryptographicUsageMask, KeyFormatType, ObjectType, OpaqueDataType, Operation,
    SecretDataType, State,
};
use kmip_codec::json::from_json;
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Attributes, Certificate, ImportRequest, KeyBlock, KeyMaterial, KeyValue, ManagedObject, Object,
    OpaqueObject, PrivateKey, PublicKey, SecretData, SymmetricKey,
};
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_crypto::hash::HashAlgorithm;
use kms_crypto::rsa_oaep::{self, OaepParams};
use kms_crypto::{KeyError, Validity, manifest_signature, wrap};
use zeroize::Zeroizing;

use super::super::{Ctx, OpError, asymmetric_keys, drbg, state, transfer};
use super::bundle::{self, BundleFiles, KeyEntry, Manifest};
use super::export::aes_transfer_key;
use super::{MAX_BUNDLE_OBJECTS, MigrationError};
use crate::store::Command;
use crate::store::records::ObjectRecord;

/// A bundle checked against the signer key the importer trusts: its manifest and files.
pub struct Checked {
    /// The manifest.
    pub manifest: Manifest,
    files: BundleFiles,
}

/// Checks a bundle whole, before any key is read: the signer is the key the importer trusts
/// (`trusted_signer`: PEM), the manifest's signature verifies, the format is known, and every
/// file the manifest names is there with its digest.
pub fn check(files: &BundleFiles, trusted_signer: &str) -> Result<Checked, MigrationError> {
    let trusted = trusted_key(trusted_signer).ok_or(MigrationError::Malformed(
        "the trusted signer key is neither one PEM public key nor an audit key in hex",
    ))?;
    let signer = bundle::spki_from_pem(&files.signer).ok_or(MigrationError::Malformed(
        "signer.pem is not one PEM public key",
    ))?;
    if signer != trusted {
        return Err(MigrationError::SignerMismatch);
    }
    let signature =
        bundle::unb64(&files.signature).ok_or(MigrationError::Malformed("manifest.sig"))?;
    match manifest_signature::p256_verify_der(&trusted, files.manifest.as_bytes(), &signature) {
        Ok(Validity::Valid) => {}
        Ok(Validity::Invalid) => return Err(MigrationError::BadSignature),
        Err(_) => {
            return Err(MigrationError::Malformed(
                "the signer key is not a P-256 key",
            ));
        }
    }
    let manifest: Manifest = serde_json::from_str(&files.manifest)
        .map_err(|_| MigrationError::Malformed("manifest.json"))?;
    if manifest.format != bundle::FORMAT {
        return Err(MigrationError::Malformed("unknown bundle format"));
    }
    if manifest.keys.len() > MAX_BUNDLE_OBJECTS {
        return Err(MigrationError::TooManyObjects(MAX_BUNDLE_OBJECTS));
    }
    let named = manifest
        .keys
        .iter()
        .map(|k| &k.file)
        .chain(manifest.recipient.transfer_key.as_ref());
    for entry in named {
        let bytes = files
            .files
            .get(&entry.file)
            .and_then(|b| bundle::unb64(b))
            .ok_or(MigrationError::Malformed(
                "a file the manifest names is missing",
            ))?;
        if bundle::sha256_hex(&bytes) != entry.sha256 {
            return Err(MigrationError::DigestMismatch(entry.file.clone()));
        }
    }
    Ok(Checked {
        manifest,
        files: files.clone(),
    })
}

/// The signer key the importer trusts: PEM (SubjectPublicKeyInfo), or the SEC1 point in hex
/// as `GET /v1/audit/public-key` and `kmsctl audit export` give it.
fn trusted_key(text: &str) -> Option<Vec<u8>> {
    if text.contains("-----BEGIN") {
        return bundle::spki_from_pem(text);
    }
    let point = hex::decode(text.trim()).ok()?;
    manifest_signature::p256_spki_der(&point).ok()
}

impl Checked {
    fn file(&self, name: &str) -> Result<Vec<u8>, MigrationError> {
        self.files
            .files
            .get(name)
            .and_then(|b| bundle::unb64(b))
            .ok_or(MigrationError::Malformed(
                "a file the manifest names is missing",
            ))
    }
}

/// The bundle's transfer key, unwrapped with `unwrap_key` (a key of `ctx`'s tenant).
async fn transfer_key(
    ctx: &Ctx<'_>,
    bundle: &Checked,
    unwrap_key: &str,
) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    let record = ctx
        .object(unwrap_key, Operation::DECRYPT)
        .map_err(|_| MigrationError::UnwrapKey)?;
    let recipient = &bundle.manifest.recipient;
    match recipient.kind.as_str() {
        "aes-256-transfer-key" => aes_transfer_key(ctx, &record)
            .await
            .map_err(|_| MigrationError::UnwrapKey),
        "rsa-oaep-sha256" => {
            let wanted =
                recipient
                    .public_key_sha256
                    .as_deref()
                    .ok_or(MigrationError::Malformed(
                        "the recipient's key digest is missing",
                    ))?;
            let wrapped = recipient
                .transfer_key
                .as_ref()
                .ok_or(MigrationError::Malformed("transfer-key.bin is missing"))?;
            rsa_transfer_key(ctx, &record, wanted, &bundle.file(&wrapped.file)?).await
        }
        _ => Err(MigrationError::Malformed("unknown recipient kind")),
    }
}

/// The transfer key under RSA-OAEP-SHA256, with an active RSA private key of 2048 bits or
/// more that may decrypt or unwrap, whose public key is the one the bundle names.
async fn rsa_transfer_key(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
    wanted_sha256: &str,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    if record.object_type != ObjectType::PRIVATE_KEY.0
        || state::effective(record, ctx.now) != State::ACTIVE
        || record.material.is_none()
    {
        return Err(MigrationError::UnwrapKey);
    }
    let mask = record.attributes.cryptographic_usage_mask.unwrap_or(0);
    let may = CryptographicUsageMask::DECRYPT.0 | CryptographicUsageMask::UNWRAP_KEY.0;
    let mask = u32::from_ne_bytes(mask.to_ne_bytes());
    if mask & may == 0 {
        return Err(MigrationError::UnwrapKey);
    }
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, record).await?;
    let private = asymmetric_keys::private_key(record, bytes.expose(), ctx.version)
        .map_err(|_| MigrationError::UnwrapKey)?;
    let facts = private.facts();
    if facts.algorithm != kms_crypto::asymmetric::KeyAlgorithm::Rsa {
        return Err(MigrationError::UnwrapKey);
    }
    if facts.bits < 2048 {
        return Err(MigrationError::WeakRsaKey);
    }
    let spki = private
        .public_key()
        .to_der(kms_crypto::asymmetric::PublicKeyFormat::Spki)
        .map_err(|e| match e {
            kms_crypto::Error::Key(KeyError::RsaSize { .. }) => MigrationError::WeakRsaKey,
            _ => MigrationError::UnwrapKey,
        })?;
    if bundle::sha256_hex(&spki) != wanted_sha256 {
        return Err(MigrationError::WrongRecipient);
    }
    let mut rng = drbg::from_hsm(ctx).await?;
    let key = rsa_oaep::decrypt(
        &private,
        &OaepParams::new(HashAlgorithm::Sha256),
        wrapped,
        &mut rng,
    )
    .map_err(|_| MigrationError::WrongRecipient)?;
    if key.as_slice().len() != 32 {
        return Err(MigrationError::Malformed(
            "the transfer key is not an AES-256 key",
        ));
    }
    Ok(Zeroizing::new(key.as_slice().to_vec()))
}

/// Imports a checked bundle into `ctx`'s tenant (its staging set: nothing is written here),
/// unwrapping with `unwrap_key`. Returns the commands that write every key, to be committed
/// as one change.
pub(super) async fn stage(
    ctx: &mut Ctx<'_>,
    bundle: &Checked,
    unwrap_key: &str,
) -> Result<Command, MigrationError> {
    let key = transfer_key(ctx, bundle, unwrap_key).await?;
    for entry in &bundle.manifest.keys {
        let wrapped = bundle.file(&entry.file.file)?;
        let plain = wrap::aes_key_unwrap_padded(&key, &wrapped)
            .map_err(|_| MigrationError::UnwrapFailed(entry.uid.clone()))?;
        let plain = Zeroizing::new(plain.as_slice().to_vec());
        let request = import_request(entry, &plain)?;
        transfer::import(ctx, &request).await.map_err(|e| match e {
            OpError::ObjectAlreadyExists => MigrationError::UidInUse(entry.uid.clone()),
            e => MigrationError::KeyRefused {
                uid: entry.uid.clone(),
                reason: e.to_string(),
            },
        })?;
    }
    let staged = ctx
        .staging
        .as_ref()
        .and_then(|s| s.lock().ok().map(|mut s| std::mem::take(&mut *s)))
        .unwrap_or_default();
    Ok(Command::Batch(
        staged
            .into_iter()
            .map(|record| Command::PutObject {
                expected_revision: None,
                record: Box::new(record),
            })
            .collect(),
    ))
}

/// The KMIP Import of one bundle key: its object rebuilt from the unwrapped bytes, its
/// attributes from the manifest.
fn import_request(entry: &KeyEntry, plain: &[u8]) -> Result<ImportRequest, MigrationError> {
    let malformed = || MigrationError::KeyRefused {
        uid: entry.uid.clone(),
        reason: "its manifest entry is malformed".into(),
    };
    let text = serde_json::to_vec(&entry.attributes).map_err(|_| malformed())?;
    let tree = from_json(&text, &Limits::DEFAULT).map_err(|_| malformed())?;
    let attributes = Attributes::from_structure_2x(&tree).map_err(|_| malformed())?;
    let block = |format: KeyFormatType| KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(Bytes::from(plain)),
            attributes: Attributes::new(),
        }),
        cryptographic_algorithm: attributes.cryptographic_algorithm(),
        cryptographic_length: attributes.cryptographic_length(),
        key_wrapping_data: None,
    };
    let v = ProtocolVersion::V2_1;
    let object = match (entry.object_type.as_str(), entry.format.as_str()) {
        ("SymmetricKey", "Raw") => ManagedObject::SymmetricKey(SymmetricKey {
            key_block: block(KeyFormatType::RAW),
        }),
        ("SecretData", "Raw") => ManagedObject::SecretData(SecretData {
            secret_data_type: SecretDataType(entry.data_type.ok_or_else(malformed)?),
            key_block: KeyBlock {
                cryptographic_algorithm: None,
                cryptographic_length: None,
                ..block(KeyFormatType(entry.key_format_type.ok_or_else(malformed)?))
            },
        }),
        ("OpaqueObject", "Opaque") => ManagedObject::OpaqueObject(OpaqueObject {
            opaque_data_type: OpaqueDataType(entry.data_type.ok_or_else(malformed)?),
            opaque_data_value: Bytes::from(plain),
        }),
        ("PrivateKey", "PKCS_8") => ManagedObject::from_object(
            Object::PrivateKey(PrivateKey {
                key_block: block(KeyFormatType::PKCS8),
            }),
            v,
        ),
        ("PublicKey", "X_509") => ManagedObject::from_object(
            Object::PublicKey(PublicKey {
                key_block: block(KeyFormatType::X_509),
            }),
            v,
        ),
        ("Certificate", "Certificate") => ManagedObject::from_object(
            Object::Certificate(Certificate {
                certificate_type: CertificateType(entry.certificate_type.ok_or_else(malformed)?),
                certificate_value: plain.to_vec(),
            }),
            v,
        ),
        _ => return Err(malformed()),
    };
    Ok(ImportRequest {
        unique_identifier: entry.uid.clone(),
        object_type: Some(object.object_type()),
        replace_existing: None,
        key_wrap_type: None,
        attributes,
        object,
    })
}
