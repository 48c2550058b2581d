//! Client settings ([`ClientConfig`]) and the TLS configuration built from them.
//!
//! TLS is rustls with the ring provider. The server is authenticated against the CA
//! certificates named in the settings only (no system roots: a KMS is reached with a private
//! PKI); the client authenticates with its certificate chain and PKCS#8 key when given.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kmip_codec::limits::Limits;
use kmip_codec::model::{Credential, Password};
use kmip_codec::version::ProtocolVersion;
use rustls::RootCertStore;
use rustls::client::Resumption;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};

/// The protocol version spoken unless configured otherwise: KMIP 1.4, the last 1.x version,
/// which servers of both generations accept and whose attribute form most clients use.
pub const DEFAULT_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V1_4;

/// Default limit on TCP connect plus TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default limit on one request: writing it and reading the whole response.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default number of TLS sessions one [`crate::Connector`] remembers for resumption.
pub const DEFAULT_RESUMPTION_SESSIONS: usize = 256;

/// Which TLS versions the client offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.3 and TLS 1.2.
    #[default]
    Tls12And13,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

static TLS12_AND_13: [&rustls::SupportedProtocolVersion; 2] =
    [&rustls::version::TLS13, &rustls::version::TLS12];
static TLS12_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

impl TlsVersions {
    fn rustls(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        match self {
            Self::Tls12And13 => &TLS12_AND_13,
            Self::Tls12Only => &TLS12_ONLY,
            Self::Tls13Only => &TLS13_ONLY,
        }
    }
}

/// TLS session resumption across the connections of one [`crate::Connector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionResumption {
    /// Remember up to this many sessions in memory (TLS 1.3 tickets, TLS 1.2 session IDs
    /// and tickets), shared by every clone of the connector.
    InMemory {
        /// How many sessions to keep.
        sessions: usize,
    },
    /// Every connection makes a full handshake.
    Disabled,
}

impl Default for SessionResumption {
    fn default() -> Self {
        Self::InMemory {
            sessions: DEFAULT_RESUMPTION_SESSIONS,
        }
    }
}

/// The client's certificate chain and private key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8 `PRIVATE KEY`; SEC1 and PKCS#1 are read too).
    pub key: PathBuf,
}

/// How to reach and talk to a KMIP server. Build with [`ClientConfig::new`] and the `with_*`
/// methods, then make a [`crate::Connector`] from it.
///
/// `Debug` shows no secret: the password inside a [`Credential`] is redacted.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `host:port` to connect to.
    pub server_addr: String,
    /// The name the server certificate must carry (DNS name or IP address); also sent as SNI
    /// when it is a DNS name.
    pub server_name: String,
    /// PEM files of the CA certificates the server certificate must chain to.
    pub ca_files: Vec<PathBuf>,
    /// The client certificate and key; `None` connects without a client certificate (the
    /// server should refuse).
    pub identity: Option<IdentityFiles>,
    /// The KMIP protocol version every request header carries.
    pub protocol_version: ProtocolVersion,
    /// TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// Writing one request and reading its whole response.
    pub request_timeout: Duration,
    /// The TLS versions offered.
    pub tls_versions: TlsVersions,
    /// TLS session resumption.
    pub resumption: SessionResumption,
    /// A Credential put in the Authentication of every request header built by the client.
    pub credential: Option<Credential>,
    /// Give every batch item of a built request a Unique Batch Item ID (a per-connection
    /// 4-byte counter), and check the server echoes it.
    pub batch_item_ids: bool,
    /// Limits responses are decoded under (message size first of all).
    pub limits: Limits,
}

impl ClientConfig {
    /// Settings for the server at `server_addr` (`host:port`) whose certificate names
    /// `server_name`, with the defaults: KMIP 1.4, TLS 1.2 and 1.3, resumption on, batch item
    /// IDs on, default limits and timeouts, no CA (add one) and no client certificate.
    pub fn new(server_addr: impl Into<String>, server_name: impl Into<String>) -> Self {
        Self {
            server_addr: server_addr.into(),
            server_name: server_name.into(),
            ca_files: Vec::new(),
            identity: None,
            protocol_version: DEFAULT_PROTOCOL_VERSION,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            tls_versions: TlsVersions::default(),
            resumption: SessionResumption::default(),
            credential: None,
            batch_item_ids: true,
            limits: Limits::default(),
        }
    }

    /// Trusts the CA certificates in this PEM file for the server.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Authenticates with this certificate chain and private key (PEM files).
    #[must_use]
    pub fn with_identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some(IdentityFiles {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// Speaks this KMIP protocol version.
    #[must_use]
    pub fn with_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.protocol_version = version;
        self
    }

    /// Sets the connect (TCP + TLS handshake) and request timeouts.
    #[must_use]
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Offers only these TLS versions.
    #[must_use]
    pub fn with_tls_versions(mut self, versions: TlsVersions) -> Self {
        self.tls_versions = versions;
        self
    }

    /// Sets session resumption.
    #[must_use]
    pub fn with_resumption(mut self, resumption: SessionResumption) -> Self {
        self.resumption = resumption;
        self
    }

    /// Sends a Username and Password Credential in every request header.
    #[must_use]
    pub fn with_username_password(
        mut self,
        username: impl Into<String>,
        password: Password,
    ) -> Self {
        self.credential = Some(Credential::UsernameAndPassword {
            username: username.into(),
            password: Some(password),
        });
        self
    }

    /// Turns Unique Batch Item IDs on or off.
    #[must_use]
    pub fn with_batch_item_ids(mut self, on: bool) -> Self {
        self.batch_item_ids = on;
        self
    }

    /// Decodes responses under these limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the rustls configuration: reads the CA and identity files, restricts the TLS
    /// versions, sets up resumption.
    pub fn tls_config(&self) -> Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(self.tls_versions.rustls())?
            .with_root_certificates(self.root_store()?);
        let mut config = match &self.identity {
            Some(id) => builder.with_client_auth_cert(read_certs(&id.cert)?, read_key(&id.key)?)?,
            None => builder.with_no_client_auth(),
        };
        config.resumption = match self.resumption {
            SessionResumption::InMemory { sessions } => Resumption::in_memory_sessions(sessions),
            SessionResumption::Disabled => Resumption::disabled(),
        };
        Ok(config)
    }

    fn root_store(&self) -> Result<RootCertStore> {
        if self.ca_files.is_empty() {
            return Err(ClientError::Config("no CA file to verify the server with"));
        }
        let mut roots = RootCertStore::empty();
        for path in &self.ca_files {
            for cert in read_certs(path)? {
                roots.add(cert)?;
            }
        }
        Ok(roots)
    }
}

/// Every certificate in a PEM file (at least one).
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read_file(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|source| read_error(path, source))?;
    if certs.is_empty() {
        return Err(ClientError::MissingPem {
            path: path.to_path_buf(),
            what: "certificate",
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let pem = read_file(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| read_error(path, source))?
        .ok_or_else(|| ClientError::MissingPem {
            path: path.to_path_buf(),
            what: "private key",
        })
}

/// Largest PEM file read: far above any certificate chain or key, and bounds what a wrong
/// path (a device, a huge file) can make the client allocate.
const MAX_PEM_FILE: u64 = 1024 * 1024;

/// A whole PEM file, wiped when dropped since it may be a private key. The buffer is sized
/// from the file's length up front so no reallocation leaves a copy behind.
fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let file = File::open(path).map_err(|source| read_error(path, source))?;
    let len = file
        .metadata()
        .map_err(|source| read_error(path, source))?
        .len();
    if len > MAX_PEM_FILE {
        return Err(ClientError::Config("PEM file larger than 1 MiB"));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(
        usize::try_from(len).unwrap_or_default().saturating_add(1),
    ));
    file.take(MAX_PEM_FILE)
        .read_to_end(&mut buf)
        .map_err(|source| read_error(path, source))?;
    Ok(buf)
}

fn read_error(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::ReadFile {
        path: path.to_path_buf(),
        source,
    }
}
