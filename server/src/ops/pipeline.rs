//! The KMIP request pipeline: one message from a peer with a verified certificate chain ->
//! linearize -> identity -> decode -> batch items (each in its own audit scope, through the
//! dispatch table in `ops/mod.rs`) -> records durable -> encode in the request's version.
//! The network layer calls [`handle`]; `Kms` is only the parts it works with.

use std::net::SocketAddr as PeerAddr;
use std::sync::Arc;
use std::time::Instant;

use kmip_codec::enums::{BatchErrorContinuationOption, Operation, ResultReason, ResultStatus};
use kmip_codec::model::{
    RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseHeader, ResponseMessage,
    encode_response,
};
use kmip_codec::ttlv::decode::decode;
use kmip_codec::version::ProtocolVersion;
use tracing::{debug, warn};

use super::budget::ResponseBudget;
use super::{Ctx, OpError, audit, dispatch, now};
use crate::command_log::AuditScope;
use crate::identity::{self, IdentityError, PeerCertificate};
use crate::kms::{Admission, ConnectionState, Kms};

/// Answers one KMIP message from a peer with a verified certificate chain, on a connection in
/// `state`.
pub async fn handle(
    kms: &Kms,
    certificate: &Result<PeerCertificate, IdentityError>,
    peer: PeerAddr,
    request: &[u8],
    state: &mut ConnectionState,
) -> Vec<u8> {
    let start = Instant::now();
    // First, so that the enrollment looked up below is current too.
    let linearized = kms.linearize().await.is_ok();
    let principal = match certificate {
        Ok(c) => identity::principal_of(c, kms.store()),
        Err(_) => Err(IdentityError::NoCertificate),
    };
    let response = handle_message(
        kms,
        principal,
        certificate.as_ref().ok(),
        peer,
        request,
        linearized,
        state,
    )
    .await;
    kms.metrics().kmip_message(start.elapsed());
    response
}

/// What every item of one message runs with: the service, the admitted principal, the
/// answer's version and the message's time.
struct Message<'a> {
    kms: &'a Kms,
    principal: &'a crate::identity::Principal,
    version: ProtocolVersion,
    now: i64,
}

/// The version an answer uses when the request's own cannot be read at all.
const FALLBACK_VERSION: ProtocolVersion = ProtocolVersion::V1_0;

/// Room kept per later batch item beyond its Response Too Large answer, for a refusal with a
/// longer fixed message (up to 66 bytes in all).
const REFUSAL_SLACK: usize = 48;

/// Answers one KMIP message. Never fails: every problem becomes a KMIP error response in the
/// request's protocol version (or KMIP 1.0 when even that cannot be read). Every answered batch
/// item has exactly one audit record, durable before the answer is returned; if the audit trail
/// cannot take them, every item is answered "audit trail unavailable" instead (fail-closed).
/// The answer is built within the smaller of the server's and the request's Maximum Response
/// Size ([`budget`]).
async fn handle_message(
    kms: &Kms,
    admission: Admission,
    certificate: Option<&PeerCertificate>,
    peer: PeerAddr,
    bytes: &[u8],
    linearized: bool,
    conn: &mut ConnectionState,
) -> Vec<u8> {
    let now = now();
    let facts = certificate.map(PeerCertificate::facts);
    let who = audit::Who::of(kms, &admission, facts, peer);
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
    // A pending pin claim of the certificate is proven by the request's Credential (not on a
    // node cut off from the majority: it could not commit the binding).
    let (admission, who) = match (admission, certificate) {
        (Err(IdentityError::NotPinned), Some(c)) if linearized => {
            let admission = match crate::identity::claim::redeem(
                kms.store(),
                &kms.log,
                kms.log_name(),
                c,
                peer,
                &request.header,
                now,
            )
            .await
            {
                Ok(true) => crate::identity::principal_of(c, &kms.store),
                Ok(false) => Err(IdentityError::NotPinned),
                Err(e) => Err(e),
            };
            let who = audit::Who::of(kms, &admission, facts, peer);
            (admission, who)
        }
        (admission, _) => (admission, who),
    };
    let mut budget = ResponseBudget::new(
        kms.quotas.limits().max_response_size,
        &request.header,
        version,
        now,
        &mut conn.memory,
    );
    // An audit trail that failed refuses everything until a record is durable again; the
    // refusal's own record is the probe.
    let degraded = !kms.audit().is_healthy();
    let mut lockouts = Vec::new();
    let (items, audits) = match &admission {
        Ok(_) if degraded => (fail_all(&request, &OpError::AuditUnavailable), Vec::new()),
        // A node that cannot confirm it sees every acknowledged change (cut off from the
        // majority) answers nothing from its store.
        Ok(_) if !linearized => (fail_all(&request, &OpError::ClusterUnavailable), Vec::new()),
        Ok(principal) => {
            match super::context::check_credential(
                kms,
                principal,
                &request.header,
                &mut conn.password,
                peer.ip(),
                &mut lockouts,
            )
            .await
            {
                Ok(()) => {
                    let message = Message {
                        kms,
                        principal,
                        version,
                        now,
                    };
                    let done = run_batch(message, &who, &request, &mut budget).await;
                    if done
                        .0
                        .iter()
                        .any(|i| i.result_status == ResultStatus::SUCCESS)
                    {
                        kms.activity.record(principal, now);
                    }
                    done
                }
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
    let mut events: Vec<_> = items
        .iter()
        .enumerate()
        .filter_map(|(i, response)| {
            let scope = audits.get(i);
            if scope.is_some_and(|s| s.carried()) {
                return None;
            }
            let object = scope.and_then(|s| s.object());
            Some(who.item_event(request.batch_items.get(i), response, object))
        })
        .collect();
    events.extend(
        lockouts
            .iter()
            .map(|scope| who.lockout_event(*scope, kms.quotas.limits())),
    );
    if let Err(e) = kms.audit().record_all(events).await {
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
    // The budget keeps the answer within the limit as it is built; this is the backstop.
    if encoded.len() > budget.limit() {
        kms.metrics().limit_refused("response_size");
        return encode(
            kms,
            version,
            now,
            fail_all(&request, &OpError::ResponseTooLarge),
        );
    }
    count(kms, outcomes);
    encoded
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
    if let Err(e) = kms.audit().record_all(events).await {
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

/// Runs the batch items within `budget`; returns the answers and, per answered item, its
/// audit state.
///
/// Before an item runs, its client must have a token left ([`crate::quota::rate`]) and the
/// budget must have room for more than refusing it, while keeping room to answer every
/// later item Response Too Large; after it ran, its answer must fit, else it is answered
/// Response Too Large (a change it made stays, as with any failure after a write). The
/// runtime gets a chance to serve others between items.
async fn run_batch(
    message: Message<'_>,
    who: &audit::Who,
    request: &RequestMessage,
    budget: &mut ResponseBudget<'_>,
) -> (Vec<ResponseBatchItem>, Vec<Arc<AuditScope>>) {
    let continuation = request
        .header
        .batch_error_continuation_option
        .unwrap_or(BatchErrorContinuationOption::STOP);
    let undo = continuation == BatchErrorContinuationOption::UNDO;
    let Message {
        kms,
        principal,
        version,
        now,
    } = message;
    let Some(first) = request.batch_items.first() else {
        return (Vec::new(), Vec::new());
    };
    // Every item runs in its own audit scope; the first one's is made with the context.
    let mut ctx = Ctx::new(
        kms,
        principal,
        version,
        now,
        Arc::new(who.item_scope(first)),
    );
    let ctx = &mut ctx;
    if undo {
        ctx.journal = Some(std::sync::Mutex::new(Vec::new()));
    }
    let refusals: Vec<usize> = request
        .batch_items
        .iter()
        .map(|i| refusal(i, &OpError::ResponseTooLarge).encoded_len(version) + REFUSAL_SLACK)
        .collect();
    let mut reserve: usize = refusals.iter().sum();
    let client =
        crate::store::records::client_key(ctx.principal.tenant.as_deref(), &ctx.principal.client);
    let mut out = Vec::with_capacity(request.batch_items.len());
    let mut audits = Vec::with_capacity(request.batch_items.len());
    for (i, (item, refused)) in request.batch_items.iter().zip(&refusals).enumerate() {
        if i > 0 {
            tokio::task::yield_now().await;
        }
        // From here on `reserve` keeps room for the items after this one.
        reserve = reserve.saturating_sub(*refused);
        if i > 0 {
            ctx.scope = Arc::new(who.item_scope(item));
        }
        let result = match budget.room(reserve, *refused) {
            Err(e) => Err(e),
            Ok(_) if !ctx.kms.quotas.admit_item(&client) => Err(OpError::RateLimited),
            Ok(room) => {
                // What the payload may take: the item's own fields are no larger than its
                // refusal's.
                ctx.response_room = room - refused;
                dispatch(ctx, item).await
            }
        };
        let answer = result.and_then(|payload| {
            let answer = ResponseBatchItem::success(item, payload);
            budget.take(answer.encoded_len(version), reserve)?;
            Ok(answer)
        });
        let failed = answer.is_err();
        out.push(match answer {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(limit) = e.limit() {
                    ctx.kms.metrics().limit_refused(limit);
                }
                let answer = failure(item, &e);
                budget.take_failure(answer.encoded_len(version));
                answer
            }
        });
        audits.push(ctx.scope.clone());
        // Stop (the default) and Undo both end the batch at the first failure; Undo also
        // restores what the earlier items wrote and reports them Operation Undone (KMIP 1.4
        // section 6.7). Should the undo itself fail, they stay reported as done.
        if failed && continuation != BatchErrorContinuationOption::CONTINUE {
            if undo {
                ctx.scope = Arc::new(who.undo_scope());
                match ctx.undo().await {
                    Ok(()) => {
                        let done = out.len().saturating_sub(1);
                        for earlier in out.iter_mut().take(done) {
                            earlier.result_status = ResultStatus::OPERATION_UNDONE;
                        }
                    }
                    Err(e) => warn!(error = %e, "batch undo failed"),
                }
            }
            break;
        }
    }
    (out, audits)
}

fn failure(item: &RequestBatchItem, e: &OpError) -> ResponseBatchItem {
    match e {
        OpError::Store(_) | OpError::Commit(_) | OpError::Keys(_) => {
            warn!(error = %e, op = ?item.operation, "operation failed")
        }
        _ => debug!(error = %e, op = ?item.operation, "operation refused"),
    }
    refusal(item, e)
}

/// The answer to `item` failed with `e` (nothing logged).
fn refusal(item: &RequestBatchItem, e: &OpError) -> ResponseBatchItem {
    let (reason, message) = e.reason();
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
