//! Operations about the conversation rather than a managed object: Interop (KMIP 2.1 section
//! 6.1.26), Log (6.1.29), Set Endpoint Role (6.1.54) and Cancel (KMIP 1.4 section 4.27, KMIP
//! 2.1 section 6.1.5).

use super::Payload;
use crate::enums::{CancellationResult, EndpointRole, InteropFunction};
use crate::error::Result;
use crate::model::fields::{Fields, Out};
use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// Defines a payload without fields.
macro_rules! empty_payload {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl Payload for $name {
            fn read(_f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
                Ok(Self)
            }
            fn write(&self, _out: &mut Out, _v: ProtocolVersion) {}
        }
    };
}

/// Interop request (KMIP 2.1 section 6.1.26): a test harness tells a test server that a test
/// case begins, ends or resets. The section says a production server SHALL NOT offer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteropRequest {
    /// Interop Function: Begin, End or Reset.
    pub interop_function: InteropFunction,
    /// Interop Identifier: the test case.
    pub interop_identifier: String,
}

impl Payload for InteropRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            interop_function: InteropFunction(f.req_enum(Tag::INTEROP_FUNCTION)?),
            interop_identifier: f.req_text(Tag::INTEROP_IDENTIFIER)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.enumeration(Tag::INTEROP_FUNCTION, self.interop_function.0)
            .text(Tag::INTEROP_IDENTIFIER, &self.interop_identifier);
    }
}

empty_payload!(
    /// Interop response (KMIP 2.1 section 6.1.26): no fields.
    InteropResponse
);

/// Log request (KMIP 2.1 section 6.1.29).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRequest {
    /// Log Message: the text to write to the server's log.
    pub log_message: String,
}

impl Payload for LogRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            log_message: f.req_text(Tag::LOG_MESSAGE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::LOG_MESSAGE, &self.log_message);
    }
}

empty_payload!(
    /// Log response (KMIP 2.1 section 6.1.29): no fields.
    LogResponse
);

/// Set Endpoint Role request and response (KMIP 2.1 section 6.1.54): the role asked for, and the
/// role the server applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRolePayload {
    /// Endpoint Role.
    pub endpoint_role: EndpointRole,
}

impl Payload for EndpointRolePayload {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            endpoint_role: EndpointRole(f.req_enum(Tag::ENDPOINT_ROLE)?),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.enumeration(Tag::ENDPOINT_ROLE, self.endpoint_role.0);
    }
}

/// Set Endpoint Role request (KMIP 2.1 section 6.1.54).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetEndpointRoleRequest(pub EndpointRolePayload);
/// Set Endpoint Role response (KMIP 2.1 section 6.1.54).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetEndpointRoleResponse(pub EndpointRolePayload);

impl Payload for SetEndpointRoleRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        EndpointRolePayload::read(f, v).map(Self)
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        self.0.write(out, v);
    }
}

impl Payload for SetEndpointRoleResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        EndpointRolePayload::read(f, v).map(Self)
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        self.0.write(out, v);
    }
}

/// Cancel request (KMIP 1.4 section 4.27, KMIP 2.1 section 6.1.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CancelRequest {
    /// Asynchronous Correlation Value of the request to cancel.
    pub asynchronous_correlation_value: Vec<u8>,
}

impl Payload for CancelRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            asynchronous_correlation_value: f
                .req_bytes(Tag::ASYNCHRONOUS_CORRELATION_VALUE)?
                .as_slice()
                .to_vec(),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.plain_bytes(
            Tag::ASYNCHRONOUS_CORRELATION_VALUE,
            &self.asynchronous_correlation_value,
        );
    }
}

/// Cancel response (KMIP 1.4 section 4.27, KMIP 2.1 section 6.1.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelResponse {
    /// Asynchronous Correlation Value, as in the request.
    pub asynchronous_correlation_value: Vec<u8>,
    /// Cancellation Result.
    pub cancellation_result: CancellationResult,
}

impl Payload for CancelResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            asynchronous_correlation_value: f
                .req_bytes(Tag::ASYNCHRONOUS_CORRELATION_VALUE)?
                .as_slice()
                .to_vec(),
            cancellation_result: CancellationResult(f.req_enum(Tag::CANCELLATION_RESULT)?),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.plain_bytes(
            Tag::ASYNCHRONOUS_CORRELATION_VALUE,
            &self.asynchronous_correlation_value,
        )
        .enumeration(Tag::CANCELLATION_RESULT, self.cancellation_result.0);
    }
}
