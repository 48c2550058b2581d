//! Public Keys, Private Keys and Certificates (KMIP 1.4 sections 2.2.2-2.2.4): the server stores
//! and returns them, it does no cryptography with them. The whole object (its TTLV) is sealed
//! like any key material, so it comes back exactly as registered; the attributes it implies
//! (Cryptographic Algorithm and Length of a key block, Certificate Type, Length and the subject
//! and issuer names of an X.509 certificate, its X.509 Certificate Identifier, Subject and
//! Issuer) are set from it at registration; an X.509 certificate must be one DER certificate
//! with no trailing bytes (`kms-crypto`'s parser).

use hsm::KeyBytes;
use kmip_codec::enums::{CertificateType, ObjectType};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Attribute, AttributeValue, ManagedObject, X509CertificateIdentifier, X509CertificateIssuer,
    X509CertificateSubject,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value, decode::decode, encode::encode};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use zeroize::Zeroizing;

use super::OpError;

/// Object types kept this way.
pub(super) const TYPES: [ObjectType; 3] = [
    ObjectType::PUBLIC_KEY,
    ObjectType::PRIVATE_KEY,
    ObjectType::CERTIFICATE,
];

/// What registration takes from such an object.
pub(super) struct Prepared {
    /// The object's TTLV, to be sealed.
    pub(super) sealed_input: KeyBytes,
    /// Key Format Type of a key block (0 for a certificate).
    pub(super) key_format: u32,
    /// Cryptographic Algorithm and Length of a key block.
    pub(super) algorithm: Option<u32>,
    pub(super) length: Option<i32>,
    /// SHA-256 of the Key Material (its TTLV when a structure) or of the Certificate Value.
    pub(super) digest: Vec<u8>,
    /// Attributes the server sets from the object.
    pub(super) attributes: Vec<Attribute>,
}

/// Reads a Public Key, Private Key or Certificate being registered.
pub(super) fn prepare(object_type: ObjectType, object: &Ttlv) -> Result<Prepared, OpError> {
    if !TYPES.contains(&object_type) {
        return Err(OpError::InvalidField("object type not supported"));
    }
    let sealed_input = KeyBytes::copy_from(Zeroizing::new(encode(object)).as_slice());
    if object_type == ObjectType::CERTIFICATE {
        return certificate(object, sealed_input);
    }
    let block = object
        .child(Tag::KEY_BLOCK)
        .ok_or(OpError::MissingData("key block"))?;
    let key_format = match block.child(Tag::KEY_FORMAT_TYPE).map(|c| &c.value) {
        Some(Value::Enumeration(f)) => *f,
        _ => return Err(OpError::MissingData("key format type")),
    };
    let material = block
        .child(Tag::KEY_VALUE)
        .and_then(|v| v.child(Tag::KEY_MATERIAL))
        .ok_or(OpError::FeatureNotSupported("registering wrapped keys"))?;
    let digest = match &material.value {
        Value::ByteString(b) => Sha256::digest(b.as_slice()).to_vec(),
        _ => Sha256::digest(Zeroizing::new(encode(material)).as_slice()).to_vec(),
    };
    Ok(Prepared {
        sealed_input,
        key_format,
        algorithm: match block.child(Tag::CRYPTOGRAPHIC_ALGORITHM).map(|c| &c.value) {
            Some(Value::Enumeration(a)) => Some(*a),
            _ => None,
        },
        length: match block.child(Tag::CRYPTOGRAPHIC_LENGTH).map(|c| &c.value) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        },
        digest,
        attributes: Vec::new(),
    })
}

fn certificate(object: &Ttlv, sealed_input: KeyBytes) -> Result<Prepared, OpError> {
    let certificate_type = match object.child(Tag::CERTIFICATE_TYPE).map(|c| &c.value) {
        Some(Value::Enumeration(t)) => *t,
        _ => return Err(OpError::MissingData("certificate type")),
    };
    let der = match object.child(Tag::CERTIFICATE_VALUE).map(|c| &c.value) {
        Some(Value::ByteString(b)) => b.as_slice(),
        _ => return Err(OpError::MissingData("certificate value")),
    };
    let length = i32::try_from(der.len()).map_err(|_| OpError::InvalidField("certificate"))?;
    let mut attributes = vec![
        Attribute::new(
            Tag::CERTIFICATE_TYPE,
            AttributeValue::Enumeration(certificate_type),
        ),
        Attribute::new(Tag::CERTIFICATE_LENGTH, AttributeValue::Integer(length)),
    ];
    if certificate_type == CertificateType::X_509.0 {
        // Strict first (one DER certificate, no trailing bytes, within the size limit).
        let facts = kms_crypto::certificate::Certificate::parse(der)?;
        attributes.extend(x509_identity(&facts));
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|_| OpError::InvalidField("certificate"))?;
        names(cert.subject(), SUBJECT, &mut attributes);
        names(cert.issuer(), ISSUER, &mut attributes);
    }
    Ok(Prepared {
        sealed_input,
        key_format: 0,
        algorithm: None,
        length: None,
        digest: Sha256::digest(der).to_vec(),
        attributes,
    })
}

/// X.509 Certificate Identifier, Subject and Issuer (KMIP 1.4 sections 3.13-3.15): the issuer
/// and subject names as DER, and the serial number.
fn x509_identity(c: &kms_crypto::certificate::Certificate) -> [Attribute; 3] {
    [
        Attribute::new(
            Tag::X_509_CERTIFICATE_IDENTIFIER,
            AttributeValue::X509CertificateIdentifier(X509CertificateIdentifier {
                issuer_distinguished_name: c.issuer_der.clone(),
                certificate_serial_number: c.serial.clone(),
            }),
        ),
        Attribute::new(
            Tag::X_509_CERTIFICATE_SUBJECT,
            AttributeValue::X509CertificateSubject(X509CertificateSubject {
                subject_distinguished_name: c.subject_der.clone(),
                subject_alternative_names: Vec::new(),
            }),
        ),
        Attribute::new(
            Tag::X_509_CERTIFICATE_ISSUER,
            AttributeValue::X509CertificateIssuer(X509CertificateIssuer {
                issuer_distinguished_name: c.issuer_der.clone(),
                issuer_alternative_names: Vec::new(),
            }),
        ),
    ]
}

/// The Certificate Attributes set from a subject or issuer name: CN, O, OU, C.
type NameTags = [Tag; 4];
const SUBJECT: NameTags = [
    Tag::CERTIFICATE_SUBJECT_CN,
    Tag::CERTIFICATE_SUBJECT_O,
    Tag::CERTIFICATE_SUBJECT_OU,
    Tag::CERTIFICATE_SUBJECT_C,
];
const ISSUER: NameTags = [
    Tag::CERTIFICATE_ISSUER_CN,
    Tag::CERTIFICATE_ISSUER_O,
    Tag::CERTIFICATE_ISSUER_OU,
    Tag::CERTIFICATE_ISSUER_C,
];

fn names(name: &X509Name<'_>, tags: NameTags, out: &mut Vec<Attribute>) {
    let [cn, o, ou, c] = tags;
    let mut add = |tag: Tag, value: Option<&str>| {
        if let Some(v) = value {
            out.push(Attribute::new(
                tag,
                AttributeValue::TextString(v.to_owned()),
            ));
        }
    };
    add(
        cn,
        name.iter_common_name().next().and_then(|a| a.as_str().ok()),
    );
    add(
        o,
        name.iter_organization()
            .next()
            .and_then(|a| a.as_str().ok()),
    );
    add(
        ou,
        name.iter_organizational_unit()
            .next()
            .and_then(|a| a.as_str().ok()),
    );
    add(c, name.iter_country().next().and_then(|a| a.as_str().ok()));
}

/// The stored object back from its unsealed TTLV.
pub(super) fn rebuild(bytes: &[u8]) -> Result<ManagedObject, OpError> {
    let tree = decode(bytes, &Limits::DEFAULT).map_err(|_| OpError::CryptographicFailure)?;
    Ok(ManagedObject::Other(tree))
}
