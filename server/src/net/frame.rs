//! Reading one TTLV message off a stream. The 8-byte header is read first and the declared
//! length checked against the configured maximum BEFORE the body buffer is allocated. The
//! first byte may take up to the idle timeout; once it arrived, the whole message must arrive
//! within the read timeout, so a client that trickles bytes is dropped. The declared length
//! is also taken from the node's in-flight memory before the buffer exists (waiting, within
//! the same read timeout, while other messages hold it all).

use std::time::Duration;

use kmip_codec::limits::Limits;
use kmip_codec::ttlv::decode::{HEADER_LEN, frame_len};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{Instant, timeout, timeout_at};

use crate::quota::memory::MessageMemory;

/// Why no message could be read. Each ends the connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Nothing arrived within the idle timeout.
    #[error("idle timeout")]
    Idle,
    /// The message did not complete (or find room in the in-flight memory) within the read
    /// timeout.
    #[error("read timeout")]
    Slow,
    /// The header is not a TTLV structure header or declares too large a message.
    #[error("bad frame: {0}")]
    Bad(#[from] kmip_codec::error::Error),
    /// The peer closed mid-message, or the socket failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one whole message, held in `memory` (released by the caller once it is answered).
/// `Ok(None)` is a clean close between messages.
pub async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    limits: &Limits,
    idle: Duration,
    read: Duration,
    memory: &mut MessageMemory,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let first = timeout(idle, stream.read(&mut header[..1]))
        .await
        .map_err(|_| FrameError::Idle)??;
    if first == 0 {
        return Ok(None);
    }
    let deadline = Instant::now() + read;
    timeout_at(deadline, stream.read_exact(&mut header[1..]))
        .await
        .map_err(|_| FrameError::Slow)??;
    let total = frame_len(&header, limits)?;
    timeout_at(deadline, memory.reserve(total))
        .await
        .map_err(|_| FrameError::Slow)?;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&header);
    message.resize(total, 0);
    timeout_at(deadline, stream.read_exact(&mut message[HEADER_LEN..]))
        .await
        .map_err(|_| FrameError::Slow)??;
    Ok(Some(message))
}
