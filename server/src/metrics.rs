//! Process metrics in the Prometheus text format (served by the admin API at `GET /metrics`):
//! KMIP requests by operation and result, message latency, open connections, HSM call latency,
//! the unsealed-key cache, the admin API's own calls, and the keys past their tenant's maximum
//! KEK age. Labels never carry object IDs or anything a client sent besides the operation; the
//! one label naming a tenant is on `kms_keys_past_max_age` (tenant IDs are chosen by
//! operators, and `/metrics` is an operator route).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Latency buckets: 50 µs doubling up to ~26 s (20 buckets), covering a cached `Get` up to a
/// slow HSM or a large Domain Key rotation step.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// A KMIP batch item's operation and result status (KMIP XML names).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KmipLabels {
    /// Operation, e.g. `Get`.
    pub operation: &'static str,
    /// Result Status, e.g. `Success`, `OperationFailed`.
    pub result: &'static str,
}

/// Why a KMIP connection was refused before any request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The fixed reason text.
    pub reason: &'static str,
}

/// A limit that refused something (`docs/SECURITY.md`, "Limits and their defaults").
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `response_size`, `memory`, `object_quota`, `request_rate`, `password_lockout`,
    /// `admin_connections`, `admin_per_ip`, `admin_reserved`, `admin_body_timeout`.
    pub limit: &'static str,
}

/// One kind of HSM call made by the key hierarchy.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HsmCallLabels {
    /// `seal`, `unseal`, `reseal`, `random`, `create_domain_key`, `probe`.
    pub call: &'static str,
    /// `ok` or `error`.
    pub result: &'static str,
}

/// An admin API call: the route template (never the concrete path) and the HTTP status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AdminLabels {
    /// `METHOD /route/{template}`.
    pub action: String,
    /// HTTP status code.
    pub status: u16,
}

/// One of the node's certificates (`crate::tls::reload::CERTIFICATE_NAMES`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `kmip_server`, `admin`, `node` or `client_ca`.
    pub certificate: &'static str,
}

/// A tenant, by its ID.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    /// The tenant ID.
    pub tenant: String,
}

/// Every metric of one node.
#[derive(Debug)]
pub struct Metrics {
    kmip_requests: Family<KmipLabels, Counter>,
    kmip_message_seconds: Histogram,
    kmip_connections_open: Gauge,
    kmip_connections_refused: Family<RefusalLabels, Counter>,
    hsm_call_seconds: Family<HsmCallLabels, Histogram>,
    key_cache_hits: Counter,
    key_cache_misses: Counter,
    key_cache_entries: Gauge,
    admin_requests: Family<AdminLabels, Counter>,
    admin_request_seconds: Histogram,
    admin_connections_open: Gauge,
    limit_refusals: Family<LimitLabels, Counter>,
    password_verifications: Counter,
    certificate_expiry_seconds: Family<CertificateLabels, Gauge>,
    keys_past_max_age: Family<TenantLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh, zeroed metrics.
    pub fn new() -> Self {
        Self {
            kmip_requests: Family::default(),
            kmip_message_seconds: latency_histogram(),
            kmip_connections_open: Gauge::default(),
            kmip_connections_refused: Family::default(),
            hsm_call_seconds: Family::new_with_constructor(latency_histogram),
            key_cache_hits: Counter::default(),
            key_cache_misses: Counter::default(),
            key_cache_entries: Gauge::default(),
            admin_requests: Family::default(),
            admin_request_seconds: latency_histogram(),
            admin_connections_open: Gauge::default(),
            limit_refusals: Family::default(),
            password_verifications: Counter::default(),
            certificate_expiry_seconds: Family::default(),
            keys_past_max_age: Family::default(),
        }
    }

    /// Sets how many in-service keys of each tenant are at least its maximum KEK age old
    /// (sampled by `platform::steward`; a tenant without a maximum shows 0).
    pub fn keys_past_max_age(&self, counts: &[(String, u64)]) {
        for (tenant, n) in counts {
            self.keys_past_max_age
                .get_or_create(&TenantLabels {
                    tenant: tenant.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// The last sampled count of `tenant`'s keys past its maximum KEK age.
    pub fn keys_past_max_age_of(&self, tenant: &str) -> i64 {
        self.keys_past_max_age
            .get_or_create(&TenantLabels {
                tenant: tenant.to_owned(),
            })
            .get()
    }

    /// Sets the seconds left before each certificate's notAfter (sampled before a render).
    pub fn certificate_expiry(&self, left: &[(&'static str, i64)]) {
        for (certificate, seconds) in left {
            self.certificate_expiry_seconds
                .get_or_create(&CertificateLabels { certificate })
                .set(*seconds);
        }
    }

    /// Counts something refused by a limit.
    pub fn limit_refused(&self, limit: &'static str) {
        self.limit_refusals
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    /// Refusals by `limit` so far.
    pub fn limit_refusals(&self, limit: &'static str) -> u64 {
        self.limit_refusals
            .get_or_create(&LimitLabels { limit })
            .get()
    }

    /// Counts one Argon2 password verification.
    pub fn password_verification(&self) {
        self.password_verifications.inc();
    }

    /// Argon2 password verifications so far.
    pub fn password_verifications(&self) -> u64 {
        self.password_verifications.get()
    }

    /// Counts one KMIP batch item.
    pub fn kmip_item(&self, operation: &'static str, result: &'static str) {
        self.kmip_requests
            .get_or_create(&KmipLabels { operation, result })
            .inc();
    }

    /// Records the time taken to answer one KMIP message.
    pub fn kmip_message(&self, took: Duration) {
        self.kmip_message_seconds.observe(took.as_secs_f64());
    }

    /// Counts a KMIP connection refused before any request.
    pub fn kmip_refused(&self, reason: &'static str) {
        self.kmip_connections_refused
            .get_or_create(&RefusalLabels { reason })
            .inc();
    }

    /// Marks a KMIP connection open until the returned guard drops.
    pub fn kmip_connection(self: &Arc<Self>) -> OpenConnection {
        self.kmip_connections_open.inc();
        OpenConnection {
            metrics: self.clone(),
            admin: false,
        }
    }

    /// KMIP connections open now.
    pub fn kmip_connections_open(&self) -> i64 {
        self.kmip_connections_open.get()
    }

    /// Marks an admin connection open until the returned guard drops.
    pub fn admin_connection(self: &Arc<Self>) -> OpenConnection {
        self.admin_connections_open.inc();
        OpenConnection {
            metrics: self.clone(),
            admin: true,
        }
    }

    /// Records one HSM call.
    pub fn hsm_call(&self, call: &'static str, ok: bool, took: Duration) {
        let result = if ok { "ok" } else { "error" };
        self.hsm_call_seconds
            .get_or_create(&HsmCallLabels { call, result })
            .observe(took.as_secs_f64());
    }

    /// Counts an unsealed-key cache lookup.
    pub fn key_cache_lookup(&self, hit: bool) {
        if hit {
            self.key_cache_hits.inc();
        } else {
            self.key_cache_misses.inc();
        }
    }

    /// Counts one admin call and its latency.
    pub fn admin_call(&self, action: String, status: u16, took: Duration) {
        self.admin_requests
            .get_or_create(&AdminLabels { action, status })
            .inc();
        self.admin_request_seconds.observe(took.as_secs_f64());
    }

    /// Unsealed-key cache (hits, misses) so far.
    pub fn key_cache_counts(&self) -> (u64, u64) {
        (self.key_cache_hits.get(), self.key_cache_misses.get())
    }

    /// The Prometheus text exposition of every metric; `cached_keys`, `raft` and `audit` are
    /// sampled now.
    pub fn render(
        &self,
        cached_keys: u64,
        raft: Option<&RaftSample>,
        audit: Option<crate::audit::AuditStats>,
    ) -> Result<String, std::fmt::Error> {
        self.key_cache_entries
            .set(i64::try_from(cached_keys).unwrap_or(i64::MAX));
        let mut registry = Registry::with_prefix("kms");
        registry.register(
            "kmip_requests",
            "KMIP batch items answered, by operation and result status",
            self.kmip_requests.clone(),
        );
        registry.register(
            "kmip_message_duration_seconds",
            "Time to answer one KMIP message (decode to encode)",
            self.kmip_message_seconds.clone(),
        );
        registry.register(
            "kmip_connections_open",
            "KMIP connections open now",
            self.kmip_connections_open.clone(),
        );
        registry.register(
            "kmip_connections_refused",
            "KMIP connections refused before any request, by reason",
            self.kmip_connections_refused.clone(),
        );
        registry.register(
            "hsm_call_duration_seconds",
            "HSM calls made by the key hierarchy, by call and result",
            self.hsm_call_seconds.clone(),
        );
        registry.register(
            "key_cache_hits",
            "Unsealed-key cache lookups answered from memory",
            self.key_cache_hits.clone(),
        );
        registry.register(
            "key_cache_misses",
            "Unsealed-key cache lookups that went to the HSM",
            self.key_cache_misses.clone(),
        );
        registry.register(
            "key_cache_entries",
            "Unsealed keys held in memory",
            self.key_cache_entries.clone(),
        );
        registry.register(
            "admin_requests",
            "Admin API calls, by route and HTTP status",
            self.admin_requests.clone(),
        );
        registry.register(
            "admin_request_duration_seconds",
            "Time to answer one admin API call",
            self.admin_request_seconds.clone(),
        );
        registry.register(
            "admin_connections_open",
            "Admin API connections open now",
            self.admin_connections_open.clone(),
        );
        registry.register(
            "limit_refusals",
            "Requests, items and connections refused by a limit, by limit",
            self.limit_refusals.clone(),
        );
        registry.register(
            "password_verifications",
            "Argon2 verifications of KMIP Credential passwords",
            self.password_verifications.clone(),
        );
        registry.register(
            "certificate_expiry_seconds",
            "Seconds left before the certificate's notAfter (negative: expired), by certificate",
            self.certificate_expiry_seconds.clone(),
        );
        registry.register(
            "keys_past_max_age",
            "In-service keys at least as old as their tenant's maximum KEK age, by tenant",
            self.keys_past_max_age.clone(),
        );
        if let Some(audit) = audit {
            registry.register(
                "audit_records",
                "Audit records made durable since the node started",
                ConstCounter::new(audit.records),
            );
            registry.register(
                "audit_syncs",
                "fsyncs of audit record groups since the node started (records / syncs: records per fsync)",
                ConstCounter::new(audit.syncs),
            );
            if let Some(disk) = audit.disk {
                register_disk(&mut registry, disk);
            }
            if let Some(forward) = audit.forward {
                register_forward(&mut registry, audit.seq, forward);
            }
        }
        if let Some(raft) = raft {
            raft.register(&mut registry);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// Forwarding to a SIEM: the last record sent, how many durable records wait, failures, and
/// whether the last attempt succeeded.
fn register_forward(registry: &mut Registry, seq: u64, f: crate::audit::ForwardStats) {
    let gauge = |v: u64| {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(v).unwrap_or(i64::MAX));
        g
    };
    registry.register(
        "audit_forward_seq",
        "Sequence number of the last audit record the SIEM's stream accepted",
        gauge(f.forwarded_seq),
    );
    registry.register(
        "audit_forward_lag_records",
        "Durable audit records not yet forwarded to the SIEM (grows during an outage)",
        gauge(seq.saturating_sub(f.forwarded_seq)),
    );
    registry.register(
        "audit_forward_failures",
        "Failed attempts to forward audit records (connect, write, read) since the node started",
        ConstCounter::new(f.failures),
    );
    registry.register(
        "audit_forward_up",
        "1 when the last attempt to forward audit records succeeded",
        gauge(u64::from(f.connected)),
    );
}

/// The audit directory's disk: free and total bytes, and the 0/1 alert of the watermark.
fn register_disk(registry: &mut Registry, disk: crate::audit::DiskStatus) {
    let gauge = |v: u64| {
        let g: Gauge = Gauge::default();
        g.set(i64::try_from(v).unwrap_or(i64::MAX));
        g
    };
    if let Some(space) = disk.space {
        registry.register(
            "audit_disk_free_bytes",
            "Free bytes of the file system holding the audit directory",
            gauge(space.free_bytes),
        );
        registry.register(
            "audit_disk_total_bytes",
            "Size of the file system holding the audit directory",
            gauge(space.total_bytes),
        );
    }
    registry.register(
        "audit_disk_low",
        "1 when free space under the audit directory is below the watermark \
         (audit.min_free_bytes, audit.min_free_percent) or unknown: act before the trail refuses requests",
        gauge(u64::from(disk.low)),
    );
}

/// Keeps a connection counted as open; decrements the gauge when dropped.
#[derive(Debug)]
pub struct OpenConnection {
    metrics: Arc<Metrics>,
    admin: bool,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if self.admin {
            self.metrics.admin_connections_open.dec();
        } else {
            self.metrics.kmip_connections_open.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_what_was_recorded() {
        let m = Arc::new(Metrics::new());
        m.kmip_item("Get", "Success");
        m.kmip_item("Get", "Success");
        m.key_cache_lookup(true);
        m.key_cache_lookup(false);
        m.key_cache_lookup(true);
        let open = m.kmip_connection();
        let text = m.render(7, None, None).unwrap();
        assert!(!text.contains("kms_raft_"), "{text}");
        assert!(
            text.contains(r#"kms_kmip_requests_total{operation="Get",result="Success"} 2"#),
            "{text}"
        );
        assert!(text.contains("kms_key_cache_hits_total 2"), "{text}");
        assert!(text.contains("kms_key_cache_misses_total 1"), "{text}");
        assert!(text.contains("kms_key_cache_entries 7"), "{text}");
        assert!(text.contains("kms_kmip_connections_open 1"), "{text}");
        m.limit_refused("object_quota");
        m.password_verification();
        m.keys_past_max_age(&[("acme".to_owned(), 3), ("globex".to_owned(), 0)]);
        m.keys_past_max_age(&[("acme".to_owned(), 2)]);
        assert_eq!(m.keys_past_max_age_of("acme"), 2);
        let text = m.render(7, None, None).unwrap();
        assert!(
            text.contains(r#"kms_keys_past_max_age{tenant="acme"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kms_keys_past_max_age{tenant="globex"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kms_limit_refusals_total{limit="object_quota"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("kms_password_verifications_total 1"),
            "{text}"
        );
        drop(open);
        assert!(
            m.render(0, None, None)
                .unwrap()
                .contains("kms_kmip_connections_open 0")
        );
        let audit = crate::audit::AuditStats {
            records: 30,
            syncs: 4,
            seq: 30,
            disk: Some(crate::audit::DiskStatus {
                space: Some(crate::audit::DiskSpace {
                    free_bytes: 1000,
                    total_bytes: 4000,
                }),
                watermark: crate::audit::DiskWatermark::default(),
                low: true,
            }),
            forward: Some(crate::audit::ForwardStats {
                forwarded_seq: 25,
                failures: 3,
                connected: false,
            }),
        };
        let text = m.render(0, None, Some(audit)).unwrap();
        assert!(text.contains("kms_audit_forward_lag_records 5"), "{text}");
        assert!(
            text.contains("kms_audit_forward_failures_total 3"),
            "{text}"
        );
        assert!(text.contains("kms_audit_forward_up 0"), "{text}");
        assert!(text.contains("kms_audit_records_total 30"), "{text}");
        assert!(text.contains("kms_audit_syncs_total 4"), "{text}");
        assert!(text.contains("kms_audit_disk_free_bytes 1000"), "{text}");
        assert!(text.contains("kms_audit_disk_low 1"), "{text}");
    }

    #[test]
    fn a_cluster_member_exposes_its_raft_state_and_peer_lag() {
        let m = Metrics::new();
        let sample = RaftSample {
            is_leader: true,
            leader: 1,
            term: 4,
            last_log: 120,
            committed: 118,
            applied: 117,
            lag: vec![(2, 0), (3, 45)],
            repeated_requests: 2,
        };
        let text = m.render(0, Some(&sample), None).unwrap();
        for line in [
            "kms_raft_is_leader 1",
            "kms_raft_term 4",
            "kms_raft_applied_index 117",
            r#"kms_raft_replication_lag_entries{peer="3"} 45"#,
            "kms_raft_repeated_requests_total 2",
        ] {
            assert!(text.contains(line), "{line} missing: {text}");
        }
    }
}

/// The cluster's state on this node, sampled for one scrape.
#[derive(Clone, Debug, Default)]
pub struct RaftSample {
    /// Whether this node leads.
    pub is_leader: bool,
    /// The leader this node knows of (0: none).
    pub leader: u64,
    /// Current term.
    pub term: u64,
    /// Last log index held.
    pub last_log: u64,
    /// Last index known committed.
    pub committed: u64,
    /// Last index applied to the store.
    pub applied: u64,
    /// On the leader: entries each peer is behind the leader's last log entry.
    pub lag: Vec<(u64, u64)>,
    /// Entries applied since start that repeated a request already applied (answered from
    /// the request window, nothing applied again).
    pub repeated_requests: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

impl RaftSample {
    fn register(&self, registry: &mut Registry) {
        let gauge = |v: u64| {
            let g: Gauge = Gauge::default();
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
            g
        };
        registry.register(
            "raft_is_leader",
            "1 when this node is the cluster's leader",
            gauge(u64::from(self.is_leader)),
        );
        registry.register(
            "raft_leader_id",
            "The leader this node knows of (0: none)",
            gauge(self.leader),
        );
        registry.register("raft_term", "Current Raft term", gauge(self.term));
        registry.register(
            "raft_last_log_index",
            "Index of the last Raft log entry held",
            gauge(self.last_log),
        );
        registry.register(
            "raft_committed_index",
            "Index of the last entry known committed",
            gauge(self.committed),
        );
        registry.register(
            "raft_applied_index",
            "Index of the last entry applied to the store",
            gauge(self.applied),
        );
        registry.register(
            "raft_repeated_requests",
            "Entries applied since start that repeated a request already applied: answered with its first outcome, not applied again",
            ConstCounter::new(self.repeated_requests),
        );
        let lag: Family<PeerLabels, Gauge> = Family::default();
        for (peer, behind) in &self.lag {
            lag.get_or_create(&PeerLabels {
                peer: peer.to_string(),
            })
            .set(i64::try_from(*behind).unwrap_or(i64::MAX));
        }
        registry.register(
            "raft_replication_lag_entries",
            "On the leader: entries each peer is behind the leader's last log entry",
            lag,
        );
    }
}
