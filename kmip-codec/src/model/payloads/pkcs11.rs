//! PKCS#11 (KMIP 2.1 section 6.1.37): a PKCS#11 call carried over KMIP. The parameters are
//! opaque to KMIP (the PKCS#11 Profile defines their encoding) and may hold key material and
//! PINs: they are [`Bytes`] (zeroizing, redacted).

use super::Payload;
use crate::enums::{Pkcs11Function, Pkcs11ReturnCode};
use crate::error::Result;
use crate::model::fields::{Fields, Out, wrong_type};
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Value};
use crate::version::ProtocolVersion;

/// PKCS#11 Function (KMIP 2.1 section 7.26): an Enumeration for the functions PKCS#11 defines,
/// an Integer for vendor functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkcs11FunctionId {
    /// A PKCS#11 function (C_Initialize, C_GetInfo, ...).
    Standard(Pkcs11Function),
    /// A vendor function number.
    Vendor(i32),
}

impl Pkcs11FunctionId {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        let item = f.require(Tag::PKCS11_FUNCTION)?;
        match item.value {
            Value::Enumeration(e) => Ok(Self::Standard(Pkcs11Function(e))),
            Value::Integer(i) => Ok(Self::Vendor(i)),
            _ => Err(wrong_type(item, ItemType::Enumeration)),
        }
    }

    fn write(self, out: &mut Out) {
        match self {
            Self::Standard(e) => out.enumeration(Tag::PKCS11_FUNCTION, e.0),
            Self::Vendor(i) => out.int(Tag::PKCS11_FUNCTION, i),
        };
    }
}

/// PKCS#11 request (KMIP 2.1 section 6.1.37).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Request {
    /// PKCS#11 Interface (absent: the default v3.0 interface).
    pub pkcs11_interface: Option<String>,
    /// PKCS#11 Function.
    pub pkcs11_function: Pkcs11FunctionId,
    /// Correlation Value returned by the previous call.
    pub correlation_value: Option<Vec<u8>>,
    /// PKCS#11 Input Parameters.
    pub pkcs11_input_parameters: Option<Bytes>,
}

impl Payload for Pkcs11Request {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            pkcs11_interface: f.opt_text(Tag::PKCS11_INTERFACE)?,
            pkcs11_function: Pkcs11FunctionId::read(f)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            pkcs11_input_parameters: f.opt_bytes(Tag::PKCS11_INPUT_PARAMETERS)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::PKCS11_INTERFACE, self.pkcs11_interface.as_deref());
        self.pkcs11_function.write(out);
        out.opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_bytes(
                Tag::PKCS11_INPUT_PARAMETERS,
                self.pkcs11_input_parameters.as_ref(),
            );
    }
}

/// PKCS#11 response (KMIP 2.1 section 6.1.37).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Response {
    /// PKCS#11 Interface.
    pub pkcs11_interface: Option<String>,
    /// PKCS#11 Function performed.
    pub pkcs11_function: Pkcs11FunctionId,
    /// Correlation Value for the next call.
    pub correlation_value: Option<Vec<u8>>,
    /// PKCS#11 Output Parameters.
    pub pkcs11_output_parameters: Option<Bytes>,
    /// PKCS#11 Return Code (CK_RV).
    pub pkcs11_return_code: Pkcs11ReturnCode,
}

impl Payload for Pkcs11Response {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            pkcs11_interface: f.opt_text(Tag::PKCS11_INTERFACE)?,
            pkcs11_function: Pkcs11FunctionId::read(f)?,
            correlation_value: f.opt_plain_bytes(Tag::CORRELATION_VALUE)?,
            pkcs11_output_parameters: f.opt_bytes(Tag::PKCS11_OUTPUT_PARAMETERS)?,
            pkcs11_return_code: Pkcs11ReturnCode(f.req_enum(Tag::PKCS11_RETURN_CODE)?),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::PKCS11_INTERFACE, self.pkcs11_interface.as_deref());
        self.pkcs11_function.write(out);
        out.opt_plain_bytes(Tag::CORRELATION_VALUE, self.correlation_value.as_deref())
            .opt_bytes(
                Tag::PKCS11_OUTPUT_PARAMETERS,
                self.pkcs11_output_parameters.as_ref(),
            )
            .enumeration(Tag::PKCS11_RETURN_CODE, self.pkcs11_return_code.0);
    }
}
