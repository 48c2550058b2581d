//! Symmetric ciphers the AES paths of the server do not cover, for the OASIS CS-BC vectors:
//! ChaCha20 and ChaCha20-Poly1305 (RFC 8439, RustCrypto `chacha20` / `chacha20poly1305`) and,
//! for legacy clients only, Triple DES (RustCrypto `des`) in ECB and CBC.
//!
//! Triple DES is legacy: 64-bit blocks (Sweet32), deprecated for encryption by NIST SP
//! 800-131A Rev. 2 after 2023. The server offers it only behind a configuration switch that is
//! off by default; this crate only implements it.

mod chacha;
mod tdes;

pub use chacha::{
    CHACHA20_KEY_LEN, chacha20, chacha20_poly1305_decrypt, chacha20_poly1305_encrypt,
};
pub use tdes::{TdesMode, TdesPadding, tdes_decrypt, tdes_encrypt, tdes_key_is_degenerate};
