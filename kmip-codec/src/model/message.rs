//! Request and Response Messages (KMIP 1.4 section 7, KMIP 2.1 section 8) and their batch items.
//!
//! A request is read in the protocol version of its own header and re-encodes in it; a response
//! is encoded in whichever version the caller names (the server passes the request's), and
//! every encoding ends with the [`VersionFilter`].

use crate::enums::{Operation, ResultReason, ResultStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::model::fields::{Fields, Out, decode_struct};
use crate::model::header::{RequestHeader, ResponseHeader};
use crate::model::payloads::{RequestPayload, ResponsePayload};
use crate::model::version_filter::VersionFilter;
use crate::tags::Tag;
use crate::ttlv::encode::{encode, encoded_len};
use crate::ttlv::{Ttlv, decode::decode};
use crate::version::ProtocolVersion;

/// Request Message (KMIP 1.4 section 7.1, KMIP 2.1 section 8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestMessage {
    /// Request Header.
    pub header: RequestHeader,
    /// Batch Items (Batch Count is their number).
    pub batch_items: Vec<RequestBatchItem>,
}

/// Request Batch Item (KMIP 1.4 section 7.2, KMIP 2.1 section 8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestBatchItem {
    /// Operation.
    pub operation: Operation,
    /// Ephemeral (2.0+).
    pub ephemeral: Option<bool>,
    /// Unique Batch Item ID, echoed in the response (vCenter: "QLKC" + 4-byte counter).
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// Request Payload.
    pub payload: RequestPayload,
    /// Message Extensions, raw.
    pub message_extensions: Vec<Ttlv>,
}

impl RequestBatchItem {
    /// A batch item for a typed payload (its operation is the payload's).
    pub fn new(payload: impl Into<RequestPayload>) -> Self {
        let payload = payload.into();
        Self {
            operation: payload.operation().unwrap_or(Operation(0)),
            ephemeral: None,
            unique_batch_item_id: None,
            payload,
            message_extensions: Vec::new(),
        }
    }

    /// Sets the Unique Batch Item ID (builder style).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.unique_batch_item_id = Some(id.into());
        self
    }

    fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        decode_struct(item, |f| {
            let operation = Operation(f.req_enum(Tag::OPERATION)?);
            Ok(Self {
                operation,
                ephemeral: f.opt_bool(Tag::EPHEMERAL)?,
                unique_batch_item_id: f.opt_plain_bytes(Tag::UNIQUE_BATCH_ITEM_ID)?,
                payload: f.req_with(Tag::REQUEST_PAYLOAD, |p| {
                    RequestPayload::decode(operation, p, v)
                })?,
                message_extensions: f
                    .take_all(Tag::MESSAGE_EXTENSION)
                    .into_iter()
                    .cloned()
                    .collect(),
            })
        })
    }

    fn encode(&self, v: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        out.enumeration(Tag::OPERATION, self.operation.0)
            .opt_bool(Tag::EPHEMERAL, self.ephemeral)
            .opt_plain_bytes(
                Tag::UNIQUE_BATCH_ITEM_ID,
                self.unique_batch_item_id.as_deref(),
            )
            .push(self.payload.encode(v))
            .raw(&self.message_extensions);
        out.into_struct(Tag::BATCH_ITEM)
    }
}

/// Response Message (KMIP 1.4 section 7.1, KMIP 2.1 section 8.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseMessage {
    /// Response Header.
    pub header: ResponseHeader,
    /// Batch Items (Batch Count is their number).
    pub batch_items: Vec<ResponseBatchItem>,
}

/// Response Batch Item (KMIP 1.4 section 7.2, KMIP 2.1 section 8.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseBatchItem {
    /// Operation (required when the request item had one, which it always does).
    pub operation: Option<Operation>,
    /// Unique Batch Item ID, echoed from the request item.
    pub unique_batch_item_id: Option<Vec<u8>>,
    /// Result Status.
    pub result_status: ResultStatus,
    /// Result Reason (required on failure). The typed value is the precise one; encoding maps
    /// it to the closest reason the response's version defines.
    pub result_reason: Option<ResultReason>,
    /// Result Message.
    pub result_message: Option<String>,
    /// Asynchronous Correlation Value (status Pending).
    pub asynchronous_correlation_value: Option<Vec<u8>>,
    /// Response Payload (absent on failure).
    pub payload: Option<ResponsePayload>,
    /// Message Extensions, raw.
    pub message_extensions: Vec<Ttlv>,
}

impl ResponseBatchItem {
    /// A successful item answering `request_item`'s operation and echoing its batch item ID.
    pub fn success(request_item: &RequestBatchItem, payload: impl Into<ResponsePayload>) -> Self {
        Self {
            operation: Some(request_item.operation),
            unique_batch_item_id: request_item.unique_batch_item_id.clone(),
            result_status: ResultStatus::SUCCESS,
            result_reason: None,
            result_message: None,
            asynchronous_correlation_value: None,
            payload: Some(payload.into()),
            message_extensions: Vec::new(),
        }
    }

    /// A failed item answering `request_item`, echoing its batch item ID.
    pub fn failure(
        request_item: &RequestBatchItem,
        reason: ResultReason,
        message: Option<String>,
    ) -> Self {
        Self {
            operation: Some(request_item.operation),
            unique_batch_item_id: request_item.unique_batch_item_id.clone(),
            result_status: ResultStatus::OPERATION_FAILED,
            result_reason: Some(reason),
            result_message: message,
            asynchronous_correlation_value: None,
            payload: None,
            message_extensions: Vec::new(),
        }
    }

    /// The bytes this item adds to a response encoded in `version`: exact, or more when the
    /// version filter drops some of it. Lets a server keep a response within a Maximum
    /// Response Size while it builds it, item by item.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        encoded_len(&self.encode(version))
    }

    fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        decode_struct(item, |f| {
            let operation = f.opt_enum(Tag::OPERATION)?.map(Operation);
            Ok(Self {
                operation,
                unique_batch_item_id: f.opt_plain_bytes(Tag::UNIQUE_BATCH_ITEM_ID)?,
                result_status: ResultStatus(f.req_enum(Tag::RESULT_STATUS)?),
                result_reason: f.opt_enum(Tag::RESULT_REASON)?.map(ResultReason),
                result_message: f.opt_text(Tag::RESULT_MESSAGE)?,
                asynchronous_correlation_value: f
                    .opt_plain_bytes(Tag::ASYNCHRONOUS_CORRELATION_VALUE)?,
                payload: f.opt_with(Tag::RESPONSE_PAYLOAD, |p| match operation {
                    Some(op) => ResponsePayload::decode(op, p, v),
                    None => Ok(ResponsePayload::Raw(p.clone())),
                })?,
                message_extensions: f
                    .take_all(Tag::MESSAGE_EXTENSION)
                    .into_iter()
                    .cloned()
                    .collect(),
            })
        })
    }

    fn encode(&self, v: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        out.opt_enum(Tag::OPERATION, self.operation.map(|o| o.0))
            .opt_plain_bytes(
                Tag::UNIQUE_BATCH_ITEM_ID,
                self.unique_batch_item_id.as_deref(),
            )
            .enumeration(Tag::RESULT_STATUS, self.result_status.0)
            .opt_enum(Tag::RESULT_REASON, self.result_reason.map(|r| r.0))
            .opt_text(Tag::RESULT_MESSAGE, self.result_message.as_deref())
            .opt_plain_bytes(
                Tag::ASYNCHRONOUS_CORRELATION_VALUE,
                self.asynchronous_correlation_value.as_deref(),
            )
            .push_opt(self.payload.as_ref().map(|p| p.encode(v)))
            .raw(&self.message_extensions);
        out.into_struct(Tag::BATCH_ITEM)
    }
}

/// Checks the batch items against the limit and the declared Batch Count, before any item is
/// decoded.
fn check_batch(items: &[&Ttlv], declared: i32, limits: &Limits) -> Result<()> {
    if items.len() > limits.max_batch_items {
        return Err(Error::new(ErrorKind::TooManyBatchItems {
            limit: limits.max_batch_items,
        }));
    }
    if usize::try_from(declared).ok() != Some(items.len()) {
        return Err(Error::new(ErrorKind::BatchCountMismatch {
            declared,
            actual: items.len(),
        }));
    }
    Ok(())
}

/// Batch Count for `n` items (bounded by the limits on decoding; saturates otherwise).
fn batch_count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn expect_tag(item: &Ttlv, tag: Tag) -> Result<()> {
    if item.tag == tag {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::UnexpectedTag(item.tag)))
    }
}

fn filtered(mut message: Ttlv, v: ProtocolVersion) -> Ttlv {
    VersionFilter::new(v).apply(&mut message);
    message
}

impl RequestMessage {
    /// A request in `version` with these batch items.
    pub fn new(version: ProtocolVersion, batch_items: Vec<RequestBatchItem>) -> Self {
        Self {
            header: RequestHeader::new(version),
            batch_items,
        }
    }

    /// The protocol version of the request (its header's).
    pub fn version(&self) -> ProtocolVersion {
        self.header.protocol_version
    }

    /// Decodes a Request Message tree under the default [`Limits`].
    pub fn from_ttlv(item: &Ttlv) -> Result<Self> {
        Self::from_ttlv_with(item, &Limits::default())
    }

    /// Decodes a Request Message tree; the batch is capped by `limits.max_batch_items`.
    pub fn from_ttlv_with(item: &Ttlv, limits: &Limits) -> Result<Self> {
        expect_tag(item, Tag::REQUEST_MESSAGE)?;
        decode_struct(item, |f: &mut Fields<'_>| {
            let (header, declared) = f.req_with(Tag::REQUEST_HEADER, |h| {
                decode_struct(h, RequestHeader::read)
            })?;
            let v = header.protocol_version;
            let items = f.take_all(Tag::BATCH_ITEM);
            check_batch(&items, declared, limits)?;
            let batch_items = items
                .into_iter()
                .map(|i| RequestBatchItem::decode(i, v))
                .collect::<Result<_>>()?;
            Ok(Self {
                header,
                batch_items,
            })
        })
    }

    /// The Protocol Version of a request tree that may not decode as a whole, so the server
    /// can answer even a malformed request in the client's version (vCenter needs 1.1).
    /// `None` when the header or its version is unreadable.
    pub fn peek_version(item: &Ttlv) -> Option<ProtocolVersion> {
        let version = item
            .child(Tag::REQUEST_HEADER)?
            .child(Tag::PROTOCOL_VERSION)?;
        crate::model::header::decode_version(version).ok()
    }

    /// The Protocol Version of a request whose bytes do not even decode as TTLV, read from
    /// where every KMIP request carries it: the first items are Request Message, Request
    /// Header, Protocol Version, then the Major and Minor Integers. `None` unless those bytes
    /// are exactly that shape.
    pub fn peek_version_bytes(bytes: &[u8]) -> Option<ProtocolVersion> {
        // tag (3) type (1) length (4) of each structure, then two 16-byte Integer items.
        const SHAPE: [(u32, u8); 3] = [(0x420078, 0x01), (0x420077, 0x01), (0x420069, 0x01)];
        let header_ok = |at: usize, tag: u32, ty: u8| {
            bytes
                .get(at..at + 4)
                .is_some_and(|h| u32::from_be_bytes([0, h[0], h[1], h[2]]) == tag && h[3] == ty)
        };
        for (i, (tag, ty)) in SHAPE.iter().enumerate() {
            if !header_ok(i * 8, *tag, *ty) {
                return None;
            }
        }
        let int = |at: usize, tag: u32| -> Option<i32> {
            if !header_ok(at, tag, 0x02) || bytes.get(at + 4..at + 8)? != [0, 0, 0, 4] {
                return None;
            }
            let v = bytes.get(at + 8..at + 12)?;
            Some(i32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        };
        Some(ProtocolVersion::new(int(24, 0x42006A)?, int(40, 0x42006B)?))
    }

    /// The Operation and Unique Batch Item ID of each batch item of a request tree that may
    /// not decode as a whole, for echoing them in an error response. Unreadable fields are
    /// `None`; at most `limits.max_batch_items` items are returned.
    pub fn peek_batch_items(
        item: &Ttlv,
        limits: &Limits,
    ) -> Vec<(Option<Operation>, Option<Vec<u8>>)> {
        item.children_with(Tag::BATCH_ITEM)
            .take(limits.max_batch_items)
            .map(|b| {
                let op = match b.child(Tag::OPERATION).map(|o| &o.value) {
                    Some(crate::ttlv::Value::Enumeration(e)) => Some(Operation(*e)),
                    _ => None,
                };
                let id = match b.child(Tag::UNIQUE_BATCH_ITEM_ID).map(|i| &i.value) {
                    Some(crate::ttlv::Value::ByteString(id)) => Some(id.as_slice().to_vec()),
                    _ => None,
                };
                (op, id)
            })
            .collect()
    }

    /// The Request Message tree, in the header's protocol version.
    pub fn to_ttlv(&self) -> Ttlv {
        let v = self.version();
        let mut out = Out::new();
        out.push(self.header.encode(batch_count(self.batch_items.len())));
        for b in &self.batch_items {
            out.push(b.encode(v));
        }
        filtered(out.into_struct(Tag::REQUEST_MESSAGE), v)
    }
}

impl ResponseMessage {
    /// A response with this header and these batch items.
    pub fn new(header: ResponseHeader, batch_items: Vec<ResponseBatchItem>) -> Self {
        Self {
            header,
            batch_items,
        }
    }

    /// Decodes a Response Message tree under the default [`Limits`].
    pub fn from_ttlv(item: &Ttlv) -> Result<Self> {
        Self::from_ttlv_with(item, &Limits::default())
    }

    /// Decodes a Response Message tree; the batch is capped by `limits.max_batch_items`.
    pub fn from_ttlv_with(item: &Ttlv, limits: &Limits) -> Result<Self> {
        expect_tag(item, Tag::RESPONSE_MESSAGE)?;
        decode_struct(item, |f: &mut Fields<'_>| {
            let (header, declared) = f.req_with(Tag::RESPONSE_HEADER, |h| {
                decode_struct(h, ResponseHeader::read)
            })?;
            let v = header.protocol_version;
            let items = f.take_all(Tag::BATCH_ITEM);
            check_batch(&items, declared, limits)?;
            let batch_items = items
                .into_iter()
                .map(|i| ResponseBatchItem::decode(i, v))
                .collect::<Result<_>>()?;
            Ok(Self {
                header,
                batch_items,
            })
        })
    }

    /// The length of this response encoded in `version`, without encoding it (an empty batch
    /// gives the length of the message's own fields, which each item adds to).
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        encoded_len(&self.to_ttlv(version))
    }

    /// The Response Message tree encoded in `version` (the request's): the header says
    /// `version`, attributes take that version's form, and the [`VersionFilter`] removes what
    /// it does not define.
    pub fn to_ttlv(&self, version: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        out.push(
            self.header
                .encode(version, batch_count(self.batch_items.len())),
        );
        for b in &self.batch_items {
            out.push(b.encode(version));
        }
        filtered(out.into_struct(Tag::RESPONSE_MESSAGE), version)
    }
}

/// Decodes a binary request (TTLV decoding, then the typed model) under `limits`.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<RequestMessage> {
    RequestMessage::from_ttlv_with(&decode(bytes, limits)?, limits)
}

/// Encodes a request to binary TTLV in its own protocol version.
pub fn encode_request(request: &RequestMessage) -> Vec<u8> {
    encode(&request.to_ttlv())
}

/// Decodes a binary response under `limits`.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<ResponseMessage> {
    ResponseMessage::from_ttlv_with(&decode(bytes, limits)?, limits)
}

/// Encodes a response to binary TTLV in the protocol version of its header (set it to the
/// request's).
pub fn encode_response(response: &ResponseMessage) -> Vec<u8> {
    encode(&response.to_ttlv(response.header.protocol_version))
}
