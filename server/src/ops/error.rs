//! Every failure of an operation, and the ONE place that maps it to a KMIP Result Reason and a
//! fixed message. The client sees only that reason and message; details go to tracing.

use kmip_codec::enums::ResultReason;

use crate::command_log::CommitError;
use crate::keys::KeyError;
use crate::policy::Denial;
use crate::store::{Rejection, StoreError};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// No such object for this principal: missing, or another tenant's (indistinguishable).
    #[error("object not found")]
    ObjectNotFound,
    /// The object exists but was destroyed (KMIP 2.x Object Destroyed).
    #[error("object destroyed")]
    ObjectDestroyed,
    /// The principal may not do this.
    #[error("permission denied")]
    PermissionDenied,
    /// Identity or credential check failed.
    #[error("authentication not successful")]
    AuthenticationFailed,
    /// A required field is missing.
    #[error("missing data: {0}")]
    MissingData(&'static str),
    /// A field has a value the server does not accept.
    #[error("invalid field: {0}")]
    InvalidField(&'static str),
    /// The request is malformed.
    #[error("invalid message: {0}")]
    InvalidMessage(&'static str),
    /// The operation is not implemented.
    #[error("operation not supported")]
    OperationNotSupported,
    /// A feature of an implemented operation is not supported.
    #[error("feature not supported: {0}")]
    FeatureNotSupported(&'static str),
    /// The requested Key Format Type cannot be produced.
    #[error("key format type not supported")]
    KeyFormatTypeNotSupported,
    /// The object's state forbids the operation.
    #[error("wrong key lifecycle state")]
    WrongKeyLifecycleState,
    /// The attribute is absent.
    #[error("attribute not found")]
    AttributeNotFound,
    /// The attribute cannot be set by a client.
    #[error("attribute read only")]
    AttributeReadOnly,
    /// The attribute allows one instance only.
    #[error("attribute single valued")]
    AttributeSingleValued,
    /// Set Attribute names an attribute that may have several instances.
    #[error("multi valued attribute")]
    MultiValuedAttribute,
    /// The Name is used by another object (or already by this one).
    #[error("non-unique name")]
    NonUniqueName,
    /// The object is Sensitive: its value leaves only wrapped (KMIP 1.4 section 3.48).
    #[error("sensitive object")]
    Sensitive,
    /// The object is not Extractable: its value never leaves (KMIP 1.4 section 3.50).
    #[error("object not extractable")]
    NotExtractable,
    /// Import of a Unique Identifier already in use (in any tenant: the answer does not say).
    #[error("object already exists")]
    ObjectAlreadyExists,
    /// A Sensitive object was asked wrapped under a key no tenant admin trusted for wrapping
    /// (see `ops::wrap_trust`).
    #[error("wrapping key not trusted")]
    UntrustedWrappingKey,
    /// A tenant admin asked to trust a key for wrapping that the rule refuses, and why (see
    /// `ops::wrap_trust`; the admin API only).
    #[error("not trustable for wrapping: {0}")]
    NotTrustable(&'static str),
    /// A change would turn Sensitive off or Extractable on (or delete either): protections only
    /// tighten (see `ops::protection`).
    #[error("protections only tighten")]
    ProtectionLoosened,
    /// An Encrypt input that would let Encrypt act as Decrypt (a client-chosen IV, ECB, a
    /// multi-part stream), from a caller that may not Decrypt with the key (see
    /// `crypto::refuse_decrypting_inputs`).
    #[error("needs decrypt: {0}")]
    NeedsDecrypt(&'static str),
    /// The key's usage mask does not allow the operation.
    #[error("incompatible cryptographic usage mask")]
    IncompatibleUsageMask,
    /// A cryptographic operation failed (e.g. authentication tag mismatch).
    #[error("cryptographic failure")]
    CryptographicFailure,
    /// A GCM tag length outside 12..=16 bytes (the OASIS vectors expect General Failure).
    #[error("invalid tag length")]
    InvalidTagLength,
    /// The answer would exceed the Maximum Response Size (the client's, or the server's own
    /// `limits.max_response_size` when smaller).
    #[error("response too large")]
    ResponseTooLarge,
    /// The node's in-flight memory (`limits.max_inflight_bytes`) has no room for the answer
    /// now.
    #[error("in-flight memory exhausted")]
    ServerBusy,
    /// The tenant holds as many objects as `limits.max_objects_per_tenant` allows.
    #[error("object quota reached")]
    ObjectQuota,
    /// The client sent more batch items than `limits.client_requests_per_second` allows.
    #[error("request rate limit reached")]
    RateLimited,
    /// A backup hold keeps the object's material (Destroy refused; Revoke stays possible).
    #[error("object held by a backup hold")]
    Held,
    /// Quantum Safe true for an object the server does not hold to be quantum safe
    /// (`quantum_safe`).
    #[error("not quantum safe")]
    NotQuantumSafe,
    /// The object kept changing under concurrent writers.
    #[error("concurrent modification")]
    Contention,
    /// The audit trail cannot take records: the request is refused (fail-closed).
    #[error("audit trail unavailable")]
    AuditUnavailable,
    /// This node cannot confirm it sees every acknowledged change (no quorum reachable).
    #[error("cluster unavailable")]
    ClusterUnavailable,
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A change was not committed (or its audit record is not yet durable).
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    /// The HSM or key hierarchy failed.
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    /// Software cryptography (`kms-crypto`: asymmetric keys, signatures, RSA-OAEP) refused an
    /// input or failed; its variants hold no key bytes.
    #[error("crypto: {0}")]
    Crypto(#[from] kms_crypto::Error),
}

impl From<Rejection> for OpError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::NameTaken => OpError::NonUniqueName,
            Rejection::StaleRevision | Rejection::BadRevision => OpError::Contention,
            Rejection::ObjectExists => OpError::Contention,
            // A Domain Key rotation moved under the write (KMIP operations never write Domain
            // Keys themselves): try again.
            Rejection::UnknownDomainKey
            | Rejection::DomainKeyVersion
            | Rejection::DomainKeyInUse => OpError::Contention,
            // Tenant vanished or mismatched mid-request: treat as absent.
            Rejection::NoSuchTenant | Rejection::TenantMismatch => OpError::ObjectNotFound,
            Rejection::TenantExists | Rejection::FingerprintTaken | Rejection::ClaimChanged => {
                OpError::PermissionDenied
            }
            Rejection::ObjectQuota => OpError::ObjectQuota,
            Rejection::Held => OpError::Held,
            // Hold commands are the admin API's; a KMIP write never meets these.
            Rejection::HoldExists | Rejection::NoSuchHold => OpError::PermissionDenied,
            Rejection::NoSuchObject => OpError::ObjectNotFound,
            Rejection::ObjectDestroyed => OpError::ObjectDestroyed,
            // A destroy's pending mark meets the key destroyed by someone else first.
            Rejection::NotPendingDestruction => OpError::WrongKeyLifecycleState,
            // The platform's own commands; a KMIP write never meets these.
            Rejection::NotDue
            | Rejection::Noticed
            | Rejection::RotationRunning
            | Rejection::NoSuchJob
            | Rejection::ExportApproval
            | Rejection::ExportNotReady => OpError::PermissionDenied,
        }
    }
}

/// The policy's refusals as KMIP answers (the one mapping; the client learns the reason only).
impl From<Denial> for OpError {
    fn from(d: Denial) -> Self {
        match d {
            Denial::Forbidden
            | Denial::TenantUnavailable
            | Denial::UnnamedTenant
            | Denial::NotSubscribed => OpError::PermissionDenied,
            // Another tenant's object is answered exactly like a missing one.
            Denial::NotFound => OpError::ObjectNotFound,
            Denial::Unauthenticated | Denial::ClientDisabled => OpError::AuthenticationFailed,
        }
    }
}

impl OpError {
    /// The limit (`kms_limit_refusals_total{limit}`) behind this refusal, if one is.
    pub fn limit(&self) -> Option<&'static str> {
        match self {
            OpError::ResponseTooLarge => Some("response_size"),
            OpError::ServerBusy => Some("memory"),
            OpError::ObjectQuota => Some("object_quota"),
            OpError::RateLimited => Some("request_rate"),
            _ => None,
        }
    }

    /// The Result Reason and the fixed message the client receives.
    pub fn reason(&self) -> (ResultReason, &'static str) {
        match self {
            OpError::ObjectNotFound => (ResultReason::OBJECT_NOT_FOUND, "object not found"),
            OpError::ObjectDestroyed => (ResultReason::OBJECT_DESTROYED, "object destroyed"),
            OpError::PermissionDenied => (ResultReason::PERMISSION_DENIED, "permission denied"),
            OpError::AuthenticationFailed => (
                ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
                "authentication not successful",
            ),
            OpError::MissingData(what) => (ResultReason::MISSING_DATA, what),
            OpError::InvalidField(what) => (ResultReason::INVALID_FIELD, what),
            OpError::InvalidMessage(what) => (ResultReason::INVALID_MESSAGE, what),
            OpError::OperationNotSupported => (
                ResultReason::OPERATION_NOT_SUPPORTED,
                "operation not supported",
            ),
            OpError::FeatureNotSupported(what) => (ResultReason::FEATURE_NOT_SUPPORTED, what),
            OpError::KeyFormatTypeNotSupported => (
                ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED,
                "key format type not supported",
            ),
            OpError::WrongKeyLifecycleState => (
                ResultReason::WRONG_KEY_LIFECYCLE_STATE,
                "wrong key lifecycle state",
            ),
            OpError::AttributeNotFound => {
                (ResultReason::ATTRIBUTE_NOT_FOUND, "attribute not found")
            }
            OpError::AttributeReadOnly => {
                (ResultReason::ATTRIBUTE_READ_ONLY, "attribute read only")
            }
            OpError::AttributeSingleValued => (
                ResultReason::ATTRIBUTE_SINGLE_VALUED,
                "attribute single valued",
            ),
            OpError::MultiValuedAttribute => (
                ResultReason::MULTI_VALUED_ATTRIBUTE,
                "multi valued attribute",
            ),
            OpError::NonUniqueName => (
                ResultReason::NON_UNIQUE_NAME_ATTRIBUTE,
                "name already in use",
            ),
            OpError::Sensitive => (ResultReason::SENSITIVE, "sensitive object"),
            OpError::NotExtractable => (ResultReason::NOT_EXTRACTABLE, "object not extractable"),
            OpError::ObjectAlreadyExists => {
                (ResultReason::OBJECT_ALREADY_EXISTS, "object already exists")
            }
            OpError::UntrustedWrappingKey => (
                ResultReason::SENSITIVE,
                "a Sensitive object is wrapped only under a key trusted for wrapping",
            ),
            OpError::NotTrustable(why) => (ResultReason::PERMISSION_DENIED, why),
            OpError::ProtectionLoosened => (
                ResultReason::ATTRIBUTE_READ_ONLY,
                "Sensitive may only become true and Extractable only false",
            ),
            OpError::NeedsDecrypt(what) => {
                (ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK, what)
            }
            OpError::IncompatibleUsageMask => (
                ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
                "incompatible cryptographic usage mask",
            ),
            OpError::CryptographicFailure => {
                (ResultReason::CRYPTOGRAPHIC_FAILURE, "cryptographic failure")
            }
            OpError::InvalidTagLength => (ResultReason::GENERAL_FAILURE, "invalid tag length"),
            OpError::ResponseTooLarge => (ResultReason::RESPONSE_TOO_LARGE, "response too large"),
            // KMIP 2.x Server Limit Exceeded; a 1.x client receives General Failure.
            OpError::ServerBusy => (
                ResultReason::SERVER_LIMIT_EXCEEDED,
                "server busy; try again",
            ),
            OpError::ObjectQuota => (
                ResultReason::SERVER_LIMIT_EXCEEDED,
                "object quota of the tenant reached",
            ),
            OpError::RateLimited => (
                ResultReason::SERVER_LIMIT_EXCEEDED,
                "request rate limit reached; slow down",
            ),
            // The Quantum Safe profile (QS-M-2) answers General Failure.
            OpError::NotQuantumSafe => (
                ResultReason::GENERAL_FAILURE,
                "not quantum safe: only symmetric keys of 256 bits or more may be Quantum Safe",
            ),
            OpError::Held => (
                ResultReason::PERMISSION_DENIED,
                "object held by a backup hold",
            ),
            OpError::Contention => (ResultReason::GENERAL_FAILURE, "try again"),
            OpError::AuditUnavailable | OpError::Commit(CommitError::AuditPending(_)) => {
                (ResultReason::GENERAL_FAILURE, "audit trail unavailable")
            }
            OpError::ClusterUnavailable => (
                ResultReason::GENERAL_FAILURE,
                "cluster unavailable; try again",
            ),
            OpError::Commit(CommitError::Cluster(reason)) => {
                (ResultReason::GENERAL_FAILURE, *reason)
            }
            OpError::Store(_) | OpError::Commit(CommitError::Store(_)) => {
                (ResultReason::GENERAL_FAILURE, "internal error")
            }
            OpError::Keys(_) => (ResultReason::GENERAL_FAILURE, "internal error"),
            OpError::Crypto(e) => crypto_reason(e),
        }
    }
}

/// The Result Reason of a `kms-crypto` failure, as each variant's documentation suggests.
fn crypto_reason(e: &kms_crypto::Error) -> (ResultReason, &'static str) {
    use kms_crypto::{CertificateError as C, Error as E, KeyError as K, WrapError as W};
    match e {
        E::TooLarge { .. } => (ResultReason::INVALID_FIELD, "input over the server's limit"),
        E::BadLength { .. } => (ResultReason::INVALID_FIELD, "input of a wrong length"),
        E::Unsupported { .. } => (
            ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
            "cryptographic parameter not supported",
        ),
        E::Missing(_) => (
            ResultReason::INVALID_FIELD,
            "cryptographic parameter missing",
        ),
        E::Invalid(_) => (
            ResultReason::INVALID_FIELD,
            "cryptographic parameter not usable with this key",
        ),
        E::Key(k) => match k {
            K::Malformed(_) | K::TrailingBytes(_) => {
                (ResultReason::INVALID_FIELD, "malformed key material")
            }
            K::RsaSize { .. } => (
                ResultReason::INVALID_FIELD,
                "RSA key size not accepted (2048 to 8192 bits; 2048, 3072 or 4096 generated)",
            ),
            K::RsaExponent => (
                ResultReason::INVALID_FIELD,
                "RSA public exponent not accepted",
            ),
            K::MultiPrime => (ResultReason::INVALID_FIELD, "multi-prime RSA not accepted"),
            K::Inconsistent => (ResultReason::INVALID_FIELD, "inconsistent key components"),
            K::Negative => (ResultReason::INVALID_FIELD, "negative key component"),
            K::UnsupportedAlgorithm => (
                ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                "key algorithm not supported",
            ),
            K::UnsupportedCurve => (
                ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
                "elliptic curve not supported",
            ),
            K::Format(_) => (
                ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED,
                "key format type not supported for this key",
            ),
        },
        E::WrongKeyType { .. } => (
            ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK,
            "the key is of another type than the operation needs",
        ),
        E::Certificate(c) => match c {
            C::Malformed | C::TrailingBytes => {
                (ResultReason::INVALID_FIELD, "malformed certificate")
            }
        },
        E::DecryptionFailed => (ResultReason::CRYPTOGRAPHIC_FAILURE, "cryptographic failure"),
        E::MessageTooLong => (ResultReason::INVALID_FIELD, "data too long for the key"),
        E::VerifyOnly(_) => (
            ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS,
            "hash accepted for verification only",
        ),
        E::SigningFailed => (ResultReason::CRYPTOGRAPHIC_FAILURE, "cryptographic failure"),
        E::CounterOverflow => (ResultReason::INVALID_FIELD, "keystream counter overflow"),
        E::Wrap(w) => match w {
            W::NotAByteString => (
                ResultReason::INVALID_FIELD,
                "no-encoding wrapping needs byte string key material",
            ),
            W::NotAKeyValue => (
                ResultReason::INVALID_FIELD,
                "unwrapped bytes are not a key value",
            ),
            W::NoKeyValue => (ResultReason::KEY_VALUE_NOT_PRESENT, "key value not present"),
        },
    }
}
