//! Triple DES (NIST SP 800-67 Rev. 2: TDEA, encrypt-decrypt-encrypt) in ECB and CBC (SP
//! 800-38A), with or without PKCS#5 padding. Legacy: see the module above. Two-key (16 bytes,
//! K3 = K1) and three-key (24 bytes) keys; parity bits are ignored.

use cipher::block_padding::{NoPadding, Pkcs7};
use cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit};
use des::{TdesEde2, TdesEde3};

use crate::limits::{self, MAX_DATA_LEN};
use crate::{Error, Input, Result, SecretBytes};

/// The block cipher mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TdesMode {
    /// ECB (KMIP Block Cipher Mode ECB).
    Ecb,
    /// CBC with this IV (KMIP Block Cipher Mode CBC, IV/Counter/Nonce).
    Cbc([u8; 8]),
}

/// The padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TdesPadding {
    /// None: the data is a whole number of 8-byte blocks (KMIP Padding Method None).
    None,
    /// PKCS#5 (KMIP Padding Method PKCS5).
    Pkcs5,
}

/// True when the key degenerates to single DES (K1 = K2, or K2 = K3 for a three-key key):
/// the server may refuse such keys. The OASIS vector CS-BC-M-4-12-3DES uses one (K1 = K2 = K3).
pub fn tdes_key_is_degenerate(key: &[u8]) -> bool {
    // Parity bits (the low bit of each byte) do not take part in DES.
    let part = |i: usize| -> Option<[u8; 8]> {
        let s = key.get(8 * i..8 * i + 8)?;
        let mut out = [0u8; 8];
        for (o, b) in out.iter_mut().zip(s) {
            *o = b & 0xFE;
        }
        Some(out)
    };
    match (part(0), part(1), part(2)) {
        (Some(k1), Some(k2), Some(k3)) if key.len() == 24 => k1 == k2 || k2 == k3,
        (Some(k1), Some(k2), _) => k1 == k2,
        _ => false,
    }
}

fn check(key: &[u8], data: &[u8]) -> Result<()> {
    if key.len() != 16 && key.len() != 24 {
        return Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: key.len(),
        });
    }
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)
}

fn whole_blocks(data: &[u8]) -> Result<()> {
    if !data.len().is_multiple_of(8) {
        return Err(Error::BadLength {
            what: Input::Data,
            len: data.len(),
        });
    }
    Ok(())
}

/// Runs `$body` with `$c` bound to the TDES variant of `$key` (16 or 24 bytes, checked).
macro_rules! with_tdes {
    ($key:expr, |$cipher:ident| $body:expr) => {
        if $key.len() == 24 {
            type $cipher = TdesEde3;
            $body
        } else {
            type $cipher = TdesEde2;
            $body
        }
    };
}

/// Encrypts `plaintext`.
pub fn tdes_encrypt(
    key: &[u8],
    mode: TdesMode,
    padding: TdesPadding,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    check(key, plaintext)?;
    if padding == TdesPadding::None {
        whole_blocks(plaintext)?;
    }
    let bad_key = || Error::BadLength {
        what: Input::SymmetricKey,
        len: key.len(),
    };
    Ok(with_tdes!(key, |C| match (mode, padding) {
        (TdesMode::Ecb, TdesPadding::None) => ecb::Encryptor::<C>::new_from_slice(key)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec_mut::<NoPadding>(plaintext),
        (TdesMode::Ecb, TdesPadding::Pkcs5) => ecb::Encryptor::<C>::new_from_slice(key)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        (TdesMode::Cbc(iv), TdesPadding::None) => cbc::Encryptor::<C>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec_mut::<NoPadding>(plaintext),
        (TdesMode::Cbc(iv), TdesPadding::Pkcs5) => cbc::Encryptor::<C>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
    }))
}

/// Decrypts `ciphertext`. A padding error is [`Error::DecryptionFailed`] (CBC with PKCS#5 is a
/// padding oracle if a caller lets the difference show: the server answers every decryption
/// failure alike).
pub fn tdes_decrypt(
    key: &[u8],
    mode: TdesMode,
    padding: TdesPadding,
    ciphertext: &[u8],
) -> Result<SecretBytes> {
    check(key, ciphertext)?;
    whole_blocks(ciphertext)?;
    let bad_key = || Error::BadLength {
        what: Input::SymmetricKey,
        len: key.len(),
    };
    let out = with_tdes!(key, |C| match (mode, padding) {
        (TdesMode::Ecb, TdesPadding::None) => ecb::Decryptor::<C>::new_from_slice(key)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<NoPadding>(ciphertext),
        (TdesMode::Ecb, TdesPadding::Pkcs5) => ecb::Decryptor::<C>::new_from_slice(key)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext),
        (TdesMode::Cbc(iv), TdesPadding::None) => cbc::Decryptor::<C>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<NoPadding>(ciphertext),
        (TdesMode::Cbc(iv), TdesPadding::Pkcs5) => cbc::Decryptor::<C>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext),
    });
    out.map(SecretBytes::new)
        .map_err(|_| Error::DecryptionFailed)
}

#[cfg(test)]
#[path = "tdes_tests.rs"]
mod tests;
