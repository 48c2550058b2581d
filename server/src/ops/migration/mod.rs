//! Tenant migration (`docs/REVERSIBILITY.md`): a whole tenant out as a signed bundle of wrapped
//! keys, and in again on another installation with its UIDs kept. Run for a tenant admin (or
//! an operator) acting in the tenant, through the same operation code as KMIP (the material
//! path of Get, the checks of Import), so nothing here reads or writes keys another way.
//!
//! - Export: every key of the tenant that has material and may leave (Extractable), in a
//!   standard format (raw key bytes, PKCS#8, SubjectPublicKeyInfo, X.509), wrapped under a
//!   transfer key (RFC 5649); the transfer key is either an AES-256 key of the tenant or a fresh
//!   one under the customer's RSA public key (OAEP-SHA256). Sensitive keys are exported too:
//!   they leave only wrapped, as Sensitive allows, and only through an export job a second
//!   tenant admin approved (the two-person rule, `[admin] two_person_export`). Each exported key
//!   leaves its own audit record.
//! - Import: the bundle is checked whole first (the signer key the importer trusts, the
//!   signature, every digest, the recipient), then every key is unwrapped here and staged as an
//!   Import; the staged objects are committed as ONE replicated change: a refused key, a UID in
//!   use, a name taken or a node failure leaves nothing imported. Running the same import again
//!   after a success is refused (the UIDs are in use), never doubled.

pub mod bundle;
mod error;
mod export;
mod import;

use std::sync::{Arc, Mutex};

use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, ObjectType, Operation,
};
use kmip_codec::model::{
    AttributeValue, Attributes, CreateKeyPairRequest, KeyPairAttributes, TemplateAttribute,
};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;

pub use self::bundle::BundleFiles;
pub use self::error::MigrationError;
pub use self::export::check_recipient;
use super::{Ctx, OpError, get, key_pair, now};
use crate::command_log::AuditScope;
use crate::identity::Principal;
use crate::kms::Kms;
use crate::store::exports::{ExportJob, ExportStep};
use crate::store::records::Role;
use crate::store::{Command, Rejection};

/// Most keys one bundle holds (a tenant with more is refused, not cut short).
pub const MAX_BUNDLE_OBJECTS: usize = 10_000;

/// The operation named by each exported key's audit record.
pub const EXPORT_KEY_OPERATION: &str = "tenant export key";

/// `admin` acting in `tenant` as the operation code sees it.
fn acting(admin: &Principal, tenant: &str) -> Principal {
    Principal {
        tenant: Some(tenant.to_owned()),
        client: admin.client.clone(),
        role: Role::TenantAdmin,
        certificate: admin.certificate.clone(),
    }
}

/// Makes the bundle of export `job`, marks the job taken (once only: refused after), and
/// records every exported key in the trail before the bundle is answered.
pub async fn take_export(
    kms: &Kms,
    scope: Arc<AuditScope>,
    admin: &Principal,
    job: &ExportJob,
) -> Result<BundleFiles, MigrationError> {
    let principal = acting(admin, &job.tenant);
    let ctx = Ctx::new(kms, &principal, ProtocolVersion::V2_1, now(), scope.clone());
    let built = export::build(&ctx, &job.id, &job.recipient).await?;
    scope.note_detail(format!(
        "export job {}: {} keys",
        job.id,
        built.exported.len()
    ));
    let take = Command::ExportStep {
        tenant: job.tenant.clone(),
        job: job.id.clone(),
        step: ExportStep::Take,
        at: now(),
    };
    match kms.log.commit(&scope, take).await.map_err(OpError::from)? {
        Ok(()) => {}
        Err(Rejection::ExportNotReady | Rejection::NoSuchJob) => {
            return Err(MigrationError::ExportNotReady);
        }
        Err(r) => return Err(OpError::from(r).into()),
    }
    let receipts: Vec<_> = built
        .exported
        .iter()
        .filter_map(|uid| scope.record_for(EXPORT_KEY_OPERATION, uid))
        .map(|event| kms.audit.submit(event))
        .collect();
    for receipt in receipts {
        if !matches!(receipt.await, Ok(Ok(_))) {
            return Err(MigrationError::Operation(OpError::AuditUnavailable));
        }
    }
    Ok(built.files)
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    /// The tenant the bundle came from.
    pub source_tenant: String,
    /// The node that signed it.
    pub source_node: String,
    /// The UIDs imported, in the bundle's order.
    pub keys: Vec<String>,
    /// The objects the exporter left out, with why.
    pub skipped_at_export: Vec<bundle::Skipped>,
}

/// Imports `files` into `tenant` for `admin`, unwrapping with the tenant's key `unwrap_key`;
/// the bundle must be signed by `trusted_signer` (PEM). All or nothing (see the module docs).
pub async fn import_bundle(
    kms: &Kms,
    scope: Arc<AuditScope>,
    admin: &Principal,
    tenant: &str,
    files: &BundleFiles,
    unwrap_key: &str,
    trusted_signer: &str,
) -> Result<Imported, MigrationError> {
    let checked = import::check(files, trusted_signer)?;
    match kms.store.tenant(tenant)? {
        Some(t) if !t.suspended => {}
        _ => return Err(MigrationError::TenantUnavailable),
    }
    let principal = acting(admin, tenant);
    let mut ctx = Ctx::new(kms, &principal, ProtocolVersion::V2_1, now(), scope.clone());
    ctx.staging = Some(Mutex::new(Vec::new()));
    let batch = import::stage(&mut ctx, &checked, unwrap_key).await?;
    let manifest = checked.manifest;
    let keys: Vec<String> = manifest.keys.iter().map(|k| k.uid.clone()).collect();
    scope.note_detail(format!(
        "bundle of tenant {} (job {}, signed by {}): {} keys",
        manifest.tenant,
        manifest.job,
        manifest.source_node,
        keys.len()
    ));
    if !keys.is_empty() {
        match ctx.commit(batch).await.map_err(OpError::from)? {
            Ok(()) => {}
            Err(Rejection::ObjectExists) => {
                return Err(MigrationError::UidInUse("of the bundle".into()));
            }
            Err(Rejection::NameTaken) => return Err(MigrationError::NameTaken),
            Err(Rejection::NoSuchTenant) => return Err(MigrationError::TenantUnavailable),
            Err(r) => return Err(OpError::from(r).into()),
        }
    }
    Ok(Imported {
        source_tenant: manifest.tenant,
        source_node: manifest.source_node,
        keys,
        skipped_at_export: manifest.skipped,
    })
}

/// A tenant's import key pair, made here.
#[derive(Debug)]
pub struct ImportKey {
    /// The private key's UID (never extractable).
    pub private_key: String,
    /// The public key's UID.
    pub public_key: String,
    /// The public key as PEM (SubjectPublicKeyInfo), for the exporter.
    pub public_key_pem: String,
}

/// Creates `tenant`'s import key pair for `admin`: RSA-3072, active at once; the private key
/// Sensitive and never Extractable, for Decrypt and Unwrap Key only.
pub async fn create_import_key(
    kms: &Kms,
    scope: Arc<AuditScope>,
    admin: &Principal,
    tenant: &str,
) -> Result<ImportKey, MigrationError> {
    let principal = acting(admin, tenant);
    let now = now();
    let mut ctx = Ctx::new(kms, &principal, ProtocolVersion::V2_1, now, scope);
    let template = |attributes: Attributes| {
        Some(TemplateAttribute {
            names: Vec::new(),
            attributes,
        })
    };
    let usage = |masks: &[CryptographicUsageMask]| {
        let mask = masks.iter().fold(0u32, |m, u| m | u.0);
        AttributeValue::Integer(i32::from_ne_bytes(mask.to_ne_bytes()))
    };
    let request = CreateKeyPairRequest {
        attributes: KeyPairAttributes {
            common: template(
                Attributes::new()
                    .with(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        AttributeValue::Enumeration(CryptographicAlgorithm::RSA.0),
                    )
                    .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(3072))
                    .with(Tag::ACTIVATION_DATE, AttributeValue::DateTime(now)),
            ),
            private_key: template(
                Attributes::new()
                    .with(
                        Tag::CRYPTOGRAPHIC_USAGE_MASK,
                        usage(&[
                            CryptographicUsageMask::DECRYPT,
                            CryptographicUsageMask::UNWRAP_KEY,
                        ]),
                    )
                    .with(Tag::SENSITIVE, AttributeValue::Boolean(true))
                    .with(Tag::EXTRACTABLE, AttributeValue::Boolean(false)),
            ),
            public_key: template(Attributes::new().with(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                usage(&[
                    CryptographicUsageMask::ENCRYPT,
                    CryptographicUsageMask::WRAP_KEY,
                ]),
            )),
            ..KeyPairAttributes::default()
        },
    };
    let made = key_pair::create_key_pair(&mut ctx, &request).await?;
    let public = ctx.object(&made.public_key_unique_identifier, Operation::GET)?;
    let object = get::object_with_material(&ctx, &public, Some(KeyFormatType::X_509)).await?;
    let spki = match object.to_object(ProtocolVersion::V2_1) {
        Ok(kmip_codec::model::Object::PublicKey(k)) => match k.key_block.key_value {
            Some(kmip_codec::model::KeyValue::Plain { key_material, .. }) => key_material
                .bytes()
                .map(|b| b.as_slice().to_vec())
                .ok_or(OpError::CryptographicFailure)?,
            _ => return Err(OpError::CryptographicFailure.into()),
        },
        _ => return Err(OpError::CryptographicFailure.into()),
    };
    debug_assert_eq!(public.object_type, ObjectType::PUBLIC_KEY.0);
    Ok(ImportKey {
        private_key: made.private_key_unique_identifier,
        public_key: made.public_key_unique_identifier,
        public_key_pem: bundle::spki_pem(&spki),
    })
}
