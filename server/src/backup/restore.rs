//! `kmsd restore`: installs a verified backup into a fresh data directory, offline, before the
//! node first starts, and records the restore in the node's audit trail.
//!
//! Refused before anything is written: a manifest whose signature does not verify under the
//! signer the operator gives, a `backup.bin` whose size or SHA-256 differ from the manifest's,
//! another schema version than this binary's, a Root of Trust KCV that is not the token's, a
//! data directory that already holds anything.
//!
//! The audit trail continues across the restore: when the audit directory is empty and the
//! backup holds a signed checkpoint of this node's log, the log resumes from it (its sequence
//! number and chain head, as after retention removed the older segments); the first record is
//! then the restore's own, naming the backup's manifest digest, and a checkpoint covering it is
//! signed and kept in the restored state.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use kms_crypto::{Validity, manifest_signature};

use super::{
    BackupError, CheckpointRef, FORMAT, MANIFEST_FILE, MAX_MANIFEST_BYTES, Manifest,
    SIGNATURE_FILE, SNAPSHOT_FILE, rfc3339, sha256_hex,
};
use crate::command_log::{AuditScope, CommandLog};
use crate::config::Settings;
use crate::store::{Command, Store};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// SHA-256 of `manifest.json` (hex): the restore's audit record names it.
    pub manifest_sha256: String,
    /// The checkpoint of this node's log the audit trail continues from (`None`: the log
    /// starts afresh, or continues the audit directory's own).
    pub continued_from: Option<CheckpointRef>,
    /// Sequence number of the restore's audit record.
    pub audit_seq: u64,
}

/// Restores the backup in `dir` into the node of `settings`, whose data directory must be
/// empty or absent. `signer` is the PEM (SubjectPublicKeyInfo) or SEC1 point (hex) of the
/// audit key that signed the backup, known to the operator out of band.
pub async fn restore(
    settings: &Settings,
    dir: &Path,
    signer: &str,
) -> Result<Restored, BackupError> {
    let manifest_bytes = read_bounded(&dir.join(MANIFEST_FILE), MAX_MANIFEST_BYTES)?;
    let signature = read_bounded(&dir.join(SIGNATURE_FILE), 1024)?;
    let spki = signer_spki(signer)?;
    match manifest_signature::p256_verify_der(&spki, &manifest_bytes, &signature) {
        Ok(Validity::Valid) => {}
        Ok(Validity::Invalid) => return Err(BackupError::BadSignature),
        Err(_) => return Err(BackupError::BadSigner),
    }
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(BackupError::BadManifest)?;
    if manifest.format != FORMAT {
        return Err(BackupError::UnknownFormat(manifest.format));
    }
    let binary = crate::store::schema::SCHEMA_VERSION;
    if manifest.schema_version != binary {
        return Err(BackupError::SchemaVersion {
            backup: manifest.schema_version,
            binary,
        });
    }
    let snapshot_path = dir.join(SNAPSHOT_FILE);
    check_snapshot(&snapshot_path, &manifest)?;
    check_empty(&settings.data_dir)?;

    let hsm_config = settings.hsm.clone();
    let hsm = tokio::task::spawn_blocking(move || {
        let hsm = hsm::Hsm::open(&hsm_config)?;
        hsm.create_audit_key()?;
        Ok::<_, hsm::Error>(hsm)
    })
    .await
    .map_err(|_| BackupError::Task)?
    .map_err(BackupError::Hsm)?;
    let token = hsm.root_kcv().to_string();
    if !manifest
        .root_kcv
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&token))
    {
        return Err(BackupError::KcvMismatch {
            backup: manifest.root_kcv.join(","),
            token,
        });
    }

    for dir in [&settings.data_dir, &settings.audit.dir] {
        crate::permissions::create_private_dir(dir).map_err(BackupError::Io)?;
    }
    let store = Store::open(&settings.data_dir.join(crate::store::STORE_FILE))?;
    let scratch = settings.data_dir.join("restore.tmp");
    let install_store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut src = File::open(&snapshot_path).map_err(|source| BackupError::Read {
            path: snapshot_path.clone(),
            source,
        })?;
        crate::cluster::backup_file::install_backup(&install_store, &mut src, &scratch)
            .map_err(BackupError::Snapshot)
    })
    .await
    .map_err(|_| BackupError::Task)??;

    let log_name = settings.audit.config.log.clone();
    let continued_from = seed_audit_dir(&settings.audit.dir, &store, &log_name)?;
    let manifest_sha256 = sha256_hex(&manifest_bytes);
    let audit =
        crate::audit::open_with_store(&settings.audit.dir, settings.audit.config.clone(), &store)
            .await?;
    let mut event = crate::audit::success(&log_name, audit_log::Kind::Admin, "kmsd restore");
    event.object = Some(format!("backup:{manifest_sha256}"));
    event.reason = Some(reason(&manifest, continued_from.as_ref()));
    let audit_seq = audit.append(event.clamped()).await?;
    let log = CommandLog::local(&store, audit.clone())?;
    let kept = async {
        let cp = audit.checkpoint(hsm.clone()).await?;
        log.commit(
            &AuditScope::checkpoint(),
            Command::AuditCheckpoint(Box::new(cp)),
        )
        .await?
        .map_err(BackupError::Rejected)
    }
    .await;
    log.shutdown().await;
    audit.shutdown().await;
    kept?;
    Ok(Restored {
        manifest,
        manifest_sha256,
        continued_from,
        audit_seq,
    })
}

/// The restore record's reason: which backup, and which checkpoint the trail continues from.
fn reason(manifest: &Manifest, continued: Option<&CheckpointRef>) -> String {
    let at = manifest
        .cluster
        .as_ref()
        .and_then(|c| c.applied_index)
        .map(|i| format!(" at applied index {i}"))
        .unwrap_or_default();
    let follows = continued
        .map(|c| format!("; audit log continues from checkpoint {}#{}", c.log, c.seq))
        .unwrap_or_default();
    format!(
        "restored the backup taken by {} at {}{} (backup.bin sha256 {}){}",
        manifest.node, manifest.created_at, at, manifest.snapshot_sha256, follows
    )
}

/// When the audit directory holds nothing, writes the restored state's newest checkpoint of
/// log `log` as its checkpoint file, so the log continues from it.
fn seed_audit_dir(
    dir: &Path,
    store: &Store,
    log: &str,
) -> Result<Option<CheckpointRef>, BackupError> {
    let empty = std::fs::read_dir(dir)
        .map_err(BackupError::Io)?
        .next()
        .is_none();
    if !empty {
        return Ok(None);
    }
    let Some(newest) = store
        .audit_checkpoints()?
        .into_iter()
        .filter(|cp| cp.log == log && cp.has_full_tenants())
        .max_by_key(|cp| cp.seq)
    else {
        return Ok(None);
    };
    let line = newest.to_json_line().map_err(BackupError::CheckpointLine)?;
    let path = dir.join("checkpoints.jsonl");
    let mut file = crate::permissions::private_file()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(BackupError::Io)?;
    use std::io::Write;
    file.write_all(line.as_bytes())
        .and_then(|()| {
            if line.ends_with('\n') {
                Ok(())
            } else {
                file.write_all(b"\n")
            }
        })
        .and_then(|()| file.sync_all())
        .map_err(BackupError::Io)?;
    Ok(Some(CheckpointRef {
        log: newest.log.clone(),
        seq: newest.seq,
        head: newest.head.to_string(),
        time: rfc3339(newest.time),
    }))
}

/// Checks `backup.bin`'s size and SHA-256 against the manifest, reading it in chunks.
fn check_snapshot(path: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    use sha2::Digest;
    let read_error = |source| BackupError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    if len != manifest.snapshot_bytes {
        return Err(BackupError::SizeMismatch {
            file: len,
            manifest: manifest.snapshot_bytes,
        });
    }
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    if hex::encode(hasher.finalize()) != manifest.snapshot_sha256 {
        return Err(BackupError::DigestMismatch);
    }
    Ok(())
}

/// Refuses a data directory that holds anything.
fn check_empty(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(BackupError::DataDirNotEmpty(dir.to_owned())),
            None => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Read {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Reads a file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, BackupError> {
    let read_error = |source| BackupError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    if file.metadata().map_err(read_error)?.len() > max {
        return Err(BackupError::FileTooLarge(path.to_owned()));
    }
    let mut out = Vec::new();
    file.take(max).read_to_end(&mut out).map_err(read_error)?;
    Ok(out)
}

/// The signer's SubjectPublicKeyInfo (DER) from a PEM file, a file holding the SEC1 point in
/// hex (`kmsctl audit export`'s `audit-public-key.hex`), or that hex itself.
fn signer_spki(signer: &str) -> Result<Vec<u8>, BackupError> {
    let path = PathBuf::from(signer);
    let text = if path.is_file() {
        String::from_utf8(read_bounded(&path, 64 << 10)?).map_err(|_| BackupError::BadSigner)?
    } else {
        signer.to_owned()
    };
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return crate::ops::migration::bundle::spki_from_pem(text).ok_or(BackupError::BadSigner);
    }
    let point = hex::decode(text).map_err(|_| BackupError::BadSigner)?;
    manifest_signature::p256_spki_der(&point).map_err(|_| BackupError::BadSigner)
}
