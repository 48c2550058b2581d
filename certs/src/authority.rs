//! The root CA and what it issues: node certificates, client certificates, signed CSRs.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use rustls_pki_types::DnsName;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::certificate::{Certificate, CertifiedKey};
use crate::error::{Error, Result};
use crate::identity::{NodeUri, PrincipalUri};
use crate::key::{KeyAlgorithm, PrivateKey};

/// Default lifetime of the root CA: 20 years.
pub const CA_DEFAULT_DAYS: u32 = 7300;
/// Default lifetime of node and client certificates: 825 days, the CA/Browser Forum's old cap,
/// long enough that vCenter's certificate is not replaced every few months.
pub const LEAF_DEFAULT_DAYS: u32 = 825;
/// Longest validity accepted for anything: 100 years.
pub const MAX_DAYS: u32 = 36_500;
/// Backdating of `notBefore`, for peers whose clock runs a little behind.
const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Longest subject common name (X.509 `ub-common-name`).
const MAX_COMMON_NAME_CHARS: usize = 64;

/// How to make a root CA.
#[derive(Debug, Clone)]
pub struct CaParams {
    /// Subject CN.
    pub common_name: String,
    /// Validity in days.
    pub days: u32,
    /// Key type of the CA key.
    pub algorithm: KeyAlgorithm,
}

impl Default for CaParams {
    fn default() -> Self {
        Self {
            common_name: "KMS Root CA".to_owned(),
            days: CA_DEFAULT_DAYS,
            algorithm: KeyAlgorithm::EcdsaP256,
        }
    }
}

/// A host name or address a node serves under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name (SAN dNSName).
    Dns(String),
    /// An IP address (SAN iPAddress).
    Ip(IpAddr),
}

impl FromStr for Host {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        DnsName::try_from(s)
            .map(|name| Host::Dns(name.as_ref().to_owned()))
            .map_err(|_| Error::InvalidHost(s.chars().take(256).collect()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Dns(name) => f.write_str(name),
            Host::Ip(ip) => ip.fmt(f),
        }
    }
}

/// How to make a node (server) certificate.
#[derive(Debug, Clone)]
pub struct NodeRequest {
    /// The Raft node ID, written as `urn:kms:node:<id>`.
    pub node_id: u64,
    /// DNS names and IP addresses clients and peers reach the node under.
    pub hosts: Vec<Host>,
    /// Key type.
    pub algorithm: KeyAlgorithm,
    /// Validity in days.
    pub days: u32,
}

/// How to make a client certificate.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// Who the certificate names (the SAN URI).
    pub principal: PrincipalUri,
    /// Key type.
    pub algorithm: KeyAlgorithm,
    /// Validity in days.
    pub days: u32,
}

/// The root CA: its certificate and key.
pub struct CertificateAuthority {
    certificate: Certificate,
    key: PrivateKey,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("fingerprint", &self.certificate.fingerprint().hex())
            .field("key", &self.key)
            .finish()
    }
}

fn validity(params: &mut CertificateParams, days: u32) -> Result<()> {
    if days == 0 || days > MAX_DAYS {
        return Err(Error::InvalidValidity(days));
    }
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(i64::from(days));
    Ok(())
}

/// A random positive 16-byte serial number (126 random bits).
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    // Positive and of fixed length: top bit clear, next bit set.
    bytes[0] = (bytes[0] & 0x3f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

fn common_name(name: &str) -> Result<DistinguishedName> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_COMMON_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::InvalidCommonName);
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    Ok(dn)
}

fn uri_san(uri: &str) -> Result<SanType> {
    Ok(SanType::URI(
        uri.try_into().map_err(Error::rcgen("SAN URI encoding"))?,
    ))
}

/// Key usages of an end-entity certificate for this key type.
fn leaf_key_usages(rsa: bool) -> Vec<KeyUsagePurpose> {
    if rsa {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    }
}

fn leaf_params(cn: &str, days: u32, rsa: bool) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(cn)?;
    validity(&mut params, days)?;
    params.serial_number = Some(random_serial());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = leaf_key_usages(rsa);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

impl CertificateAuthority {
    /// Makes a new self-signed root CA: basic constraints CA with path length 0 (it issues
    /// end-entity certificates only), key usage keyCertSign + cRLSign.
    pub fn generate(ca: &CaParams) -> Result<Self> {
        let key = PrivateKey::generate(ca.algorithm)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(&ca.common_name)?;
        validity(&mut params, ca.days)?;
        params.serial_number = Some(random_serial());
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params
            .self_signed(key.key_pair())
            .map_err(Error::rcgen("CA self-signing"))?;
        Ok(Self {
            certificate: Certificate::from_rcgen(&cert),
            key,
        })
    }

    /// Loads a CA from its PEM certificate and PEM PKCS#8 key, checking that the certificate
    /// is a CA and that the key is its key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let certificate = Certificate::from_pem(cert_pem)?;
        let key = PrivateKey::from_pem(key_pem)?;
        let (_, cert) = X509Certificate::from_der(certificate.der())
            .map_err(|e| Error::ParseCertificate(e.into()))?;
        if !cert.is_ca() {
            return Err(Error::NotCa);
        }
        if cert.public_key().raw != key.public_key_info_der().as_slice() {
            return Err(Error::CaKeyMismatch);
        }
        Ok(Self { certificate, key })
    }

    /// The CA certificate (the trust anchor clients and nodes are given).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>> {
        Issuer::from_ca_cert_der(self.certificate.der(), self.key.key_pair())
            .map_err(Error::rcgen("reading the CA certificate"))
    }

    fn sign(&self, params: &CertificateParams, public: &impl PublicKeyData) -> Result<Certificate> {
        let cert = params
            .signed_by(public, &self.issuer()?)
            .map_err(Error::rcgen("certificate signing"))?;
        Ok(Certificate::from_rcgen(&cert))
    }

    /// Issues a node certificate: SAN URI `urn:kms:node:<id>` plus the hosts as DNS/IP SANs,
    /// EKU serverAuth AND clientAuth (nodes use it for node-to-node mutual TLS too).
    pub fn issue_node(&self, req: &NodeRequest) -> Result<CertifiedKey> {
        let key = PrivateKey::generate(req.algorithm)?;
        let mut params = leaf_params(
            &format!("kms node {}", req.node_id),
            req.days,
            req.algorithm.is_rsa(),
        )?;
        params.subject_alt_names.push(uri_san(
            &NodeUri {
                node_id: req.node_id,
            }
            .to_string(),
        )?);
        for host in &req.hosts {
            params.subject_alt_names.push(match host {
                Host::Ip(ip) => SanType::IpAddress(*ip),
                Host::Dns(name) => SanType::DnsName(
                    name.as_str()
                        .try_into()
                        .map_err(Error::rcgen("SAN DNS name encoding"))?,
                ),
            });
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let certificate = self.sign(&params, key.key_pair())?;
        Ok(CertifiedKey { certificate, key })
    }

    /// Issues a client certificate with a fresh key: SAN URI of the principal, EKU clientAuth,
    /// CN = the principal's name (for humans; the server never reads it).
    pub fn issue_client(&self, req: &ClientRequest) -> Result<CertifiedKey> {
        req.principal.validate()?;
        let key = PrivateKey::generate(req.algorithm)?;
        let certificate = self.client_certificate(
            &req.principal,
            &req.principal.name,
            req.days,
            key.key_pair(),
            req.algorithm.is_rsa(),
        )?;
        Ok(CertifiedKey { certificate, key })
    }

    pub(crate) fn client_certificate(
        &self,
        principal: &PrincipalUri,
        cn: &str,
        days: u32,
        public: &impl PublicKeyData,
        rsa: bool,
    ) -> Result<Certificate> {
        principal.validate()?;
        let mut params = leaf_params(cn, days, rsa)?;
        params.subject_alt_names = vec![uri_san(&principal.to_string())?];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(&params, public)
    }
}
