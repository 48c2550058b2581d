//! `kmsctl backup create | verify`: a signed backup of the KMS's replicated state, taken
//! through the admin API (`POST /v1/backups`) and written as a directory of four files, and
//! its offline verification (`docs/OPERATIONS.md`, Backup and restore). Restore is
//! `kmsd restore`, on the node's files.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use clap::Subcommand;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::admin::connect;
use super::output;
use super::settings::Global;
use super::{Console, Exit};
use crate::error::{ClientError, Result};

/// The replicated state in the snapshot format.
const SNAPSHOT: &str = "backup.bin";
/// The signed manifest.
const MANIFEST: &str = "manifest.json";
/// The manifest's signature (DER).
const SIGNATURE: &str = "manifest.sig";
/// The signer's public key (PEM).
const SIGNER: &str = "signer.pem";
/// The manifest format this kmsctl reads.
const FORMAT: &str = "kms-backup-1";
/// The snapshot file's magic and the format version it carries a schema version from.
const MAGIC: &[u8; 8] = b"KMSSNAP\0";
const SNAPSHOT_FORMAT: u32 = 2;
/// Magic, format version, schema version.
const PREAMBLE: usize = 16;
/// The snapshot file's trailing SHA-256.
const DIGEST_LEN: u64 = 32;
/// Largest manifest, signature and signer files read.
const MAX_MANIFEST: u64 = 1 << 20;
const MAX_SIGNATURE: u64 = 1024;
const MAX_SIGNER: u64 = 64 << 10;

/// `kmsctl backup`.
#[derive(Debug, clap::Args)]
pub(super) struct BackupArgs {
    #[command(subcommand)]
    command: BackupCmd,
}

#[derive(Debug, Subcommand)]
enum BackupCmd {
    /// Takes a backup of the replicated state through the admin API (operators) and writes
    /// backup.bin, manifest.json, manifest.sig and signer.pem to --out.
    Create {
        #[command(flatten)]
        global: Global,
        /// Directory to write the backup to (must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Verifies a backup directory offline: the manifest's signature, backup.bin's size,
    /// SHA-256, own digest and schema version; prints the manifest's summary. Exit 1 with the
    /// reason when anything does not hold.
    Verify {
        /// The backup directory.
        dir: PathBuf,
        /// The audit public key the backup must be signed by, known out of band: a PEM file,
        /// a file holding the SEC1 point in hex (audit-public-key.hex), or that hex. Without
        /// it the backup's own signer.pem is used, which proves integrity, not origin.
        #[arg(long, value_name = "PEM|HEX")]
        signer: Option<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn bad(text: impl Into<String>) -> ClientError {
    ClientError::Backup(text.into())
}

pub(super) async fn run(args: BackupArgs, console: &mut Console<'_>) -> Result<Exit> {
    match args.command {
        BackupCmd::Create { global, out } => {
            let (api, settings) = connect(&global, console)?;
            check_out_dir(&out)?;
            let answer = api.create_backup().await?;
            write_backup(&out, &answer)?;
            let summary = verify(&out, None)?;
            if settings.json {
                output::json(console.out, &summary)?;
            } else {
                output::line(console.out, &format!("backup written to {}", out.display()))?;
                print_summary(console, &summary)?;
            }
            Ok(Exit::Success)
        }
        BackupCmd::Verify { dir, signer, json } => {
            let summary = verify(&dir, signer.as_deref())?;
            if json {
                output::json(console.out, &summary)?;
            } else {
                print_summary(console, &summary)?;
            }
            Ok(Exit::Success)
        }
    }
}

fn print_summary(console: &mut Console<'_>, s: &Value) -> Result<()> {
    let m = &s["manifest"];
    let total: u64 = m["tables"]
        .as_object()
        .map(|t| t.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    let mut lines = vec![
        format!(
            "backup verified: signature {} ({})",
            s["signature"].as_str().unwrap_or("?"),
            s["signer_source"].as_str().unwrap_or("?")
        ),
        format!(
            "taken by {} (node {}) at {}",
            output::clean(m["node"].as_str().unwrap_or("?")),
            m["node_id"],
            output::clean(m["created_at"].as_str().unwrap_or("?"))
        ),
        format!(
            "schema version {}, {} records, {} bytes, sha256 {}",
            m["schema_version"],
            total,
            m["snapshot_bytes"],
            output::clean(m["snapshot_sha256"].as_str().unwrap_or("?"))
        ),
        format!("root of trust KCV {}", m["root_kcv"]),
    ];
    if !m["cluster"].is_null() {
        lines.push(format!(
            "cluster {} at applied index {} (term {})",
            m["cluster"]["incarnation"],
            m["cluster"]["applied_index"],
            m["cluster"]["applied_term"]
        ));
    }
    for cp in m["audit_checkpoints"].as_array().into_iter().flatten() {
        lines.push(format!(
            "follows audit checkpoint {}#{} ({})",
            output::clean(cp["log"].as_str().unwrap_or("?")),
            cp["seq"],
            output::clean(cp["time"].as_str().unwrap_or("?"))
        ));
    }
    if s["signer_source"] == "backup" {
        lines.push(
            "WARNING: checked against the backup's own signer.pem (integrity, not origin): \
             give --signer"
                .into(),
        );
    }
    for line in lines {
        output::line(console.out, &line)?;
    }
    Ok(())
}

/// Verifies the backup in `dir`; returns the summary (the manifest and how it was checked).
fn verify(dir: &Path, signer: Option<&str>) -> Result<Value> {
    let manifest_bytes = read_small(&dir.join(MANIFEST), MAX_MANIFEST)?;
    let signature = read_small(&dir.join(SIGNATURE), MAX_SIGNATURE)?;
    let (spki, source) = match signer {
        Some(s) => (signer_spki(s)?, "given signer"),
        None => {
            let pem = read_small(&dir.join(SIGNER), MAX_SIGNER)?;
            (spki_from_pem(&pem)?, "backup")
        }
    };
    match kms_crypto::manifest_signature::p256_verify_der(&spki, &manifest_bytes, &signature) {
        Ok(kms_crypto::Validity::Valid) => {}
        Ok(kms_crypto::Validity::Invalid) => {
            return Err(bad(
                "manifest signature does not verify: manifest.json altered, or another signer",
            ));
        }
        Err(_) => return Err(bad("the signer is not a P-256 public key")),
    }
    let manifest: Value =
        serde_json::from_slice(&manifest_bytes).map_err(|_| bad("manifest.json is not JSON"))?;
    if manifest["format"] != FORMAT {
        return Err(bad(format!(
            "unknown backup format {} (this kmsctl reads {FORMAT})",
            manifest["format"]
        )));
    }
    let schema = manifest["schema_version"]
        .as_u64()
        .ok_or_else(|| bad("manifest has no schema_version"))?;
    let size = manifest["snapshot_bytes"]
        .as_u64()
        .ok_or_else(|| bad("manifest has no snapshot_bytes"))?;
    let digest = manifest["snapshot_sha256"]
        .as_str()
        .ok_or_else(|| bad("manifest has no snapshot_sha256"))?;
    check_snapshot(&dir.join(SNAPSHOT), size, digest, schema)?;
    Ok(json!({
        "signature": "valid",
        "signer_source": source,
        "manifest": manifest,
    }))
}

/// Checks backup.bin: size, SHA-256 (the manifest's), preamble (magic, format, schema
/// version), and the file's own trailing digest.
fn check_snapshot(path: &Path, size: u64, digest: &str, schema: u64) -> Result<()> {
    let read_error = |source| ClientError::ReadFile {
        path: path.to_owned(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(format!("{} is missing", path.display())));
        }
        Err(e) => return Err(read_error(e)),
    };
    let len = file.metadata().map_err(read_error)?.len();
    if len < size {
        return Err(bad(format!(
            "backup.bin is truncated: {len} bytes, the manifest says {size}"
        )));
    }
    if len != size {
        return Err(bad(format!(
            "backup.bin is {len} bytes, the manifest says {size}: altered"
        )));
    }
    if len < PREAMBLE as u64 + DIGEST_LEN {
        return Err(bad("backup.bin is too short to be a backup"));
    }
    let body_len = len - DIGEST_LEN;
    let mut whole = Sha256::new();
    let mut body = Sha256::new();
    let mut preamble = Vec::with_capacity(PREAMBLE);
    let mut tail = Vec::with_capacity(DIGEST_LEN as usize);
    let mut pos = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf).map_err(read_error)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        whole.update(chunk);
        let in_body = usize::try_from(body_len.saturating_sub(pos))
            .unwrap_or(usize::MAX)
            .min(n);
        body.update(&chunk[..in_body]);
        tail.extend_from_slice(&chunk[in_body..]);
        if preamble.len() < PREAMBLE {
            let want = (PREAMBLE - preamble.len()).min(n);
            preamble.extend_from_slice(&chunk[..want]);
        }
        pos += n as u64;
    }
    if hex::encode(whole.finalize()) != digest {
        return Err(bad(
            "backup.bin's SHA-256 differs from the manifest's: altered",
        ));
    }
    if preamble.len() < PREAMBLE || &preamble[..8] != MAGIC {
        return Err(bad("backup.bin is not a KMS snapshot file"));
    }
    let format = u32::from_le_bytes([preamble[8], preamble[9], preamble[10], preamble[11]]);
    let found = u32::from_le_bytes([preamble[12], preamble[13], preamble[14], preamble[15]]);
    if format != SNAPSHOT_FORMAT {
        return Err(bad(format!(
            "backup.bin has snapshot format {format}, not {SNAPSHOT_FORMAT}"
        )));
    }
    if u64::from(found) != schema {
        return Err(bad(format!(
            "backup.bin has schema version {found}, the manifest {schema}"
        )));
    }
    if body.finalize().as_slice() != tail.as_slice() {
        return Err(bad("backup.bin's own digest does not match its contents"));
    }
    Ok(())
}

/// Reads a small file of the backup; a missing one is named.
fn read_small(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(format!("{} is missing", path.display())));
        }
        Err(source) => {
            return Err(ClientError::ReadFile {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut out)
        .map_err(|source| ClientError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
    if out.len() as u64 > max {
        return Err(bad(format!("{} is too large", path.display())));
    }
    Ok(out)
}

/// The SubjectPublicKeyInfo (DER) of the one `PUBLIC KEY` block of a PEM text.
fn spki_from_pem(pem: &[u8]) -> Result<Vec<u8>> {
    let mut reader = std::io::Cursor::new(pem);
    match rustls_pemfile::read_one(&mut reader) {
        Ok(Some(rustls_pemfile::Item::SubjectPublicKeyInfo(spki))) => Ok(spki.as_ref().to_vec()),
        _ => Err(bad("the signer is not one PEM public key")),
    }
}

/// `--signer`: a PEM file, a file holding the SEC1 point in hex, or that hex.
fn signer_spki(signer: &str) -> Result<Vec<u8>> {
    let path = Path::new(signer);
    let text = if path.is_file() {
        read_small(path, MAX_SIGNER)?
    } else {
        signer.as_bytes().to_vec()
    };
    if text.starts_with(b"-----BEGIN") {
        return spki_from_pem(&text);
    }
    let text = String::from_utf8(text).map_err(|_| bad("--signer is neither PEM nor hex"))?;
    let point = hex::decode(text.trim()).map_err(|_| bad("--signer is neither PEM nor hex"))?;
    kms_crypto::manifest_signature::p256_spki_der(&point)
        .map_err(|_| bad("--signer is not a P-256 public key"))
}

fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|source| ClientError::ReadFile {
                path: dir.to_owned(),
                source,
            })?
            .next()
            .is_some()
    {
        return Err(bad(format!("{} exists and is not empty", dir.display())));
    }
    Ok(())
}

/// Writes the server's answer as the backup's four files, owner-readable only.
fn write_backup(dir: &Path, answer: &Value) -> Result<()> {
    let b64 = |v: &Value, what: &str| -> Result<Vec<u8>> {
        let text = v.as_str().ok_or_else(|| bad(format!("{what} missing")))?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| bad(format!("{what} is not base64")))
    };
    let text = |v: &Value, what: &str| -> Result<Vec<u8>> {
        Ok(v.as_str()
            .ok_or_else(|| bad(format!("{what} missing")))?
            .as_bytes()
            .to_vec())
    };
    let files = [
        (MANIFEST, text(&answer["manifest"], "manifest")?),
        (SIGNATURE, b64(&answer["signature"], "signature")?),
        (SIGNER, text(&answer["signer"], "signer")?),
        (SNAPSHOT, b64(&answer["snapshot"], "snapshot")?),
    ];
    std::fs::create_dir_all(dir).map_err(|source| ClientError::WriteFile {
        path: dir.to_owned(),
        source,
    })?;
    for (name, bytes) in files {
        let path = dir.join(name);
        write_private(&path, &bytes).map_err(|source| ClientError::WriteFile { path, source })?;
    }
    Ok(())
}

/// Creates `path` readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
