//! The well-known attributes (KMIP 1.4 section 3, KMIP 2.1 section 4): tag, 1.x Attribute Name,
//! value shape, and the version that made it an attribute. A table, so it may grow past the
//! usual file size.

use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// How an attribute's value is encoded and which typed value it decodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Text,
    Integer,
    Enumeration,
    Boolean,
    DateTime,
    Interval,
    Bytes,
    Name,
    Link,
    Digest,
    CryptographicParameters,
    RevocationReason,
    ApplicationSpecificInformation,
    UsageLimits,
    AlternativeName,
    KeyValueLocation,
    RandomNumberGenerator,
    CryptographicDomainParameters,
    X509CertificateIdentifier,
    X509CertificateSubject,
    X509CertificateIssuer,
    CertificateIdentifier,
    CertificateSubject,
    CertificateIssuer,
}

/// One well-known attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttributeDef {
    /// Its tag (the 2.x encoding tags the value with it).
    pub tag: Tag,
    /// Its 1.x Attribute Name.
    pub name: &'static str,
    /// Its value's shape.
    pub shape: Shape,
    /// The first version in which it is an attribute.
    pub since: ProtocolVersion,
}

const fn def(tag: Tag, name: &'static str, shape: Shape, since: ProtocolVersion) -> AttributeDef {
    AttributeDef {
        tag,
        name,
        shape,
        since,
    }
}

const V10: ProtocolVersion = ProtocolVersion::V1_0;
const V11: ProtocolVersion = ProtocolVersion::V1_1;
const V12: ProtocolVersion = ProtocolVersion::V1_2;
const V13: ProtocolVersion = ProtocolVersion::V1_3;
const V14: ProtocolVersion = ProtocolVersion::V1_4;
const V20: ProtocolVersion = ProtocolVersion::V2_0;
const V21: ProtocolVersion = ProtocolVersion::V2_1;

/// Every attribute of KMIP 1.0 to 2.1 (KMIP 1.4 section 3, KMIP 2.1 section 4), each with a typed
/// value. Attributes outside this table (custom and vendor attributes, names this crate does not
/// know) still decode and re-encode losslessly, as raw values, in the form they arrived in.
pub(crate) static ATTRIBUTES: &[AttributeDef] = &[
    def(
        Tag::UNIQUE_IDENTIFIER,
        "Unique Identifier",
        Shape::Text,
        V10,
    ),
    def(Tag::NAME, "Name", Shape::Name, V10),
    def(Tag::OBJECT_TYPE, "Object Type", Shape::Enumeration, V10),
    def(
        Tag::CRYPTOGRAPHIC_ALGORITHM,
        "Cryptographic Algorithm",
        Shape::Enumeration,
        V10,
    ),
    def(
        Tag::CRYPTOGRAPHIC_LENGTH,
        "Cryptographic Length",
        Shape::Integer,
        V10,
    ),
    def(
        Tag::CRYPTOGRAPHIC_PARAMETERS,
        "Cryptographic Parameters",
        Shape::CryptographicParameters,
        V10,
    ),
    def(
        Tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS,
        "Cryptographic Domain Parameters",
        Shape::CryptographicDomainParameters,
        V10,
    ),
    def(
        Tag::CERTIFICATE_TYPE,
        "Certificate Type",
        Shape::Enumeration,
        V10,
    ),
    def(
        Tag::CERTIFICATE_LENGTH,
        "Certificate Length",
        Shape::Integer,
        V11,
    ),
    def(
        Tag::X_509_CERTIFICATE_IDENTIFIER,
        "X.509 Certificate Identifier",
        Shape::X509CertificateIdentifier,
        V11,
    ),
    def(
        Tag::X_509_CERTIFICATE_SUBJECT,
        "X.509 Certificate Subject",
        Shape::X509CertificateSubject,
        V11,
    ),
    def(
        Tag::X_509_CERTIFICATE_ISSUER,
        "X.509 Certificate Issuer",
        Shape::X509CertificateIssuer,
        V11,
    ),
    def(
        Tag::CERTIFICATE_IDENTIFIER,
        "Certificate Identifier",
        Shape::CertificateIdentifier,
        V10,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT,
        "Certificate Subject",
        Shape::CertificateSubject,
        V10,
    ),
    def(
        Tag::CERTIFICATE_ISSUER,
        "Certificate Issuer",
        Shape::CertificateIssuer,
        V10,
    ),
    def(
        Tag::DIGITAL_SIGNATURE_ALGORITHM,
        "Digital Signature Algorithm",
        Shape::Enumeration,
        V11,
    ),
    def(Tag::DIGEST, "Digest", Shape::Digest, V10),
    def(
        Tag::OPERATION_POLICY_NAME,
        "Operation Policy Name",
        Shape::Text,
        V10,
    ),
    def(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        "Cryptographic Usage Mask",
        Shape::Integer,
        V10,
    ),
    def(Tag::LEASE_TIME, "Lease Time", Shape::Interval, V10),
    def(Tag::USAGE_LIMITS, "Usage Limits", Shape::UsageLimits, V10),
    def(Tag::STATE, "State", Shape::Enumeration, V10),
    def(Tag::INITIAL_DATE, "Initial Date", Shape::DateTime, V10),
    def(
        Tag::ACTIVATION_DATE,
        "Activation Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::PROCESS_START_DATE,
        "Process Start Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::PROTECT_STOP_DATE,
        "Protect Stop Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::DEACTIVATION_DATE,
        "Deactivation Date",
        Shape::DateTime,
        V10,
    ),
    def(Tag::DESTROY_DATE, "Destroy Date", Shape::DateTime, V10),
    def(
        Tag::COMPROMISE_OCCURRENCE_DATE,
        "Compromise Occurrence Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::COMPROMISE_DATE,
        "Compromise Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::REVOCATION_REASON,
        "Revocation Reason",
        Shape::RevocationReason,
        V10,
    ),
    def(Tag::ARCHIVE_DATE, "Archive Date", Shape::DateTime, V10),
    def(Tag::OBJECT_GROUP, "Object Group", Shape::Text, V10),
    def(Tag::FRESH, "Fresh", Shape::Boolean, V11),
    def(Tag::LINK, "Link", Shape::Link, V10),
    def(
        Tag::APPLICATION_SPECIFIC_INFORMATION,
        "Application Specific Information",
        Shape::ApplicationSpecificInformation,
        V10,
    ),
    def(
        Tag::CONTACT_INFORMATION,
        "Contact Information",
        Shape::Text,
        V10,
    ),
    def(
        Tag::LAST_CHANGE_DATE,
        "Last Change Date",
        Shape::DateTime,
        V10,
    ),
    def(
        Tag::ALTERNATIVE_NAME,
        "Alternative Name",
        Shape::AlternativeName,
        V12,
    ),
    def(
        Tag::KEY_VALUE_PRESENT,
        "Key Value Present",
        Shape::Boolean,
        V12,
    ),
    def(
        Tag::KEY_VALUE_LOCATION,
        "Key Value Location",
        Shape::KeyValueLocation,
        V12,
    ),
    def(
        Tag::ORIGINAL_CREATION_DATE,
        "Original Creation Date",
        Shape::DateTime,
        V12,
    ),
    def(
        Tag::RANDOM_NUMBER_GENERATOR,
        "Random Number Generator",
        Shape::RandomNumberGenerator,
        V13,
    ),
    def(
        Tag::PKCS12_FRIENDLY_NAME,
        "PKCS#12 Friendly Name",
        Shape::Text,
        V14,
    ),
    def(Tag::DESCRIPTION, "Description", Shape::Text, V14),
    def(Tag::COMMENT, "Comment", Shape::Text, V14),
    def(Tag::SENSITIVE, "Sensitive", Shape::Boolean, V14),
    def(
        Tag::ALWAYS_SENSITIVE,
        "Always Sensitive",
        Shape::Boolean,
        V14,
    ),
    def(Tag::EXTRACTABLE, "Extractable", Shape::Boolean, V14),
    def(
        Tag::NEVER_EXTRACTABLE,
        "Never Extractable",
        Shape::Boolean,
        V14,
    ),
    // KMIP 2.x only: never emitted in a 1.x message.
    def(
        Tag::KEY_FORMAT_TYPE,
        "Key Format Type",
        Shape::Enumeration,
        V20,
    ),
    def(Tag::NIST_KEY_TYPE, "NIST Key Type", Shape::Enumeration, V20),
    def(
        Tag::OPAQUE_DATA_TYPE,
        "Opaque Data Type",
        Shape::Enumeration,
        V20,
    ),
    def(
        Tag::PROTECTION_LEVEL,
        "Protection Level",
        Shape::Enumeration,
        V20,
    ),
    def(
        Tag::PROTECTION_PERIOD,
        "Protection Period",
        Shape::Interval,
        V20,
    ),
    def(
        Tag::PROTECTION_STORAGE_MASK,
        "Protection Storage Mask",
        Shape::Integer,
        V20,
    ),
    def(Tag::QUANTUM_SAFE, "Quantum Safe", Shape::Boolean, V20),
    def(
        Tag::SHORT_UNIQUE_IDENTIFIER,
        "Short Unique Identifier",
        Shape::Bytes,
        V20,
    ),
    // Certificate Attributes (KMIP 2.1 section 4.6): each field is an attribute of its own.
    def(
        Tag::CERTIFICATE_SUBJECT_CN,
        "Certificate Subject CN",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_O,
        "Certificate Subject O",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_OU,
        "Certificate Subject OU",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_C,
        "Certificate Subject C",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_CN,
        "Certificate Issuer CN",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_O,
        "Certificate Issuer O",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_OU,
        "Certificate Issuer OU",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_C,
        "Certificate Issuer C",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_EMAIL,
        "Certificate Subject Email",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_ST,
        "Certificate Subject ST",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_L,
        "Certificate Subject L",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_UID,
        "Certificate Subject UID",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_SERIAL_NUMBER,
        "Certificate Subject Serial Number",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_TITLE,
        "Certificate Subject Title",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_DC,
        "Certificate Subject DC",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_SUBJECT_DN_QUALIFIER,
        "Certificate Subject DN Qualifier",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_EMAIL,
        "Certificate Issuer Email",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_ST,
        "Certificate Issuer ST",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_L,
        "Certificate Issuer L",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_UID,
        "Certificate Issuer UID",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_SERIAL_NUMBER,
        "Certificate Issuer Serial Number",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_TITLE,
        "Certificate Issuer Title",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_DC,
        "Certificate Issuer DC",
        Shape::Text,
        V20,
    ),
    def(
        Tag::CERTIFICATE_ISSUER_DN_QUALIFIER,
        "Certificate Issuer DN Qualifier",
        Shape::Text,
        V20,
    ),
    def(
        Tag::ROTATE_AUTOMATIC,
        "Rotate Automatic",
        Shape::Boolean,
        V21,
    ),
    def(Tag::ROTATE_DATE, "Rotate Date", Shape::DateTime, V21),
    def(
        Tag::ROTATE_GENERATION,
        "Rotate Generation",
        Shape::Integer,
        V21,
    ),
    def(
        Tag::ROTATE_INTERVAL,
        "Rotate Interval",
        Shape::Interval,
        V21,
    ),
    def(Tag::ROTATE_LATEST, "Rotate Latest", Shape::Boolean, V21),
    def(Tag::ROTATE_NAME, "Rotate Name", Shape::Text, V21),
    def(Tag::ROTATE_OFFSET, "Rotate Offset", Shape::Interval, V21),
];

/// The well-known attribute with `tag`.
pub(crate) fn by_tag(tag: Tag) -> Option<&'static AttributeDef> {
    ATTRIBUTES.iter().find(|d| d.tag == tag)
}

/// The well-known attribute whose 1.x name is exactly `name`.
pub(crate) fn by_name(name: &str) -> Option<&'static AttributeDef> {
    ATTRIBUTES.iter().find(|d| d.name == name)
}
