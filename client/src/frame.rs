//! Reading one TTLV message off a stream (KMIP 1.4 section 9.1, KMIP 2.1 section 9.1): the
//! 8-byte header of the outer Structure, then exactly the length it declares.
//!
//! The declared length is checked by [`frame_len`] against [`Limits::max_message_size`]
//! before anything is allocated for the body; the buffer is then allocated once at its exact
//! size (no reallocation leaves copies of key material behind) and wiped when dropped.

use kmip_codec::limits::Limits;
use kmip_codec::ttlv::decode::{HEADER_LEN, frame_len};
use tokio::io::{AsyncRead, AsyncReadExt};
use zeroize::Zeroizing;

use crate::error::{ClientError, Result, Step};

/// Reads exactly one message (header included) from `reader`.
///
/// Errors: [`ClientError::Codec`] for a header that is not a Structure or declares more than
/// `limits.max_message_size`; [`ClientError::Closed`] when the stream ends early;
/// [`ClientError::Io`] / [`ClientError::Tls`] from the stream.
pub async fn read_message<R>(reader: &mut R, limits: &Limits) -> Result<Zeroizing<Vec<u8>>>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut header = [0u8; HEADER_LEN];
    fill(reader, &mut header, 0, HEADER_LEN).await?;
    let total = frame_len(&header, limits)?;
    let mut buf = Zeroizing::new(vec![0u8; total]);
    let (head, _) =
        buf.split_first_chunk_mut::<HEADER_LEN>()
            .ok_or(ClientError::UnexpectedResponse(
                "frame shorter than its header",
            ))?;
    *head = header;
    fill(reader, &mut buf, HEADER_LEN, total).await?;
    Ok(buf)
}

/// Fills `buf[from..]`; `offset` and `total` are only for the error message.
async fn fill<R>(reader: &mut R, buf: &mut [u8], offset: usize, total: usize) -> Result<()>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut got = offset;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        let n = match reader.read(rest).await {
            Ok(n) => n,
            // rustls reports a close without close_notify as UnexpectedEof: still an early end.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(ClientError::io(Step::Read, e)),
        };
        if n == 0 {
            return Err(ClientError::Closed {
                received: got,
                expected: total,
            });
        }
        got += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip_codec::error::ErrorKind;

    /// A Request Message header declaring `len` bytes of value.
    fn header(len: u32) -> Vec<u8> {
        let mut h = vec![0x42, 0x00, 0x78, 0x01];
        h.extend_from_slice(&len.to_be_bytes());
        h
    }

    #[tokio::test]
    async fn reads_exactly_one_message_and_leaves_the_rest() {
        let mut input = header(8);
        input.extend_from_slice(&[0x42, 0x00, 0x6A, 0x02, 0, 0, 0, 0]);
        input.extend_from_slice(b"next");
        let mut r = input.as_slice();
        let msg = read_message(&mut r, &Limits::default()).await.unwrap();
        assert_eq!(msg.len(), 16);
        assert_eq!(msg.get(..8), input.get(..8));
        assert_eq!(r, b"next");
    }

    #[tokio::test]
    async fn refuses_a_length_above_the_limit_before_reading_the_body() {
        let input = header(0xFFFF_FFF8);
        let err = read_message(&mut input.as_slice(), &Limits::default())
            .await
            .unwrap_err();
        match err {
            ClientError::Codec(e) => {
                assert!(matches!(e.kind(), ErrorKind::MessageTooLarge { .. }), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn refuses_a_non_structure() {
        let mut input = header(8);
        input[3] = 0x02;
        let err = read_message(&mut input.as_slice(), &Limits::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Codec(_)), "{err:?}");
    }

    #[tokio::test]
    async fn reports_how_much_arrived_before_the_stream_ended() {
        let mut input = header(16);
        input.extend_from_slice(&[0; 5]);
        let err = read_message(&mut input.as_slice(), &Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Closed {
                    received: 13,
                    expected: 24
                }
            ),
            "{err:?}"
        );
        let err = read_message(&mut &[0x42u8, 0][..], &Limits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Closed {
                    received: 2,
                    expected: 8
                }
            ),
            "{err:?}"
        );
    }
}
