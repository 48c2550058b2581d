//! Secret bytes: key material, plaintext that may be key material, derived keys.

use std::fmt;

use zeroize::Zeroizing;

/// Bytes that are or may be secret: zeroized on drop, `Debug` shows only the length, no
/// `Display`, no `Serialize`. Everything this crate returns that may hold a key or a plaintext
/// is one of these.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes` (no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes, to fill in place.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Appends `bytes`. Callers reserve the final capacity first, so the vector does not
    /// reallocate and leave a copy of its old contents in freed memory.
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// Shortens to `len` bytes (the tail is zeroized on drop with the rest: `Zeroizing`
    /// clears the whole capacity).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// The codec's zeroizing byte type, to put into a KMIP Key Material or Data field.
    pub fn into_kmip(mut self) -> kmip_codec::ttlv::Bytes {
        // Moves the vector out (the emptied one is dropped): no copy of the bytes is made.
        kmip_codec::ttlv::Bytes::new(std::mem::take(&mut *self.0))
    }
}

impl From<Zeroizing<Vec<u8>>> for SecretBytes {
    fn from(v: Zeroizing<Vec<u8>>) -> Self {
        Self(v)
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::SecretBytes;

    #[test]
    fn debug_shows_the_length_only() {
        let s = SecretBytes::new(vec![0xAB; 5]);
        assert_eq!(format!("{s:?}"), "SecretBytes(<5 bytes>)");
        assert!(!format!("{s:?}").contains("ab"));
        assert!(!format!("{s:#?}").contains("171"));
    }
}
