//! A pool of logged-in PKCS#11 sessions.
//!
//! A `cryptoki` [`Session`] is `Send` but not `Sync`: each call borrows one session
//! exclusively through a [`Lease`], on a blocking thread. Sessions are opened lazily up to
//! `pool_size`; a caller waits when all are leased. A session that failed with a
//! "session lost" error is discarded by the caller ([`Lease::discard`]) and replaced on the
//! next checkout, which opens and logs in a fresh one.
//!
//! Token object handles (the root, the audit key) are cached per session in
//! [`PooledSession::handles`], so they die with the session and are never reused across a
//! login.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, SessionState, UserType};
use secrecy::SecretString;

use crate::error::Result;
use crate::token::Token;

/// One session of the pool, with the object handles found through it.
#[derive(Debug)]
pub(crate) struct PooledSession {
    pub(crate) session: Session,
    /// Pool-unique serial number of this session (for session-object ownership).
    pub(crate) id: u64,
    /// Token object handles found through this session, by label.
    pub(crate) handles: HashMap<String, ObjectHandle>,
}

#[derive(Debug, Default)]
struct PoolState {
    idle: Vec<PooledSession>,
    /// Sessions open now, leased or idle.
    open: usize,
}

/// The session pool of one token.
pub(crate) struct SessionPool {
    token: Token,
    pin: SecretString,
    max: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
    next_id: AtomicU64,
    /// Bumped before every login attempt, so a caller whose call failed can tell that the
    /// login may have been lost and re-established meanwhile.
    login_epoch: AtomicU64,
    /// Held across every login (with the epoch bumps around it) and across
    /// [`SessionPool::login_changed`], so that check sees a login whole or not at all.
    login_lock: Mutex<()>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("token", &self.token.label())
            .field("max", &self.max)
            .field("pin", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl SessionPool {
    pub(crate) fn new(token: Token, pin: SecretString, max: usize) -> Self {
        SessionPool {
            token,
            pin,
            max,
            state: Mutex::new(PoolState::default()),
            returned: Condvar::new(),
            next_id: AtomicU64::new(1),
            login_epoch: AtomicU64::new(0),
            login_lock: Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leases a session: an idle one, a newly opened one, or the next one returned.
    pub(crate) fn checkout(&self) -> Result<Lease<'_>> {
        let mut state = self.state();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    leased: Some(session),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.open_session() {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        leased: Some(session),
                    }),
                    Err(err) => {
                        self.forget_one();
                        Err(err)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The current login epoch (see [`SessionPool::relogin`]).
    pub(crate) fn login_epoch(&self) -> u64 {
        self.login_epoch.load(Ordering::SeqCst)
    }

    /// Whether the login may have changed under a call that started at `epoch` on
    /// `session`: the session is not logged in now, or a login happened since.
    pub(crate) fn login_changed(&self, session: &PooledSession, epoch: u64) -> LoginCheck {
        let _guard = self
            .login_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match session.session.get_session_info() {
            Ok(info) => match info.session_state() {
                SessionState::RoUser | SessionState::RwUser => {
                    if self.login_epoch() == epoch {
                        LoginCheck::Unchanged
                    } else {
                        LoginCheck::Relogged
                    }
                }
                _ => LoginCheck::LoggedOut,
            },
            Err(_) => LoginCheck::SessionGone,
        }
    }

    /// Logs `session` in, bumping the epoch before and after, under the login lock.
    fn login(&self, session: &Session) -> Result<()> {
        let _guard = self
            .login_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.login_epoch.fetch_add(1, Ordering::SeqCst);
        let result = self.token.login(session, UserType::User, &self.pin);
        self.login_epoch.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn open_session(&self) -> Result<PooledSession> {
        let session = self.token.open_session()?;
        self.login(&session)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            token = self.token.label(),
            session = id,
            "opened HSM session"
        );
        Ok(PooledSession {
            session,
            id,
            handles: HashMap::new(),
        })
    }

    /// Logs the token in again (after a logout from under the pool). Login is per
    /// application, so one session suffices.
    pub(crate) fn relogin(&self, session: &PooledSession) -> Result<()> {
        self.login(&session.session)
    }

    fn forget_one(&self) {
        let mut state = self.state();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    /// Closes every idle session (after the token was logged out or removed, they are all
    /// suspect). Returns how many were closed.
    pub(crate) fn discard_idle(&self) -> usize {
        let idle = {
            let mut state = self.state();
            let idle = std::mem::take(&mut state.idle);
            state.open = state.open.saturating_sub(idle.len());
            idle
        };
        let closed = idle.len();
        drop(idle);
        self.returned.notify_all();
        closed
    }

    /// Test hook: logs the token out through one pooled session, which drops the login
    /// (and every private session object) for all sessions of this process, as an HSM-side
    /// timeout or failover would. (`cryptoki` 0.12 exposes no `C_CloseAllSessions`.)
    pub(crate) fn logout_from_under(&self) -> Result<()> {
        let lease = self.checkout()?;
        lease.session.logout()?;
        Ok(())
    }
}

/// What [`SessionPool::login_changed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginCheck {
    /// Logged in, and no login happened since the call started.
    Unchanged,
    /// Logged in, but a login happened since the call started (handles may be stale).
    Relogged,
    /// The session is no longer logged in.
    LoggedOut,
    /// The session itself is gone.
    SessionGone,
}

/// An exclusively borrowed session; returned to the pool on drop.
#[derive(Debug)]
pub(crate) struct Lease<'p> {
    pool: &'p SessionPool,
    leased: Option<PooledSession>,
}

impl Lease<'_> {
    /// Closes the session instead of returning it (it failed with "session lost").
    pub(crate) fn discard(mut self) {
        if let Some(session) = self.leased.take() {
            tracing::warn!(session = session.id, "discarding HSM session");
            drop(session);
            self.pool.forget_one();
        }
    }
}

impl Deref for Lease<'_> {
    type Target = PooledSession;
    fn deref(&self) -> &PooledSession {
        // Invariant: `session` is Some until `discard` or drop consumes it.
        self.leased
            .as_ref()
            .unwrap_or_else(|| unreachable!("lease used after discard"))
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PooledSession {
        self.leased
            .as_mut()
            .unwrap_or_else(|| unreachable!("lease used after discard"))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.leased.take() {
            self.pool.state().idle.push(session);
            self.pool.returned.notify_one();
        }
    }
}
