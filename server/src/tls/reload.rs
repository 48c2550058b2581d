//! The node's certificates, re-read from their configured files without a restart (SIGHUP or
//! `POST /v1/node/reload-certificates`): the server certificate and key pairs of `[tls]`
//! (`ecdsa_cert`: the KMIP server's, the admin API's and the node's; `rsa_cert`: KMIP and admin
//! clients without ECDSA) and the trusted client CA bundle (`client_ca`, which may hold two CAs
//! during a rollover).
//!
//! A reload reads and checks everything first (every file parses, every key is the key of its
//! certificate, the CA bundle builds a verifier) and only then installs it all; a failure
//! installs nothing, and the certificates in use stay. New handshakes take the new material
//! (the resolvers and verifiers read [`Swap`]s); open connections keep what they negotiated.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use serde::Serialize;

use super::resolver::ServerKeys;
use super::swap::Swap;
use super::verifier::{Trust, fingerprint_hex, validity};
use super::{TlsError, provider, read_certs, read_key};
use crate::config::TlsFiles;

/// The certificates whose expiry is reported (`kms_certificate_expiry_seconds{certificate}`).
pub const CERTIFICATE_NAMES: [&str; 4] = ["kmip_server", "admin", "node", "client_ca"];

/// What one loaded certificate is, for answers, logs and metrics (nothing secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateFacts {
    /// Which: `ecdsa`, `rsa` or `client_ca`.
    pub role: &'static str,
    /// The file it was read from.
    pub file: String,
    /// Lowercase hex SHA-256 of the (end-entity or CA) certificate.
    pub fingerprint_sha256: String,
    /// Its notAfter, Unix seconds.
    pub not_after: i64,
}

/// The node's TLS material, reloadable.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    keys: Arc<Swap<ServerKeys>>,
    trust: Arc<Swap<Trust>>,
    facts: Swap<Vec<CertificateFacts>>,
}

/// Everything read from the files, checked, not yet installed.
struct Loaded {
    keys: ServerKeys,
    trust: Trust,
    facts: Vec<CertificateFacts>,
}

impl Certificates {
    /// Reads and checks every file of `files` (at start: a failure stops the node).
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let provider = provider();
        let loaded = read_all(files, &provider)?;
        Ok(Self {
            files: files.clone(),
            provider,
            keys: Arc::new(Swap::new(loaded.keys)),
            trust: Arc::new(Swap::new(loaded.trust)),
            facts: Swap::new(loaded.facts),
        })
    }

    /// Reads every file again and, when all of it is usable, installs it for new handshakes;
    /// otherwise installs nothing and says which file is wrong (never key bytes).
    pub fn reload(&self) -> Result<Vec<CertificateFacts>, TlsError> {
        let loaded = read_all(&self.files, &self.provider)?;
        let facts = loaded.facts.clone();
        self.keys.store(loaded.keys);
        self.trust.store(loaded.trust);
        self.facts.store(loaded.facts);
        Ok(facts)
    }

    /// The files a reload reads, in order.
    pub fn files(&self) -> Vec<String> {
        let mut files = vec![shown(&self.files.ecdsa_cert), shown(&self.files.ecdsa_key)];
        if let (Some(c), Some(k)) = (&self.files.rsa_cert, &self.files.rsa_key) {
            files.push(shown(c));
            files.push(shown(k));
        }
        files.push(shown(&self.files.client_ca));
        files
    }

    /// The certificates in use now.
    pub fn facts(&self) -> Vec<CertificateFacts> {
        self.facts.load().as_ref().clone()
    }

    /// Seconds from `now` (Unix seconds) to the notAfter of each certificate of
    /// [`CERTIFICATE_NAMES`] (negative once expired): the KMIP server's is the earlier of the
    /// ECDSA and RSA ones, the admin API serves the same pair, the node presents the ECDSA
    /// one, and the client CA's is the earliest of the bundle.
    pub fn expiry_seconds(&self, now: i64) -> Vec<(&'static str, i64)> {
        let facts = self.facts.load();
        let earliest = |roles: &[&str]| {
            facts
                .iter()
                .filter(|f| roles.contains(&f.role))
                .map(|f| f.not_after)
                .min()
                .map(|t| t.saturating_sub(now))
        };
        let server = earliest(&["ecdsa", "rsa"]);
        [
            ("kmip_server", server),
            ("admin", server),
            ("node", earliest(&["ecdsa"])),
            ("client_ca", earliest(&["client_ca"])),
        ]
        .into_iter()
        .filter_map(|(name, left)| left.map(|l| (name, l)))
        .collect()
    }

    /// The server certificates and keys as installed now (read at each handshake).
    pub fn server_keys(&self) -> Arc<Swap<ServerKeys>> {
        self.keys.clone()
    }

    /// The trusted client CAs as installed now (read at each handshake).
    pub fn trust(&self) -> Arc<Swap<Trust>> {
        self.trust.clone()
    }

    /// The crypto provider of every configuration built on these certificates.
    pub fn provider(&self) -> Arc<CryptoProvider> {
        self.provider.clone()
    }
}

/// One reload and what it read.
#[derive(Debug)]
pub struct ReloadOutcome {
    /// The files read.
    pub files: Vec<String>,
    /// The certificates now in use, or why nothing was installed.
    pub result: Result<Vec<CertificateFacts>, TlsError>,
}

impl Certificates {
    /// Reloads and logs the outcome (`trigger`: "admin API", "SIGHUP"): each certificate now
    /// in use, or why nothing was installed.
    pub fn reload_logged(&self, trigger: &'static str) -> ReloadOutcome {
        let files = self.files();
        let result = self.reload();
        match &result {
            Ok(facts) => {
                for f in facts {
                    tracing::info!(
                        trigger,
                        role = f.role,
                        file = %f.file,
                        fingerprint = %f.fingerprint_sha256,
                        not_after = f.not_after,
                        "certificate reloaded"
                    );
                }
            }
            Err(e) => tracing::warn!(
                trigger,
                error = %e,
                "certificate reload refused; the certificates in use are unchanged"
            ),
        }
        ReloadOutcome { files, result }
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn read_all(files: &TlsFiles, provider: &Arc<CryptoProvider>) -> Result<Loaded, TlsError> {
    let mut facts = Vec::new();
    let ecdsa = certified_key(&files.ecdsa_cert, &files.ecdsa_key, provider)?;
    facts.push(end_entity_facts("ecdsa", &files.ecdsa_cert, &ecdsa)?);
    let rsa = match (&files.rsa_cert, &files.rsa_key) {
        (Some(c), Some(k)) => {
            let rsa = certified_key(c, k, provider)?;
            facts.push(end_entity_facts("rsa", c, &rsa)?);
            Some(Arc::new(rsa))
        }
        _ => None,
    };
    let ca = read_certs(&files.client_ca)?;
    for cert in &ca {
        facts.push(CertificateFacts {
            role: "client_ca",
            file: shown(&files.client_ca),
            fingerprint_sha256: fingerprint_hex(cert),
            not_after: not_after(cert, &files.client_ca)?,
        });
    }
    let trust = Trust::new(&ca, provider.clone())?;
    Ok(Loaded {
        keys: ServerKeys {
            ecdsa: Arc::new(ecdsa),
            rsa,
        },
        trust,
        facts,
    })
}

/// The chain of `cert` with the key of `key`, refused unless the key is the certificate's.
fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = read_certs(cert)?;
    let signing = provider.key_provider.load_private_key(read_key(key)?)?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|source| TlsError::KeyMismatch {
            cert: shown(cert),
            key: shown(key),
            source,
        })?;
    Ok(certified)
}

fn end_entity_facts(
    role: &'static str,
    file: &Path,
    key: &CertifiedKey,
) -> Result<CertificateFacts, TlsError> {
    let der = key.cert.first().ok_or_else(|| TlsError::Empty {
        path: shown(file),
        what: "certificate",
    })?;
    Ok(CertificateFacts {
        role,
        file: shown(file),
        fingerprint_sha256: fingerprint_hex(der),
        not_after: not_after(der, file)?,
    })
}

fn not_after(der: &[u8], file: &Path) -> Result<i64, TlsError> {
    validity(der)
        .map(|(_, not_after)| not_after)
        .ok_or_else(|| TlsError::Unparsable { path: shown(file) })
}
