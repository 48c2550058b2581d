//! Moving the root from the source HSM to a target HSM under an RSA transport key.
//!
//! RSA-OAEP wraps the 32-byte root directly: with a 3072-bit modulus and SHA-256, OAEP fits
//! up to 318 bytes, so no intermediate AES key is needed.

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::MechanismType;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::CeremonyToken;
use super::records::{RootWrapMechanism, TransportPublicKey, WRAPPED_ROOT_FORMAT, WrappedRoot};
use crate::config::OaepHash;
use crate::error::{Error, Result};
use crate::root::{self, Kcv, RootExport};

/// Label of transport key pairs.
const TRANSPORT_LABEL: &str = "kms-transport";
/// Transport key size.
const TRANSPORT_BITS: u64 = 3072;
/// Smallest transport key the source accepts.
const MIN_TRANSPORT_BITS: usize = 3072;

/// The OAEP mechanism for a hash choice.
fn oaep(hash: OaepHash) -> Mechanism<'static> {
    let (hash, mgf) = match hash {
        OaepHash::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        OaepHash::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
    };
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty()))
}

/// DER `SubjectPublicKeyInfo` and its hex SHA-256 fingerprint.
fn encode(key: &RsaPublicKey) -> Result<(Vec<u8>, String)> {
    let der = key.to_public_key_der()?.into_vec();
    let fingerprint = hex::encode(Sha256::digest(&der));
    Ok((der, fingerprint))
}

/// The public key of an RSA public-key object.
fn read_public(session: &Session, handle: ObjectHandle) -> Result<RsaPublicKey> {
    let values = session.get_attributes(
        handle,
        &[AttributeType::Modulus, AttributeType::PublicExponent],
    )?;
    let (mut n, mut e) = (None, None);
    for value in values {
        match value {
            Attribute::Modulus(bytes) => n = Some(BigUint::from_bytes_be(&bytes)),
            Attribute::PublicExponent(bytes) => e = Some(BigUint::from_bytes_be(&bytes)),
            _ => {}
        }
    }
    let bad = Error::Malformed {
        what: "transport public key object",
        reason: "modulus or exponent missing or invalid",
    };
    match (n, e) {
        (Some(n), Some(e)) => RsaPublicKey::new(n, e).map_err(|_| bad),
        _ => Err(bad),
    }
}

/// Step `transport-keygen`, on the target HSM: generates an RSA-3072 transport key pair on
/// the token (private half non-extractable, unwrap only) and returns the public half.
pub fn generate_transport_key(
    token: &CeremonyToken,
    user_pin: &SecretString,
) -> Result<TransportPublicKey> {
    let session = token.user_session(user_pin)?;
    let id = session.generate_random_vec(16)?;
    let label = TRANSPORT_LABEL.as_bytes().to_vec();
    let (public, _private) = session.generate_key_pair(
        &Mechanism::RsaPkcsKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.clone()),
            Attribute::Id(id.clone()),
            Attribute::ModulusBits(TRANSPORT_BITS.into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
            Attribute::Wrap(true),
            Attribute::Encrypt(false),
            Attribute::Verify(false),
        ],
        &[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Label(label),
            Attribute::Id(id),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Unwrap(true),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
        ],
    )?;
    let key = read_public(&session, public)?;
    let (_, fingerprint) = encode(&key)?;
    let pem = key.to_public_key_pem(LineEnding::LF)?;
    tracing::info!(token = token.token.label(), %fingerprint, "transport key generated");
    Ok(TransportPublicKey {
        token_label: token.token.label().to_owned(),
        pem,
        fingerprint,
    })
}

/// Step `export-root`, on the source HSM: the Security Officer imports the transport public
/// key as a trusted session object (`CKA_TRUSTED` needs the SO), then the user wraps the root
/// under it with RSA-OAEP. The trusted key vanishes with the session. The caller must have
/// compared `expected_fingerprint` with the target's out of band.
pub fn export_root(
    token: &CeremonyToken,
    so_pin: &SecretString,
    user_pin: &SecretString,
    transport: &TransportPublicKey,
    expected_fingerprint: &str,
) -> Result<WrappedRoot> {
    let key = RsaPublicKey::from_public_key_pem(&transport.pem)?;
    let (_, fingerprint) = encode(&key)?;
    if !fingerprint.eq_ignore_ascii_case(expected_fingerprint.trim()) {
        return Err(Error::FingerprintMismatch {
            expected: expected_fingerprint.to_owned(),
            actual: fingerprint,
        });
    }
    if key.size() * 8 < MIN_TRANSPORT_BITS {
        return Err(Error::Length {
            what: "transport key modulus (bits)",
            len: key.size() * 8,
            min: MIN_TRANSPORT_BITS,
            max: 16384,
        });
    }
    let hash = token.settings.transport_oaep_hash;
    token.so_then_user(
        so_pin,
        user_pin,
        |session| {
            Ok(session.create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::RSA),
                Attribute::Token(false),
                Attribute::Private(false),
                Attribute::Modulus(key.n().to_bytes_be()),
                Attribute::PublicExponent(key.e().to_bytes_be()),
                Attribute::Wrap(true),
                Attribute::Encrypt(false),
                Attribute::Verify(false),
                Attribute::Trusted(true),
            ])?)
        },
        |session, trusted| {
            let root = token.root(session)?;
            let kcv = token.kcv(session, root)?;
            let wrapped = session.wrap_key(&oaep(hash), trusted, root);
            let _ = session.destroy_object(trusted);
            Ok(WrappedRoot {
                format: WRAPPED_ROOT_FORMAT,
                kcv,
                mechanism: RootWrapMechanism::RsaOaep(hash),
                transport_fingerprint: Some(fingerprint),
                wrapped: wrapped?,
            })
        },
    )
}

/// Finds the transport key pair whose public half has `fingerprint`; returns
/// (public, private) handles.
fn find_transport(session: &Session, fingerprint: &str) -> Result<(ObjectHandle, ObjectHandle)> {
    let label = Attribute::Label(TRANSPORT_LABEL.as_bytes().to_vec());
    let publics =
        session.find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), label.clone()])?;
    for public in publics {
        let (_, candidate) = encode(&read_public(session, public)?)?;
        if !candidate.eq_ignore_ascii_case(fingerprint) {
            continue;
        }
        let id = session
            .get_attributes(public, &[AttributeType::Id])?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Id(id) => Some(id),
                _ => None,
            });
        if let Some(id) = id {
            let privates = session.find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                label.clone(),
                Attribute::Id(id),
            ])?;
            if let [private] = privates.as_slice() {
                return Ok((public, *private));
            }
        }
    }
    Err(Error::TransportKeyNotFound {
        fingerprint: fingerprint.to_owned(),
    })
}

/// Step `import-root`, on the target HSM: unwraps the root with the transport private key
/// as a token object with `export` exportability, checks its KCV against the record (and
/// destroys it on mismatch), then destroys the transport key pair.
pub fn import_root(
    token: &CeremonyToken,
    user_pin: &SecretString,
    wrapped: &WrappedRoot,
    export: RootExport,
) -> Result<Kcv> {
    wrapped.check_format()?;
    let RootWrapMechanism::RsaOaep(hash) = wrapped.mechanism else {
        return Err(Error::UnsupportedMechanism(
            "import-root takes RSA-OAEP transport records; use backup-restore for backups",
        ));
    };
    let fingerprint = wrapped
        .transport_fingerprint
        .as_deref()
        .ok_or(Error::Malformed {
            what: "wrapped root",
            reason: "transport fingerprint missing",
        })?;
    let session = token.user_session(user_pin)?;
    token.require_no_root(&session)?;
    let (public, private) = find_transport(&session, fingerprint)?;
    let template = root::root_template(&token.settings.root_label, export, true);
    let root = session.unwrap_key(&oaep(hash), private, &wrapped.wrapped, &template)?;
    let kcv = token.verify_imported(&session, root, wrapped.kcv)?;
    session.destroy_object(private)?;
    session.destroy_object(public)?;
    tracing::info!(token = token.token.label(), %kcv, "Root of Trust imported");
    Ok(kcv)
}
