//! Connections refused before authentication (connection caps, failed or timed-out TLS
//! handshakes, malformed frames) are counted exactly in the metrics, but recorded in the audit
//! trail and the log in aggregate, so that traffic from peers without a certificate cannot
//! grow either faster than a bound (one loopback client used to make ~7,800 records, 3.5 MB,
//! a second).
//!
//! Refusals are grouped by *key*: the source (an IPv4 address, or an IPv6 /64, as the
//! per-address cap counts them) and the reason. The first refusal of a key is recorded at once,
//! so a single refusal is seen promptly; later ones are only counted, and at the end of every
//! interval (`audit.refusal_interval_secs`) each key with a count gets ONE record carrying the
//! count and the times of the first and last refusal it stands for. A key stays known while it
//! keeps being refused, so a steady flood from one source costs one record per interval; a key
//! quiet for a whole interval is forgotten, and its next refusal is again recorded at once.
//!
//! At most `audit.refusal_keys` keys are known at a time (an attacker with many addresses):
//! refusals of further keys are counted per reason only, as "other sources" (recorded without
//! an address). So per interval there are at most `2 x (refusal_keys + R)` records and WARN
//! lines, R being the number of reasons ([`REASONS`]), whatever the traffic.
//!
//! The counts add up: every refusal is in exactly one record, the at-once record of its key
//! (count 1) or an aggregate (its count). Pending counts are recorded at shutdown too.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};

use audit_log::{Aggregate, AuditEvent, Kind, Status};
use time::OffsetDateTime;
use tracing::warn;

use super::AuditLog;
use crate::peer::source_key;

/// Every reason a connection is refused before authentication. The map of "other sources" is
/// keyed by these, so its size is bounded by their number.
pub const REASONS: [&str; 5] = [
    CONNECTION_CAP,
    ADDRESS_CAP,
    HANDSHAKE_FAILED,
    HANDSHAKE_TIMED_OUT,
    MALFORMED_FRAME,
];
/// `server.max_connections` connections were open.
pub const CONNECTION_CAP: &str = "connection cap reached";
/// `server.max_connections_per_ip` connections from the source were open.
pub const ADDRESS_CAP: &str = "per-address cap reached";
/// The TLS handshake failed (no or an unaccepted certificate, not TLS at all, ...).
pub const HANDSHAKE_FAILED: &str = "TLS handshake failed";
/// The TLS handshake did not finish within `server.handshake_timeout_secs`.
pub const HANDSHAKE_TIMED_OUT: &str = "TLS handshake timed out";
/// A message header that is not a TTLV structure header, or declares too large a message.
pub const MALFORMED_FRAME: &str = "malformed frame";

pub use crate::config::audit::RefusalSettings;

/// What to do with one refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The first of its key: record it (and log it) at once.
    RecordNow,
    /// Counted; it will be in its key's aggregate at the end of the interval.
    Counted,
}

/// Refusals of one key counted since its last record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The source (an IPv4 address, or an IPv6 /64 prefix); `None`: keys past `max_keys`.
    pub source: Option<IpAddr>,
    /// Why they were refused.
    pub reason: &'static str,
    /// How many.
    pub count: u64,
    /// When the first of them was.
    pub first: OffsetDateTime,
    /// When the last of them was.
    pub last: OffsetDateTime,
}

impl Summary {
    /// The source as records and logs name it: `192.0.2.7`, `2001:db8:1:2::/64`, or `None`
    /// for "other sources".
    pub fn source_text(&self) -> Option<String> {
        self.source.map(|ip| match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{v6}/64"),
        })
    }
}

/// The refusals of the current interval.
#[derive(Debug)]
pub struct Refusals {
    settings: RefusalSettings,
    keys: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    /// Known (source, reason) keys and what they counted since their last record.
    sources: HashMap<(IpAddr, &'static str), Tally>,
    /// Per reason, for keys past `max_keys`.
    others: HashMap<&'static str, Tally>,
}

/// Counted refusals of one key, not yet in any record.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    pending: Option<(u64, OffsetDateTime, OffsetDateTime)>,
}

impl Tally {
    fn count(&mut self, now: OffsetDateTime) {
        self.pending = Some(match self.pending {
            None => (1, now, now),
            Some((n, first, _)) => (n.saturating_add(1), first, now),
        });
    }
}

impl Refusals {
    /// Nothing counted yet.
    pub fn new(settings: RefusalSettings) -> Self {
        Self {
            settings,
            keys: Mutex::new(Keys::default()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> RefusalSettings {
        self.settings
    }

    /// Takes one refusal of a connection from `peer` at `now`.
    pub fn refuse(&self, peer: SocketAddr, reason: &'static str, now: OffsetDateTime) -> Verdict {
        let source = source_key(peer.ip());
        let mut keys = self.lock();
        let known = keys.sources.len();
        if let Some(tally) = keys.sources.get_mut(&(source, reason)) {
            tally.count(now);
            return Verdict::Counted;
        }
        if known < self.settings.max_keys {
            keys.sources.insert((source, reason), Tally::default());
            return Verdict::RecordNow;
        }
        match keys.others.get_mut(reason) {
            Some(tally) => {
                tally.count(now);
                Verdict::Counted
            }
            None => {
                keys.others.insert(reason, Tally::default());
                Verdict::RecordNow
            }
        }
    }

    /// Ends the interval: the counts of every key that counted any, for one record each. Keys
    /// that counted none since their last record are forgotten.
    pub fn flush(&self) -> Vec<Summary> {
        let mut keys = self.lock();
        let mut out = Vec::new();
        let mut take = |source: Option<IpAddr>, reason: &'static str, tally: &mut Tally| {
            let Some((count, first, last)) = tally.pending.take() else {
                return false;
            };
            out.push(Summary {
                source,
                reason,
                count,
                first,
                last,
            });
            true
        };
        keys.sources
            .retain(|(source, reason), tally| take(Some(*source), reason, tally));
        keys.others
            .retain(|reason, tally| take(None, reason, tally));
        out
    }

    /// The map. Only map operations run under the lock, so a poisoned one is still
    /// consistent and used as is.
    fn lock(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Records and logs a refused connection at once when it is the first of its key, else only
/// counts it for the key's aggregate (the caller counts it in the metrics). No answer waits
/// for the record.
pub(crate) fn record(
    refusals: &Refusals,
    audit: &AuditLog,
    peer: SocketAddr,
    reason: &'static str,
) {
    let now = OffsetDateTime::now_utc();
    if refusals.refuse(peer, reason, now) == Verdict::Counted {
        return;
    }
    warn!(%peer, reason, "connection refused");
    let receipt = audit.submit(event(audit.log_name(), Some(peer.to_string()), reason, now));
    tokio::spawn(async move {
        if !matches!(receipt.await, Ok(Ok(_))) {
            warn!("audit trail did not take the record of a refused connection");
        }
    });
}

/// Ends an interval: one record and one WARN line per key that counted refusals since its
/// last record. Returns once the records are durable (or refused by the audit trail). The
/// housekeeping task calls it every interval, and the node once more at shutdown, after the
/// listener stopped and before the last checkpoint.
pub async fn flush(refusals: &Refusals, audit: &AuditLog) {
    let now = OffsetDateTime::now_utc();
    let receipts: Vec<_> = refusals
        .flush()
        .into_iter()
        .map(|s| {
            let source = s.source_text();
            warn!(
                source = source.as_deref().unwrap_or("other sources"),
                reason = s.reason,
                count = s.count,
                first = %s.first,
                last = %s.last,
                "connections refused (aggregated)"
            );
            let aggregate = Aggregate {
                count: s.count,
                first: s.first,
                last: s.last,
            };
            audit.submit_aggregate(
                event(audit.log_name(), source, s.reason, now),
                Some(aggregate),
            )
        })
        .collect();
    for receipt in receipts {
        if !matches!(receipt.await, Ok(Ok(_))) {
            warn!("audit trail did not take the record of refused connections");
        }
    }
}

/// The event of one refused connection (`client_addr` its `ip:port`) or of an aggregate
/// (`client_addr` its source, `None` for other sources).
fn event(
    log: &str,
    client_addr: Option<String>,
    reason: &'static str,
    time: OffsetDateTime,
) -> AuditEvent {
    AuditEvent {
        time,
        node: log.to_owned(),
        tenant: None,
        principal: None,
        client_addr,
        kind: Kind::Connection,
        operation: "connect".to_owned(),
        object: None,
        status: Status::Denied,
        reason: Some(reason.to_owned()),
        request_id: None,
        change: None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::{
        HANDSHAKE_FAILED, MALFORMED_FRAME, REASONS, RefusalSettings, Refusals, Summary, Verdict,
    };

    fn peer(last: u8, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), port)
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
    }

    fn refusals(max_keys: usize) -> Refusals {
        Refusals::new(RefusalSettings {
            interval: Duration::from_secs(10),
            max_keys,
        })
    }

    /// Refusals recorded at once plus the counts of the aggregates.
    fn recorded(now: usize, summaries: &[Summary]) -> u64 {
        now as u64 + summaries.iter().map(|s| s.count).sum::<u64>()
    }

    #[test]
    fn the_first_refusal_of_a_key_is_recorded_at_once_and_the_rest_add_up_in_one_summary() {
        let r = refusals(8);
        assert_eq!(
            r.refuse(peer(1, 1000), HANDSHAKE_FAILED, at(1)),
            Verdict::RecordNow
        );
        for i in 0..99u16 {
            let other_port = peer(1, 2000 + i);
            assert_eq!(
                r.refuse(other_port, HANDSHAKE_FAILED, at(2 + i64::from(i))),
                Verdict::Counted
            );
        }
        // Another reason from the same source is another key.
        assert_eq!(
            r.refuse(peer(1, 1), MALFORMED_FRAME, at(3)),
            Verdict::RecordNow
        );
        let flushed = r.flush();
        assert_eq!(
            flushed,
            vec![Summary {
                source: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
                reason: HANDSHAKE_FAILED,
                count: 99,
                first: at(2),
                last: at(100),
            }]
        );
        assert_eq!(recorded(2, &flushed), 101, "every refusal is in one record");
        assert_eq!(flushed[0].source_text().as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn a_steady_flood_costs_one_record_per_interval_and_a_quiet_key_is_forgotten() {
        let r = refusals(8);
        assert_eq!(
            r.refuse(peer(1, 1), HANDSHAKE_FAILED, at(0)),
            Verdict::RecordNow
        );
        for interval in 0..5 {
            for i in 0..50 {
                assert_eq!(
                    r.refuse(peer(1, 2), HANDSHAKE_FAILED, at(interval * 10 + i / 10)),
                    Verdict::Counted,
                    "a known key is counted, also in the intervals after its first record"
                );
            }
            let flushed = r.flush();
            assert_eq!(flushed.len(), 1);
            assert_eq!(flushed[0].count, 50);
        }
        // Quiet for a whole interval: nothing to record, and the key is forgotten ...
        assert!(r.flush().is_empty());
        // ... so its next refusal is seen at once again.
        assert_eq!(
            r.refuse(peer(1, 3), HANDSHAKE_FAILED, at(99)),
            Verdict::RecordNow
        );
        // A key recorded at once and then quiet also needs no aggregate.
        assert!(r.flush().is_empty());
    }

    #[test]
    fn sources_past_the_bound_are_counted_per_reason_and_the_records_stay_bounded() {
        let max = 4;
        let r = refusals(max);
        let mut now = 0;
        let mut total = 0u64;
        for last in 1..=200u8 {
            for reason in REASONS {
                for _ in 0..3 {
                    total += 1;
                    if r.refuse(peer(last, 1), reason, at(1)) == Verdict::RecordNow {
                        now += 1;
                    }
                }
            }
        }
        assert!(
            now <= max + REASONS.len(),
            "{now} records at once for {max} sources"
        );
        let flushed = r.flush();
        assert!(flushed.len() <= max + REASONS.len(), "{flushed:?}");
        assert_eq!(recorded(now, &flushed), total, "the counts add up");
        let others: Vec<_> = flushed.iter().filter(|s| s.source.is_none()).collect();
        assert_eq!(others.len(), REASONS.len(), "{others:?}");
        assert!(others.iter().all(|s| s.source_text().is_none()));
    }

    #[test]
    fn an_ipv6_source_is_its_64_and_a_mapped_ipv4_address_its_ipv4_address() {
        let r = refusals(8);
        let host = |low: u16| {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, low)),
                443,
            )
        };
        assert_eq!(
            r.refuse(host(1), HANDSHAKE_FAILED, at(0)),
            Verdict::RecordNow
        );
        assert_eq!(r.refuse(host(2), HANDSHAKE_FAILED, at(1)), Verdict::Counted);
        let mapped = SocketAddr::new(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()), 1);
        assert_eq!(
            r.refuse(peer(1, 1), HANDSHAKE_FAILED, at(0)),
            Verdict::RecordNow
        );
        assert_eq!(r.refuse(mapped, HANDSHAKE_FAILED, at(1)), Verdict::Counted);
        let mut texts: Vec<_> = r.flush().iter().filter_map(Summary::source_text).collect();
        texts.sort();
        assert_eq!(texts, ["192.0.2.1", "2001:db8:0:1::/64"]);
    }
}
