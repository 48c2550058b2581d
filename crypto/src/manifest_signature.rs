//! The ECDSA P-256 signatures of signed documents (a tenant bundle's manifest): the HSM audit
//! key signs `r || s` over SHA-256; OpenSSL and most tools take the signature as DER and the key
//! as a SubjectPublicKeyInfo, so this converts between the two and verifies the DER form.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};

use crate::{Encoding, Error, KeyError, Result, Validity};

/// The SubjectPublicKeyInfo (DER) of a P-256 public key given as a SEC1 point.
pub fn p256_spki_der(sec1_point: &[u8]) -> Result<Vec<u8>> {
    let key = p256::PublicKey::from_sec1_bytes(sec1_point)
        .map_err(|_| Error::from(KeyError::Malformed(Encoding::Sec1)))?;
    Ok(key
        .to_public_key_der()
        .map_err(|_| Error::from(KeyError::Malformed(Encoding::Spki)))?
        .as_bytes()
        .to_vec())
}

/// The DER (`ECDSA-Sig-Value`) form of a raw `r || s` P-256 signature.
pub fn p256_signature_der(raw: &[u8]) -> Result<Vec<u8>> {
    let signature = Signature::from_slice(raw).map_err(|_| Error::BadLength {
        what: crate::Input::Signature,
        len: raw.len(),
    })?;
    Ok(signature.to_der().as_bytes().to_vec())
}

/// Verifies a DER ECDSA P-256 / SHA-256 signature of `message` under the public key
/// `spki_der`. A well-formed wrong signature is [`Validity::Invalid`].
pub fn p256_verify_der(spki_der: &[u8], message: &[u8], der_signature: &[u8]) -> Result<Validity> {
    let key = VerifyingKey::from_public_key_der(spki_der)
        .map_err(|_| Error::from(KeyError::Malformed(Encoding::Spki)))?;
    let Ok(signature) = Signature::from_der(der_signature) else {
        return Ok(Validity::Invalid);
    };
    Ok(Validity::from_bool(key.verify(message, &signature).is_ok()))
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;

    use super::*;

    #[test]
    fn a_raw_signature_verifies_in_der_form_and_a_changed_message_does_not() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let raw: Signature = key.sign(b"manifest");
        let point = key.verifying_key().to_encoded_point(false);
        let spki = p256_spki_der(point.as_bytes()).unwrap();
        let der = p256_signature_der(&raw.to_bytes()).unwrap();
        assert_eq!(
            p256_verify_der(&spki, b"manifest", &der).unwrap(),
            Validity::Valid
        );
        assert_eq!(
            p256_verify_der(&spki, b"manifesT", &der).unwrap(),
            Validity::Invalid
        );
        assert_eq!(
            p256_verify_der(&spki, b"manifest", b"junk").unwrap(),
            Validity::Invalid
        );
        assert!(p256_spki_der(&[4u8; 10]).is_err());
        assert!(p256_signature_der(&[1u8; 63]).is_err());
    }
}
