//! The disaster-recovery backup: the root wrapped under a fresh AES-256 backup key, whose
//! bytes are split M-of-N among custodians with Shamir secret sharing over GF(256)
//! (`vsss-rs`). The backup key exists in plaintext only in this process's zeroizing memory
//! during `backup-create` and `backup-restore`, on the ceremony machine.

use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use secrecy::SecretString;
use vsss_rs::Gf256;
use zeroize::Zeroizing;

use super::CeremonyToken;
use super::records::{Backup, CustodianShare, RootWrapMechanism, WRAPPED_ROOT_FORMAT, WrappedRoot};
use crate::config::KeyWrapMechanism;
use crate::domain_key::wrap_mechanism;
use crate::error::{Error, Result};
use crate::root::{self, Kcv, ROOT_KEY_LEN, RootExport};
use crate::secret::KeyBytes;

/// Makes the backup key an HSM session object for one wrap or unwrap.
fn backup_key_object(
    session: &Session,
    key: &KeyBytes,
    trusted: bool,
    wrap: bool,
) -> Result<ObjectHandle> {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(!trusted),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(wrap),
        Attribute::Unwrap(!wrap),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Value(key.expose().to_vec()),
    ];
    if trusted {
        template.push(Attribute::Trusted(true));
    }
    Ok(session.create_object(&template)?)
}

fn wrap_choice(mechanism: RootWrapMechanism) -> Result<KeyWrapMechanism> {
    match mechanism {
        RootWrapMechanism::AesKeyWrapPad => Ok(KeyWrapMechanism::AesKeyWrapPad),
        RootWrapMechanism::AesKeyWrap => Ok(KeyWrapMechanism::AesKeyWrap),
        RootWrapMechanism::RsaOaep(_) => Err(Error::UnsupportedMechanism(
            "backup-restore takes backup records; use import-root for transport records",
        )),
    }
}

/// Step `backup-create`, on the source HSM: draws a backup key from the HSM RNG, has the
/// Security Officer load it as a trusted wrapping key (a public session object), wraps the
/// root under it as the user, and splits the key into `shares` shares of which `threshold`
/// restore it.
pub fn create_backup(
    token: &CeremonyToken,
    so_pin: &SecretString,
    user_pin: &SecretString,
    threshold: u8,
    shares: u8,
) -> Result<Backup> {
    if threshold < 2 || shares < threshold {
        return Err(Error::Shares("need 2 <= threshold <= shares <= 255"));
    }
    let choice = token.settings.key_wrap;
    let mechanism = match choice {
        KeyWrapMechanism::AesKeyWrapPad => RootWrapMechanism::AesKeyWrapPad,
        KeyWrapMechanism::AesKeyWrap => RootWrapMechanism::AesKeyWrap,
        KeyWrapMechanism::AesKeyWrapKwp => {
            return Err(Error::UnsupportedMechanism("CKM_AES_KEY_WRAP_KWP"));
        }
    };
    let wrap = wrap_mechanism(choice)?;
    let (wrapped_root, key) = token.so_then_user(
        so_pin,
        user_pin,
        |session| {
            let mut key = KeyBytes::new(vec![0u8; ROOT_KEY_LEN]);
            session.generate_random_slice(key.expose_mut())?;
            let object = backup_key_object(session, &key, true, true)?;
            Ok((key, object))
        },
        |session, (key, object)| {
            let root = token.root(session)?;
            let kcv = token.kcv(session, root)?;
            let wrapped = session.wrap_key(&wrap, object, root);
            let _ = session.destroy_object(object);
            let wrapped_root = WrappedRoot {
                format: WRAPPED_ROOT_FORMAT,
                kcv,
                mechanism,
                transport_fingerprint: None,
                wrapped: wrapped?,
            };
            Ok((wrapped_root, key))
        },
    )?;
    let split = Gf256::split_array(
        usize::from(threshold),
        usize::from(shares),
        key.expose(),
        rsa::rand_core::OsRng,
    )
    .map_err(Error::Sharing)?;
    let shares = split
        .into_iter()
        .map(|bytes| CustodianShare {
            root_kcv: wrapped_root.kcv,
            threshold,
            bytes: Zeroizing::new(bytes),
        })
        .collect();
    Ok(Backup {
        wrapped_root,
        shares,
    })
}

/// Combines custodian shares into the backup key, checking they belong together first.
fn combine(wrapped: &WrappedRoot, shares: &[CustodianShare]) -> Result<KeyBytes> {
    let first = shares.first().ok_or(Error::Shares("no shares given"))?;
    if shares.iter().any(|s| s.root_kcv != wrapped.kcv) {
        return Err(Error::Shares("a share belongs to a backup of another root"));
    }
    if shares
        .iter()
        .any(|s| s.threshold != first.threshold || s.bytes.len() != first.bytes.len())
    {
        return Err(Error::Shares("shares come from different backups"));
    }
    if shares.len() < usize::from(first.threshold) {
        return Err(Error::Shares("fewer shares than the threshold"));
    }
    let mut numbers: Vec<u8> = shares.iter().map(CustodianShare::number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.len() != shares.len() {
        return Err(Error::Shares("the same share was given twice"));
    }
    let parts: Zeroizing<Vec<Vec<u8>>> =
        Zeroizing::new(shares.iter().map(|s| s.bytes.to_vec()).collect());
    let key = Gf256::combine_array(&*parts).map_err(Error::Sharing)?;
    Ok(KeyBytes::new(key))
}

/// Step `backup-restore`, on a new (or wiped) HSM: combines at least `threshold` custodian
/// shares into the backup key, loads it as a session object, unwraps the root as a token
/// object with `export` exportability, and checks the KCV (destroying the root on mismatch).
pub fn restore_backup(
    token: &CeremonyToken,
    user_pin: &SecretString,
    wrapped: &WrappedRoot,
    shares: &[CustodianShare],
    export: RootExport,
) -> Result<Kcv> {
    wrapped.check_format()?;
    let unwrap = wrap_mechanism(wrap_choice(wrapped.mechanism)?)?;
    let key = combine(wrapped, shares)?;
    let session = token.user_session(user_pin)?;
    token.require_no_root(&session)?;
    let object = backup_key_object(&session, &key, false, false)?;
    drop(key);
    let template = root::root_template(&token.settings.root_label, export, true);
    let root = session.unwrap_key(&unwrap, object, &wrapped.wrapped, &template);
    let _ = session.destroy_object(object);
    let kcv = token.verify_imported(&session, root?, wrapped.kcv)?;
    tracing::info!(token = token.token.label(), %kcv, "Root of Trust restored from backup");
    Ok(kcv)
}
