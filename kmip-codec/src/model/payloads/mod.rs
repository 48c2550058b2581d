//! Request and response payloads (KMIP 1.4 section 4, KMIP 2.1 section 6), typed per
//! Operation: every client-to-server operation of KMIP 1.0 to 2.1 that the OASIS profile
//! vectors use, and those the server is to implement (see `docs/KMIP-SUPPORT.md`). An operation
//! without a typed payload (Poll, Login, Logout, Delegated Login, Create / Join Split Key, Get /
//! Set Constraints, Set Defaults, Re-Provision, Process, Query Asynchronous Requests, Ping, and
//! any unknown operation) keeps its payload as raw TTLV, so it re-encodes losslessly and the
//! server can still answer Operation Not Supported.

/// Defines a payload holding only a Unique Identifier (optional in requests, where the ID
/// Placeholder stands in, required in responses).
macro_rules! uid_payload {
    ($(#[$m:meta])* $name:ident, optional) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            /// Unique Identifier (the ID Placeholder when absent).
            pub unique_identifier: Option<String>,
        }
        impl $crate::model::payloads::Payload for $name {
            fn read(
                f: &mut $crate::model::fields::Fields<'_>,
                _v: $crate::version::ProtocolVersion,
            ) -> $crate::error::Result<Self> {
                Ok(Self { unique_identifier: f.opt_text($crate::tags::Tag::UNIQUE_IDENTIFIER)? })
            }
            fn write(&self, out: &mut $crate::model::fields::Out, _v: $crate::version::ProtocolVersion) {
                out.opt_text($crate::tags::Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
            }
        }
    };
    ($(#[$m:meta])* $name:ident, required) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            /// Unique Identifier.
            pub unique_identifier: String,
        }
        impl $crate::model::payloads::Payload for $name {
            fn read(
                f: &mut $crate::model::fields::Fields<'_>,
                _v: $crate::version::ProtocolVersion,
            ) -> $crate::error::Result<Self> {
                Ok(Self { unique_identifier: f.req_text($crate::tags::Tag::UNIQUE_IDENTIFIER)? })
            }
            fn write(&self, out: &mut $crate::model::fields::Out, _v: $crate::version::ProtocolVersion) {
                out.text($crate::tags::Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
            }
        }
    };
}

mod attribute_ops;
mod certification;
mod crypto;
mod derivation;
mod discovery;
mod key_pairs;
mod lifecycle;
mod objects;
mod pkcs11;
mod session;
mod signing;
mod transfer;
mod usage;

pub use attribute_ops::{
    AddAttributeRequest, AddAttributeResponse, AdjustAttributeRequest, AdjustAttributeResponse,
    DeleteAttributeRequest, DeleteAttributeResponse, GetAttributeListRequest,
    GetAttributeListResponse, GetAttributesRequest, GetAttributesResponse, ModifyAttributeRequest,
    ModifyAttributeResponse, SetAttributeRequest, SetAttributeResponse,
};
pub use certification::{
    CertificationRequest, CertificationResponse, CertifyRequest, CertifyResponse, ReCertifyRequest,
    ReCertifyResponse, ValidateRequest, ValidateResponse,
};
pub use crypto::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, RngRetrieveRequest,
    RngRetrieveResponse, RngSeedRequest, RngSeedResponse,
};
pub use derivation::{DerivationParameters, DeriveKeyRequest, DeriveKeyResponse};
pub use discovery::{
    DiscoverVersionsRequest, DiscoverVersionsResponse, QueryRequest, QueryResponse,
};
pub use key_pairs::{
    CreateKeyPairRequest, CreateKeyPairResponse, KeyPairAttributes, ReKeyKeyPairRequest,
    ReKeyKeyPairResponse,
};
pub use lifecycle::{
    ActivateRequest, ActivateResponse, ArchiveRequest, ArchiveResponse, DestroyRequest,
    DestroyResponse, LocateRequest, LocateResponse, RecoverRequest, RecoverResponse, RevokeRequest,
    RevokeResponse,
};
pub use objects::{
    CreateRequest, CreateResponse, GetRequest, GetResponse, ReKeyRequest, ReKeyResponse,
    RegisterRequest, RegisterResponse,
};
pub use pkcs11::{Pkcs11FunctionId, Pkcs11Request, Pkcs11Response};
pub use session::{
    CancelRequest, CancelResponse, EndpointRolePayload, InteropRequest, InteropResponse,
    LogRequest, LogResponse, SetEndpointRoleRequest, SetEndpointRoleResponse,
};
pub use signing::{
    HashRequest, HashResponse, MacRequest, MacResponse, MacVerifyRequest, MacVerifyResponse,
    SignRequest, SignResponse, SignatureVerifyRequest, SignatureVerifyResponse, Streaming,
};
pub use transfer::{ExportRequest, ExportResponse, ImportRequest, ImportResponse};
pub use usage::{
    CheckFields, CheckRequest, CheckResponse, GetUsageAllocationRequest,
    GetUsageAllocationResponse, ObtainLeaseRequest, ObtainLeaseResponse,
};

use crate::enums::Operation;
use crate::error::Result;
use crate::model::fields::{Fields, Out, decode_struct};
use crate::tags::Tag;
use crate::ttlv::Ttlv;
use crate::version::ProtocolVersion;

/// A payload whose encoding may depend on the protocol version.
pub(crate) trait Payload: Sized {
    /// Reads the payload's fields (the caller checks nothing is left over).
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self>;
    /// Writes the fields in spec order, in the form of `v`.
    fn write(&self, out: &mut Out, v: ProtocolVersion);
}

fn decode_payload<P: Payload>(item: &Ttlv, v: ProtocolVersion) -> Result<P> {
    decode_struct(item, |f| P::read(f, v))
}

fn encode_payload<P: Payload>(p: &P, tag: Tag, v: ProtocolVersion) -> Ttlv {
    let mut out = Out::new();
    p.write(&mut out, v);
    out.into_struct(tag)
}

macro_rules! payloads {
    ($( $variant:ident => $op:ident, $req:ty, $resp:ty; )*) => {
        /// A Request Payload, typed by Operation.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum RequestPayload {
            $(
                #[doc = concat!("`", stringify!($op), "`")]
                $variant($req),
            )*
            /// An operation without a typed payload: the Request Payload item as it came.
            Raw(Ttlv),
        }

        /// A Response Payload, typed by Operation.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum ResponsePayload {
            $(
                #[doc = concat!("`", stringify!($op), "`")]
                $variant($resp),
            )*
            /// An operation without a typed payload: the Response Payload item as it came.
            Raw(Ttlv),
        }

        impl RequestPayload {
            /// Decodes the Request Payload `item` of operation `op`.
            pub(crate) fn decode(op: Operation, item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
                $(
                    if op == Operation::$op {
                        return Ok(Self::$variant(decode_payload::<$req>(item, v)?));
                    }
                )*
                Ok(Self::Raw(item.clone()))
            }

            /// The Request Payload item in the form of `v`.
            pub(crate) fn encode(&self, v: ProtocolVersion) -> Ttlv {
                match self {
                    $( Self::$variant(p) => encode_payload(p, Tag::REQUEST_PAYLOAD, v), )*
                    Self::Raw(t) => t.clone(),
                }
            }

            /// The Request Payload item in the form of `v`, as it goes on the wire (before the
            /// message's [`crate::model::VersionFilter`]).
            pub fn to_ttlv(&self, v: ProtocolVersion) -> Ttlv {
                self.encode(v)
            }

            /// The operation of a typed payload (`None` for raw ones).
            pub fn operation(&self) -> Option<Operation> {
                match self {
                    $( Self::$variant(_) => Some(Operation::$op), )*
                    Self::Raw(_) => None,
                }
            }

            /// True when the payload was kept raw.
            pub fn is_raw(&self) -> bool {
                matches!(self, Self::Raw(_))
            }
        }

        impl ResponsePayload {
            /// Decodes the Response Payload `item` of operation `op`.
            pub(crate) fn decode(op: Operation, item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
                $(
                    if op == Operation::$op {
                        return Ok(Self::$variant(decode_payload::<$resp>(item, v)?));
                    }
                )*
                Ok(Self::Raw(item.clone()))
            }

            /// The Response Payload item in the form of `v`.
            pub(crate) fn encode(&self, v: ProtocolVersion) -> Ttlv {
                match self {
                    $( Self::$variant(p) => encode_payload(p, Tag::RESPONSE_PAYLOAD, v), )*
                    Self::Raw(t) => t.clone(),
                }
            }

            /// The Response Payload item in the form of `v`, as it goes on the wire (before the
            /// message's [`crate::model::VersionFilter`]).
            pub fn to_ttlv(&self, v: ProtocolVersion) -> Ttlv {
                self.encode(v)
            }

            /// The operation of a typed payload (`None` for raw ones).
            pub fn operation(&self) -> Option<Operation> {
                match self {
                    $( Self::$variant(_) => Some(Operation::$op), )*
                    Self::Raw(_) => None,
                }
            }

            /// True when the payload was kept raw.
            pub fn is_raw(&self) -> bool {
                matches!(self, Self::Raw(_))
            }
        }

        $(
            impl From<$req> for RequestPayload {
                fn from(p: $req) -> Self {
                    Self::$variant(p)
                }
            }
            impl From<$resp> for ResponsePayload {
                fn from(p: $resp) -> Self {
                    Self::$variant(p)
                }
            }
        )*
    };
}

payloads! {
    DiscoverVersions => DISCOVER_VERSIONS, DiscoverVersionsRequest, DiscoverVersionsResponse;
    Query => QUERY, QueryRequest, QueryResponse;
    Create => CREATE, CreateRequest, CreateResponse;
    Register => REGISTER, RegisterRequest, RegisterResponse;
    Get => GET, GetRequest, GetResponse;
    GetAttributes => GET_ATTRIBUTES, GetAttributesRequest, GetAttributesResponse;
    GetAttributeList => GET_ATTRIBUTE_LIST, GetAttributeListRequest, GetAttributeListResponse;
    AddAttribute => ADD_ATTRIBUTE, AddAttributeRequest, AddAttributeResponse;
    ModifyAttribute => MODIFY_ATTRIBUTE, ModifyAttributeRequest, ModifyAttributeResponse;
    DeleteAttribute => DELETE_ATTRIBUTE, DeleteAttributeRequest, DeleteAttributeResponse;
    SetAttribute => SET_ATTRIBUTE, SetAttributeRequest, SetAttributeResponse;
    Locate => LOCATE, LocateRequest, LocateResponse;
    Activate => ACTIVATE, ActivateRequest, ActivateResponse;
    Revoke => REVOKE, RevokeRequest, RevokeResponse;
    Destroy => DESTROY, DestroyRequest, DestroyResponse;
    ReKey => RE_KEY, ReKeyRequest, ReKeyResponse;
    Encrypt => ENCRYPT, EncryptRequest, EncryptResponse;
    Decrypt => DECRYPT, DecryptRequest, DecryptResponse;
    RngRetrieve => RNG_RETRIEVE, RngRetrieveRequest, RngRetrieveResponse;
    RngSeed => RNG_SEED, RngSeedRequest, RngSeedResponse;
    CreateKeyPair => CREATE_KEY_PAIR, CreateKeyPairRequest, CreateKeyPairResponse;
    ReKeyKeyPair => RE_KEY_KEY_PAIR, ReKeyKeyPairRequest, ReKeyKeyPairResponse;
    DeriveKey => DERIVE_KEY, DeriveKeyRequest, DeriveKeyResponse;
    Certify => CERTIFY, CertifyRequest, CertifyResponse;
    ReCertify => RE_CERTIFY, ReCertifyRequest, ReCertifyResponse;
    Validate => VALIDATE, ValidateRequest, ValidateResponse;
    Check => CHECK, CheckRequest, CheckResponse;
    GetUsageAllocation => GET_USAGE_ALLOCATION, GetUsageAllocationRequest, GetUsageAllocationResponse;
    ObtainLease => OBTAIN_LEASE, ObtainLeaseRequest, ObtainLeaseResponse;
    Archive => ARCHIVE, ArchiveRequest, ArchiveResponse;
    Recover => RECOVER, RecoverRequest, RecoverResponse;
    AdjustAttribute => ADJUST_ATTRIBUTE, AdjustAttributeRequest, AdjustAttributeResponse;
    Sign => SIGN, SignRequest, SignResponse;
    SignatureVerify => SIGNATURE_VERIFY, SignatureVerifyRequest, SignatureVerifyResponse;
    Mac => MAC, MacRequest, MacResponse;
    MacVerify => MAC_VERIFY, MacVerifyRequest, MacVerifyResponse;
    Hash => HASH, HashRequest, HashResponse;
    Export => EXPORT, ExportRequest, ExportResponse;
    Import => IMPORT, ImportRequest, ImportResponse;
    Interop => INTEROP, InteropRequest, InteropResponse;
    Log => LOG, LogRequest, LogResponse;
    SetEndpointRole => SET_ENDPOINT_ROLE, SetEndpointRoleRequest, SetEndpointRoleResponse;
    Cancel => CANCEL, CancelRequest, CancelResponse;
    Pkcs11 => PKCS11, Pkcs11Request, Pkcs11Response;
}
