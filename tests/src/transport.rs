//! The vector runner's transports: the KMIP client library (one fresh mutual-TLS connection
//! per request, as a KMIP client that does not keep connections open would do), and KMIP over
//! HTTPS in the three encodings of the MSGENC profiles ([`HttpsTransport`]).

use kmip_codec::limits::Limits;
use kmip_codec::ttlv::{decode::decode, encode::encode};

use crate::error::Error;
use crate::vectors::Transport;

impl Transport for client::Connector {
    async fn send_raw(&self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let mut connection = self.connect().await?;
        let answer = connection.send_raw(request).await?;
        // The answer is in; a failed close_notify does not change it.
        let _ = connection.close().await;
        Ok(answer)
    }
}

/// A KMIP message's encoding on the wire of KMIP over HTTPS (the MSGENC profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpEncoding {
    /// Binary TTLV, `application/octet-stream` (MSGENC-HTTPS).
    Ttlv,
    /// The KMIP XML encoding, `text/xml` (MSGENC-XML).
    Xml,
    /// The KMIP JSON encoding, `application/json` (MSGENC-JSON).
    Json,
}

impl HttpEncoding {
    /// The encoding the MSGENC profile of `file_name` uses, if it is one of them.
    pub fn of_vector(file_name: &str) -> Option<Self> {
        [
            ("MSGENC-HTTPS", Self::Ttlv),
            ("MSGENC-XML", Self::Xml),
            ("MSGENC-JSON", Self::Json),
        ]
        .into_iter()
        .find(|(prefix, _)| file_name.starts_with(prefix))
        .map(|(_, e)| e)
    }

    /// The request's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Ttlv => "application/octet-stream",
            Self::Xml => "text/xml",
            Self::Json => "application/json",
        }
    }

    fn encode(self, ttlv: &[u8]) -> Result<Vec<u8>, Error> {
        let tree = || decode(ttlv, &Limits::DEFAULT).map_err(Error::Decode);
        Ok(match self {
            Self::Ttlv => ttlv.to_vec(),
            Self::Xml => kmip_codec::xml::to_xml(&tree()?).into_bytes(),
            Self::Json => kmip_codec::json::to_json(&tree()?).into_bytes(),
        })
    }

    fn decode(self, body: &[u8]) -> Result<Vec<u8>, Error> {
        let tree = match self {
            Self::Ttlv => return Ok(body.to_vec()),
            Self::Xml => {
                let text =
                    std::str::from_utf8(body).map_err(|_| http_error("XML answer", "not UTF-8"))?;
                kmip_codec::xml::from_xml(text).map_err(Error::Decode)?
            }
            Self::Json => {
                kmip_codec::json::from_json(body, &Limits::DEFAULT).map_err(Error::Decode)?
            }
        };
        Ok(encode(&tree))
    }
}

fn http_error(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Command {
        command: format!("POST /kmip: {what}"),
        detail: detail.to_string(),
    }
}

/// KMIP over HTTPS: every message POSTed to `/kmip` on a fresh mutual-TLS connection to the
/// KMIP port, in one encoding; the answer must be `200` in the same encoding.
pub struct HttpsTransport {
    config: client::ClientConfig,
    tls: tokio_rustls::TlsConnector,
    encoding: HttpEncoding,
}

impl std::fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTransport")
            .field("server", &self.config.server_addr)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

impl HttpsTransport {
    /// A transport with the identity and server of `config`.
    pub fn new(config: client::ClientConfig, encoding: HttpEncoding) -> Result<Self, Error> {
        let tls = config.tls_config()?;
        Ok(Self {
            config,
            tls: tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls)),
            encoding,
        })
    }

    /// One POST with `content_type` and `body` on a fresh connection: the status, the answer's
    /// `Content-Type` and its body.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Option<String>, Vec<u8>), Error> {
        let io = |what: &'static str| move |source| Error::Io { what, source };
        let tcp = tokio::net::TcpStream::connect(&self.config.server_addr)
            .await
            .map_err(io("connect"))?;
        let name = rustls_pki_types::ServerName::try_from(self.config.server_name.clone())
            .map_err(|e| http_error("server name", e))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(io("TLS handshake"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| http_error("HTTP handshake", e))?;
        tokio::spawn(conn);
        let request = hyper::Request::builder()
            .method("POST")
            .uri(path)
            .header("host", "kms")
            .header("content-type", content_type)
            .header("content-length", body.len())
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|e| http_error("request", e))?;
        let response =
            tokio::time::timeout(self.config.request_timeout, sender.send_request(request))
                .await
                .map_err(|_| http_error("answer", "timed out"))?
                .map_err(|e| http_error("answer", e))?;
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map_err(|e| http_error("body", e))?
            .to_bytes()
            .to_vec();
        Ok((status, kind, body))
    }
}

impl Transport for HttpsTransport {
    async fn send_raw(&self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let body = self.encoding.encode(request)?;
        let (status, kind, answer) = self
            .post("/kmip", self.encoding.content_type(), body)
            .await?;
        if status != 200 || kind.as_deref() != Some(self.encoding.content_type()) {
            return Err(http_error(
                "answer",
                format!("HTTP {status}, content type {kind:?}"),
            ));
        }
        self.encoding.decode(&answer)
    }
}
