//! [`Hsm`]: the handle the server holds. A blocking API (for the CLI and for use inside
//! `spawn_blocking`); the async facade is in `nonblocking.rs`.

use std::sync::Arc;

use cryptoki::error::RvError;
use cryptoki::object::ObjectHandle;

use crate::config::{HsmConfig, Settings};
use crate::domain_key::{self, DomainKeyCache, Loss, WrappedDomainKey};
use crate::error::{Error, Result};
use crate::pool::{Lease, LoginCheck, PooledSession, SessionPool};
use crate::root::{self, Kcv, RootAttributes};
use crate::seal::{self, SealContext, SealedBlob};
use crate::secret::KeyBytes;
use crate::token::Token;

/// Largest single request for random bytes.
pub const MAX_RANDOM_LEN: usize = 64 * 1024;

/// An open HSM token with its Root of Trust: a pool of logged-in sessions and a cache of
/// unwrapped Domain Keys. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Hsm {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    pool: SessionPool,
    domain_keys: DomainKeyCache,
    root_kcv: Kcv,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm")
            .field("token", &self.inner.settings.token_label)
            .field("root_kcv", &self.inner.root_kcv)
            .field("pool", &self.inner.pool)
            .finish_non_exhaustive()
    }
}

impl Hsm {
    /// Loads the module, finds the token by label, logs in with the configured PIN, finds
    /// the Root of Trust and computes its KCV.
    ///
    /// Fails with [`Error::ModuleLoad`], [`Error::TokenNotFound`], [`Error::WrongPin`],
    /// [`Error::Pin`] or [`Error::RootNotFound`] (the root is made by the key ceremony, never
    /// implicitly: an AZ that made its own would silently diverge from the cluster).
    pub fn open(config: &HsmConfig) -> Result<Hsm> {
        let settings = config.validate()?;
        let pin = settings.pin_source.read()?;
        let token = Token::open(&settings.module, &settings.token_label)?;
        let pool = SessionPool::new(token, pin, settings.pool_size);
        let root_kcv = {
            let mut lease = pool.checkout()?;
            let root = root_handle(&mut lease, &settings.root_label)?;
            root::kcv(&lease.session, root, settings.kcv)?
        };
        tracing::info!(token = %settings.token_label, %root_kcv, "HSM open");
        Ok(Hsm {
            inner: Arc::new(Inner {
                domain_keys: DomainKeyCache::new(settings.domain_key_cache),
                settings,
                pool,
                root_kcv,
            }),
        })
    }

    /// The Root of Trust's key check value (computed at open; see [`crate::KcvSource`]).
    pub fn root_kcv(&self) -> Kcv {
        self.inner.root_kcv
    }

    /// The label of the token in use.
    pub fn token_label(&self) -> &str {
        &self.inner.settings.token_label
    }

    /// The root's security attributes as the token reports them.
    pub fn root_attributes(&self) -> Result<RootAttributes> {
        self.run(|hsm, lease| {
            let root = root_handle(lease, &hsm.settings.root_label)?;
            root::attributes(&lease.session, root)
        })
    }

    /// `n` random bytes from the HSM's RNG (`C_GenerateRandom`), for key material.
    pub fn random(&self, n: usize) -> Result<KeyBytes> {
        if n == 0 || n > MAX_RANDOM_LEN {
            return Err(Error::Length {
                what: "random byte count",
                len: n,
                min: 1,
                max: MAX_RANDOM_LEN,
            });
        }
        self.run(|_, lease| {
            let mut bytes = KeyBytes::new(vec![0u8; n]);
            lease.session.generate_random_slice(bytes.expose_mut())?;
            Ok(bytes)
        })
    }

    /// Generates a Domain Key in the HSM and returns it wrapped under the root.
    pub fn create_domain_key(&self, version: u32) -> Result<WrappedDomainKey> {
        self.run(|hsm, lease| {
            let root = root_handle(lease, &hsm.settings.root_label)?;
            domain_key::create(
                &lease.session,
                root,
                hsm.root_kcv,
                hsm.settings.key_wrap,
                version,
            )
        })
    }

    /// Seals `plaintext` under the tenant's Domain Key, bound to `context`.
    pub fn seal(
        &self,
        dk: &WrappedDomainKey,
        context: &SealContext<'_>,
        plaintext: &[u8],
    ) -> Result<SealedBlob> {
        self.with_domain_key(context.tenant, dk, |session, key| {
            seal::seal(session, key, dk.version, context, plaintext)
        })
    }

    /// Unseals a blob sealed by [`Hsm::seal`] with the same Domain Key and context.
    /// Anything else (another tenant, object, version or Domain Key; a changed byte) is
    /// [`Error::UnsealFailed`].
    pub fn unseal(
        &self,
        dk: &WrappedDomainKey,
        context: &SealContext<'_>,
        blob: &SealedBlob,
    ) -> Result<KeyBytes> {
        if blob.dk_version() != dk.version {
            return Err(Error::UnsealFailed);
        }
        self.with_domain_key(context.tenant, dk, |session, key| {
            seal::unseal(session, key, context, blob)
        })
    }

    /// Re-seals a blob from one Domain Key version to another (Domain Key rotation). The
    /// plaintext exists only in zeroizing memory between the two HSM calls.
    pub fn reseal(
        &self,
        from: &WrappedDomainKey,
        to: &WrappedDomainKey,
        context: &SealContext<'_>,
        blob: &SealedBlob,
    ) -> Result<SealedBlob> {
        let plaintext = self.unseal(from, context, blob)?;
        self.seal(to, context, plaintext.expose())
    }

    /// Drops every cached (unwrapped) version of the tenant's Domain Key from the HSM.
    /// Returns how many were dropped.
    pub fn drop_domain_key(&self, tenant: &str) -> Result<usize> {
        self.run(|hsm, lease| Ok(hsm.domain_keys.drop_tenant(&lease.session, tenant)))
    }

    /// Number of Domain Keys currently unwrapped in the HSM.
    pub fn cached_domain_keys(&self) -> usize {
        self.inner.domain_keys.len()
    }

    /// Test hook: logs the token out from under the pool (as an HSM timeout or failover
    /// would), so the next call must recover. Not for production use.
    #[doc(hidden)]
    pub fn logout_from_under_pool(&self) -> Result<()> {
        self.inner.pool.logout_from_under()
    }

    /// Runs `op` with the audit key label on a pooled session (with recovery).
    pub(crate) fn run_with_session<T>(
        &self,
        op: impl Fn(&str, &cryptoki::session::Session) -> Result<T>,
    ) -> Result<T> {
        self.run(|hsm, lease| op(&hsm.settings.audit_key_label, &lease.session))
    }

    fn with_domain_key<T>(
        &self,
        tenant: &str,
        dk: &WrappedDomainKey,
        op: impl Fn(&cryptoki::session::Session, ObjectHandle) -> Result<T>,
    ) -> Result<T> {
        domain_key::check(dk, self.inner.root_kcv)?;
        self.run(|hsm, lease| {
            let root = root_handle(lease, &hsm.settings.root_label)?;
            let session = &lease.session;
            hsm.domain_keys.with_key(
                session,
                lease.id,
                tenant,
                dk,
                || domain_key::unwrap(session, root, hsm.root_kcv, dk),
                |key| op(session, key),
            )
        })
    }

    /// Runs `op` on a leased session. If the session or login was lost, the session is
    /// discarded (with the Domain Keys it owned), a fresh one opened and logged in, and
    /// `op` retried once.
    fn run<T>(&self, op: impl Fn(&Inner, &mut PooledSession) -> Result<T>) -> Result<T> {
        let inner = &*self.inner;
        let mut lease = inner.pool.checkout()?;
        let epoch = inner.pool.login_epoch();
        match op(inner, &mut lease) {
            Err(err) => match lost(&lease, &err, |session| {
                inner.pool.login_changed(session, epoch)
            }) {
                Some(Recovery::Handles) => {
                    // Logged in, but the handles this session found are gone (another
                    // thread already re-logged the token in): find objects again.
                    tracing::debug!(error = %err, "stale object handles; retrying once");
                    lease.handles.clear();
                    op(inner, &mut lease)
                }
                Some(Recovery::Reopen(loss)) => {
                    tracing::warn!(error = %err, "HSM session lost; reopening and retrying once");
                    self.recover(lease, loss);
                    let mut lease = inner.pool.checkout()?;
                    inner.pool.relogin(&lease)?;
                    op(inner, &mut lease)
                }
                None => Err(err),
            },
            ok => ok,
        }
    }

    fn recover(&self, lease: Lease<'_>, loss: Loss) {
        let inner = &*self.inner;
        match loss {
            Loss::Login => inner.domain_keys.forget(loss, || {
                lease.discard();
                inner.pool.discard_idle();
            }),
            Loss::Session(_) => inner.domain_keys.forget(loss, || lease.discard()),
        }
    }
}

/// How to recover from a failed call.
enum Recovery {
    /// The session is still logged in but its cached handles are stale.
    Handles,
    /// The session or the login is gone: discard and reopen.
    Reopen(Loss),
}

/// Whether `err` on `session` means the session or the login is gone, or only this
/// session's handles. Errors that a lost login can disguise (a private object not found, a
/// handle no longer valid) are checked against the session's state.
fn lost(
    session: &PooledSession,
    err: &Error,
    login_changed: impl Fn(&PooledSession) -> LoginCheck,
) -> Option<Recovery> {
    if err.is_session_lost() {
        return Some(Recovery::Reopen(if err.is_login_lost() {
            Loss::Login
        } else {
            Loss::Session(session.id)
        }));
    }
    // Under a call whose login vanishes, SoftHSM fails with whatever it read from the
    // half-deleted key (CKR_GENERAL_ERROR, CKR_KEY_TYPE_INCONSISTENT, ...; unseal reports
    // a general error as UnsealFailed). So any HSM failure is checked against the login.
    if !matches!(
        err,
        Error::Pkcs11(..) | Error::RootNotFound { .. } | Error::UnsealFailed
    ) {
        return None;
    }
    let stale_handle = matches!(
        err.rv(),
        Some(
            RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::WrappingKeyHandleInvalid
                | RvError::UnwrappingKeyHandleInvalid
        )
    );
    match login_changed(session) {
        LoginCheck::Unchanged if stale_handle => Some(Recovery::Handles),
        LoginCheck::Unchanged => None,
        LoginCheck::Relogged => Some(Recovery::Handles),
        LoginCheck::LoggedOut => Some(Recovery::Reopen(Loss::Login)),
        LoginCheck::SessionGone => Some(Recovery::Reopen(Loss::Session(session.id))),
    }
}

/// The root's handle through this session (cached per session, found by label).
fn root_handle(session: &mut PooledSession, label: &str) -> Result<ObjectHandle> {
    if let Some(handle) = session.handles.get(label) {
        return Ok(*handle);
    }
    let handle = root::find(&session.session, label)?;
    session.handles.insert(label.to_owned(), handle);
    Ok(handle)
}
