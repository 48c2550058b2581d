//! Multi-part AES-GCM encryption (KMIP 1.4 section 4.29: Init Indicator, Correlation Value,
//! Final Indicator).
//!
//! The server keeps no state between the parts. The Correlation Value it returns carries the IV,
//! the additional data, the tag length and the ciphertext returned so far: nothing secret, the
//! client holds all of it. Each part recovers the plaintext so far from that ciphertext (GCM
//! encryption XORs a keystream that does not depend on the data, so encrypting the ciphertext
//! again under the same key and IV gives the plaintext back), encrypts it with the new part in
//! one pass and returns only the new ciphertext; the last part also returns the tag. Any node
//! can continue a stream, and a forged Correlation Value yields nothing a client could not get
//! from one-part Encrypt calls with the same key and IV. That is a client-chosen IV, so streams
//! are only for callers that may also Decrypt with the key (`crypto::refuse_decrypting_inputs`).

use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value, decode::decode, encode::encode};
use zeroize::Zeroizing;

use super::OpError;
use super::cipher::gcm_seal;

/// Most bytes one stream may encrypt in all (the Correlation Value carries them).
const MAX_STREAM_BYTES: usize = 1 << 20;

/// Where a stream stands: what the Correlation Value carries.
#[derive(Debug)]
pub(super) struct Stream {
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
    /// Ciphertext returned so far.
    sent: Vec<u8>,
}

/// What one part yields.
pub(super) struct Part {
    /// Ciphertext of this part.
    pub(super) data: Vec<u8>,
    /// The tag, after the last part.
    pub(super) tag: Option<Vec<u8>>,
    /// The Correlation Value for the next part, unless this was the last.
    pub(super) correlation_value: Option<Vec<u8>>,
}

impl Stream {
    /// A new stream.
    pub(super) fn start(iv: Vec<u8>, aad: Vec<u8>, tag_len: usize) -> Self {
        Self {
            iv,
            aad,
            tag_len,
            sent: Vec::new(),
        }
    }

    /// Reads a Correlation Value this server returned.
    pub(super) fn resume(correlation_value: &[u8]) -> Result<Self, OpError> {
        let bad = || OpError::InvalidField("correlation value");
        let tree = decode(correlation_value, &Limits::DEFAULT).map_err(|_| bad())?;
        if tree.tag != Tag::CORRELATION_VALUE {
            return Err(bad());
        }
        let bytes = |tag: Tag| match tree.child(tag).map(|c| &c.value) {
            Some(Value::ByteString(b)) => Ok(b.as_slice().to_vec()),
            _ => Err(bad()),
        };
        let tag_len = match tree.child(Tag::TAG_LENGTH).map(|c| &c.value) {
            Some(Value::Integer(n)) => usize::try_from(*n).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        Ok(Self {
            iv: bytes(Tag::IV_COUNTER_NONCE)?,
            aad: bytes(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA)?,
            tag_len,
            sent: bytes(Tag::DATA)?,
        })
    }

    fn correlation_value(&self) -> Result<Vec<u8>, OpError> {
        let tag_len = i32::try_from(self.tag_len).map_err(|_| OpError::InvalidTagLength)?;
        let bytes = |tag: Tag, b: &[u8]| Ttlv::new(tag, Value::ByteString(Bytes::from(b)));
        Ok(encode(&Ttlv::structure(
            Tag::CORRELATION_VALUE,
            vec![
                bytes(Tag::IV_COUNTER_NONCE, &self.iv),
                bytes(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA, &self.aad),
                Ttlv::new(Tag::TAG_LENGTH, Value::Integer(tag_len)),
                bytes(Tag::DATA, &self.sent),
            ],
        )))
    }

    /// Encrypts the next part `data` under `key`; `last` ends the stream.
    pub(super) fn next(mut self, key: &[u8], data: &[u8], last: bool) -> Result<Part, OpError> {
        let total = self.sent.len().saturating_add(data.len());
        if total > MAX_STREAM_BYTES {
            return Err(OpError::InvalidField("stream too long"));
        }
        let (earlier, _) = gcm_seal(key, &self.iv, &self.aad, &self.sent, self.tag_len)?;
        let mut plain = Zeroizing::new(earlier);
        plain.extend_from_slice(data);
        let (ciphertext, tag) = gcm_seal(key, &self.iv, &self.aad, &plain, self.tag_len)?;
        let part = ciphertext
            .get(self.sent.len()..)
            .ok_or(OpError::CryptographicFailure)?
            .to_vec();
        if last {
            return Ok(Part {
                data: part,
                tag: Some(tag),
                correlation_value: None,
            });
        }
        self.sent = ciphertext;
        Ok(Part {
            data: part,
            tag: None,
            correlation_value: Some(self.correlation_value()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [7; 16];

    /// Two parts give the ciphertext and tag of one-part encryption, whatever the split.
    #[test]
    fn parts_equal_one_shot() {
        let data: Vec<u8> = (0u8..60).collect();
        let (whole, whole_tag) = gcm_seal(&KEY, &[1; 8], b"aad", &data, 16).expect("seal");
        for split in [0, 1, 16, 17, 32, 59, 60] {
            let (a, b) = data.split_at(split);
            let first = Stream::start(vec![1; 8], b"aad".to_vec(), 16)
                .next(&KEY, a, false)
                .expect("first part");
            let cv = first.correlation_value.expect("correlation value");
            let second = Stream::resume(&cv)
                .expect("resume")
                .next(&KEY, b, true)
                .expect("last part");
            let mut joined = first.data;
            joined.extend(second.data);
            assert_eq!(joined, whole, "split at {split}");
            assert_eq!(second.tag.as_deref(), Some(whole_tag.as_slice()));
            assert!(second.correlation_value.is_none());
        }
    }

    #[test]
    fn a_foreign_correlation_value_is_refused() {
        assert!(matches!(
            Stream::resume(b"not ttlv"),
            Err(OpError::InvalidField(_))
        ));
        let other = encode(&Ttlv::new(
            Tag::DATA,
            Value::ByteString(Bytes::from(&b"x"[..])),
        ));
        assert!(Stream::resume(&other).is_err());
    }
}
