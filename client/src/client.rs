//! [`Client`]: a [`Connector`] plus a policy for when to open connections, either a new one
//! for every call (as vCenter does) or one kept open and reopened after a failure.

use kmip_codec::model::{RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseMessage};

use crate::connection::{Connection, Connector};
use crate::error::Result;

/// When a [`Client`] opens connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionPolicy {
    /// A new connection (and TLS handshake, resumed when possible) for every call, closed
    /// after the response.
    PerCall,
    /// One connection, kept for later calls; replaced when a call broke it. Calls are never
    /// retried: a request that failed midway may or may not have been carried out.
    Persistent,
}

/// A KMIP client following a [`ConnectionPolicy`].
#[derive(Debug)]
pub struct Client {
    connector: Connector,
    policy: ConnectionPolicy,
    kept: Option<Connection>,
}

impl Client {
    /// A client with this policy.
    pub fn new(connector: Connector, policy: ConnectionPolicy) -> Self {
        Self {
            connector,
            policy,
            kept: None,
        }
    }

    /// A client that opens a connection per call.
    pub fn per_call(connector: Connector) -> Self {
        Self::new(connector, ConnectionPolicy::PerCall)
    }

    /// A client that keeps one connection.
    pub fn persistent(connector: Connector) -> Self {
        Self::new(connector, ConnectionPolicy::Persistent)
    }

    /// The connector.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// A connection for the next call, for the typed operations
    /// (`client.connection().await?.get(uid, None)`): per call, a new one (the previous one is
    /// dropped); persistent, the kept one unless a failure broke it.
    pub async fn connection(&mut self) -> Result<&mut Connection> {
        let reuse = self.policy == ConnectionPolicy::Persistent
            && self.kept.as_ref().is_some_and(Connection::is_usable);
        if !reuse {
            self.kept = None;
            self.kept = Some(self.connector.connect().await?);
        }
        self.kept.as_mut().ok_or(crate::error::ClientError::Broken)
    }

    /// Sends a whole request message as given (see [`Connection::request`]).
    pub async fn call(&mut self, request: &RequestMessage) -> Result<ResponseMessage> {
        let response = self.connection().await?.request(request).await;
        self.finish().await;
        response
    }

    /// Sends the items as one request with the configured header (see
    /// [`Connection::batch`]).
    pub async fn batch(&mut self, items: Vec<RequestBatchItem>) -> Result<Vec<ResponseBatchItem>> {
        let answers = self.connection().await?.batch(items).await;
        self.finish().await;
        answers
    }

    /// Per call: closes the connection. The response is already in, so a failing
    /// close_notify changes nothing for the caller and is not reported.
    async fn finish(&mut self) {
        if self.policy == ConnectionPolicy::PerCall
            && let Some(conn) = self.kept.take()
        {
            let _closed = conn.close().await;
        }
    }
}
