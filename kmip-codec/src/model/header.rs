//! Message headers (KMIP 1.4 sections 6 and 7.2, KMIP 2.1 sections 8.2 and 9) and the
//! Authentication / Credential structures (KMIP 1.4 section 2.1.2, KMIP 2.1 section 9.11).
//!
//! Batch Count is not stored: it is checked against the batch items on decoding and computed
//! from them on encoding (see [`crate::model::message`]).

use std::fmt;

use zeroize::Zeroizing;

use crate::enums::{AttestationType, BatchErrorContinuationOption, CredentialType};
use crate::error::Result;
use crate::model::fields::{Fields, Out, decode_struct};
use crate::tags::Tag;
use crate::ttlv::Ttlv;
use crate::version::ProtocolVersion;

/// Protocol Version structure (KMIP 1.4 section 6.1, KMIP 2.1 section 9.19).
pub(crate) fn decode_version(item: &Ttlv) -> Result<ProtocolVersion> {
    decode_struct(item, |f| {
        Ok(ProtocolVersion::new(
            f.req_int(Tag::PROTOCOL_VERSION_MAJOR)?,
            f.req_int(Tag::PROTOCOL_VERSION_MINOR)?,
        ))
    })
}

/// The Protocol Version structure for `v`.
pub(crate) fn encode_version(v: ProtocolVersion) -> Ttlv {
    let mut out = Out::new();
    out.int(Tag::PROTOCOL_VERSION_MAJOR, v.major)
        .int(Tag::PROTOCOL_VERSION_MINOR, v.minor);
    out.into_struct(Tag::PROTOCOL_VERSION)
}

/// Request Header (KMIP 1.4 section 7.2, KMIP 2.1 section 8.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// Protocol Version; the whole message is read and answered in it.
    pub protocol_version: ProtocolVersion,
    /// Maximum Response Size.
    pub maximum_response_size: Option<i32>,
    /// Client Correlation Value (1.4+).
    pub client_correlation_value: Option<String>,
    /// Server Correlation Value (1.4+).
    pub server_correlation_value: Option<String>,
    /// Asynchronous Indicator.
    pub asynchronous_indicator: Option<bool>,
    /// Attestation Capable Indicator (1.2+).
    pub attestation_capable_indicator: Option<bool>,
    /// Attestation Types (1.2+).
    pub attestation_types: Vec<AttestationType>,
    /// Authentication.
    pub authentication: Option<Authentication>,
    /// Batch Error Continuation Option (default Stop).
    pub batch_error_continuation_option: Option<BatchErrorContinuationOption>,
    /// Batch Order Option (default true).
    pub batch_order_option: Option<bool>,
    /// Time Stamp.
    pub time_stamp: Option<i64>,
}

impl RequestHeader {
    /// A header with only the protocol version.
    pub fn new(protocol_version: ProtocolVersion) -> Self {
        Self {
            protocol_version,
            maximum_response_size: None,
            client_correlation_value: None,
            server_correlation_value: None,
            asynchronous_indicator: None,
            attestation_capable_indicator: None,
            attestation_types: Vec::new(),
            authentication: None,
            batch_error_continuation_option: None,
            batch_order_option: None,
            time_stamp: None,
        }
    }

    /// Reads the header fields; returns it with the declared Batch Count.
    pub(crate) fn read(f: &mut Fields<'_>) -> Result<(Self, i32)> {
        let h = Self {
            protocol_version: f.req_with(Tag::PROTOCOL_VERSION, decode_version)?,
            maximum_response_size: f.opt_int(Tag::MAXIMUM_RESPONSE_SIZE)?,
            client_correlation_value: f.opt_text(Tag::CLIENT_CORRELATION_VALUE)?,
            server_correlation_value: f.opt_text(Tag::SERVER_CORRELATION_VALUE)?,
            asynchronous_indicator: f.opt_bool(Tag::ASYNCHRONOUS_INDICATOR)?,
            attestation_capable_indicator: f.opt_bool(Tag::ATTESTATION_CAPABLE_INDICATOR)?,
            attestation_types: f
                .all_enum(Tag::ATTESTATION_TYPE)?
                .into_iter()
                .map(AttestationType)
                .collect(),
            authentication: f.opt_with(Tag::AUTHENTICATION, Authentication::decode)?,
            batch_error_continuation_option: f
                .opt_enum(Tag::BATCH_ERROR_CONTINUATION_OPTION)?
                .map(BatchErrorContinuationOption),
            batch_order_option: f.opt_bool(Tag::BATCH_ORDER_OPTION)?,
            time_stamp: f.opt_datetime(Tag::TIME_STAMP)?,
        };
        Ok((h, f.req_int(Tag::BATCH_COUNT)?))
    }

    /// The header structure with `batch_count`.
    pub(crate) fn encode(&self, batch_count: i32) -> Ttlv {
        let mut out = Out::new();
        out.push(encode_version(self.protocol_version))
            .opt_int(Tag::MAXIMUM_RESPONSE_SIZE, self.maximum_response_size)
            .opt_text(
                Tag::CLIENT_CORRELATION_VALUE,
                self.client_correlation_value.as_deref(),
            )
            .opt_text(
                Tag::SERVER_CORRELATION_VALUE,
                self.server_correlation_value.as_deref(),
            )
            .opt_bool(Tag::ASYNCHRONOUS_INDICATOR, self.asynchronous_indicator)
            .opt_bool(
                Tag::ATTESTATION_CAPABLE_INDICATOR,
                self.attestation_capable_indicator,
            );
        for a in &self.attestation_types {
            out.enumeration(Tag::ATTESTATION_TYPE, a.0);
        }
        out.push_opt(self.authentication.as_ref().map(Authentication::encode))
            .opt_enum(
                Tag::BATCH_ERROR_CONTINUATION_OPTION,
                self.batch_error_continuation_option.map(|b| b.0),
            )
            .opt_bool(Tag::BATCH_ORDER_OPTION, self.batch_order_option)
            .opt_datetime(Tag::TIME_STAMP, self.time_stamp)
            .int(Tag::BATCH_COUNT, batch_count);
        out.into_struct(Tag::REQUEST_HEADER)
    }
}

/// Response Header (KMIP 1.4 section 7.2, KMIP 2.1 section 8.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHeader {
    /// Protocol Version (on encoding, the version the message is encoded in).
    pub protocol_version: ProtocolVersion,
    /// Time Stamp, seconds since the epoch.
    pub time_stamp: i64,
    /// Nonce (1.2+), raw.
    pub nonce: Option<Ttlv>,
    /// Server Hashed Password (2.0+).
    pub server_hashed_password: Option<Vec<u8>>,
    /// Attestation Types (1.2+).
    pub attestation_types: Vec<AttestationType>,
    /// Client Correlation Value (1.4+).
    pub client_correlation_value: Option<String>,
    /// Server Correlation Value (1.4+).
    pub server_correlation_value: Option<String>,
}

impl ResponseHeader {
    /// A header with the version and time stamp only.
    pub fn new(protocol_version: ProtocolVersion, time_stamp: i64) -> Self {
        Self {
            protocol_version,
            time_stamp,
            nonce: None,
            server_hashed_password: None,
            attestation_types: Vec::new(),
            client_correlation_value: None,
            server_correlation_value: None,
        }
    }

    /// Reads the header fields; returns it with the declared Batch Count.
    pub(crate) fn read(f: &mut Fields<'_>) -> Result<(Self, i32)> {
        let h = Self {
            protocol_version: f.req_with(Tag::PROTOCOL_VERSION, decode_version)?,
            time_stamp: f.req_datetime(Tag::TIME_STAMP)?,
            nonce: f.take(Tag::NONCE).cloned(),
            server_hashed_password: f.opt_plain_bytes(Tag::SERVER_HASHED_PASSWORD)?,
            attestation_types: f
                .all_enum(Tag::ATTESTATION_TYPE)?
                .into_iter()
                .map(AttestationType)
                .collect(),
            client_correlation_value: f.opt_text(Tag::CLIENT_CORRELATION_VALUE)?,
            server_correlation_value: f.opt_text(Tag::SERVER_CORRELATION_VALUE)?,
        };
        Ok((h, f.req_int(Tag::BATCH_COUNT)?))
    }

    /// The header structure in version `v` with `batch_count`.
    pub(crate) fn encode(&self, v: ProtocolVersion, batch_count: i32) -> Ttlv {
        let mut out = Out::new();
        out.push(encode_version(v))
            .value(
                Tag::TIME_STAMP,
                crate::ttlv::Value::DateTime(self.time_stamp),
            )
            .push_opt(self.nonce.clone())
            .opt_plain_bytes(
                Tag::SERVER_HASHED_PASSWORD,
                self.server_hashed_password.as_deref(),
            );
        for a in &self.attestation_types {
            out.enumeration(Tag::ATTESTATION_TYPE, a.0);
        }
        out.opt_text(
            Tag::CLIENT_CORRELATION_VALUE,
            self.client_correlation_value.as_deref(),
        )
        .opt_text(
            Tag::SERVER_CORRELATION_VALUE,
            self.server_correlation_value.as_deref(),
        )
        .int(Tag::BATCH_COUNT, batch_count);
        out.into_struct(Tag::RESPONSE_HEADER)
    }
}

/// Authentication (KMIP 1.4 section 6.6, KMIP 2.1 section 9.3): one or more Credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// The credentials, in order.
    pub credentials: Vec<Credential>,
}

impl Authentication {
    fn decode(item: &Ttlv) -> Result<Self> {
        decode_struct(item, |f| {
            let credentials = f.all_with(Tag::CREDENTIAL, Credential::decode)?;
            if credentials.is_empty() {
                return Err(crate::error::Error::new(
                    crate::error::ErrorKind::MissingField(Tag::CREDENTIAL),
                ));
            }
            Ok(Self { credentials })
        })
    }

    fn encode(&self) -> Ttlv {
        Ttlv::structure(
            Tag::AUTHENTICATION,
            self.credentials.iter().map(Credential::encode).collect(),
        )
    }
}

/// Credential (KMIP 1.4 section 2.1.2, KMIP 2.1 section 9.11). `Debug` shows only the
/// credential type and username: never a password or a raw credential value.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and Password.
    UsernameAndPassword {
        /// Username.
        username: String,
        /// Password.
        password: Option<Password>,
    },
    /// Any other credential type (Device, Attestation, One Time Password, Hashed Password,
    /// Ticket): the Credential Value kept raw.
    Other {
        /// Credential Type.
        credential_type: CredentialType,
        /// Credential Value, raw (may hold secrets: never logged).
        value: Ttlv,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UsernameAndPassword { username, password } => f
                .debug_struct("UsernameAndPassword")
                .field("username", username)
                .field("password", password)
                .finish(),
            Self::Other {
                credential_type, ..
            } => f
                .debug_struct("Other")
                .field("credential_type", &credential_type.0)
                .finish_non_exhaustive(),
        }
    }
}

impl Credential {
    fn decode(item: &Ttlv) -> Result<Self> {
        decode_struct(item, |f| {
            let credential_type = CredentialType(f.req_enum(Tag::CREDENTIAL_TYPE)?);
            let value = f.require(Tag::CREDENTIAL_VALUE)?;
            if credential_type != CredentialType::USERNAME_AND_PASSWORD {
                return Ok(Self::Other {
                    credential_type,
                    value: value.clone(),
                });
            }
            decode_struct(value, |f| {
                Ok(Self::UsernameAndPassword {
                    username: f.req_text(Tag::USERNAME)?,
                    password: f.opt_text(Tag::PASSWORD)?.map(Password::new),
                })
            })
        })
    }

    fn encode(&self) -> Ttlv {
        let mut out = Out::new();
        match self {
            Self::UsernameAndPassword { username, password } => {
                let mut v = Out::new();
                v.text(Tag::USERNAME, username)
                    .opt_text(Tag::PASSWORD, password.as_ref().map(Password::expose));
                out.enumeration(
                    Tag::CREDENTIAL_TYPE,
                    CredentialType::USERNAME_AND_PASSWORD.0,
                )
                .push(v.into_struct(Tag::CREDENTIAL_VALUE));
            }
            Self::Other {
                credential_type,
                value,
            } => {
                out.enumeration(Tag::CREDENTIAL_TYPE, credential_type.0)
                    .push(value.clone());
            }
        }
        out.into_struct(Tag::CREDENTIAL)
    }
}

/// A password: zeroized on drop, redacted in `Debug`, no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The password text, for the one place that verifies it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
