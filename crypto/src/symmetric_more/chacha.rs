//! ChaCha20 (RFC 8439 section 2.4, and the original 64-bit-nonce variant the OASIS
//! CS-BC-M-CHACHA20 vectors use) and ChaCha20-Poly1305 (RFC 8439 section 2.8), with KMIP's
//! Tag Length.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::{ChaCha20, ChaCha20Legacy};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use subtle::ConstantTimeEq;

use crate::error::Parameter;
use crate::limits::{self, AEAD_MAX_TAG_LEN, AEAD_MIN_TAG_LEN, MAX_AAD_LEN, MAX_DATA_LEN};
use crate::{Error, Input, Result, SecretBytes};

/// ChaCha20 key length in bytes.
pub const CHACHA20_KEY_LEN: usize = 32;

/// The ChaCha20-Poly1305 nonce length in bytes.
const AEAD_NONCE_LEN: usize = 12;

fn check_key(key: &[u8]) -> Result<()> {
    if key.len() != CHACHA20_KEY_LEN {
        return Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: key.len(),
        });
    }
    Ok(())
}

/// ChaCha20 keystream XOR `data` (encryption and decryption are the same), starting at block
/// `initial_counter` (KMIP Initial Counter Value; 0 when absent).
///
/// The nonce (KMIP IV/Counter/Nonce) picks the variant: 12 bytes is RFC 8439 (32-bit block
/// counter), 8 bytes the original ChaCha20 (64-bit block counter) the OASIS vectors use.
pub fn chacha20(
    key: &[u8],
    nonce: &[u8],
    initial_counter: u64,
    data: &[u8],
) -> Result<SecretBytes> {
    check_key(key)?;
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)?;
    let position = initial_counter
        .checked_mul(64)
        .ok_or(Error::CounterOverflow)?;
    let mut out = SecretBytes::new(data.to_vec());
    match nonce.len() {
        12 => {
            if initial_counter > u64::from(u32::MAX) {
                return Err(Error::Invalid(Parameter::InitialCounterValue));
            }
            let mut cipher = ChaCha20::new(key.into(), nonce.into());
            cipher
                .try_seek(position)
                .map_err(|_| Error::CounterOverflow)?;
            cipher
                .try_apply_keystream(out.as_mut_slice())
                .map_err(|_| Error::CounterOverflow)?;
        }
        8 => {
            let mut cipher = ChaCha20Legacy::new(key.into(), nonce.into());
            cipher
                .try_seek(position)
                .map_err(|_| Error::CounterOverflow)?;
            cipher
                .try_apply_keystream(out.as_mut_slice())
                .map_err(|_| Error::CounterOverflow)?;
        }
        len => {
            return Err(Error::BadLength {
                what: Input::Nonce,
                len,
            });
        }
    }
    Ok(out)
}

fn check_aead(nonce: &[u8], aad: &[u8], data: &[u8], tag_len: usize) -> Result<()> {
    if nonce.len() != AEAD_NONCE_LEN {
        return Err(Error::BadLength {
            what: Input::Nonce,
            len: nonce.len(),
        });
    }
    limits::check(Input::Aad, aad.len(), MAX_AAD_LEN)?;
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)?;
    if !(AEAD_MIN_TAG_LEN..=AEAD_MAX_TAG_LEN).contains(&tag_len) {
        return Err(Error::Invalid(Parameter::TagLength));
    }
    Ok(())
}

/// ChaCha20-Poly1305 encryption: the ciphertext and the tag, truncated to `tag_len` bytes
/// (KMIP Tag Length, [`AEAD_MIN_TAG_LEN`]..=[`AEAD_MAX_TAG_LEN`]).
pub fn chacha20_poly1305_encrypt(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    check_key(key)?;
    check_aead(nonce, aad, plaintext, tag_len)?;
    let cipher = ChaCha20Poly1305::new(key.into());
    let mut buffer = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(nonce.into(), aad, &mut buffer)
        .map_err(|_| Error::Invalid(Parameter::TagLength))?;
    Ok((buffer, tag[..tag_len].to_vec()))
}

/// ChaCha20-Poly1305 decryption with a tag of [`AEAD_MIN_TAG_LEN`]..=[`AEAD_MAX_TAG_LEN`] bytes
/// (a truncated tag is the leftmost bytes of the full one). Any failure is
/// [`Error::DecryptionFailed`]; no plaintext leaves before the tag is checked.
///
/// A full tag goes through the AEAD as is. For a truncated one, `chacha20poly1305` has no
/// entry point, so the plaintext is recovered with the RFC 8439 keystream (block counter 1,
/// section 2.8), then encrypted again through the AEAD, which yields the full tag of this very
/// ciphertext; its leftmost bytes are compared in constant time.
pub fn chacha20_poly1305_decrypt(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<SecretBytes> {
    check_key(key)?;
    check_aead(nonce, aad, ciphertext, tag.len())?;
    let cipher = ChaCha20Poly1305::new(key.into());
    if tag.len() == AEAD_MAX_TAG_LEN {
        let mut out = SecretBytes::new(ciphertext.to_vec());
        cipher
            .decrypt_in_place_detached(nonce.into(), aad, out.as_mut_slice(), tag.into())
            .map_err(|_| Error::DecryptionFailed)?;
        return Ok(out);
    }
    let mut plaintext = SecretBytes::new(ciphertext.to_vec());
    let mut keystream = ChaCha20::new(key.into(), nonce.into());
    keystream
        .try_seek(64u64)
        .map_err(|_| Error::DecryptionFailed)?;
    keystream
        .try_apply_keystream(plaintext.as_mut_slice())
        .map_err(|_| Error::DecryptionFailed)?;
    let mut again = plaintext.as_slice().to_vec();
    let full = cipher
        .encrypt_in_place_detached(nonce.into(), aad, &mut again)
        .map_err(|_| Error::DecryptionFailed)?;
    if bool::from(full[..tag.len()].ct_eq(tag)) {
        Ok(plaintext)
    } else {
        Err(Error::DecryptionFailed)
    }
}

#[cfg(test)]
#[path = "chacha_tests.rs"]
mod tests;
