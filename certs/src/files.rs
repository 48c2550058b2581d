//! Writing and reading PEM files.
//!
//! Private keys are created with mode 0600 in the `open` call itself (never chmod'ed after),
//! certificates with 0644. Nothing is overwritten unless `force`: without it the file is
//! created with `O_EXCL`, with it a 0600 temporary file in the same directory is renamed over
//! the old one, so a reader never sees a half-written key or a moment of wider permissions.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::authority::CertificateAuthority;
use crate::certificate::{Certificate, CertifiedKey};
use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// Mode of private key files.
pub const KEY_FILE_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_FILE_MODE: u32 = 0o644;
/// Largest PEM file read (certificates, keys, CSRs are a few KiB).
pub const MAX_PEM_FILE_LEN: u64 = 1024 * 1024;

/// Where a certificate and its key live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemPaths {
    /// The PEM certificate.
    pub cert: PathBuf,
    /// The PEM PKCS#8 private key (mode 0600).
    pub key: PathBuf,
}

impl PemPaths {
    /// `<dir>/<stem>.pem` and `<dir>/<stem>.key`.
    pub fn in_dir(dir: &Path, stem: &str) -> Self {
        Self {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
        }
    }

    /// Whether both, neither, or only one of the files exist (the latter is an error).
    pub fn both_exist(&self) -> Result<bool> {
        match (self.cert.exists(), self.key.exists()) {
            (true, true) => Ok(true),
            (false, false) => Ok(false),
            (true, false) => Err(Error::IncompletePair {
                present: self.cert.clone(),
                missing: self.key.clone(),
            }),
            (false, true) => Err(Error::IncompletePair {
                present: self.key.clone(),
                missing: self.cert.clone(),
            }),
        }
    }
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::AlreadyExists(path.to_path_buf())
            } else {
                Error::Io {
                    op: "create",
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("write", path));
    if written.is_err() {
        // Do not leave a truncated file behind; the write error is the one to report.
        let _ = fs::remove_file(path);
    }
    written
}

fn write_replacing(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{:016x}", rand::rng().next_u64()));
    write_new(&tmp, contents, mode)?;
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Io {
            op: "rename",
            path: path.to_path_buf(),
            source,
        }
    })
}

fn write_file(path: &Path, contents: &[u8], mode: u32, force: bool) -> Result<()> {
    if force {
        write_replacing(path, contents, mode)
    } else {
        write_new(path, contents, mode)
    }
}

/// Writes a PEM certificate (mode 0644); refuses to overwrite unless `force`.
pub fn write_certificate(path: &Path, cert: &Certificate, force: bool) -> Result<()> {
    write_file(path, cert.pem().as_bytes(), CERT_FILE_MODE, force)
}

/// Writes a PEM PKCS#8 private key, created with mode 0600; refuses to overwrite unless
/// `force`.
pub fn write_private_key(path: &Path, key: &PrivateKey, force: bool) -> Result<()> {
    write_file(path, key.to_pem().as_bytes(), KEY_FILE_MODE, force)
}

/// Writes a certificate and its key. Without `force`, checks first that neither file exists,
/// so a refusal leaves nothing half-written.
pub fn write_certified_key(paths: &PemPaths, pair: &CertifiedKey, force: bool) -> Result<()> {
    write_pair(paths, &pair.certificate, &pair.key, force)
}

/// Writes a CA's certificate and key, like [`write_certified_key`].
pub fn write_ca(paths: &PemPaths, ca: &CertificateAuthority, force: bool) -> Result<()> {
    write_pair(paths, ca.certificate(), ca.key(), force)
}

fn write_pair(paths: &PemPaths, cert: &Certificate, key: &PrivateKey, force: bool) -> Result<()> {
    if !force {
        for path in [&paths.cert, &paths.key] {
            if path.exists() {
                return Err(Error::AlreadyExists(path.clone()));
            }
        }
    }
    write_private_key(&paths.key, key, force)?;
    write_certificate(&paths.cert, cert, force)
}

/// Reads a PEM (or other small text) file, refusing files over [`MAX_PEM_FILE_LEN`].
pub fn read_pem_file(path: &Path) -> Result<String> {
    let len = fs::metadata(path).map_err(Error::io("read", path))?.len();
    if len > MAX_PEM_FILE_LEN {
        return Err(Error::FileTooLarge {
            path: path.to_path_buf(),
            len,
        });
    }
    fs::read_to_string(path).map_err(Error::io("read", path))
}

/// Loads a CA from its certificate and key files.
pub fn load_ca(paths: &PemPaths) -> Result<CertificateAuthority> {
    let cert = read_pem_file(&paths.cert)?;
    let key = zeroize::Zeroizing::new(read_pem_file(&paths.key)?);
    CertificateAuthority::from_pem(&cert, &key)
}

/// Loads a certificate and its key from files.
pub fn load_certified_key(paths: &PemPaths) -> Result<CertifiedKey> {
    let cert = read_pem_file(&paths.cert)?;
    let key = zeroize::Zeroizing::new(read_pem_file(&paths.key)?);
    Ok(CertifiedKey {
        certificate: Certificate::from_pem(&cert)?,
        key: PrivateKey::from_pem(&key)?,
    })
}

/// Creates a directory (and parents) for key material, mode 0700 for the ones it creates.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("create directory", dir))
}
