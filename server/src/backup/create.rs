//! Taking a backup (`POST /v1/backups`): an audit checkpoint first, then the replicated state
//! read from one read view into an unnamed temporary file, its size checked against
//! [`MAX_BACKUP_BYTES`] before it is read into memory, and the manifest signed by the HSM
//! audit key.

use std::io::{Read, Seek, SeekFrom};

use kms_crypto::manifest_signature;
use serde::Serialize;

use super::{
    BackupError, CheckpointRef, ClusterPoint, FORMAT, MAX_BACKUP_BYTES, Manifest, rfc3339,
    sha256_hex,
};
use crate::cluster::backup_file::{self, BackupContents};
use crate::kms::Kms;

/// Held while a backup is taken.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// A backup as the admin API answers it.
#[derive(Debug, Serialize)]
pub struct BackupFiles {
    /// `manifest.json`: the exact bytes signed.
    pub manifest: String,
    /// `manifest.sig`: the DER signature, base64.
    pub signature: String,
    /// `signer.pem`: the node's audit public key.
    pub signer: String,
    /// `backup.bin`, base64.
    pub snapshot: String,
}

/// Takes a backup of the replicated state of `kms`'s node. On a cluster member the caller
/// has waited for a read index (the admin API does for every call), so the read view holds
/// every write acknowledged before the call; writes go on meanwhile.
pub async fn create(kms: &Kms) -> Result<BackupFiles, BackupError> {
    // One backup at a time: each holds its file in memory twice (bytes and base64).
    let _running = RUNNING.try_acquire().map_err(|_| BackupError::Busy)?;
    crate::audit_housekeeping::checkpoint(kms)
        .await
        .map_err(BackupError::Checkpoint)?;
    let store = kms.store().clone();
    let (contents, bytes) = tokio::task::spawn_blocking(move || {
        let path = std::env::temp_dir().join(format!("kms-backup-{}.tmp", uuid::Uuid::new_v4()));
        let written = backup_file::write_backup(&store, &path);
        // The open file stays readable; nothing is left behind.
        let _ = std::fs::remove_file(&path);
        let mut contents = written?;
        let len = contents.file.metadata().map_err(BackupError::Io)?.len();
        if len > MAX_BACKUP_BYTES {
            return Err(BackupError::TooLarge { bytes: len });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        contents
            .file
            .seek(SeekFrom::Start(0))
            .map_err(BackupError::Io)?;
        (&mut contents.file)
            .take(MAX_BACKUP_BYTES)
            .read_to_end(&mut bytes)
            .map_err(BackupError::Io)?;
        Ok((contents, bytes))
    })
    .await
    .map_err(|_| BackupError::Task)??;
    let manifest = manifest_of(kms, &contents, &bytes);
    let text = serde_json::to_string_pretty(&manifest).map_err(BackupError::Encode)?;
    let (signature, spki) = sign(kms, text.as_bytes()).await?;
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(BackupFiles {
        manifest: text,
        signature: b64.encode(signature),
        signer: crate::ops::migration::bundle::spki_pem(&spki),
        snapshot: b64.encode(&bytes),
    })
}

fn manifest_of(kms: &Kms, contents: &BackupContents, bytes: &[u8]) -> Manifest {
    let header = &contents.header;
    let applied = backup_file::applied(header);
    let cluster = (kms.cluster().is_some() || header.incarnation.is_some()).then(|| ClusterPoint {
        incarnation: header.incarnation.map(|i| i.to_string()),
        applied_index: applied.map(|(index, _)| index),
        applied_term: applied.map(|(_, term)| term),
    });
    Manifest {
        format: FORMAT.into(),
        schema_version: crate::store::schema::SCHEMA_VERSION,
        snapshot_format: crate::cluster::snapshot::FORMAT_VERSION,
        created_at: rfc3339(time::OffsetDateTime::now_utc()),
        node: kms.log_name().to_owned(),
        node_id: kms.node_id(),
        cluster,
        root_kcv: vec![kms.keys.hsm().root_kcv().to_string()],
        tables: contents.counts.iter().cloned().collect(),
        snapshot_bytes: bytes.len() as u64,
        snapshot_sha256: sha256_hex(bytes),
        audit_checkpoints: contents
            .checkpoints
            .values()
            .map(|cp| CheckpointRef {
                log: cp.log.clone(),
                seq: cp.seq,
                head: cp.head.to_string(),
                time: rfc3339(cp.time),
            })
            .collect(),
    }
}

/// Signs `message` with the node's HSM audit key: the DER signature and the key's
/// SubjectPublicKeyInfo (DER).
async fn sign(kms: &Kms, message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), BackupError> {
    let hsm = kms.keys.hsm().clone();
    let message = message.to_vec();
    let (raw, point) = tokio::task::spawn_blocking(move || {
        let raw = hsm.sign_audit(&message)?;
        let point = hsm.audit_public_key()?;
        Ok::<_, hsm::Error>((raw, point))
    })
    .await
    .map_err(|_| BackupError::Task)?
    .map_err(BackupError::Hsm)?;
    let point = point.ok_or(BackupError::NoAuditKey)?;
    let der = manifest_signature::p256_signature_der(&raw).map_err(BackupError::Crypto)?;
    let spki = manifest_signature::p256_spki_der(&point).map_err(BackupError::Crypto)?;
    Ok((der, spki))
}
