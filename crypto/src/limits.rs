//! Every limit the crate enforces, in one place. Each is checked before anything is allocated
//! from the input's size and before any expensive work (bignum arithmetic, key derivation
//! iterations). The server's own limits (message size, request rate) sit in front of these;
//! these hold even when a caller forgets them.

/// Largest message (plaintext, ciphertext, data to hash, MAC, sign or verify) one call takes:
/// 16 MiB. The server's largest KMIP message is lower (1 MiB by default); this is the crate's
/// own ceiling, not a setting.
pub const MAX_DATA_LEN: usize = 16 * 1024 * 1024;

/// Largest DER key (PKCS#1, PKCS#8, SEC1, SubjectPublicKeyInfo) accepted: 16 KiB. An 8192-bit
/// RSA private key in PKCS#8 is under 5 KiB.
pub const MAX_KEY_DER_LEN: usize = 16 * 1024;

/// Largest X.509 certificate accepted: 64 KiB (long chains of extensions fit; a certificate is
/// normally 1-2 KiB).
pub const MAX_CERTIFICATE_LEN: usize = 64 * 1024;

/// Smallest RSA modulus accepted for anything imported or used (Register, Transparent keys,
/// certificates' keys when used for a cryptographic operation): 2048 bits (NIST SP 800-131A
/// Rev. 2: 112-bit security).
pub const RSA_MIN_BITS: usize = 2048;

/// Largest RSA modulus accepted: 8192 bits. Bounds the cost of one private-key operation.
pub const RSA_MAX_BITS: usize = 8192;

/// The RSA modulus sizes key pair generation offers.
pub const RSA_GENERATE_BITS: [usize; 3] = [2048, 3072, 4096];

/// The public exponent of generated RSA keys (F4).
pub const RSA_GENERATE_EXPONENT: u64 = 65_537;

/// Largest symmetric key (HMAC key, KDF input key, key-encryption key) accepted: 512 bytes.
pub const MAX_SYMMETRIC_KEY_LEN: usize = 512;

/// Smallest HMAC key accepted: 16 bytes (128 bits). Shorter keys give less than the 112-bit
/// security strength of NIST SP 800-131A (SP 800-107 Rev. 1 section 5.3.4).
pub const MIN_MAC_KEY_LEN: usize = 16;

/// Shortest MAC accepted by MAC Verify when the client sends a truncated MAC: 16 bytes
/// (NIST SP 800-107 Rev. 1 section 5.3.3 allows truncation; 128 bits keeps forgery out of
/// reach). A MAC is never longer than the algorithm's output.
pub const MIN_MAC_VERIFY_LEN: usize = 16;

/// Fewest PBKDF2 iterations accepted: 1000 (NIST SP 800-132 section 5.2).
pub const PBKDF2_MIN_ITERATIONS: u32 = 1_000;

/// Most PBKDF2 iterations accepted: 1 000 000. One derivation at this count costs about a
/// second of one core; more would let one request exhaust a CPU.
pub const PBKDF2_MAX_ITERATIONS: u32 = 1_000_000;

/// Most PRF blocks one PBKDF2 derivation may compute (iterations x output blocks): 2 000 000,
/// so a long output cannot multiply the iteration bound.
pub const PBKDF2_MAX_WORK: u64 = 2_000_000;

/// Longest derived key (HKDF, PBKDF2, SP 800-108) in bytes: 1024 (8192 bits).
pub const MAX_DERIVED_KEY_LEN: usize = 1024;

/// Longest HKDF / PBKDF2 salt, SP 800-108 fixed input, HKDF info and password: 64 KiB each.
pub const MAX_KDF_INPUT_LEN: usize = 64 * 1024;

/// Largest input to AES key wrap (RFC 3394 / 5649): 64 KiB, enough for the TTLV-encoded Key
/// Value of an 8192-bit RSA private key.
pub const MAX_WRAP_INPUT_LEN: usize = 64 * 1024;

/// Shortest and longest ChaCha20-Poly1305 tag: 12 to 16 bytes. The OASIS vectors
/// (CS-BC-M-CHACHA20POLY1305-1) accept a 12-byte tag and refuse 1 and 32.
pub const AEAD_MIN_TAG_LEN: usize = 12;
/// See [`AEAD_MIN_TAG_LEN`].
pub const AEAD_MAX_TAG_LEN: usize = 16;

/// Longest additional authenticated data: 64 KiB.
pub const MAX_AAD_LEN: usize = 64 * 1024;

/// Longest signature accepted for verification: 1024 bytes (an 8192-bit RSA signature; DER
/// ECDSA signatures are far shorter).
pub const MAX_SIGNATURE_LEN: usize = RSA_MAX_BITS / 8;

/// Longest OAEP label (KMIP P Source): 1 KiB.
pub const MAX_OAEP_LABEL_LEN: usize = 1024;

/// Checks `len` against `max` for the input `what`.
pub(crate) fn check(what: crate::Input, len: usize, max: usize) -> crate::Result<()> {
    if len > max {
        return Err(crate::Error::TooLarge { what, len, max });
    }
    Ok(())
}
