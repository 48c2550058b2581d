//! Chain inspections remembered for a short while. The vCenter pattern opens a new TLS
//! connection per operation, mostly resumed sessions of the same few certificates; inspecting
//! each chain again (a P-256 signature check, ~70 µs) was about a tenth of the server's CPU per
//! such connection. An inspection is reused for the same chain (same DER bytes) for at most
//! [`KEEP_SECS`], never past the end-entity certificate's notAfter, and never across a reload
//! of the trusted client CAs (an inspection names the trust generation it was made under).
//! Enrollment state is not cached here: it is looked up for every request (see
//! `principal_of`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use sha2::{Digest as _, Sha256};

use super::PeerCertificate;
use crate::tls::verifier::validity;

/// How long an inspection is reused: a chain that stops verifying for a reason other than a
/// certificate reload (which ends every inspection at once) is noticed within this time.
pub const KEEP_SECS: i64 = 60;

/// Chains remembered at most; the map is emptied when full.
const MAX_ENTRIES: usize = 4096;

/// Recent successful inspections, by SHA-256 over the chain.
#[derive(Default)]
pub struct RecentInspections {
    entries: Mutex<HashMap<[u8; 32], (PeerCertificate, i64, u64)>>,
}

impl fmt::Debug for RecentInspections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("RecentInspections")
            .field("entries", &n)
            .finish()
    }
}

impl RecentInspections {
    /// The inspection of `chain` made within [`KEEP_SECS`] seconds under the trusted client
    /// CAs of `generation` (`ClientVerifier::trust_generation`), or a new one by `inspect`,
    /// which is remembered when it succeeds.
    pub fn get_or_inspect<E>(
        &self,
        chain: &[CertificateDer<'_>],
        generation: u64,
        inspect: impl FnOnce() -> Result<PeerCertificate, E>,
    ) -> Result<PeerCertificate, E> {
        self.at(chain, unix_now(), generation, inspect)
    }

    fn at<E>(
        &self,
        chain: &[CertificateDer<'_>],
        now: i64,
        generation: u64,
        inspect: impl FnOnce() -> Result<PeerCertificate, E>,
    ) -> Result<PeerCertificate, E> {
        let key = chain_key(chain);
        if let Ok(entries) = self.entries.lock()
            && let Some((peer, until, made_under)) = entries.get(&key)
            && now <= *until
            && *made_under == generation
        {
            return Ok(peer.clone());
        }
        let peer = inspect()?;
        let not_after = chain
            .first()
            .and_then(|c| validity(c.as_ref()))
            .map(|(_, not_after)| not_after);
        if let (Some(not_after), Ok(mut entries)) = (not_after, self.entries.lock()) {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            let until = now.saturating_add(KEEP_SECS).min(not_after);
            entries.insert(key, (peer.clone(), until, generation));
        }
        Ok(peer)
    }
}

/// SHA-256 over every certificate of the chain, each preceded by its length.
fn chain_key(chain: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for der in chain {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der.as_ref());
    }
    h.finalize().into()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::CertificateFacts;

    fn peer(subject: &str) -> PeerCertificate {
        PeerCertificate {
            facts: CertificateFacts {
                fingerprint: "00".into(),
                subject: subject.into(),
                issuer: "CN=CA".into(),
                not_after: None,
            },
            identity: crate::identity::PeerIdentity::Pinnable,
        }
    }

    /// A self-signed certificate valid until 2030, or until 2020 when `expired`.
    fn cert(expired: bool) -> CertificateDer<'static> {
        let mut params = rcgen::CertificateParams::new(vec!["client".into()]).expect("params");
        params.not_after = if expired {
            rcgen::date_time_ymd(2020, 1, 1)
        } else {
            rcgen::date_time_ymd(2030, 1, 1)
        };
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().clone()
    }

    #[test]
    fn an_inspection_is_reused_for_a_minute_only() {
        let recent = RecentInspections::default();
        let chain = [cert(false)];
        let now = 1_700_000_000;
        let first = recent.at(&chain, now, 0, || Ok::<_, ()>(peer("first")));
        assert_eq!(first.map(|p| p.facts.subject), Ok("first".into()));
        let again = recent.at(&chain, now + KEEP_SECS, 0, || Ok::<_, ()>(peer("second")));
        assert_eq!(again.map(|p| p.facts.subject), Ok("first".into()));
        let later = recent.at(&chain, now + KEEP_SECS + 1, 0, || {
            Ok::<_, ()>(peer("third"))
        });
        assert_eq!(later.map(|p| p.facts.subject), Ok("third".into()));
        // another chain is inspected on its own
        let other = recent.at(&[cert(false)], now, 0, || Ok::<_, ()>(peer("other")));
        assert_eq!(other.map(|p| p.facts.subject), Ok("other".into()));
    }

    #[test]
    fn failures_and_expired_certificates_are_not_remembered() {
        let recent = RecentInspections::default();
        let chain = [cert(false)];
        let now = 1_700_000_000;
        assert_eq!(
            recent
                .at(&chain, now, 0, || Err::<PeerCertificate, _>("no"))
                .err(),
            Some("no")
        );
        let next = recent.at(&chain, now, 0, || Ok::<_, ()>(peer("ok")));
        assert_eq!(next.map(|p| p.facts.subject), Ok("ok".into()));
        let expired = [cert(true)];
        let _ = recent.at(&expired, now, 0, || Ok::<_, ()>(peer("a")));
        let again = recent.at(&expired, now, 0, || Ok::<_, ()>(peer("b")));
        assert_eq!(again.map(|p| p.facts.subject), Ok("b".into()));
    }

    #[test]
    fn an_inspection_is_not_reused_after_the_client_cas_are_reloaded() {
        let recent = RecentInspections::default();
        let chain = [cert(false)];
        let now = 1_700_000_000;
        let first = recent.at(&chain, now, 0, || Ok::<_, ()>(peer("first")));
        assert_eq!(first.map(|p| p.facts.subject), Ok("first".into()));
        let reloaded = recent.at(&chain, now, 1, || Ok::<_, ()>(peer("second")));
        assert_eq!(reloaded.map(|p| p.facts.subject), Ok("second".into()));
        let again = recent.at(&chain, now, 1, || Ok::<_, ()>(peer("third")));
        assert_eq!(again.map(|p| p.facts.subject), Ok("second".into()));
    }
}
