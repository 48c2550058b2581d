//! Key bytes in host memory: zeroized on drop, never printed.

use zeroize::Zeroizing;

/// Plaintext key bytes (an unsealed KEK, random key material, a combined backup key).
///
/// Zeroized on drop; `Debug` prints only the length; no `Display`, `Serialize` or `Clone`
/// (copying a secret must be deliberate: [`KeyBytes::expose`] and build a new one).
pub struct KeyBytes(Zeroizing<Vec<u8>>);

impl KeyBytes {
    /// Takes ownership of the bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        KeyBytes(Zeroizing::new(bytes))
    }

    /// Copies the bytes out of a slice.
    pub fn copy_from(bytes: &[u8]) -> Self {
        KeyBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret bytes. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyBytes([REDACTED; {}])", self.0.len())
    }
}

impl PartialEq for KeyBytes {
    /// Constant-time comparison is not needed by callers of this crate (tests compare
    /// round trips); this compares lengths first, then all bytes without early exit.
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Eq for KeyBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = KeyBytes::copy_from(&[0xAB; 32]);
        let shown = format!("{key:?}");
        assert_eq!(shown, "KeyBytes([REDACTED; 32])");
        assert!(!shown.to_lowercase().contains("ab"));
    }

    #[test]
    fn equality_compares_content() {
        assert_eq!(KeyBytes::copy_from(b"abc"), KeyBytes::copy_from(b"abc"));
        assert_ne!(KeyBytes::copy_from(b"abc"), KeyBytes::copy_from(b"abd"));
        assert_ne!(KeyBytes::copy_from(b"abc"), KeyBytes::copy_from(b"ab"));
    }
}
