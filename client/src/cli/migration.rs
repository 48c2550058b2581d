//! `kmsctl tenant export | approve-export | exports | import | import-key`: whole-tenant
//! migration through the admin API (`docs/REVERSIBILITY.md`). The bundle is a directory of
//! plain files that OpenSSL alone can check and open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Value, json};

use super::Exit;
use super::output;
use crate::admin::{AdminClient, ExportRecipient};
use crate::error::{ClientError, Result};

/// A bundle refusal with `text`.
fn bad(text: impl Into<String>) -> ClientError {
    ClientError::Bundle(text.into())
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::ReadFile {
        path: path.to_path_buf(),
        source,
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    }
}

/// The signed manifest's file.
const MANIFEST: &str = "manifest.json";
/// The manifest's signature (DER).
const SIGNATURE: &str = "manifest.sig";
/// The signer's public key (PEM).
const SIGNER: &str = "signer.pem";
/// Most bytes a bundle directory may hold (the server takes 64 MiB of JSON).
const MAX_BUNDLE_BYTES: u64 = 44 << 20;

/// `kmsctl tenant export`.
#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    /// Tenant ID.
    tenant: String,
    /// Wrap the keys for this RSA public key (PEM, 2048 bits or more): the customer's.
    #[arg(long, value_name = "PEM", conflicts_with_all = ["transfer_key", "job"])]
    wrap_with: Option<PathBuf>,
    /// Wrap the keys under this AES-256 key of the tenant (KWP).
    #[arg(long, value_name = "UID", conflicts_with = "job")]
    transfer_key: Option<String>,
    /// Take the bundle of this export job (once it is approved).
    #[arg(long, value_name = "JOB")]
    job: Option<String>,
    /// Directory to write the bundle to (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// `kmsctl tenant import`.
#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    /// Tenant ID.
    tenant: String,
    /// The bundle directory.
    bundle: PathBuf,
    /// The tenant's key that unwraps the bundle: its import private key (RSA), or the AES-256
    /// transfer key.
    #[arg(long, value_name = "UID")]
    unwrap_key: String,
    /// The exporting node's audit public key (PEM), obtained from the source installation
    /// (`kmsctl audit public-key --pem`): the bundle must be signed by it.
    #[arg(long, value_name = "PEM")]
    signer: PathBuf,
}

/// `kmsctl tenant export`: asks for the export (or takes `--job`'s bundle) and writes it.
pub(super) async fn export(
    api: &AdminClient,
    args: ExportArgs,
    console: &mut super::Console<'_>,
) -> Result<Exit> {
    let (out, err) = (&mut *console.out, &mut *console.err);
    check_out_dir(&args.out)?;
    let job = match &args.job {
        Some(job) => job.clone(),
        None => {
            let pem;
            let to = match (&args.wrap_with, &args.transfer_key) {
                (Some(path), None) => {
                    pem = std::fs::read_to_string(path).map_err(read_error(path))?;
                    ExportRecipient::PublicKeyPem(&pem)
                }
                (None, Some(uid)) => ExportRecipient::TransferKey(uid),
                _ => {
                    return Err(ClientError::Usage(
                        "give one of --wrap-with PEM, --transfer-key UID or --job JOB",
                    ));
                }
            };
            let asked = api.request_export(&args.tenant, to).await?;
            let id = asked["id"].as_str().unwrap_or_default().to_owned();
            if asked["status"] != "ready" {
                let _ = writeln!(
                    err,
                    "export {id} awaits a second tenant admin's approval:\n  kmsctl tenant \
                     approve-export {t} {id}\nthen take it:\n  kmsctl tenant export {t} --job \
                     {id} --out {dir}",
                    t = args.tenant,
                    dir = args.out.display()
                );
                output::json(out, &asked)?;
                return Ok(Exit::Success);
            }
            id
        }
    };
    let bundle = api.take_export(&args.tenant, &job).await?;
    let written = write_bundle(&args.out, &bundle)?;
    output::json(
        out,
        &json!({ "tenant": args.tenant, "job": job, "out": args.out, "files": written }),
    )?;
    Ok(Exit::Success)
}

/// `kmsctl tenant import`: sends the bundle directory and prints what was imported.
pub(super) async fn import(
    api: &AdminClient,
    args: ImportArgs,
    out: &mut dyn std::io::Write,
) -> Result<Exit> {
    let signer = std::fs::read_to_string(&args.signer).map_err(read_error(&args.signer))?;
    let bundle = read_bundle(&args.bundle)?;
    let done = api
        .import_bundle(&args.tenant, bundle, &args.unwrap_key, &signer)
        .await?;
    output::json(out, &done)?;
    Ok(Exit::Success)
}

/// `kmsctl tenant import-key`: makes the tenant's import key pair; writes its public key.
pub(super) async fn import_key(
    api: &AdminClient,
    tenant: &str,
    pem_out: &Path,
    out: &mut dyn std::io::Write,
) -> Result<Exit> {
    if pem_out.exists() {
        return Err(bad(format!("{} exists already", pem_out.display())));
    }
    let made = api.create_import_key(tenant).await?;
    let pem = made["public_key_pem"]
        .as_str()
        .ok_or(ClientError::UnexpectedResponse(
            "the answer holds no public key",
        ))?;
    std::fs::write(pem_out, pem).map_err(write_error(pem_out))?;
    output::json(out, &made)?;
    Ok(Exit::Success)
}

fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(read_error(dir))?
            .next()
            .is_some()
    {
        return Err(bad(format!("{} exists and is not empty", dir.display())));
    }
    Ok(())
}

/// A bundle file's path: relative, plain names only (nothing the server sends can leave the
/// directory).
fn safe_path(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        })
}

fn decode(text: &Value, what: &str) -> Result<Vec<u8>> {
    let text = text
        .as_str()
        .ok_or_else(|| bad(format!("{what} missing")))?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| bad(format!("{what} is not base64")))
}

/// Writes the bundle answered by the server as files under `dir`; returns their names.
fn write_bundle(dir: &Path, bundle: &Value) -> Result<Vec<String>> {
    let mut files = BTreeMap::new();
    files.insert(
        MANIFEST.to_owned(),
        bundle["manifest"]
            .as_str()
            .ok_or_else(|| bad("manifest missing"))?
            .as_bytes()
            .to_vec(),
    );
    files.insert(
        SIGNATURE.to_owned(),
        decode(&bundle["signature"], "signature")?,
    );
    files.insert(
        SIGNER.to_owned(),
        bundle["signer"]
            .as_str()
            .ok_or_else(|| bad("signer missing"))?
            .as_bytes()
            .to_vec(),
    );
    let named = bundle["files"]
        .as_object()
        .ok_or_else(|| bad("files missing"))?;
    for (name, content) in named {
        if !safe_path(name) || files.contains_key(name) {
            return Err(bad("the server named a file the bundle may not hold"));
        }
        files.insert(name.clone(), decode(content, name)?);
    }
    for (name, bytes) in &files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        write_private(&path, bytes).map_err(write_error(&path))?;
    }
    Ok(files.into_keys().collect())
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

/// Reads a bundle directory into the JSON document the server takes: the three named files
/// and every other file (at most one directory deep).
fn read_bundle(dir: &Path) -> Result<Value> {
    let mut total = 0u64;
    let mut read = |path: &Path| -> Result<Vec<u8>> {
        let len = std::fs::metadata(path).map_err(read_error(path))?.len();
        total = total.saturating_add(len);
        if total > MAX_BUNDLE_BYTES {
            return Err(bad(format!(
                "the bundle is larger than {MAX_BUNDLE_BYTES} bytes"
            )));
        }
        std::fs::read(path).map_err(read_error(path))
    };
    let text = |bytes: Vec<u8>, what: &str| {
        String::from_utf8(bytes).map_err(|_| bad(format!("{what} is not text")))
    };
    let manifest = text(read(&dir.join(MANIFEST))?, MANIFEST)?;
    let signature = read(&dir.join(SIGNATURE))?;
    let signer = text(read(&dir.join(SIGNER))?, SIGNER)?;
    let mut files = serde_json::Map::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((at, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&at).map_err(read_error(&at))? {
            let entry = entry.map_err(read_error(&at))?;
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().map_err(read_error(&at))?.is_dir() {
                if prefix.is_empty() {
                    pending.push((entry.path(), format!("{name}/")));
                }
                continue;
            }
            if [MANIFEST, SIGNATURE, SIGNER].contains(&name.as_str()) || !safe_path(&name) {
                continue;
            }
            let bytes = read(&entry.path())?;
            files.insert(
                name,
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
            );
        }
    }
    Ok(json!({
        "manifest": manifest,
        "signature": base64::engine::general_purpose::STANDARD.encode(signature),
        "signer": signer,
        "files": files,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_may_be_written() {
        assert!(safe_path("keys/00001.bin"));
        assert!(safe_path("transfer-key.bin"));
        for bad in [
            "../x",
            "/etc/passwd",
            "keys/../../x",
            "a/b/c",
            "",
            "keys/",
            "a b",
        ] {
            assert!(!safe_path(bad), "{bad}");
        }
    }

    #[test]
    fn a_written_bundle_reads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("kmsctl-bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let bundle = json!({
            "manifest": "{\"format\":\"x\"}",
            "signature": b64(&[1, 2, 3]),
            "signer": "-----BEGIN PUBLIC KEY-----\n",
            "files": { "keys/00001.bin": b64(&[9; 40]), "transfer-key.bin": b64(&[7; 8]) },
        });
        write_bundle(&dir, &bundle).unwrap();
        assert_eq!(read_bundle(&dir).unwrap(), bundle);
        let hostile = json!({
            "manifest": "{}", "signature": "", "signer": "",
            "files": { "../escape": b64(&[1]) },
        });
        assert!(write_bundle(&dir.join("other"), &hostile).is_err());
        assert!(!dir.join("escape").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
