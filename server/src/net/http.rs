//! KMIP over HTTPS on the KMIP listener (KMIP Profiles 2.1, the HTTPS, XML and JSON message
//! encoding profiles, MSGENC-HTTPS / -XML / -JSON): `POST /kmip` on the same port, the same
//! mutual-TLS identity, the same pipeline, audit and limits as a TTLV connection.
//!
//! The body's `Content-Type` names its encoding, and the answer comes in the same one:
//! - `application/octet-stream`: binary TTLV;
//! - `text/xml` or `application/xml`: the KMIP XML encoding;
//! - `application/json`: the KMIP JSON encoding.
//!
//! XML and JSON bodies are parsed into TTLV under the codec's limits, then run through
//! `ops::pipeline::handle` exactly like a TTLV message; its TTLV answer is written back in the
//! request's encoding. Every KMIP outcome, failures included, is `200` with a KMIP response
//! (the protocol's errors live in the message); HTTP errors are for what is not a KMIP request:
//! `404` another path, `405` another method, `411` no `Content-Length`, `413` a body over the
//! limit, `415` another content type, `400` an XML or JSON body that is not a KMIP message. No
//! answer carries internal details.
//!
//! Limits: the declared `Content-Length` is checked before any byte of the body is read
//! (`max_message_size` for TTLV, [`TEXT_EXPANSION`] times it for XML and JSON, whose TTLV must
//! then fit `max_message_size` as well); the body is taken from the node's in-flight memory like
//! a TTLV frame and must arrive within the read timeout; headers within the idle timeout.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use kmip_codec::limits::Limits;
use kmip_codec::ttlv::{Ttlv, decode::decode, encode::encode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Mutex, watch};
use tokio::time::timeout;
use tracing::debug;

use super::PeerAddr;
use crate::config::NetLimits;
use crate::identity::{IdentityError, PeerCertificate};
use crate::kms::{ConnectionState, Kms};

/// The one path KMIP messages are posted to.
pub const PATH: &str = "/kmip";

/// How many times `max_message_size` an XML or JSON body may be (their text spells out every
/// tag and value; the message they encode must still fit `max_message_size`).
pub const TEXT_EXPANSION: usize = 8;

/// True when `first`, a connection's first byte, starts an HTTP method (GET, POST, PUT, PATCH,
/// DELETE, HEAD, OPTIONS, CONNECT, TRACE): a TTLV message starts with `0x42` (`B`), the first
/// byte of every KMIP tag, which no method does.
pub fn starts_request_line(first: u8) -> bool {
    matches!(first, b'G' | b'P' | b'D' | b'H' | b'O' | b'C' | b'T')
}

/// A body's encoding, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Binary TTLV (`application/octet-stream`).
    Ttlv,
    /// The KMIP XML encoding (`text/xml`, `application/xml`).
    Xml,
    /// The KMIP JSON encoding (`application/json`).
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters such as `charset` ignored), if any.
    pub fn of(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/octet-stream" => Some(Self::Ttlv),
            "text/xml" | "application/xml" => Some(Self::Xml),
            "application/json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The `Content-Type` of answers in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Ttlv => "application/octet-stream",
            Self::Xml => "text/xml",
            Self::Json => "application/json",
        }
    }

    fn max_body(self, max_message: usize) -> usize {
        match self {
            Self::Ttlv => max_message,
            Self::Xml | Self::Json => max_message.saturating_mul(TEXT_EXPANSION),
        }
    }

    /// The TTLV message a body holds, under `limits`.
    fn message(self, body: &[u8], limits: &Limits) -> Option<Vec<u8>> {
        let tree = match self {
            Self::Ttlv => return Some(body.to_vec()),
            Self::Xml => {
                let text = std::str::from_utf8(body).ok()?;
                kmip_codec::xml::from_xml_with(text, limits).ok()?
            }
            Self::Json => kmip_codec::json::from_json(body, limits).ok()?,
        };
        let bytes = encode(&tree);
        (bytes.len() <= limits.max_message_size).then_some(bytes)
    }

    /// The answer `ttlv` (as the pipeline wrote it) in this encoding.
    fn answer_body(self, ttlv: Vec<u8>) -> Option<Vec<u8>> {
        let text = |f: fn(&Ttlv) -> String| -> Option<Vec<u8>> {
            // The server's own answer: decoding it again cannot meet a limit it did not pass.
            let tree = decode(&ttlv, &Limits::DEFAULT.with_max_message_size(ttlv.len())).ok()?;
            Some(f(&tree).into_bytes())
        };
        match self {
            Self::Ttlv => Some(ttlv),
            Self::Xml => text(kmip_codec::xml::to_xml),
            Self::Json => text(kmip_codec::json::to_json),
        }
    }
}

/// What every request of one HTTPS connection runs with.
pub(super) struct HttpConnection {
    pub(super) kms: Arc<Kms>,
    pub(super) limits: Arc<NetLimits>,
    pub(super) peer: PeerAddr,
    pub(super) certificate: Result<PeerCertificate, IdentityError>,
    pub(super) state: Mutex<ConnectionState>,
}

/// Serves HTTP/1.1 on `io` (a TLS stream whose client sent an HTTP request line) until the
/// client closes, a timeout, or `shutdown` (then the request in flight finishes).
pub(super) async fn serve<S>(io: S, conn: HttpConnection, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let idle = conn.limits.idle_timeout;
    let conn = Arc::new(conn);
    let service = hyper::service::service_fn(move |request| {
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(answer(&conn, request).await) }
    });
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(http);
    tokio::select! {
        r = http.as_mut() => {
            if let Err(e) = r {
                debug!(error = %e, "KMIP over HTTPS connection ended");
            }
        }
        _ = shutdown.changed() => {
            http.as_mut().graceful_shutdown();
            let _ = timeout(idle, http).await;
        }
    }
}

/// Header buffer of one connection (hyper's minimum is 8 KiB).
const MAX_HEADER_BYTES: usize = 16 * 1024;

fn status(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Answers one HTTP request.
async fn answer(conn: &HttpConnection, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != PATH {
        return status(
            StatusCode::NOT_FOUND,
            "not found: KMIP is posted to /kmip\n",
        );
    }
    if request.method() != Method::POST {
        return status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    let Some(encoding) = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::of)
    else {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content type: application/octet-stream, text/xml or application/json\n",
        );
    };
    let Some(length) = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return status(StatusCode::LENGTH_REQUIRED, "content length required\n");
    };
    let max_message = conn.limits.max_message_size;
    if length > encoding.max_body(max_message) {
        return status(StatusCode::PAYLOAD_TOO_LARGE, "message too large\n");
    }
    let mut state = conn.state.lock().await;
    let read = async {
        state.memory.reserve(length).await;
        Limited::new(request.into_body(), length).collect().await
    };
    let body = match timeout(conn.limits.read_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            state.release();
            return status(
                StatusCode::BAD_REQUEST,
                "body longer than its content length\n",
            );
        }
        Err(_) => {
            state.release();
            return status(StatusCode::REQUEST_TIMEOUT, "request timed out\n");
        }
    };
    let limits = Limits::DEFAULT.with_max_message_size(max_message);
    let Some(message) = encoding.message(&body, &limits) else {
        state.release();
        return status(
            StatusCode::BAD_REQUEST,
            "not a KMIP message in that encoding\n",
        );
    };
    drop(body);
    let ttlv = crate::ops::pipeline::handle(
        &conn.kms,
        &conn.certificate,
        conn.peer,
        &message,
        &mut state,
    )
    .await;
    state.release();
    drop(state);
    match encoding.answer_body(ttlv) {
        Some(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(encoding.content_type()),
            );
            response
        }
        None => status(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttlv_never_looks_like_a_request_line() {
        assert!(
            !starts_request_line(0x42),
            "every KMIP tag starts with 0x42"
        );
        for method in [
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
        ] {
            assert!(starts_request_line(method.as_bytes()[0]), "{method}");
        }
    }

    #[test]
    fn content_types_name_the_encoding() {
        assert_eq!(
            Encoding::of("application/octet-stream"),
            Some(Encoding::Ttlv)
        );
        assert_eq!(Encoding::of("text/xml; charset=utf-8"), Some(Encoding::Xml));
        assert_eq!(Encoding::of("Application/XML"), Some(Encoding::Xml));
        assert_eq!(Encoding::of("application/json"), Some(Encoding::Json));
        assert_eq!(Encoding::of("text/plain"), None);
        assert_eq!(Encoding::of(""), None);
    }

    #[test]
    fn text_bodies_may_be_larger_but_their_message_may_not() {
        assert_eq!(Encoding::Ttlv.max_body(1000), 1000);
        assert_eq!(Encoding::Xml.max_body(1000), 1000 * TEXT_EXPANSION);
        let limits = Limits::DEFAULT.with_max_message_size(16);
        let xml = br#"<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/></ProtocolVersion></RequestHeader></RequestMessage>"#;
        assert_eq!(
            Encoding::Xml.message(xml, &limits),
            None,
            "over the message size"
        );
        let big = Limits::DEFAULT;
        let ttlv = Encoding::Xml.message(xml, &big).expect("parses");
        assert_eq!(ttlv.first(), Some(&0x42));
        assert_eq!(Encoding::Xml.message(b"<not kmip", &big), None);
        assert_eq!(Encoding::Json.message(b"{", &big), None);
    }
}
