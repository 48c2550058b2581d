//! The software ciphers of the operations: AES-GCM, AES-CBC and AES-ECB for Encrypt and
//! Decrypt (and the multi-part GCM stream), AES key wrap for Get with Key Wrapping
//! Specification. RustCrypto does the cryptography; this module picks the key, IV and tag
//! sizes and the padding, and maps failures to [`OpError`]. Which operation may use them,
//! with which key, is the operations' business (`crypto.rs`, `get.rs`, `stream.rs`).

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit, block_padding};
use aes_gcm::AesGcm;
use aes_gcm::aead::AeadMutInPlace;
use aes_gcm::aead::consts::{U8, U12, U13, U14, U15, U16, U60};
use aes_gcm::aead::generic_array::GenericArray;

use super::OpError;

/// AES block size, bytes.
pub(super) const BLOCK: usize = 16;

/// Block padding of CBC and ECB.
#[derive(Clone, Copy)]
pub(super) enum Padding {
    /// None: the data must be whole blocks.
    None,
    /// PKCS#5 (PKCS#7 on 16-byte blocks).
    Pkcs5,
}

/// Dispatches on the AES key size, the GCM IV size and the GCM tag size (all type parameters
/// of `aes-gcm`). IVs of 12 bytes are the recommended size (NIST SP 800-38D section 8.2) and
/// what the server generates; 8 and 60 bytes are the other sizes of the GCM specification's
/// test vectors, which KMIP clients use (OASIS CS-BC-M-GCM-2).
macro_rules! with_gcm {
    ($key:expr, $iv_len:expr, $tag_len:expr, |$cipher:ident| $body:expr) => {{
        macro_rules! go {
            ($aes:ty, $n:ty, $t:ty) => {{
                let mut $cipher = AesGcm::<$aes, $n, $t>::new_from_slice($key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                $body
            }};
        }
        macro_rules! by_tag {
            ($aes:ty, $n:ty) => {
                match $tag_len {
                    12 => go!($aes, $n, U12),
                    13 => go!($aes, $n, U13),
                    14 => go!($aes, $n, U14),
                    15 => go!($aes, $n, U15),
                    16 => go!($aes, $n, U16),
                    _ => Err(OpError::InvalidTagLength),
                }
            };
        }
        macro_rules! by_iv {
            ($aes:ty) => {
                match $iv_len {
                    12 => by_tag!($aes, U12),
                    8 => by_tag!($aes, U8),
                    60 => by_tag!($aes, U60),
                    _ => Err(OpError::InvalidField("GCM IV length")),
                }
            };
        }
        match $key.len() {
            16 => by_iv!(aes::Aes128),
            24 => by_iv!(aes::Aes192),
            32 => by_iv!(aes::Aes256),
            _ => Err(OpError::InvalidField("key length")),
        }
    }};
}

/// AES-GCM encryption of `data`: the ciphertext and a tag of `tag_len` bytes.
pub(super) fn gcm_seal(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>), OpError> {
    let mut buf = data.to_vec();
    with_gcm!(key, iv.len(), tag_len, |cipher| {
        let tag = cipher
            .encrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf)
            .map_err(|_| OpError::CryptographicFailure)?;
        Ok((std::mem::take(&mut buf), tag.to_vec()))
    })
}

/// AES-GCM decryption of `data` checked against `tag`.
pub(super) fn gcm_open(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, OpError> {
    let mut buf = data.to_vec();
    with_gcm!(key, iv.len(), tag.len(), |cipher| {
        cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(iv),
                aad,
                &mut buf,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| OpError::CryptographicFailure)?;
        Ok(std::mem::take(&mut buf))
    })
}

/// Runs `$go!(<AES type>)` with the AES of `$key`'s length (128, 192 or 256 bits).
macro_rules! by_key_length {
    ($key:expr, $go:ident) => {
        match $key.len() {
            16 => $go!(aes::Aes128),
            24 => $go!(aes::Aes192),
            32 => $go!(aes::Aes256),
            _ => Err(OpError::InvalidField("key length")),
        }
    };
}

/// AES-CBC encryption (`enc`) or decryption.
pub(super) fn cbc(
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    pad: Padding,
    enc: bool,
) -> Result<Vec<u8>, OpError> {
    if iv.len() != BLOCK {
        return Err(OpError::InvalidField("CBC IV must be 16 bytes"));
    }
    macro_rules! go {
        ($aes:ty) => {{
            if enc {
                let c = cbc::Encryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(|_| OpError::CryptographicFailure)?;
                encrypt_padded(c, data, pad)
            } else {
                let c = cbc::Decryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(|_| OpError::CryptographicFailure)?;
                decrypt_padded(c, data, pad)
            }
        }};
    }
    by_key_length!(key, go)
}

/// AES-ECB encryption (`enc`) or decryption.
pub(super) fn ecb(key: &[u8], data: &[u8], pad: Padding, enc: bool) -> Result<Vec<u8>, OpError> {
    macro_rules! go {
        ($aes:ty) => {{
            if enc {
                let c = ecb::Encryptor::<$aes>::new_from_slice(key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                encrypt_padded(c, data, pad)
            } else {
                let c = ecb::Decryptor::<$aes>::new_from_slice(key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                decrypt_padded(c, data, pad)
            }
        }};
    }
    by_key_length!(key, go)
}

/// Encrypts `data` with a block mode (CBC, ECB), padded as `pad` says.
fn encrypt_padded<C: BlockEncryptMut>(c: C, data: &[u8], pad: Padding) -> Result<Vec<u8>, OpError> {
    match pad {
        Padding::Pkcs5 => Ok(c.encrypt_padded_vec_mut::<block_padding::Pkcs7>(data)),
        Padding::None => {
            whole_blocks(data).map(|_| c.encrypt_padded_vec_mut::<block_padding::NoPadding>(data))
        }
    }
}

/// Decrypts `data` with a block mode (CBC, ECB), unpadded as `pad` says.
fn decrypt_padded<C: BlockDecryptMut>(c: C, data: &[u8], pad: Padding) -> Result<Vec<u8>, OpError> {
    match pad {
        Padding::Pkcs5 => c.decrypt_padded_vec_mut::<block_padding::Pkcs7>(data),
        Padding::None => c.decrypt_padded_vec_mut::<block_padding::NoPadding>(data),
    }
    .map_err(|_| OpError::CryptographicFailure)
}

fn whole_blocks(data: &[u8]) -> Result<(), OpError> {
    if data.len().is_multiple_of(BLOCK) {
        Ok(())
    } else {
        Err(OpError::InvalidField(
            "data is not a whole number of blocks",
        ))
    }
}
