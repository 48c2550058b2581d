//! [`Connector`] (settings plus the shared rustls configuration) and [`Connection`] (one
//! mutually authenticated TLS stream carrying request/response pairs, KMIP 1.4 section 9.2 /
//! KMIP 2.1 section 10: "messages are sent one at a time; the client waits for the response").

use std::fmt;
use std::sync::Arc;

use kmip_codec::model::{
    Authentication, RequestBatchItem, RequestHeader, RequestMessage, ResponseBatchItem,
    ResponseMessage, decode_response, encode_request,
};
use kmip_codec::version::ProtocolVersion;
use rustls::HandshakeKind;
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use zeroize::Zeroizing;

use crate::config::ClientConfig;
use crate::error::{ClientError, Result, Step};
use crate::frame::read_message;

/// Opens connections to one server. Cheap to clone; clones share the TLS configuration and
/// so the session cache used for resumption.
#[derive(Clone)]
pub struct Connector {
    settings: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    tls: TlsConnector,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Reads the certificate files and builds the TLS configuration.
    pub fn new(settings: ClientConfig) -> Result<Self> {
        let tls = Arc::new(settings.tls_config()?);
        Self::with_tls_config(settings, tls)
    }

    /// Uses a ready rustls configuration (the TLS fields of `settings` are then ignored).
    pub fn with_tls_config(settings: ClientConfig, tls: Arc<rustls::ClientConfig>) -> Result<Self> {
        let server_name =
            ServerName::try_from(settings.server_name.clone()).map_err(ClientError::ServerName)?;
        Ok(Self {
            settings: Arc::new(settings),
            server_name,
            tls: TlsConnector::from(tls),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ClientConfig {
        &self.settings
    }

    /// Connects and completes the TLS handshake, both within the connect timeout.
    pub async fn connect(&self) -> Result<Connection> {
        let limit = self.settings.connect_timeout;
        let deadline = Instant::now() + limit;
        let timeout = |step| ClientError::Timeout { step, after: limit };
        let tcp = timeout_at(deadline, TcpStream::connect(&self.settings.server_addr))
            .await
            .map_err(|_| timeout(Step::Connect))?
            .map_err(|e| ClientError::io(Step::Connect, e))?;
        tcp.set_nodelay(true)
            .map_err(|e| ClientError::io(Step::Connect, e))?;
        let stream = timeout_at(deadline, self.tls.connect(self.server_name.clone(), tcp))
            .await
            .map_err(|_| timeout(Step::Handshake))?
            .map_err(|e| ClientError::io(Step::Handshake, e))?;
        Ok(Connection {
            settings: Arc::clone(&self.settings),
            stream,
            next_batch_id: 1,
            broken: false,
        })
    }
}

/// One TLS connection to the server. Requests go one at a time (`&mut self`).
///
/// When a request fails midway (timeout, I/O error, malformed or oversized frame) the stream
/// is out of step: every later call returns [`ClientError::Broken`]; open a new connection.
pub struct Connection {
    settings: Arc<ClientConfig>,
    stream: TlsStream<TcpStream>,
    next_batch_id: u32,
    broken: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.settings.server_addr)
            .field("tls_version", &self.tls_version())
            .field("handshake_kind", &self.handshake_kind())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Whether the handshake was full or resumed a session.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.stream.get_ref().1.handshake_kind()
    }

    /// The negotiated TLS version.
    pub fn tls_version(&self) -> Option<rustls::ProtocolVersion> {
        self.stream.get_ref().1.protocol_version()
    }

    /// The KMIP protocol version requests built by this connection carry.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.settings.protocol_version
    }

    /// False once a request failed midway.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    /// Writes one TTLV message and reads exactly one message back, both within the request
    /// timeout. The answer is not decoded, only framed (and its size checked).
    pub async fn send_raw(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let mut answer = self.exchange(message).await?;
        Ok(std::mem::take(&mut *answer))
    }

    /// Encodes `request`, sends it and decodes the response. The header is sent as given;
    /// the response's batch items are not checked against the request's.
    pub async fn request(&mut self, request: &RequestMessage) -> Result<ResponseMessage> {
        let bytes = Zeroizing::new(encode_request(request));
        let answer = self.exchange(&bytes).await?;
        Ok(decode_response(&answer, &self.settings.limits)?)
    }

    /// A request with this connection's header (protocol version, Credential) and these
    /// items; items without a Unique Batch Item ID get one when IDs are configured.
    pub fn message(&mut self, mut items: Vec<RequestBatchItem>) -> RequestMessage {
        if self.settings.batch_item_ids {
            for item in items
                .iter_mut()
                .filter(|i| i.unique_batch_item_id.is_none())
            {
                item.unique_batch_item_id = Some(self.next_batch_id.to_be_bytes().to_vec());
                self.next_batch_id = self.next_batch_id.wrapping_add(1);
            }
        }
        let mut header = RequestHeader::new(self.settings.protocol_version);
        header.authentication = self.settings.credential.clone().map(|c| Authentication {
            credentials: vec![c],
        });
        RequestMessage {
            header,
            batch_items: items,
        }
    }

    /// Sends the items as one request (see [`Connection::message`]) and returns the response
    /// items, failed ones included, in the order the server sent them.
    ///
    /// Checks: at least one and at most as many items as sent; with IDs, each answers a
    /// distinct item sent; without IDs, a multi-item batch is answered in order (by
    /// operation).
    pub async fn batch(&mut self, items: Vec<RequestBatchItem>) -> Result<Vec<ResponseBatchItem>> {
        let request = self.message(items);
        let response = self.request(&request).await?;
        check_answers(&request.batch_items, &response.batch_items)?;
        Ok(response.batch_items)
    }

    /// Sends TLS close_notify and shuts the write side down.
    pub async fn close(mut self) -> Result<()> {
        let limit = self.settings.request_timeout;
        timeout_at(Instant::now() + limit, self.stream.shutdown())
            .await
            .map_err(|_| ClientError::Timeout {
                step: Step::Close,
                after: limit,
            })?
            .map_err(|e| ClientError::io(Step::Close, e))
    }

    /// One write and one framed read within the request timeout; marks the connection broken
    /// on any failure.
    async fn exchange(&mut self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if self.broken {
            return Err(ClientError::Broken);
        }
        self.broken = true;
        let limit = self.settings.request_timeout;
        let deadline = Instant::now() + limit;
        let timeout = |step| ClientError::Timeout { step, after: limit };
        timeout_at(deadline, async {
            self.stream.write_all(message).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| timeout(Step::Write))?
        .map_err(|e| ClientError::io(Step::Write, e))?;
        let answer = timeout_at(
            deadline,
            read_message(&mut self.stream, &self.settings.limits),
        )
        .await
        .map_err(|_| timeout(Step::Read))??;
        self.broken = false;
        Ok(answer)
    }
}

/// Checks that `answers` answer `sent` (see [`Connection::batch`]).
pub(crate) fn check_answers(
    sent: &[RequestBatchItem],
    answers: &[ResponseBatchItem],
) -> Result<()> {
    if answers.is_empty() {
        return Err(ClientError::UnexpectedResponse(
            "no batch item in the response",
        ));
    }
    if answers.len() > sent.len() {
        return Err(ClientError::UnexpectedResponse(
            "more batch items than sent",
        ));
    }
    let mut answered = vec![false; sent.len()];
    for (position, answer) in answers.iter().enumerate() {
        let index = match &answer.unique_batch_item_id {
            Some(id) => sent
                .iter()
                .position(|s| s.unique_batch_item_id.as_ref() == Some(id))
                .ok_or(ClientError::UnexpectedResponse(
                    "batch item ID not in the request",
                ))?,
            None if sent.iter().any(|s| s.unique_batch_item_id.is_some()) => {
                return Err(ClientError::UnexpectedResponse("batch item ID not echoed"));
            }
            None => position,
        };
        let seen = answered
            .get_mut(index)
            .ok_or(ClientError::UnexpectedResponse("batch item out of place"))?;
        if std::mem::replace(seen, true) {
            return Err(ClientError::UnexpectedResponse("batch item answered twice"));
        }
        let asked = sent.get(index).map(|s| s.operation);
        if answer.operation.is_some() && answer.operation != asked {
            return Err(ClientError::UnexpectedResponse(
                "batch item answers another operation",
            ));
        }
    }
    Ok(())
}
