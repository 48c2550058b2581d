//! The optional KMIP Credential (username and password) per client: stored as an Argon2id
//! PHC string, never in clear.
//!
//! Checking one costs an Argon2 run (tens of milliseconds of CPU and 19 MiB of memory by
//! design), so [`PasswordChecks`]:
//! - runs it on the blocking thread pool, at most `limits.password_checks` at once, never on
//!   the async workers that answer every other client;
//! - runs it once per connection: a connection remembers the password it proved
//!   ([`ProvenPassword`]), as vCenter sends it with every request;
//! - refuses, without running it, a client or source address locked out after repeated wrong
//!   passwords ([`lockout`]).

pub mod lockout;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::config::ServiceLimits;
use crate::metrics::Metrics;
pub use lockout::Scope;

/// Hashes a password for storage.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash (constant-time inside argon2).
pub fn verify(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The node's password checks: a bounded pool and the lockouts.
#[derive(Debug)]
pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    lockouts: lockout::Lockouts,
}

/// A refused password check, with the lockouts it started (to be audited).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Refused {
    /// Lockouts that start with this refusal.
    pub started: Vec<Scope>,
}

/// One check's inputs: who, against what, with what, from where.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The client's store key (`tenant/name`).
    pub client: &'a str,
    /// The client's name, which the Username must equal.
    pub name: &'a str,
    /// The stored PHC string.
    pub stored: &'a str,
    /// The Username sent.
    pub username: &'a str,
    /// The Password sent.
    pub password: &'a str,
    /// The source address.
    pub address: IpAddr,
}

impl PasswordChecks {
    /// Checks under these limits.
    pub fn new(limits: &ServiceLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.password_checks)),
            lockouts: lockout::Lockouts::new(
                limits.password_failures_per_client,
                limits.password_failures_per_address,
                limits.password_lockout,
            ),
        }
    }

    /// Checks `attempt` on a connection that proved `proven` so far.
    pub async fn check(
        &self,
        attempt: &Attempt<'_>,
        proven: &mut ProvenPassword,
        metrics: &Metrics,
    ) -> Result<(), Refused> {
        if attempt.username == attempt.name && proven.holds(attempt) {
            return Ok(());
        }
        if self.refused_while_locked(attempt, metrics) {
            return Err(Refused::default());
        }
        if attempt.username != attempt.name {
            return Err(self.failed(attempt));
        }
        // Waits its turn without holding an async worker; the lockout is looked at again
        // after the wait, so a queue of guesses stops at the lockout.
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(Refused::default());
        };
        if self.refused_while_locked(attempt, metrics) {
            return Err(Refused::default());
        }
        metrics.password_verification();
        let stored = attempt.stored.to_owned();
        let password = Zeroizing::new(attempt.password.to_owned());
        let ok = tokio::task::spawn_blocking(move || verify(&stored, &password))
            .await
            .unwrap_or(false);
        if ok {
            self.lockouts.succeeded(attempt.client);
            proven.remember(attempt);
            Ok(())
        } else {
            Err(self.failed(attempt))
        }
    }

    fn refused_while_locked(&self, attempt: &Attempt<'_>, metrics: &Metrics) -> bool {
        let locked = self
            .lockouts
            .locked(attempt.client, attempt.address, Instant::now());
        if locked {
            metrics.limit_refused("password_lockout");
        }
        locked
    }

    fn failed(&self, attempt: &Attempt<'_>) -> Refused {
        Refused {
            started: self
                .lockouts
                .failed(attempt.client, attempt.address, Instant::now()),
        }
    }
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self::new(&ServiceLimits::default())
    }
}

/// The password one connection proved: its client, the stored hash it was checked against,
/// and a MAC of it under a key of this connection alone (the password itself is not kept).
/// A later request on the connection with the same client, the same stored hash (not
/// changed since) and the same password is accepted without Argon2.
pub struct ProvenPassword {
    key: Zeroizing<[u8; 32]>,
    proof: Option<Proof>,
}

struct Proof {
    client: String,
    stored: String,
    tag: Vec<u8>,
}

impl ProvenPassword {
    /// Nothing proved yet, with a fresh random key.
    pub fn new() -> Self {
        Self {
            key: Zeroizing::new(rand::random()),
            proof: None,
        }
    }

    /// The MAC of `password` under this connection's key (HMAC takes keys of any length, so
    /// `None` does not happen; it would only mean nothing is remembered).
    fn tag(&self, password: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()).ok()?;
        mac.update(password.as_bytes());
        Some(mac)
    }

    fn holds(&self, attempt: &Attempt<'_>) -> bool {
        let Some(proof) = &self.proof else {
            return false;
        };
        proof.client == attempt.client
            && proof.stored == attempt.stored
            && self
                .tag(attempt.password)
                .is_some_and(|mac| mac.verify_slice(&proof.tag).is_ok())
    }

    fn remember(&mut self, attempt: &Attempt<'_>) {
        let Some(mac) = self.tag(attempt.password) else {
            return;
        };
        let tag = mac.finalize().into_bytes().to_vec();
        self.proof = Some(Proof {
            client: attempt.client.to_owned(),
            stored: attempt.stored.to_owned(),
            tag,
        });
    }
}

impl Default for ProvenPassword {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ProvenPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvenPassword")
            .field("client", &self.proof.as_ref().map(|p| p.client.as_str()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::{Attempt, PasswordChecks, ProvenPassword, Refused, Scope};
    use crate::config::ServiceLimits;
    use crate::metrics::Metrics;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn attempt<'a>(stored: &'a str, password: &'a str) -> Attempt<'a> {
        Attempt {
            client: "acme/vcenter",
            name: "vcenter",
            stored,
            username: "vcenter",
            password,
            address: HOME,
        }
    }

    #[tokio::test]
    async fn a_connection_runs_argon2_once_and_only_for_what_it_proved() {
        let stored = super::hash("right").unwrap();
        let checks = PasswordChecks::default();
        let metrics = Metrics::new();
        let mut proven = ProvenPassword::new();
        for _ in 0..3 {
            checks
                .check(&attempt(&stored, "right"), &mut proven, &metrics)
                .await
                .unwrap();
        }
        assert_eq!(
            metrics.password_verifications(),
            1,
            "remembered after the first"
        );
        // Another password on the same connection is checked (and refused).
        assert!(
            checks
                .check(&attempt(&stored, "wrong"), &mut proven, &metrics)
                .await
                .is_err()
        );
        assert_eq!(metrics.password_verifications(), 2);
        // A changed stored hash is checked again.
        let changed = super::hash("right").unwrap();
        checks
            .check(&attempt(&changed, "right"), &mut proven, &metrics)
            .await
            .unwrap();
        assert_eq!(metrics.password_verifications(), 3);
        // Another connection proves its own.
        let mut other = ProvenPassword::new();
        checks
            .check(&attempt(&changed, "right"), &mut other, &metrics)
            .await
            .unwrap();
        assert_eq!(metrics.password_verifications(), 4);
        assert!(!format!("{proven:?}").contains("right"));
    }

    #[tokio::test]
    async fn a_lockout_refuses_without_argon2_and_says_when_it_starts() {
        let stored = super::hash("right").unwrap();
        let limits = ServiceLimits {
            password_failures_per_client: 2,
            ..ServiceLimits::default()
        };
        let checks = PasswordChecks::new(&limits);
        let metrics = Metrics::new();
        let mut proven = ProvenPassword::new();
        let first = checks
            .check(&attempt(&stored, "a"), &mut proven, &metrics)
            .await;
        assert_eq!(first, Err(Refused::default()));
        let second = checks
            .check(&attempt(&stored, "b"), &mut proven, &metrics)
            .await;
        assert_eq!(
            second,
            Err(Refused {
                started: vec![Scope::Client]
            })
        );
        assert_eq!(metrics.password_verifications(), 2);
        let locked = checks
            .check(&attempt(&stored, "right"), &mut proven, &metrics)
            .await;
        assert_eq!(locked, Err(Refused::default()), "even the right one");
        assert_eq!(
            metrics.password_verifications(),
            2,
            "no Argon2 while locked out"
        );
        // A wrong username counts without Argon2.
        let mut other = attempt(&stored, "right");
        other.client = "acme/other";
        other.name = "other";
        other.username = "vcenter";
        let _ = checks
            .check(&other, &mut ProvenPassword::new(), &metrics)
            .await;
        assert_eq!(metrics.password_verifications(), 2);
    }
}
