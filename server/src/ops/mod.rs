//! KMIP operations: the message pipeline (decode, identity, batch items with ID Placeholder and
//! Batch Error Continuation, encode in the request's version), one file per group of
//! operations, and one error mapping (`error.rs`).

mod attribute_ops;
pub(crate) mod attrs;
mod audit;
mod check;
mod context;
mod create;
mod crypto;
mod discover;
pub mod error;
mod get;
mod lifecycle;
mod locate;
pub mod on_behalf;
mod pki;
pub(crate) mod protection;
pub(crate) mod state;
mod stream;

use kmip_codec::enums::{BatchErrorContinuationOption, Operation, ResultReason, ResultStatus};
use kmip_codec::model::{
    RequestBatchItem, RequestMessage, RequestPayload, ResponseBatchItem, ResponseHeader,
    ResponseMessage, ResponsePayload, encode_response,
};
use kmip_codec::ttlv::decode::decode;
use kmip_codec::version::ProtocolVersion;
use tracing::{debug, warn};

pub(crate) use context::Ctx;
pub use error::OpError;

use crate::identity::CertificateFacts;
use crate::kms::{Admission, Kms};
use crate::net::PeerAddr;

/// The version an answer uses when the request's own cannot be read at all.
const FALLBACK_VERSION: ProtocolVersion = ProtocolVersion::V1_0;

/// Answers one KMIP message. Never fails: every problem becomes a KMIP error response in the
/// request's protocol version (or KMIP 1.0 when even that cannot be read). Every answered batch
/// item has exactly one audit record, durable before the answer is returned; if the audit trail
/// cannot take them, every item is answered "audit trail unavailable" instead (fail-closed).
pub(crate) async fn handle_message(
    kms: &Kms,
    admission: Admission,
    certificate: Option<&CertificateFacts>,
    peer: PeerAddr,
    bytes: &[u8],
    linearized: bool,
) -> Vec<u8> {
    let now = now();
    let who = audit::Who::of(kms, &admission, certificate, peer);
    let tree = match decode(bytes, &kms.limits) {
        Ok(t) => t,
        Err(e) => {
            debug!(%peer, error = %e, "undecodable message");
            let version = RequestMessage::peek_version_bytes(bytes)
                .map_or(FALLBACK_VERSION, response_version);
            return answer_unparsed(kms, &who, version, now, invalid_message_items(&[])).await;
        }
    };
    let request = match RequestMessage::from_ttlv_with(&tree, &kms.limits) {
        Ok(r) => r,
        Err(e) => {
            debug!(%peer, error = %e, "invalid request message");
            let version =
                RequestMessage::peek_version(&tree).map_or(FALLBACK_VERSION, response_version);
            let items = RequestMessage::peek_batch_items(&tree, &kms.limits);
            return answer_unparsed(kms, &who, version, now, invalid_message_items(&items)).await;
        }
    };
    let version = response_version(request.version());
    // An audit trail that failed refuses everything until a record is durable again; the
    // refusal's own record is the probe.
    let degraded = !kms.audit().is_healthy();
    let (items, audits) = match &admission {
        Ok(_) if degraded => (fail_all(&request, &OpError::AuditUnavailable), Vec::new()),
        // A node that cannot confirm it sees every acknowledged change (cut off from the
        // majority) answers nothing from its store.
        Ok(_) if !linearized => (fail_all(&request, &OpError::ClusterUnavailable), Vec::new()),
        Ok(principal) => {
            let mut ctx = Ctx::new(kms, principal, &request.header, version, now);
            match ctx.check_credential() {
                Ok(()) => run_batch(&mut ctx, &who, &request).await,
                Err(e) => (fail_all(&request, &e), Vec::new()),
            }
        }
        Err(e) => {
            warn!(%peer, reason = %e, "request refused: peer not admitted");
            (
                fail_all(&request, &OpError::AuthenticationFailed),
                Vec::new(),
            )
        }
    };
    let events = items
        .iter()
        .enumerate()
        .filter_map(|(i, response)| {
            let audit = audits.get(i);
            if audit.is_some_and(audit::ItemAudit::recorded) {
                return None;
            }
            let object = audit.and_then(audit::ItemAudit::object);
            Some(who.item_event(request.batch_items.get(i), response, object))
        })
        .collect();
    if let Err(e) = kms.record(events).await {
        warn!(error = %e, "audit trail refused the records of a message; refusing it");
        return encode(
            kms,
            version,
            now,
            fail_all(&request, &OpError::AuditUnavailable),
        );
    }
    let outcomes: Vec<_> = items
        .iter()
        .map(|i| (i.operation, i.result_status))
        .collect();
    let encoded = encode_response(&ResponseMessage::new(
        ResponseHeader::new(version, now),
        items,
    ));
    match request.header.maximum_response_size {
        Some(max) if usize::try_from(max).is_ok_and(|m| encoded.len() > m) => encode(
            kms,
            version,
            now,
            fail_all(&request, &OpError::ResponseTooLarge),
        ),
        _ => {
            count(kms, outcomes);
            encoded
        }
    }
}

/// Answers a message that could not be parsed, after recording each of its answered items.
async fn answer_unparsed(
    kms: &Kms,
    who: &audit::Who,
    version: ProtocolVersion,
    now: i64,
    items: Vec<ResponseBatchItem>,
) -> Vec<u8> {
    let events = items
        .iter()
        .map(|i| who.item_event(None, i, None))
        .collect();
    if let Err(e) = kms.record(events).await {
        warn!(error = %e, "audit trail refused the record of an invalid message");
    }
    encode(kms, version, now, items)
}

/// Encodes an answer and counts its batch items in the metrics.
fn encode(kms: &Kms, version: ProtocolVersion, now: i64, items: Vec<ResponseBatchItem>) -> Vec<u8> {
    count(kms, items.iter().map(|i| (i.operation, i.result_status)));
    encode_response(&ResponseMessage::new(
        ResponseHeader::new(version, now),
        items,
    ))
}

/// Counts batch items by operation and result status.
fn count(kms: &Kms, outcomes: impl IntoIterator<Item = (Option<Operation>, ResultStatus)>) {
    for (operation, status) in outcomes {
        kms.metrics().kmip_item(
            operation.and_then(|o| o.name()).unwrap_or("Unknown"),
            status.name().unwrap_or("Unknown"),
        );
    }
}

/// The version to answer in: the request's own when the server speaks it, else the newest
/// the server speaks of the same major version.
fn response_version(requested: ProtocolVersion) -> ProtocolVersion {
    if ProtocolVersion::ALL_NEWEST_FIRST.contains(&requested) {
        return requested;
    }
    ProtocolVersion::ALL_NEWEST_FIRST
        .into_iter()
        .find(|v| v.major == requested.major && *v <= requested)
        .unwrap_or(FALLBACK_VERSION)
}

/// Runs the batch items; returns the answers and, per answered item, its audit state.
async fn run_batch(
    ctx: &mut Ctx<'_>,
    who: &audit::Who,
    request: &RequestMessage,
) -> (Vec<ResponseBatchItem>, Vec<audit::ItemAudit>) {
    let continuation = request
        .header
        .batch_error_continuation_option
        .unwrap_or(BatchErrorContinuationOption::STOP);
    let undo = continuation == BatchErrorContinuationOption::UNDO;
    if undo {
        ctx.journal = Some(std::sync::Mutex::new(Vec::new()));
    }
    let mut out = Vec::with_capacity(request.batch_items.len());
    let mut audits = Vec::with_capacity(request.batch_items.len());
    for item in &request.batch_items {
        ctx.audit = Some(std::sync::Mutex::new(audit::ItemAudit::new(who, item)));
        let result = dispatch(ctx, item).await;
        let failed = result.is_err();
        out.push(match result {
            Ok(payload) => ResponseBatchItem::success(item, payload),
            Err(e) => failure(item, &e),
        });
        if let Some(Ok(a)) = ctx.audit.take().map(std::sync::Mutex::into_inner) {
            audits.push(a);
        }
        // Stop (the default) and Undo both end the batch at the first failure; Undo also
        // restores what the earlier items wrote and reports them Operation Undone (KMIP 1.4
        // section 6.7). Should the undo itself fail, they stay reported as done.
        if failed && continuation != BatchErrorContinuationOption::CONTINUE {
            if undo {
                ctx.audit = Some(std::sync::Mutex::new(audit::ItemAudit::undo(who)));
                match ctx.undo().await {
                    Ok(()) => {
                        let done = out.len().saturating_sub(1);
                        for earlier in out.iter_mut().take(done) {
                            earlier.result_status = ResultStatus::OPERATION_UNDONE;
                        }
                    }
                    Err(e) => warn!(error = %e, "batch undo failed"),
                }
                ctx.audit = None;
            }
            break;
        }
    }
    (out, audits)
}

async fn dispatch(ctx: &mut Ctx<'_>, item: &RequestBatchItem) -> Result<ResponsePayload, OpError> {
    use RequestPayload as P;
    if item.payload.operation() != Some(item.operation) && !item.payload.is_raw() {
        return Err(OpError::InvalidMessage("payload does not match operation"));
    }
    // An operation the request's version does not define is not performed in it: the answer
    // could not carry its payload.
    if !item.operation.is_defined_in(ctx.version) {
        return Err(OpError::OperationNotSupported);
    }
    Ok(match &item.payload {
        P::DiscoverVersions(r) => discover::discover_versions(r).into(),
        P::Query(r) => discover::query(ctx, r).into(),
        P::Create(r) => create::create(ctx, r).await?.into(),
        P::Register(r) => create::register(ctx, r).await?.into(),
        P::ReKey(r) => create::rekey(ctx, r).await?.into(),
        P::Get(r) => get::get(ctx, r).await?.into(),
        P::GetAttributes(r) => attribute_ops::get_attributes(ctx, r)?.into(),
        P::GetAttributeList(r) => attribute_ops::get_attribute_list(ctx, r)?.into(),
        P::AddAttribute(r) => attribute_ops::add_attribute(ctx, r).await?.into(),
        P::ModifyAttribute(r) => attribute_ops::modify_attribute(ctx, r).await?.into(),
        P::DeleteAttribute(r) => attribute_ops::delete_attribute(ctx, r).await?.into(),
        P::SetAttribute(r) => attribute_ops::set_attribute(ctx, r).await?.into(),
        P::Locate(r) => locate::locate(ctx, r)?.into(),
        P::Activate(r) => lifecycle::activate(ctx, r).await?.into(),
        P::Revoke(r) => lifecycle::revoke(ctx, r).await?.into(),
        P::Destroy(r) => lifecycle::destroy(ctx, r).await?.into(),
        P::Encrypt(r) => crypto::encrypt(ctx, r).await?.into(),
        P::Decrypt(r) => crypto::decrypt(ctx, r).await?.into(),
        P::RngRetrieve(r) => crypto::rng_retrieve(ctx, r).await?.into(),
        P::RngSeed(_) => return Err(OpError::PermissionDenied),
        // Check and Log read their payload as TTLV.
        P::Check(_) => check::check(ctx, &item.payload.to_ttlv(ctx.version))?,
        P::Log(_) => check::log(ctx, &item.payload.to_ttlv(ctx.version))?,
        // Typed by the codec, not performed by the server: answered as unknown operations are.
        P::CreateKeyPair(_)
        | P::ReKeyKeyPair(_)
        | P::DeriveKey(_)
        | P::Certify(_)
        | P::ReCertify(_)
        | P::Validate(_)
        | P::GetUsageAllocation(_)
        | P::ObtainLease(_)
        | P::Archive(_)
        | P::Recover(_)
        | P::AdjustAttribute(_)
        | P::Sign(_)
        | P::SignatureVerify(_)
        | P::Mac(_)
        | P::MacVerify(_)
        | P::Hash(_)
        | P::Export(_)
        | P::Import(_)
        | P::Interop(_)
        | P::SetEndpointRole(_)
        | P::Cancel(_)
        | P::Pkcs11(_)
        | P::Raw(_) => return Err(OpError::OperationNotSupported),
    })
}

fn failure(item: &RequestBatchItem, e: &OpError) -> ResponseBatchItem {
    let (reason, message) = e.reason();
    match e {
        OpError::Store(_) | OpError::Keys(_) => {
            warn!(error = %e, op = ?item.operation, "operation failed")
        }
        _ => debug!(error = %e, op = ?item.operation, "operation refused"),
    }
    ResponseBatchItem::failure(item, reason, Some(message.to_owned()))
}

fn fail_all(request: &RequestMessage, e: &OpError) -> Vec<ResponseBatchItem> {
    request.batch_items.iter().map(|i| failure(i, e)).collect()
}

/// Invalid Message for every batch item we could identify (or one anonymous item).
fn invalid_message_items(items: &[(Option<Operation>, Option<Vec<u8>>)]) -> Vec<ResponseBatchItem> {
    let failed = |operation: Option<Operation>, id: Option<Vec<u8>>| ResponseBatchItem {
        operation,
        unique_batch_item_id: id,
        result_status: ResultStatus::OPERATION_FAILED,
        result_reason: Some(ResultReason::INVALID_MESSAGE),
        result_message: Some("invalid message".to_owned()),
        asynchronous_correlation_value: None,
        payload: None,
        message_extensions: Vec::new(),
    };
    if items.is_empty() {
        vec![failed(None, None)]
    } else {
        items
            .iter()
            .map(|(op, id)| failed(*op, id.clone()))
            .collect()
    }
}

/// Current time, Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
