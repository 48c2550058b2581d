//! The typed KMIP message model (KMIP 1.4 sections 2-4, 6-7; KMIP 2.1 sections 2-9): requests
//! and responses with typed headers, batch items, payloads, attributes and managed objects, on
//! top of the untyped [`crate::ttlv::Ttlv`] tree.
//!
//! - Decoding is by tag (field order inside a structure does not matter), strict on item types
//!   ([`crate::error::ErrorKind::UnexpectedType`] names the tag) and on unknown fields.
//! - One attribute representation ([`Attribute`]) reads and writes both the 1.x form (Attribute
//!   / Template-Attribute with names) and the 2.x form (Attributes tagged by attribute).
//! - Encoding is version-aware: a response is encoded in the request's protocol version and
//!   pruned by the one [`VersionFilter`] to what that version defines.
//! - Every object type has a typed form ([`Object`]); payloads carry a [`ManagedObject`], which
//!   keeps Certificates, Public / Private / Split / PGP Keys, Templates and Certificate Requests
//!   as their TTLV after checking it against that form. Operations without a typed payload (none
//!   the OASIS vectors use) are kept as raw TTLV and re-encode losslessly.
//!
//! ```
//! use kmip_codec::model::{decode_request, encode_response, RequestPayload};
//! # fn f(bytes: &[u8]) -> Result<(), kmip_codec::error::Error> {
//! let request = decode_request(bytes, &kmip_codec::limits::Limits::default())?;
//! for item in &request.batch_items {
//!     if let RequestPayload::Create(create) = &item.payload {
//!         let _alg = create.attributes.cryptographic_algorithm();
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod attributes;
pub mod capabilities;
pub(crate) mod fields;
pub mod header;
pub mod message;
pub mod objects;
pub mod parameters;
pub mod payloads;
pub mod version_filter;

pub use attributes::{
    AlternativeName, ApplicationSpecificInformation, Attribute, AttributeName, AttributeValue,
    Attributes, CertificateIdentifier, CertificateIssuer, CertificateSubject,
    CryptographicDomainParameters, Digest, KeyValueLocation, Link, Name, RevocationReason,
    RngParameters, TemplateAttribute, UsageLimits, X509CertificateIdentifier,
    X509CertificateIssuer, X509CertificateSubject,
};
pub use capabilities::{
    CapabilityInformation, DefaultsInformation, ExtensionInformation, ObjectDefaults,
    ProfileInformation, ProfileVersion, ProtectionStorageMasks, QueryInformation,
    ValidationInformation,
};
pub use header::{Authentication, Credential, Password, RequestHeader, ResponseHeader};
pub use message::{
    RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseMessage, decode_request,
    decode_response, encode_request, encode_response,
};
pub use objects::transparent::{
    TransparentDhPrivateKey, TransparentDhPublicKey, TransparentDsaPrivateKey,
    TransparentDsaPublicKey, TransparentEcPrivateKey, TransparentEcPublicKey,
    TransparentRsaPrivateKey, TransparentRsaPublicKey, TransparentSymmetricKey,
};
pub use objects::{
    Certificate, CertificateRequest, KeyBlock, KeyInformation, KeyMaterial, KeyValue,
    KeyWrappingData, KeyWrappingSpecification, ManagedObject, Object, OpaqueObject, PgpKey,
    PrivateKey, PublicKey, SecretData, SplitKey, SymmetricKey, Template, TransparentKey,
};
pub use parameters::CryptographicParameters;
pub use payloads::*;
pub use version_filter::VersionFilter;
