//! One client connection: handshake, identity, then request/response in order: binary TTLV
//! frames, or KMIP over HTTPS when the first byte starts an HTTP request line (`http`).

use std::sync::Arc;

use kmip_codec::limits::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, info_span};

use super::PeerAddr;
use super::frame::{FrameError, read_message};
use super::http::{self, HttpConnection};
use super::prefixed::Prefixed;
use crate::audit::refusals;
use crate::config::NetLimits;
use crate::kms::Kms;

pub(super) struct Connection {
    pub(super) acceptor: TlsAcceptor,
    pub(super) kms: Arc<Kms>,
    pub(super) limits: Arc<NetLimits>,
    pub(super) peer: PeerAddr,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl Connection {
    pub(super) async fn run(mut self, tcp: TcpStream) {
        let span = info_span!("conn", peer = %self.peer, tenant = tracing::field::Empty);
        async move {
            let tls = match timeout(self.limits.handshake_timeout, self.acceptor.accept(tcp)).await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    debug!(error = %e, "TLS handshake failed");
                    self.kms
                        .connection_refused(self.peer, refusals::HANDSHAKE_FAILED);
                    return;
                }
                Err(_) => {
                    debug!("TLS handshake timed out");
                    self.kms
                        .connection_refused(self.peer, refusals::HANDSHAKE_TIMED_OUT);
                    return;
                }
            };
            let certificate = self
                .kms
                .inspect_peer(tls.get_ref().1.peer_certificates().unwrap_or_default());
            // The first byte tells binary TTLV from KMIP over HTTPS (`http`).
            let mut tls = tls;
            let mut first = [0u8; 1];
            let read = tokio::select! {
                r = timeout(self.limits.idle_timeout, tls.read(&mut first)) => r,
                _ = self.shutdown.changed() => return,
            };
            let mut stream = match read {
                Ok(Ok(1)) => Prefixed::new(first[0], tls),
                _ => {
                    let _ = timeout(self.limits.handshake_timeout, tls.shutdown()).await;
                    return;
                }
            };
            if http::starts_request_line(first[0]) {
                let conn = HttpConnection {
                    state: tokio::sync::Mutex::new(self.kms.connection_state()),
                    kms: self.kms,
                    limits: self.limits,
                    peer: self.peer,
                    certificate,
                };
                http::serve(stream, conn, self.shutdown).await;
                return;
            }
            let codec_limits = Limits::DEFAULT.with_max_message_size(self.limits.max_message_size);
            let mut state = self.kms.connection_state();
            loop {
                let message = tokio::select! {
                    m = read_message(
                        &mut stream,
                        &codec_limits,
                        self.limits.idle_timeout,
                        self.limits.read_timeout,
                        &mut state.memory,
                    ) => m,
                    _ = self.shutdown.changed() => break,
                };
                let request = match message {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(FrameError::Bad(e)) => {
                        // A header we cannot trust: no response can be framed reliably.
                        debug!(error = %e, "malformed frame; closing");
                        self.kms
                            .connection_refused(self.peer, refusals::MALFORMED_FRAME);
                        break;
                    }
                    Err(e) => {
                        debug!(error = %e, "closing connection");
                        break;
                    }
                };
                let response = crate::ops::pipeline::handle(
                    &self.kms,
                    &certificate,
                    self.peer,
                    &request,
                    &mut state,
                )
                .await;
                drop(request);
                let write = async {
                    stream.write_all(&response).await?;
                    stream.flush().await
                };
                let written = timeout(self.limits.read_timeout, write).await;
                drop(response);
                state.release();
                match written {
                    Ok(Ok(())) => {}
                    _ => break,
                }
            }
            let _ = timeout(self.limits.handshake_timeout, stream.shutdown()).await;
        }
        .instrument(span)
        .await;
    }
}
