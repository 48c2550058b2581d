//! Per-tenant Domain Keys: generated in the HSM, kept outside only wrapped under the root,
//! unwrapped on demand into the HSM as non-extractable session objects and cached there.
//!
//! Session objects belong to the session that created them but are visible to every session
//! of the application (PKCS#11 2.40 §4.4; SoftHSM behaves so, see the tests). They vanish when
//! their session closes or the token is logged out. The cache therefore records which pooled
//! session owns each object and is guarded by a read/write gate: every use of a cached handle
//! holds the read side, and anything that can make a handle stale (closing a session, losing
//! the login, destroying a Domain Key) holds the write side. A handle is thus never used after
//! its object may have gone, even on HSMs that reuse handle numbers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::KeyWrapMechanism;
use crate::error::{Error, Result};
use crate::root::Kcv;

/// Current [`WrappedDomainKey`] format.
pub const DOMAIN_KEY_FORMAT: u8 = 1;
/// AES-256.
const DOMAIN_KEY_LEN: u64 = 32;
/// Longest wrapped Domain Key accepted (a 32-byte key wraps to 40 bytes).
const MAX_WRAPPED_LEN: usize = 512;

/// A Domain Key as stored outside the HSM: wrapped under the Root of Trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedDomainKey {
    /// Format of this record ([`DOMAIN_KEY_FORMAT`]).
    pub format: u8,
    /// Domain Key version within its tenant (rotation makes version + 1).
    pub version: u32,
    /// KCV of the root it is wrapped under.
    pub root_kcv: Kcv,
    /// The wrapping mechanism.
    pub mechanism: KeyWrapMechanism,
    /// The wrapped key bytes.
    #[serde(with = "hex::serde")]
    pub wrapped: Vec<u8>,
}

impl WrappedDomainKey {
    fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.version.to_be_bytes());
        hash.update(&self.wrapped);
        hash.finalize().into()
    }
}

/// The PKCS#11 mechanism for a key wrap choice.
pub(crate) fn wrap_mechanism(choice: KeyWrapMechanism) -> Result<Mechanism<'static>> {
    match choice {
        KeyWrapMechanism::AesKeyWrapPad => Ok(Mechanism::AesKeyWrapPad),
        KeyWrapMechanism::AesKeyWrap => Ok(Mechanism::AesKeyWrap),
        KeyWrapMechanism::AesKeyWrapKwp => Err(Error::UnsupportedMechanism(
            "CKM_AES_KEY_WRAP_KWP (not expressible with cryptoki 0.12)",
        )),
    }
}

/// Generates a Domain Key in the HSM and returns it wrapped under `root`; the plaintext
/// object is destroyed before returning.
pub(crate) fn create(
    session: &Session,
    root: ObjectHandle,
    root_kcv: Kcv,
    mechanism: KeyWrapMechanism,
    version: u32,
) -> Result<WrappedDomainKey> {
    let wrap = wrap_mechanism(mechanism)?;
    let key = session.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::ValueLen(DOMAIN_KEY_LEN.into()),
        ],
    )?;
    let wrapped = session.wrap_key(&wrap, root, key);
    let destroyed = session.destroy_object(key);
    let wrapped = wrapped?;
    destroyed?;
    Ok(WrappedDomainKey {
        format: DOMAIN_KEY_FORMAT,
        version,
        root_kcv,
        mechanism,
        wrapped,
    })
}

/// Unwraps a Domain Key into the HSM as a non-extractable, sensitive session object usable
/// only for encryption and decryption.
pub(crate) fn unwrap(
    session: &Session,
    root: ObjectHandle,
    root_kcv: Kcv,
    dk: &WrappedDomainKey,
) -> Result<ObjectHandle> {
    check(dk, root_kcv)?;
    let wrap = wrap_mechanism(dk.mechanism)?;
    Ok(session.unwrap_key(
        &wrap,
        root,
        &dk.wrapped,
        &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
        ],
    )?)
}

/// Checks a wrapped Domain Key's header against this HSM before the HSM sees it.
pub(crate) fn check(dk: &WrappedDomainKey, root_kcv: Kcv) -> Result<()> {
    if dk.format != DOMAIN_KEY_FORMAT {
        return Err(Error::Malformed {
            what: "wrapped Domain Key",
            reason: "unknown format",
        });
    }
    if dk.wrapped.is_empty() || dk.wrapped.len() > MAX_WRAPPED_LEN {
        return Err(Error::Length {
            what: "wrapped Domain Key",
            len: dk.wrapped.len(),
            min: 1,
            max: MAX_WRAPPED_LEN,
        });
    }
    if dk.root_kcv != root_kcv {
        return Err(Error::RootMismatch {
            expected: dk.root_kcv,
            actual: root_kcv,
        });
    }
    Ok(())
}

#[derive(Debug)]
struct Entry {
    handle: ObjectHandle,
    /// Pool serial of the session that created (and owns) the object.
    owner: u64,
    fingerprint: [u8; 32],
    last_used: AtomicU64,
}

/// Cached unwrapped Domain Keys, by (tenant, version).
#[derive(Debug)]
pub(crate) struct DomainKeyCache {
    gate: RwLock<HashMap<(String, u32), Entry>>,
    capacity: usize,
    clock: AtomicU64,
}

/// What made cached handles stale.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loss {
    /// One session closed: its objects are gone.
    Session(u64),
    /// The login (or the token) is gone: every private session object is gone.
    Login,
}

impl DomainKeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        DomainKeyCache {
            gate: RwLock::new(HashMap::new()),
            capacity,
            clock: AtomicU64::new(0),
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<(String, u32), Entry>> {
        self.gate.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `op` with the tenant's Domain Key as an HSM object, unwrapping it through
    /// `session` on a miss. A handle found stale is evicted and the key unwrapped again,
    /// once.
    pub(crate) fn with_key<T>(
        &self,
        session: &Session,
        owner: u64,
        tenant: &str,
        dk: &WrappedDomainKey,
        unwrap_key: impl Fn() -> Result<ObjectHandle>,
        op: impl Fn(ObjectHandle) -> Result<T>,
    ) -> Result<T> {
        let key = (tenant.to_owned(), dk.version);
        let fingerprint = dk.fingerprint();
        for _attempt in 0..3 {
            {
                let map = self.gate.read().unwrap_or_else(PoisonError::into_inner);
                if let Some(entry) = map.get(&key).filter(|e| e.fingerprint == fingerprint) {
                    entry.last_used.store(
                        self.clock.fetch_add(1, Ordering::Relaxed),
                        Ordering::Relaxed,
                    );
                    let handle = entry.handle;
                    match op(handle) {
                        Err(err) if err.is_stale_handle() => {
                            drop(map);
                            self.evict_handle(&key, handle);
                            continue;
                        }
                        result => return result,
                    }
                }
            }
            let handle = unwrap_key()?;
            let mut map = self.write();
            if map.len() >= self.capacity && !map.contains_key(&key) {
                evict_oldest(&mut map, session);
            }
            let old = map.insert(
                key.clone(),
                Entry {
                    handle,
                    owner,
                    fingerprint,
                    last_used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
                },
            );
            if let Some(old) = old {
                destroy_quietly(session, old.handle);
            }
        }
        // Three rounds of unwrap-then-stale means the HSM keeps dropping the object.
        Err(Error::Pkcs11(
            cryptoki::error::RvError::KeyHandleInvalid,
            cryptoki::context::Function::Encrypt,
        ))
    }

    fn evict_handle(&self, key: &(String, u32), handle: ObjectHandle) {
        let mut map = self.write();
        if map.get(key).is_some_and(|e| e.handle == handle) {
            map.remove(key);
        }
    }

    /// Forgets (and destroys through `session`) every cached version of a tenant's Domain
    /// Key. Returns how many were dropped.
    pub(crate) fn drop_tenant(&self, session: &Session, tenant: &str) -> usize {
        let mut map = self.write();
        let keys: Vec<_> = map.keys().filter(|(t, _)| t == tenant).cloned().collect();
        for key in &keys {
            if let Some(entry) = map.remove(key) {
                destroy_quietly(session, entry.handle);
            }
        }
        keys.len()
    }

    /// Forgets handles made stale by `loss`, then runs `close` (which closes the sessions
    /// concerned) while still holding the write side, so no reader uses a dying handle.
    pub(crate) fn forget(&self, loss: Loss, close: impl FnOnce()) {
        let mut map = self.write();
        match loss {
            Loss::Session(owner) => map.retain(|_, e| e.owner != owner),
            Loss::Login => map.clear(),
        }
        close();
    }

    /// Number of cached Domain Keys.
    pub(crate) fn len(&self) -> usize {
        self.gate
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn evict_oldest(map: &mut HashMap<(String, u32), Entry>, session: &Session) {
    let oldest = map
        .iter()
        .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
        .map(|(k, _)| k.clone());
    if let Some(entry) = oldest.and_then(|k| map.remove(&k)) {
        destroy_quietly(session, entry.handle);
    }
}

/// Destroys a session object whose handle is leaving the cache. A failure only means the
/// object is already gone (or will go with its session).
fn destroy_quietly(session: &Session, handle: ObjectHandle) {
    if let Err(err) = session.destroy_object(handle) {
        tracing::debug!(error = %err, "destroying a cached Domain Key object failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dk(version: u32, byte: u8) -> WrappedDomainKey {
        WrappedDomainKey {
            format: DOMAIN_KEY_FORMAT,
            version,
            root_kcv: Kcv([1, 2, 3]),
            mechanism: KeyWrapMechanism::AesKeyWrapPad,
            wrapped: vec![byte; 40],
        }
    }

    #[test]
    fn header_checks_come_before_the_hsm() {
        assert!(check(&dk(1, 0), Kcv([1, 2, 3])).is_ok());
        assert!(matches!(
            check(&dk(1, 0), Kcv([9, 9, 9])),
            Err(Error::RootMismatch { .. })
        ));
        let mut bad = dk(1, 0);
        bad.format = 2;
        assert!(matches!(
            check(&bad, Kcv([1, 2, 3])),
            Err(Error::Malformed { .. })
        ));
        bad = dk(1, 0);
        bad.wrapped = vec![0; MAX_WRAPPED_LEN + 1];
        assert!(matches!(
            check(&bad, Kcv([1, 2, 3])),
            Err(Error::Length { .. })
        ));
    }

    #[test]
    fn fingerprint_covers_version_and_bytes() {
        assert_eq!(dk(1, 0).fingerprint(), dk(1, 0).fingerprint());
        assert_ne!(dk(1, 0).fingerprint(), dk(2, 0).fingerprint());
        assert_ne!(dk(1, 0).fingerprint(), dk(1, 1).fingerprint());
    }

    #[test]
    fn wrapped_domain_key_round_trips_through_json() {
        let json = serde_json::to_string(&dk(7, 0xAB)).expect("serialise");
        assert!(json.contains("\"aes_key_wrap_pad\""));
        let back: WrappedDomainKey = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, dk(7, 0xAB));
    }

    #[test]
    fn kwp_is_reported_unsupported() {
        assert!(matches!(
            wrap_mechanism(KeyWrapMechanism::AesKeyWrapKwp),
            Err(Error::UnsupportedMechanism(_))
        ));
    }
}
