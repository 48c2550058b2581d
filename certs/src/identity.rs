//! Who a certificate names: the ONE definition of the `urn:kms:` SAN URI formats.
//!
//! - a principal: `urn:kms:principal:<role>:<tenant>:<name>`, with `<tenant>` = `-` for the
//!   roles of no tenant (`operator`, `platform-service`) and only for them;
//! - a cluster node: `urn:kms:node:<node-id>`, `<node-id>` a canonical decimal `u64`.
//!
//! Tenants and names match `[a-z0-9][a-z0-9-_.]{0,62}`, so `:` never appears inside a field
//! and a URI splits unambiguously. Parsing is strict and case-sensitive: only the canonical
//! form the CA writes is accepted, so one identity has exactly one spelling.
//!
//! The server decides identity with [`identity_from_cert_der`] on a certificate that rustls
//! has already verified; the subject CN is for humans only and is never used.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, LabelKind, Result, UriProblem};

/// Longest `urn:kms:` URI accepted, checked before any splitting.
/// (`urn:kms:principal:tenant-admin:` + two 63-byte labels + `:` is 158 bytes.)
pub const MAX_URI_LEN: usize = 256;

/// Largest certificate [`identity_from_cert_der`] parses. Real ones are 0.5 to 2 KiB.
pub const MAX_CERT_DER_LEN: usize = 64 * 1024;

/// Longest tenant or name label.
pub const MAX_LABEL_LEN: usize = 63;

const PRINCIPAL_PREFIX: &str = "urn:kms:principal:";
const NODE_PREFIX: &str = "urn:kms:node:";
const KMS_PREFIX: &str = "urn:kms:";
const NO_TENANT: &str = "-";

/// Checks a tenant or name against `[a-z0-9][a-z0-9-_.]{0,62}`.
pub fn validate_label(kind: LabelKind, value: &str) -> Result<()> {
    let bytes = value.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .skip(1)
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if first_ok && rest_ok && bytes.len() <= MAX_LABEL_LEN {
        Ok(())
    } else {
        Err(Error::InvalidLabel {
            kind,
            value: value.chars().take(MAX_URI_LEN).collect(),
        })
    }
}

/// A tenant identifier, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Validates and wraps a tenant identifier.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        validate_label(LabelKind::Tenant, &value)?;
        Ok(Self(value))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// What a principal may do; the server's `authorize` maps roles to operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A KMIP client of one tenant (vCenter, a platform service).
    KmipClient,
    /// An administrator of one tenant.
    TenantAdmin,
    /// A read-only auditor of one tenant.
    Auditor,
    /// An operator of the whole cluster; belongs to no tenant.
    Operator,
    /// A platform service of the cloud (the console that encrypts VMs, backup, replication):
    /// belongs to no tenant, acts on every tenant that subscribes, through the admin API only.
    /// Its name says which service it is (`console`, `backup`, `replication`).
    PlatformService,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Role::KmipClient,
        Role::TenantAdmin,
        Role::Auditor,
        Role::Operator,
        Role::PlatformService,
    ];

    /// The role as it appears in the URI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::KmipClient => "kmip-client",
            Role::TenantAdmin => "tenant-admin",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::PlatformService => "platform-service",
        }
    }

    /// Whether principals of this role belong to a tenant.
    pub fn has_tenant(self) -> bool {
        !matches!(self, Role::Operator | Role::PlatformService)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::UnknownRole(s.chars().take(32).collect()))
    }
}

/// A principal: `urn:kms:principal:<role>:<tenant>:<name>`.
///
/// Build it with [`PrincipalUri::new`] (validates); [`PrincipalUri::validate`] re-checks a value
/// built field by field, and the issuing functions call it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalUri {
    /// The role.
    pub role: Role,
    /// The tenant; `None` exactly for the roles of no tenant (operator, platform service).
    pub tenant: Option<TenantId>,
    /// The principal's name inside its tenant (label rules apply).
    pub name: String,
}

impl PrincipalUri {
    /// A validated principal.
    pub fn new(role: Role, tenant: Option<TenantId>, name: impl Into<String>) -> Result<Self> {
        let principal = Self {
            role,
            tenant,
            name: name.into(),
        };
        principal.validate()?;
        Ok(principal)
    }

    /// A `kmip-client` principal of `tenant`.
    pub fn kmip_client(tenant: TenantId, name: impl Into<String>) -> Result<Self> {
        Self::new(Role::KmipClient, Some(tenant), name)
    }

    /// Checks the name label and that a tenant is present exactly when the role has one.
    pub fn validate(&self) -> Result<()> {
        validate_label(LabelKind::Name, &self.name)?;
        if self.role.has_tenant() != self.tenant.is_some() {
            return Err(Error::MalformedUri {
                uri: self.to_string(),
                problem: UriProblem::TenantForRole,
            });
        }
        Ok(())
    }
}

impl fmt::Display for PrincipalUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenant = self.tenant.as_ref().map_or(NO_TENANT, TenantId::as_str);
        write!(f, "{PRINCIPAL_PREFIX}{}:{tenant}:{}", self.role, self.name)
    }
}

fn malformed(uri: &str, problem: UriProblem) -> Error {
    Error::MalformedUri {
        uri: uri.chars().take(MAX_URI_LEN).collect(),
        problem,
    }
}

impl FromStr for PrincipalUri {
    type Err = Error;
    fn from_str(uri: &str) -> Result<Self> {
        if uri.len() > MAX_URI_LEN {
            return Err(malformed(uri, UriProblem::TooLong));
        }
        let rest = uri
            .strip_prefix(PRINCIPAL_PREFIX)
            .ok_or_else(|| malformed(uri, UriProblem::UnknownPrefix))?;
        let mut fields = rest.split(':');
        let (Some(role), Some(tenant), Some(name), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed(uri, UriProblem::FieldCount));
        };
        let role: Role = role
            .parse()
            .map_err(|_| malformed(uri, UriProblem::UnknownRole))?;
        let tenant = match (role.has_tenant(), tenant) {
            (false, NO_TENANT) => None,
            (true, t) if t != NO_TENANT => {
                Some(TenantId::new(t).map_err(|_| malformed(uri, UriProblem::Label))?)
            }
            _ => return Err(malformed(uri, UriProblem::TenantForRole)),
        };
        validate_label(LabelKind::Name, name).map_err(|_| malformed(uri, UriProblem::Label))?;
        Ok(Self {
            role,
            tenant,
            name: name.to_owned(),
        })
    }
}

/// A cluster node: `urn:kms:node:<node-id>` (the Raft node ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeUri {
    /// The Raft node ID. Node IDs are never reused.
    pub node_id: u64,
}

impl fmt::Display for NodeUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{NODE_PREFIX}{}", self.node_id)
    }
}

impl FromStr for NodeUri {
    type Err = Error;
    fn from_str(uri: &str) -> Result<Self> {
        if uri.len() > MAX_URI_LEN {
            return Err(malformed(uri, UriProblem::TooLong));
        }
        let digits = uri
            .strip_prefix(NODE_PREFIX)
            .ok_or_else(|| malformed(uri, UriProblem::UnknownPrefix))?;
        // Canonical only: ASCII digits, no sign, no leading zero (except "0" itself).
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return Err(malformed(uri, UriProblem::NodeId));
        }
        let node_id = digits
            .parse()
            .map_err(|_| malformed(uri, UriProblem::NodeId))?;
        Ok(Self { node_id })
    }
}

/// The identity a certificate names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A tenant principal or an operator.
    Principal(PrincipalUri),
    /// A cluster node.
    Node(NodeUri),
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Principal(p) => p.fmt(f),
            Identity::Node(n) => n.fmt(f),
        }
    }
}

impl FromStr for Identity {
    type Err = Error;
    fn from_str(uri: &str) -> Result<Self> {
        if uri.starts_with(PRINCIPAL_PREFIX) {
            uri.parse().map(Identity::Principal)
        } else if uri.starts_with(NODE_PREFIX) {
            uri.parse().map(Identity::Node)
        } else {
            Err(malformed(uri, UriProblem::UnknownPrefix))
        }
    }
}

/// A certificate's SHA-256 fingerprint (over its whole DER encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(fingerprint_sha256(der))
    }

    /// Lowercase hex, 64 characters (the form configs and logs use).
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Lowercase colon-separated display form, `ab:cd:…` (as browsers show it).
    pub fn colon_hex(&self) -> String {
        let mut out = String::with_capacity(32 * 3);
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&hex::encode([*byte]));
        }
        out
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl FromStr for Fingerprint {
    type Err = Error;
    /// Accepts the plain or the colon-separated form, in either case.
    fn from_str(s: &str) -> Result<Self> {
        if s.len() > 32 * 3 {
            return Err(Error::InvalidFingerprint);
        }
        let plain: String = s.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(plain, &mut out).map_err(|_| Error::InvalidFingerprint)?;
        Ok(Self(out))
    }
}

/// SHA-256 over a certificate's DER encoding.
pub fn fingerprint_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// What every certificate shows, whatever it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name, RFC 4514 style (`CN=…, O=…`).
    pub subject: String,
    /// Issuer distinguished name, same style.
    pub issuer: String,
    /// SHA-256 over the DER certificate.
    pub fingerprint: Fingerprint,
}

/// The identity a certificate carries, with its subject, issuer and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity {
    /// The principal or node the single `urn:kms:` SAN URI names.
    pub identity: Identity,
    /// Subject, issuer and fingerprint.
    pub info: CertInfo,
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>> {
    if der.len() > MAX_CERT_DER_LEN {
        return Err(Error::CertificateTooLarge(der.len()));
    }
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| Error::ParseCertificate(e.into()))?;
    if !rest.is_empty() {
        return Err(Error::TrailingBytes);
    }
    Ok(cert)
}

/// Subject, issuer and fingerprint of a DER certificate, without requiring an identity URI
/// (for certificates enrolled by fingerprint, such as vCenter's self-signed one).
pub fn cert_info(der: &[u8]) -> Result<CertInfo> {
    let cert = parse_cert(der)?;
    Ok(info_of(&cert, der))
}

fn info_of(cert: &X509Certificate<'_>, der: &[u8]) -> CertInfo {
    CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        fingerprint: Fingerprint::of_der(der),
    }
}

/// The `urn:kms:` URIs of a certificate's SAN extension (other URIs are ignored).
fn kms_uris<'a>(cert: &'a X509Certificate<'_>) -> Result<Vec<&'a str>> {
    let san = cert
        .subject_alternative_name()
        .map_err(Error::ParseCertificate)?;
    Ok(san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::URI(uri) if uri.starts_with(KMS_PREFIX) => Some(*uri),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The identity a DER certificate names: exactly one `urn:kms:principal:` or `urn:kms:node:`
/// SAN URI, else an error. URIs outside `urn:kms:` are ignored; a malformed `urn:kms:` URI is
/// an error, never skipped. Does NOT verify the chain: call it on a certificate that the TLS
/// layer has verified.
pub fn identity_from_cert_der(der: &[u8]) -> Result<CertIdentity> {
    let cert = parse_cert(der)?;
    let uris = kms_uris(&cert)?;
    let identity = match uris.as_slice() {
        [] => return Err(Error::NoIdentityUri),
        [uri] => uri.parse::<Identity>()?,
        several => return Err(Error::SeveralIdentityUris(several.len())),
    };
    Ok(CertIdentity {
        identity,
        info: info_of(&cert, der),
    })
}
