//! Building a tenant bundle: every key of the tenant read through the operation code (the
//! same material path as Get), each wrapped under the bundle's transfer key, listed in a
//! manifest signed by this node's HSM audit key.

use std::collections::BTreeMap;

use kmip_codec::enums::{CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, State};
use kmip_codec::model::{KeyBlock, KeyValue, ManagedObject, Object};
use kmip_codec::version::ProtocolVersion;
use kms_crypto::asymmetric::{KeyAlgorithm, PublicKey, PublicKeyFormat};
use kms_crypto::hash::HashAlgorithm;
use kms_crypto::rsa_oaep::{self, OaepParams};
use kms_crypto::{KeyError, manifest_signature, wrap};
use zeroize::Zeroizing;

use super::super::protection::Protections;
use super::super::{Ctx, OpError, attribute_model, drbg, get, state};
use super::bundle::{
    self, BundleFiles, FileEntry, KeyEntry, Manifest, RecipientEntry, Skipped, TRANSFER_KEY_FILE,
};
use super::{MAX_BUNDLE_OBJECTS, MigrationError};
use crate::store::exports::Recipient;
use crate::store::records::ObjectRecord;

/// A bundle made, and the UIDs it holds (each to be recorded once the bundle is taken).
pub struct Built {
    /// The bundle.
    pub files: BundleFiles,
    /// The UIDs of the keys in it.
    pub exported: Vec<String>,
}

/// Checks a recipient's RSA public key (SubjectPublicKeyInfo DER): RSA, 2048 bits or more.
pub fn check_recipient(spki: &[u8]) -> Result<PublicKey, MigrationError> {
    let key = PublicKey::from_der(PublicKeyFormat::Spki, spki).map_err(|e| match e {
        kms_crypto::Error::Key(KeyError::RsaSize { .. }) => MigrationError::WeakRsaKey,
        _ => MigrationError::RecipientKey,
    })?;
    if key.facts().algorithm != KeyAlgorithm::Rsa {
        return Err(MigrationError::RecipientKey);
    }
    if key.facts().bits < 2048 {
        return Err(MigrationError::WeakRsaKey);
    }
    Ok(key)
}

/// The transfer key's plaintext, when `record` is an active AES-256 key.
pub(super) async fn aes_transfer_key(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    let a = &record.attributes;
    if record.object_type != ObjectType::SYMMETRIC_KEY.0
        || a.cryptographic_algorithm != Some(CryptographicAlgorithm::AES.0)
        || a.cryptographic_length != Some(256)
        || state::effective(record, ctx.now) != State::ACTIVE
        || record.material.is_none()
    {
        return Err(MigrationError::TransferKey);
    }
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, record).await?;
    if bytes.len() != 32 {
        return Err(MigrationError::TransferKey);
    }
    Ok(Zeroizing::new(bytes.expose().to_vec()))
}

/// Builds the bundle of `ctx`'s tenant for export job `job`, wrapped for `recipient`.
pub(super) async fn build(
    ctx: &Ctx<'_>,
    job: &str,
    recipient: &Recipient,
) -> Result<Built, MigrationError> {
    let tenant = ctx.tenant()?;
    let mut files = BTreeMap::new();
    let (transfer_key, recipient_entry, transfer_uid) = match recipient {
        Recipient::RsaPublicKey(spki) => {
            let public = check_recipient(spki)?;
            let key = Zeroizing::new(ctx.kms.keys.random(32).await?.expose().to_vec());
            let mut rng = drbg::from_hsm(ctx).await?;
            let wrapped = rsa_oaep::encrypt(
                &public,
                &OaepParams::new(HashAlgorithm::Sha256),
                &key,
                &mut rng,
            )
            .map_err(OpError::from)?;
            let entry = RecipientEntry {
                kind: "rsa-oaep-sha256".into(),
                public_key_sha256: Some(bundle::sha256_hex(spki)),
                transfer_key: Some(FileEntry {
                    file: TRANSFER_KEY_FILE.into(),
                    sha256: bundle::sha256_hex(&wrapped),
                }),
                transfer_key_uid: None,
            };
            files.insert(TRANSFER_KEY_FILE.to_owned(), bundle::b64(&wrapped));
            (key, entry, None)
        }
        Recipient::TransferKey(uid) => {
            let record = ctx
                .object(uid, Operation::GET)
                .map_err(|_| MigrationError::TransferKey)?;
            let key = aes_transfer_key(ctx, &record).await?;
            let entry = RecipientEntry {
                kind: "aes-256-transfer-key".into(),
                public_key_sha256: None,
                transfer_key: None,
                transfer_key_uid: Some(uid.clone()),
            };
            (key, entry, Some(uid.as_str()))
        }
    };
    let mut records = Vec::new();
    ctx.kms.store.for_each_object_of(&tenant.id, |r| {
        records.push(r);
        records.len() <= MAX_BUNDLE_OBJECTS
    })?;
    if records.len() > MAX_BUNDLE_OBJECTS {
        return Err(MigrationError::TooManyObjects(MAX_BUNDLE_OBJECTS));
    }
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for record in &records {
        let skip = |reason: &str| Skipped {
            uid: record.uid.clone(),
            reason: reason.to_owned(),
        };
        if Some(record.uid.as_str()) == transfer_uid {
            skipped.push(skip("the transfer key of this bundle"));
            continue;
        }
        if record.material.is_none() || state::is_destroyed(state::effective(record, ctx.now)) {
            skipped.push(skip("destroyed: no material"));
            continue;
        }
        if !Protections::of(record).extractable {
            skipped.push(skip("not extractable"));
            continue;
        }
        let Some(material) = material_of(ctx, record).await? else {
            skipped.push(skip("no standard format for this object"));
            continue;
        };
        let wrapped =
            wrap::aes_key_wrap_padded(&transfer_key, &material.bytes).map_err(OpError::from)?;
        let file = format!("keys/{:05}.bin", keys.len() + 1);
        let attributes = attribute_model::all(record, ctx.now, ProtocolVersion::V2_1);
        let attributes = kmip_codec::json::to_json(&attributes.to_structure_2x());
        keys.push(KeyEntry {
            uid: record.uid.clone(),
            object_type: ObjectType(record.object_type)
                .name()
                .unwrap_or("Unknown")
                .to_owned(),
            format: material.format.to_owned(),
            file: FileEntry {
                file: file.clone(),
                sha256: bundle::sha256_hex(&wrapped),
            },
            data_type: material.data_type,
            key_format_type: material.key_format_type,
            certificate_type: material.certificate_type,
            attributes: serde_json::from_str(&attributes)
                .map_err(|_| OpError::CryptographicFailure)?,
        });
        files.insert(file, bundle::b64(&wrapped));
    }
    let manifest = Manifest {
        format: bundle::FORMAT.into(),
        tenant: tenant.id.clone(),
        job: job.to_owned(),
        created_at: rfc3339(ctx.now),
        source_node: ctx.kms.log_name().to_owned(),
        recipient: recipient_entry,
        wrapping: "AES-256 Key Wrap with Padding (RFC 5649) under the transfer key".into(),
        keys,
        skipped,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|_| OpError::CryptographicFailure)?;
    let (signature, signer) = sign(ctx, text.as_bytes()).await?;
    Ok(Built {
        exported: manifest.keys.iter().map(|k| k.uid.clone()).collect(),
        files: BundleFiles {
            manifest: text,
            signature: bundle::b64(&signature),
            signer: bundle::spki_pem(&signer),
            files,
        },
    })
}

/// A key's material in a standard format, what the format is called in the manifest, and its
/// data or certificate type.
struct StandardMaterial {
    bytes: Zeroizing<Vec<u8>>,
    format: &'static str,
    data_type: Option<u32>,
    key_format_type: Option<u32>,
    certificate_type: Option<u32>,
}

/// The material of `record` as a customer's tools read it (`None`: the object has no such
/// form, e.g. an asymmetric key of an algorithm the server only stores).
async fn material_of(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
) -> Result<Option<StandardMaterial>, MigrationError> {
    let object_type = ObjectType(record.object_type);
    let asked = match object_type {
        ObjectType::SYMMETRIC_KEY => Some(KeyFormatType::RAW),
        ObjectType::PRIVATE_KEY => Some(KeyFormatType::PKCS8),
        ObjectType::PUBLIC_KEY => Some(KeyFormatType::X_509),
        _ => None,
    };
    let object = match get::object_with_material(ctx, record, asked).await {
        Ok(o) => o,
        Err(OpError::KeyFormatTypeNotSupported | OpError::FeatureNotSupported(_)) => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let block_bytes = |b: &KeyBlock| match &b.key_value {
        Some(KeyValue::Plain { key_material, .. }) => key_material
            .bytes()
            .map(|b| Zeroizing::new(b.as_slice().to_vec())),
        _ => None,
    };
    let mut secret_format = None;
    let found = match &object {
        ManagedObject::SymmetricKey(k) => block_bytes(&k.key_block).map(|b| (b, "Raw", None, None)),
        ManagedObject::SecretData(s) => {
            secret_format = Some(s.key_block.key_format_type.0);
            block_bytes(&s.key_block).map(|b| (b, "Raw", Some(s.secret_data_type.0), None))
        }
        ManagedObject::OpaqueObject(o) => Some((
            Zeroizing::new(o.opaque_data_value.as_slice().to_vec()),
            "Opaque",
            Some(o.opaque_data_type.0),
            None,
        )),
        ManagedObject::Other(_) => match object.to_object(ProtocolVersion::V2_1) {
            Ok(Object::PrivateKey(k)) => {
                block_bytes(&k.key_block).map(|b| (b, "PKCS_8", None, None))
            }
            Ok(Object::PublicKey(k)) => block_bytes(&k.key_block).map(|b| (b, "X_509", None, None)),
            Ok(Object::Certificate(c)) => Some((
                Zeroizing::new(c.certificate_value.clone()),
                "Certificate",
                None,
                Some(c.certificate_type.0),
            )),
            _ => None,
        },
    };
    Ok(found.map(
        |(bytes, format, data_type, certificate_type)| StandardMaterial {
            bytes,
            format,
            data_type,
            key_format_type: secret_format,
            certificate_type,
        },
    ))
}

/// Signs `message` with this node's HSM audit key: the DER signature and the key's
/// SubjectPublicKeyInfo (DER).
async fn sign(ctx: &Ctx<'_>, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), MigrationError> {
    let hsm = ctx.kms.keys.hsm().clone();
    let message = message.to_vec();
    let (raw, point) = tokio::task::spawn_blocking(move || {
        let raw = hsm.sign_audit(&message)?;
        let point = hsm.audit_public_key()?;
        Ok::<_, hsm::Error>((raw, point))
    })
    .await
    .map_err(|_| OpError::CryptographicFailure)?
    .map_err(|e| OpError::from(crate::keys::KeyError::Hsm(e)))?;
    let point = point.ok_or(OpError::CryptographicFailure)?;
    let der = manifest_signature::p256_signature_der(&raw).map_err(OpError::from)?;
    let spki = manifest_signature::p256_spki_der(&point).map_err(OpError::from)?;
    Ok((der, spki))
}

/// `secs` as RFC 3339 UTC.
fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
