//! Cryptographic operations: Encrypt (KMIP 1.4 section 4.29, KMIP 2.1 section 6.1.17), Decrypt
//! (4.30 / 6.1.11), RNG Retrieve (4.35 / 6.1.49), RNG Seed (4.36 / 6.1.50).
//!
//! Data fields may be plaintext or random secrets: they are [`Bytes`] (zeroizing, redacted).

use super::Payload;
use crate::error::Result;
use crate::model::fields::{Fielded, Fields, Out};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::Bytes;
use crate::version::ProtocolVersion;

/// Encrypt request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptRequest {
    /// Unique Identifier of the key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data: the plaintext.
    pub data: Option<Bytes>,
    /// IV/Counter/Nonce.
    pub iv_counter_nonce: Option<Vec<u8>>,
    /// Correlation Value of a streaming operation (1.3+).
    pub correlation_value: Option<Vec<u8>>,
    /// Init Indicator (1.3+).
    pub init_indicator: Option<bool>,
    /// Final Indicator (1.3+).
    pub final_indicator: Option<bool>,
    /// Authenticated Encryption Additional Data (1.4+).
    pub authenticated_encryption_additional_data: Option<Vec<u8>>,
}

impl Payload for EncryptRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: f.opt_with(
                Tag::CRYPTOGRAPHIC_PARAMETERS,
                CryptographicParameters::decode,
            )?,
            data: f.opt_bytes(Tag::DATA)?,
            iv_counter_nonce: f.opt_plain_bytes(Tag::IV_COUNTER_NONCE)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            init_indicator: f.opt_bool(Tag::INIT_INDICATOR)?,
            final_indicator: f.opt_bool(Tag::FINAL_INDICATOR)?,
            authenticated_encryption_additional_data: f
                .opt_plain_bytes(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .push_opt(
                self.cryptographic_parameters
                    .as_ref()
                    .map(|p| p.encode(Tag::CRYPTOGRAPHIC_PARAMETERS)),
            )
            .opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::IV_COUNTER_NONCE, self.iv_counter_nonce.as_deref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_bool(Tag::INIT_INDICATOR, self.init_indicator)
            .opt_bool(Tag::FINAL_INDICATOR, self.final_indicator)
            .opt_plain_bytes(
                Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                self.authenticated_encryption_additional_data.as_deref(),
            );
    }
}

/// Encrypt response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// Data: the ciphertext.
    pub data: Option<Bytes>,
    /// IV/Counter/Nonce the server generated.
    pub iv_counter_nonce: Option<Vec<u8>>,
    /// Correlation Value (1.3+).
    pub correlation_value: Option<Vec<u8>>,
    /// Authenticated Encryption Tag (1.4+).
    pub authenticated_encryption_tag: Option<Vec<u8>>,
}

impl Payload for EncryptResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            data: f.opt_bytes(Tag::DATA)?,
            iv_counter_nonce: f.opt_plain_bytes(Tag::IV_COUNTER_NONCE)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            authenticated_encryption_tag: f.opt_plain_bytes(Tag::AUTHENTICATED_ENCRYPTION_TAG)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::IV_COUNTER_NONCE, self.iv_counter_nonce.as_deref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_plain_bytes(
                Tag::AUTHENTICATED_ENCRYPTION_TAG,
                self.authenticated_encryption_tag.as_deref(),
            );
    }
}

/// Decrypt request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecryptRequest {
    /// Unique Identifier of the key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data: the ciphertext.
    pub data: Option<Bytes>,
    /// IV/Counter/Nonce.
    pub iv_counter_nonce: Option<Vec<u8>>,
    /// Correlation Value (1.3+).
    pub correlation_value: Option<Vec<u8>>,
    /// Init Indicator (1.3+).
    pub init_indicator: Option<bool>,
    /// Final Indicator (1.3+).
    pub final_indicator: Option<bool>,
    /// Authenticated Encryption Additional Data (1.4+).
    pub authenticated_encryption_additional_data: Option<Vec<u8>>,
    /// Authenticated Encryption Tag (1.4+).
    pub authenticated_encryption_tag: Option<Vec<u8>>,
}

impl Payload for DecryptRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: f.opt_with(
                Tag::CRYPTOGRAPHIC_PARAMETERS,
                CryptographicParameters::decode,
            )?,
            data: f.opt_bytes(Tag::DATA)?,
            iv_counter_nonce: f.opt_plain_bytes(Tag::IV_COUNTER_NONCE)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            init_indicator: f.opt_bool(Tag::INIT_INDICATOR)?,
            final_indicator: f.opt_bool(Tag::FINAL_INDICATOR)?,
            authenticated_encryption_additional_data: f
                .opt_plain_bytes(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)?,
            authenticated_encryption_tag: f.opt_plain_bytes(Tag::AUTHENTICATED_ENCRYPTION_TAG)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .push_opt(
                self.cryptographic_parameters
                    .as_ref()
                    .map(|p| p.encode(Tag::CRYPTOGRAPHIC_PARAMETERS)),
            )
            .opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::IV_COUNTER_NONCE, self.iv_counter_nonce.as_deref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_bool(Tag::INIT_INDICATOR, self.init_indicator)
            .opt_bool(Tag::FINAL_INDICATOR, self.final_indicator)
            .opt_plain_bytes(
                Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
                self.authenticated_encryption_additional_data.as_deref(),
            )
            .opt_plain_bytes(
                Tag::AUTHENTICATED_ENCRYPTION_TAG,
                self.authenticated_encryption_tag.as_deref(),
            );
    }
}

/// Decrypt response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecryptResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// Data: the plaintext.
    pub data: Option<Bytes>,
    /// Correlation Value (1.3+).
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for DecryptResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            data: f.opt_bytes(Tag::DATA)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}

/// RNG Retrieve request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RngRetrieveRequest {
    /// Data Length in bytes.
    pub data_length: i32,
}

impl Payload for RngRetrieveRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            data_length: f.req_int(Tag::DATA_LENGTH)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.int(Tag::DATA_LENGTH, self.data_length);
    }
}

/// RNG Retrieve response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RngRetrieveResponse {
    /// Data: the random bytes.
    pub data: Bytes,
}

impl Payload for RngRetrieveResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            data: f.req_bytes(Tag::DATA)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.bytes(Tag::DATA, &self.data);
    }
}

/// RNG Seed request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RngSeedRequest {
    /// Data: the seed.
    pub data: Bytes,
}

impl Payload for RngSeedRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            data: f.req_bytes(Tag::DATA)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.bytes(Tag::DATA, &self.data);
    }
}

/// RNG Seed response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RngSeedResponse {
    /// Data Length: how many seed bytes were used.
    pub data_length: i32,
}

impl Payload for RngSeedResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            data_length: f.req_int(Tag::DATA_LENGTH)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.int(Tag::DATA_LENGTH, self.data_length);
    }
}
