//! Signatures, MACs and hashes: Sign (KMIP 1.4 section 4.31, KMIP 2.1 section 6.1.55), Signature
//! Verify (4.32 / 6.1.56), MAC (4.33 / 6.1.32), MAC Verify (4.34 / 6.1.33) and Hash (4.37 /
//! 6.1.24). Each can run in one part or in several (Correlation Value, Init / Final Indicator,
//! KMIP 1.4 sections 2.1.15-2.1.17).
//!
//! Data, MAC Data and Signature Data are [`Bytes`] (zeroizing, redacted): the data may be secret.

use super::Payload;
use crate::enums::ValidityIndicator;
use crate::error::Result;
use crate::model::fields::{Fielded, Fields, Out};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::Bytes;
use crate::version::ProtocolVersion;

/// The multi-part fields every request of this file ends with: Correlation Value, Init
/// Indicator, Final Indicator (KMIP 1.4 sections 2.1.15-2.1.17, KMIP 2.1 sections 7.8, 7.17,
/// 7.14).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Streaming {
    /// Correlation Value of a multi-part operation.
    pub correlation_value: Option<Vec<u8>>,
    /// Init Indicator: the first part.
    pub init_indicator: Option<bool>,
    /// Final Indicator: the last part.
    pub final_indicator: Option<bool>,
}

impl Streaming {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            init_indicator: f.opt_bool(Tag::INIT_INDICATOR)?,
            final_indicator: f.opt_bool(Tag::FINAL_INDICATOR)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_bool(Tag::INIT_INDICATOR, self.init_indicator)
            .opt_bool(Tag::FINAL_INDICATOR, self.final_indicator);
    }
}

fn read_params(f: &mut Fields<'_>) -> Result<Option<CryptographicParameters>> {
    f.opt_with(
        Tag::CRYPTOGRAPHIC_PARAMETERS,
        CryptographicParameters::decode,
    )
}

fn write_params(out: &mut Out, p: Option<&CryptographicParameters>) {
    out.push_opt(p.map(|p| p.encode(Tag::CRYPTOGRAPHIC_PARAMETERS)));
}

/// Sign request (KMIP 1.4 section 4.31, KMIP 2.1 section 6.1.55).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignRequest {
    /// Unique Identifier of the signing key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data to sign.
    pub data: Option<Bytes>,
    /// Digested Data: the hash to sign instead of Data (1.4+).
    pub digested_data: Option<Vec<u8>>,
    /// Multi-part fields.
    pub streaming: Streaming,
}

impl Payload for SignRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: read_params(f)?,
            data: f.opt_bytes(Tag::DATA)?,
            digested_data: f.opt_plain_bytes(Tag::DIGESTED_DATA)?,
            streaming: Streaming::read(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_params(out, self.cryptographic_parameters.as_ref());
        out.opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::DIGESTED_DATA, self.digested_data.as_deref());
        self.streaming.write(out);
    }
}

/// Sign response (KMIP 1.4 section 4.31, KMIP 2.1 section 6.1.55).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// Signature Data (absent for a middle part).
    pub signature_data: Option<Bytes>,
    /// Correlation Value for the next part.
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for SignResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            signature_data: f.opt_bytes(Tag::SIGNATURE_DATA)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .opt_bytes(Tag::SIGNATURE_DATA, self.signature_data.as_ref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}

/// Signature Verify request (KMIP 1.4 section 4.32, KMIP 2.1 section 6.1.56).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureVerifyRequest {
    /// Unique Identifier of the verification key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data that was signed.
    pub data: Option<Bytes>,
    /// Digested Data: the hash that was signed (1.4+).
    pub digested_data: Option<Vec<u8>>,
    /// Signature Data to verify.
    pub signature_data: Option<Bytes>,
    /// Multi-part fields.
    pub streaming: Streaming,
}

impl Payload for SignatureVerifyRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: read_params(f)?,
            data: f.opt_bytes(Tag::DATA)?,
            digested_data: f.opt_plain_bytes(Tag::DIGESTED_DATA)?,
            signature_data: f.opt_bytes(Tag::SIGNATURE_DATA)?,
            streaming: Streaming::read(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_params(out, self.cryptographic_parameters.as_ref());
        out.opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::DIGESTED_DATA, self.digested_data.as_deref())
            .opt_bytes(Tag::SIGNATURE_DATA, self.signature_data.as_ref());
        self.streaming.write(out);
    }
}

/// Signature Verify response (KMIP 1.4 section 4.32, KMIP 2.1 section 6.1.56).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureVerifyResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// Validity Indicator: valid, invalid or unknown.
    pub validity_indicator: ValidityIndicator,
    /// Data recovered from the signature, for algorithms that allow it.
    pub data: Option<Bytes>,
    /// Correlation Value for the next part.
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for SignatureVerifyResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            validity_indicator: ValidityIndicator(f.req_enum(Tag::VALIDITY_INDICATOR)?),
            data: f.opt_bytes(Tag::DATA)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .enumeration(Tag::VALIDITY_INDICATOR, self.validity_indicator.0)
            .opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}

/// MAC request (KMIP 1.4 section 4.33, KMIP 2.1 section 6.1.32).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacRequest {
    /// Unique Identifier of the MAC key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data to MAC (absent for a middle part).
    pub data: Option<Bytes>,
    /// Multi-part fields.
    pub streaming: Streaming,
}

impl Payload for MacRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: read_params(f)?,
            data: f.opt_bytes(Tag::DATA)?,
            streaming: Streaming::read(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_params(out, self.cryptographic_parameters.as_ref());
        out.opt_bytes(Tag::DATA, self.data.as_ref());
        self.streaming.write(out);
    }
}

/// MAC response (KMIP 1.4 section 4.33, KMIP 2.1 section 6.1.32).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// MAC Data (absent for a middle part).
    pub mac_data: Option<Bytes>,
    /// Correlation Value for the next part.
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for MacResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            mac_data: f.opt_bytes(Tag::MAC_DATA)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .opt_bytes(Tag::MAC_DATA, self.mac_data.as_ref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}

/// MAC Verify request (KMIP 1.4 section 4.34, KMIP 2.1 section 6.1.33).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacVerifyRequest {
    /// Unique Identifier of the MAC key (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Cryptographic Parameters (else the key's own).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Data that was MACed.
    pub data: Option<Bytes>,
    /// MAC Data to verify.
    pub mac_data: Option<Bytes>,
    /// Multi-part fields.
    pub streaming: Streaming,
}

impl Payload for MacVerifyRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: read_params(f)?,
            data: f.opt_bytes(Tag::DATA)?,
            mac_data: f.opt_bytes(Tag::MAC_DATA)?,
            streaming: Streaming::read(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_params(out, self.cryptographic_parameters.as_ref());
        out.opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_bytes(Tag::MAC_DATA, self.mac_data.as_ref());
        self.streaming.write(out);
    }
}

/// MAC Verify response (KMIP 1.4 section 4.34, KMIP 2.1 section 6.1.33).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacVerifyResponse {
    /// Unique Identifier of the key used.
    pub unique_identifier: String,
    /// Validity Indicator: valid, invalid or unknown.
    pub validity_indicator: ValidityIndicator,
    /// Correlation Value for the next part.
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for MacVerifyResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            validity_indicator: ValidityIndicator(f.req_enum(Tag::VALIDITY_INDICATOR)?),
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .enumeration(Tag::VALIDITY_INDICATOR, self.validity_indicator.0)
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}

/// Hash request (KMIP 1.4 section 4.37, KMIP 2.1 section 6.1.24).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashRequest {
    /// Cryptographic Parameters: the Hashing Algorithm.
    pub cryptographic_parameters: CryptographicParameters,
    /// Data to hash (absent for a middle part).
    pub data: Option<Bytes>,
    /// Multi-part fields.
    pub streaming: Streaming,
}

impl Payload for HashRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            cryptographic_parameters: f.req_with(
                Tag::CRYPTOGRAPHIC_PARAMETERS,
                CryptographicParameters::decode,
            )?,
            data: f.opt_bytes(Tag::DATA)?,
            streaming: Streaming::read(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        write_params(out, Some(&self.cryptographic_parameters));
        out.opt_bytes(Tag::DATA, self.data.as_ref());
        self.streaming.write(out);
    }
}

/// Hash response (KMIP 1.4 section 4.37, KMIP 2.1 section 6.1.24).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashResponse {
    /// Data: the digest (absent for a middle part).
    pub data: Option<Bytes>,
    /// Correlation Value for the next part.
    pub correlation_value: Option<Vec<u8>>,
}

impl Payload for HashResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            data: f.opt_bytes(Tag::DATA)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_bytes(Tag::DATA, self.data.as_ref())
            .opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref());
    }
}
