//! The KMIP client library as the vector runner's transport: one fresh mutual-TLS connection
//! per request, as a KMIP client that does not keep connections open would do.

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
