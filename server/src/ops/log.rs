//! Log (KMIP 2.1 section 6.1.29), read from its payload as TTLV.

use kmip_codec::model::ResponsePayload;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};
use tracing::info;

use super::{Ctx, OpError};

/// Longest Log Message kept in the server log, in characters.
const MAX_LOG_MESSAGE: usize = 256;

/// Log: writes the client's Log Message to the server log (printable characters only, cut to
/// [`MAX_LOG_MESSAGE`]), attributed to the principal.
pub(super) fn log(ctx: &Ctx<'_>, payload: &Ttlv) -> Result<ResponsePayload, OpError> {
    let Some(Value::TextString(message)) = payload.child(Tag::LOG_MESSAGE).map(|c| &c.value) else {
        return Err(OpError::MissingData("log message"));
    };
    let shown: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LOG_MESSAGE)
        .collect();
    info!(
        tenant = ctx.principal.tenant.as_deref().unwrap_or("-"),
        client = %ctx.principal.client,
        message = %shown,
        "client log message"
    );
    Ok(ResponsePayload::Raw(Ttlv::structure(
        Tag::RESPONSE_PAYLOAD,
        Vec::new(),
    )))
}
