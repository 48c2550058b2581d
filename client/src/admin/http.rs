//! One HTTPS/1.1 exchange with the admin API: TCP connect, TLS with the client certificate,
//! one request, the whole answer read under a size cap, connection closed. Every step has a
//! timeout. Also the percent-encoding of path segments and query values.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::error::{ClientError, Result, Step};

/// Largest answer read: a full inventory page (1000 keys) is well under 1 MiB, a tenant bundle
/// of 10,000 keys under 64 MiB; the cap bounds what a misbehaving server can make the client
/// allocate.
pub(crate) const MAX_ANSWER: usize = 96 * 1024 * 1024;

/// Longest error text kept from an answer (the server's are short fixed strings).
const MAX_ERROR_TEXT: usize = 400;

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) addr: String,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) tls: TlsConnector,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("addr", &self.addr)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// An answer: status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The body as `T` for a 2xx status, else [`ClientError::Admin`] with the `error` text.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(self) -> Result<T> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body).map_err(ClientError::Json)
    }

    /// The body as text for a 2xx status.
    pub(crate) fn text(self) -> Result<String> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        String::from_utf8(self.body)
            .map_err(|_| ClientError::UnexpectedResponse("admin API answer is not UTF-8"))
    }

    fn error(&self) -> ClientError {
        #[derive(serde::Deserialize)]
        struct Failure {
            error: String,
            #[serde(default)]
            detail: Option<String>,
        }
        let text = serde_json::from_slice::<Failure>(&self.body)
            .map(|f| match f.detail {
                Some(d) => format!("{}: {d}", f.error),
                None => f.error,
            })
            .unwrap_or_else(|_| "no error text".to_owned());
        ClientError::Admin {
            status: self.status,
            message: printable(&text),
        }
    }
}

/// At most [`MAX_ERROR_TEXT`] characters, control characters dropped (the text goes to a
/// terminal).
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_TEXT)
        .collect()
}

impl Endpoint {
    /// Builds the endpoint from a rustls configuration.
    pub(crate) fn new(
        addr: String,
        server_name: &str,
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self> {
        let server_name =
            ServerName::try_from(server_name.to_owned()).map_err(ClientError::ServerName)?;
        Ok(Self {
            addr,
            server_name,
            tls: TlsConnector::from(Arc::new(tls)),
            connect_timeout,
            request_timeout,
        })
    }

    /// Sends `method path` with an optional JSON body and reads the answer.
    pub(crate) async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let connect = async {
            let tcp = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| ClientError::io(Step::Connect, e))?;
            let _ = tcp.set_nodelay(true);
            self.tls
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| ClientError::io(Step::Handshake, e))
        };
        let tls =
            timeout(self.connect_timeout, connect)
                .await
                .map_err(|_| ClientError::Timeout {
                    step: Step::Connect,
                    after: self.connect_timeout,
                })??;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|source| ClientError::Http {
                step: Step::Handshake,
                source,
            })?;
        let driver = tokio::spawn(conn);
        let has_body = body.is_some();
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.addr.as_str())
            .header(hyper::header::ACCEPT, "application/json");
        let request = if has_body {
            request.header(hyper::header::CONTENT_TYPE, "application/json")
        } else {
            request
        };
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| ClientError::UnexpectedResponse("admin request could not be built"))?;
        let exchange = async {
            let response =
                sender
                    .send_request(request)
                    .await
                    .map_err(|source| ClientError::Http {
                        step: Step::Write,
                        source,
                    })?;
            let status = response.status().as_u16();
            let body = read_capped(response.into_body()).await?;
            Ok::<_, ClientError>(Answer { status, body })
        };
        let answer =
            timeout(self.request_timeout, exchange)
                .await
                .map_err(|_| ClientError::Timeout {
                    step: Step::Read,
                    after: self.request_timeout,
                });
        driver.abort();
        answer?
    }
}

/// The whole body, refusing more than [`MAX_ANSWER`] bytes before growing the buffer.
async fn read_capped(mut body: hyper::body::Incoming) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|source| ClientError::Http {
            step: Step::Read,
            source,
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > MAX_ANSWER {
                return Err(ClientError::UnexpectedResponse(
                    "admin API answer larger than 16 MiB",
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Percent-encodes `text` for a path segment or a query value: everything but RFC 3986
/// unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `?k=v&...` of the present pairs, values percent-encoded; empty when none is present.
pub(crate) fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&encode(v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("vm-web_01.~"), "vm-web_01.~");
        assert_eq!(encode("Virtual Machine"), "Virtual%20Machine");
        assert_eq!(encode("a/b?c&d=é"), "a%2Fb%3Fc%26d%3D%C3%A9");
    }

    #[test]
    fn query_skips_absent_pairs() {
        assert_eq!(query(&[("a", None)]), "");
        assert_eq!(
            query(&[
                ("state", Some("Active".into())),
                ("x", None),
                ("name", Some("a b".into()))
            ]),
            "?state=Active&name=a%20b"
        );
    }

    #[test]
    fn error_answers_become_typed_errors_with_printable_text() {
        let answer = Answer {
            status: 404,
            body: br#"{"error":"no such\u001b[31m key"}"#.to_vec(),
        };
        match answer.json::<serde_json::Value>() {
            Err(ClientError::Admin { status, message }) => {
                assert_eq!(status, 404);
                assert_eq!(message, "no such[31m key");
            }
            other => panic!("unexpected {other:?}"),
        }
        let answer = Answer {
            status: 502,
            body: b"<html>".to_vec(),
        };
        assert!(matches!(
            answer.text(),
            Err(ClientError::Admin { status: 502, .. })
        ));
    }
}
