//! One audit record: what happened (an [`AuditEvent`], built by the server for every KMIP
//! batch item, admin call, refused connection and authorization failure) plus where it sits
//! in the hash chains of its log (an [`AuditRecord`]).
//!
//! Records never hold key material, PINs, passwords or wrapped blobs: the types have no field
//! that could carry them, only names, identifiers and outcomes.

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::hash::{Canon, Hash};

/// Longest text field kept, in bytes; longer values (peer-controlled UIDs, DNs) are cut at a
/// character boundary by [`AuditEvent::clamped`] so that a record line stays bounded.
pub const MAX_FIELD_LEN: usize = 1024;

/// Domain string of a record's canonical encoding.
const RECORD_DOMAIN: &str = "kms-audit-record-v1";

/// Which door the action came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One KMIP batch item (KMIP 1.4 section 7.1: each item is audited on its own).
    Kmip,
    /// One call of the HTTPS admin API.
    Admin,
    /// A connection refused before any request: TLS or identity failure.
    Connection,
}

impl Kind {
    /// The name used in files and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kmip => "kmip",
            Self::Admin => "admin",
            Self::Connection => "connection",
        }
    }
}

/// The outcome. KMIP items map their Result Status (KMIP 1.4 section 9.1.3.2.26);
/// refusals for identity or authorization are [`Status::Denied`] whatever the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Done.
    Success,
    /// Failed for a reason other than authorization.
    Failure,
    /// Refused: not authenticated, not authorized, or the tenant or client is disabled.
    Denied,
    /// KMIP Operation Pending.
    Pending,
    /// KMIP Operation Undone (Batch Error Continuation Option Undo).
    Undone,
}

impl Status {
    /// The name used in files and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
            Self::Pending => "pending",
            Self::Undone => "undone",
        }
    }
}

/// Who acted, as far as the peer certificate tells.
///
/// A record filed in a tenant's chain names the certificate only of that tenant's own
/// principals; anyone else acting on the tenant (an operator) is named by role and name alone
/// ([`Principal::named`]): the certificate fields are then empty and left out of the JSON line
/// (they still take part in the record's hash, as empty strings).
///
/// Serialization: the empty certificate fields are left out only in human-readable formats
/// (the JSON lines of the trail, exports). Binary formats (postcard, in replicated commands and
/// the store's outbox) are not self-describing and always carry every field, in order: a
/// skipped field there would shift every later byte.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Lowercase hex SHA-256 of the DER certificate (empty: not disclosed).
    #[serde(default)]
    pub fingerprint: String,
    /// Subject DN (empty: not disclosed).
    #[serde(default)]
    pub subject: String,
    /// Issuer DN (empty: not disclosed).
    #[serde(default)]
    pub issuer: String,
    /// The enrolled client name, once the certificate is matched to an enrollment; in a
    /// [`Principal::named`], `role/name` (`operator/alice`).
    pub client: Option<String>,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let readable = serializer.is_human_readable();
        let mut s = serializer.serialize_struct("Principal", 4)?;
        for (name, value) in [
            ("fingerprint", &self.fingerprint),
            ("subject", &self.subject),
            ("issuer", &self.issuer),
        ] {
            if readable && value.is_empty() {
                s.skip_field(name)?;
            } else {
                s.serialize_field(name, value)?;
            }
        }
        s.serialize_field("client", &self.client)?;
        s.end()
    }
}

impl Principal {
    /// A principal named by role and name only, with no certificate details: how a record
    /// filed in a tenant's chain names a principal that does not belong to that tenant.
    pub fn named(role: &str, name: &str) -> Self {
        Self {
            fingerprint: String::new(),
            subject: String::new(),
            issuer: String::new(),
            client: Some(format!("{role}/{name}")),
        }
    }

    /// Whether the certificate's details are given (not a [`Principal::named`]).
    pub fn has_certificate(&self) -> bool {
        !(self.fingerprint.is_empty() && self.subject.is_empty() && self.issuer.is_empty())
    }
}

/// What happened: everything a record says except its place in the chains. This is what the
/// server builds per request, and what a replicated command carries, so every node appends
/// the same event to its own log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// When the server handled it (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The node that served the request.
    pub node: String,
    /// The tenant whose chain the record is in: a tenant principal's own tenant, the tenant
    /// an operator acted on, or `None` (operator calls on no tenant, refused callers).
    pub tenant: Option<String>,
    /// Who acted (`None`: no certificate was presented).
    pub principal: Option<Principal>,
    /// The peer's address, `ip:port`.
    pub client_addr: Option<String>,
    /// Which channel.
    pub kind: Kind,
    /// The KMIP operation name (`Create`), the admin method and route template
    /// (`POST /v1/tenants`, `POST /v1/tenants/{tenant}/suspend`), or `connect` for a connection
    /// refused before any request.
    pub operation: String,
    /// The object's Unique Identifier, if the action names or makes one.
    pub object: Option<String>,
    /// The outcome.
    pub status: Status,
    /// Why, when not a success: the KMIP Result Reason name or the admin error code.
    pub reason: Option<String>,
    /// The request's ID: KMIP Unique Batch Item ID (hex) or the admin request ID.
    pub request_id: Option<String>,
    /// For a state change: its position in the node's sequence of applied state changes,
    /// which is the same on every node of a cluster (the change carried this event in the
    /// replicated command). Links the records of one change across the nodes' logs, and lets
    /// a node that crashed between committing a change and writing its record tell what is
    /// still to be written. `None` for reads, refusals and failures.
    #[serde(default)]
    pub change: Option<u64>,
}

/// Several like events in one record ([`AuditRecord::aggregate`]): only connections refused
/// before authentication are recorded so (the server aggregates them per source address and
/// reason per interval, so that unauthenticated traffic cannot grow the trail faster than a
/// bound). The count is the evidence: an auditor adds it up instead of counting lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// How many events the record stands for (at least 1).
    pub count: u64,
    /// When the first of them happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub first: OffsetDateTime,
    /// When the last of them happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub last: OffsetDateTime,
}

impl AuditEvent {
    /// The event with its time in UTC and every text field cut to [`MAX_FIELD_LEN`] bytes.
    pub fn clamped(mut self) -> Self {
        self.time = self.time.to_offset(UtcOffset::UTC);
        clamp(&mut self.node);
        clamp(&mut self.operation);
        for field in [
            &mut self.tenant,
            &mut self.client_addr,
            &mut self.object,
            &mut self.reason,
            &mut self.request_id,
        ]
        .into_iter()
        .flatten()
        {
            clamp(field);
        }
        if let Some(p) = &mut self.principal {
            clamp(&mut p.fingerprint);
            clamp(&mut p.subject);
            clamp(&mut p.issuer);
            if let Some(c) = &mut p.client {
                clamp(c);
            }
        }
        self
    }

    fn encode(&self, c: &mut Canon) {
        c.i128(self.time.unix_timestamp_nanos())
            .str(&self.node)
            .opt_str(self.tenant.as_deref());
        match &self.principal {
            None => c.opt_str(None),
            Some(p) => c
                .opt_str(Some(&p.fingerprint))
                .str(&p.subject)
                .str(&p.issuer)
                .opt_str(p.client.as_deref()),
        };
        c.opt_str(self.client_addr.as_deref())
            .str(self.kind.as_str())
            .str(&self.operation)
            .opt_str(self.object.as_deref())
            .str(self.status.as_str())
            .opt_str(self.reason.as_deref())
            .opt_str(self.request_id.as_deref())
            .opt_u64(self.change);
    }
}

fn clamp(s: &mut String) {
    if s.len() > MAX_FIELD_LEN {
        let mut end = MAX_FIELD_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// An event in its place: one line of a JSON Lines audit file.
///
/// Two chains run through every log. The global chain (`seq`, `prev`) links every record of
/// the log, so the operator's view detects any deletion, insertion or reordering. The tenant
/// chain (`tenant_seq`, `tenant_prev`) links the records of one tenant only, so that tenant's
/// auditor can verify completeness from that tenant's records alone, without seeing anyone
/// else's. Both links are inside the hashed bytes, so a record cannot move between chains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// The log (node) whose chain this record is in.
    pub log: String,
    /// Position in the log's global chain, from 1.
    pub seq: u64,
    /// Position in the log's chain of `event.tenant`, from 1.
    pub tenant_seq: u64,
    /// What happened.
    pub event: AuditEvent,
    /// For a record that stands for several events like `event` (connections from one source
    /// refused for one reason within one interval): how many, and when the first and the last
    /// of them happened; `event.time` is when they were recorded. `None`: the record stands
    /// for exactly `event`. Left out of the JSON line and of the hashed encoding when `None`,
    /// so that records written before the field existed keep their spelling and their hash.
    /// (It is not a field of [`AuditEvent`], whose binary encoding in replicated commands and
    /// the store's outbox must not change; aggregates are never replicated.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    /// Hash of record `seq - 1` of this log ([`Hash::GENESIS`] for the first).
    pub prev: Hash,
    /// Hash of the previous record of the same tenant in this log ([`Hash::GENESIS`] first).
    pub tenant_prev: Hash,
}

impl AuditRecord {
    /// The record's hash: SHA-256 of its canonical encoding (module docs of `hash`). This is
    /// what the next record's `prev` (and `tenant_prev`) and a checkpoint's head hold.
    pub fn hash(&self) -> Hash {
        let mut c = Canon::new(RECORD_DOMAIN);
        c.str(&self.log).u64(self.seq).u64(self.tenant_seq);
        self.event.encode(&mut c);
        // Added after records were first written: nothing at all when absent.
        if let Some(a) = &self.aggregate {
            c.extension()
                .u64(a.count)
                .i128(a.first.unix_timestamp_nanos())
                .i128(a.last.unix_timestamp_nanos());
        }
        c.hash(&self.prev).hash(&self.tenant_prev);
        c.digest()
    }

    /// The record as one JSON line, without the trailing newline. This spelling is the
    /// canonical one: a file line that differs from it is reported.
    pub fn to_json_line(&self) -> Result<String, crate::Error> {
        Ok(serde_json::to_string(self)?)
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::{Aggregate, AuditEvent, AuditRecord, Kind, Status};
    use crate::{ChainState, read_records};

    /// A refused connection's record as the server wrote it before records could aggregate,
    /// and its hash then.
    const OLD_LINE: &str = r#"{"log":"node-1","seq":1,"tenant_seq":1,"event":{"time":"2023-11-14T22:13:20Z","node":"node-1","tenant":null,"principal":null,"client_addr":"192.0.2.7:50000","kind":"connection","operation":"connect","object":null,"status":"denied","reason":"TLS handshake failed","request_id":null,"change":null},"prev":"0000000000000000000000000000000000000000000000000000000000000000","tenant_prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
    const OLD_HASH: &str = "872c1320711f3dc6235b83939373d5f37f054d499367a8a01cfe8ba96cd1e7e5";

    fn refusal() -> AuditEvent {
        AuditEvent {
            time: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000),
            node: "node-1".into(),
            tenant: None,
            principal: None,
            client_addr: Some("192.0.2.7".into()),
            kind: Kind::Connection,
            operation: "connect".into(),
            object: None,
            status: Status::Denied,
            reason: Some("TLS handshake failed".into()),
            request_id: None,
            change: None,
        }
    }

    fn aggregate(count: u64) -> Aggregate {
        Aggregate {
            count,
            first: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_699_999_991),
            last: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_699_999_999),
        }
    }

    #[test]
    fn a_record_written_before_aggregates_keeps_its_spelling_and_its_hash() {
        let parsed = read_records(format!("{OLD_LINE}\n").as_bytes()).expect("in memory");
        assert!(parsed.findings.is_empty(), "{:?}", parsed.findings);
        let [record] = parsed.items.as_slice() else {
            panic!("one record expected");
        };
        assert_eq!(record.aggregate, None);
        assert_eq!(record.to_json_line().expect("json"), OLD_LINE);
        assert_eq!(record.hash().to_string(), OLD_HASH);
    }

    #[test]
    fn an_aggregate_is_spelled_in_the_line_and_covered_by_the_hash() {
        let record = ChainState::genesis("node-1").next_aggregate(refusal(), Some(aggregate(523)));
        let line = record.to_json_line().expect("json");
        assert!(
            line.contains(
                r#""aggregate":{"count":523,"first":"2023-11-14T22:13:11Z","last":"2023-11-14T22:13:19Z"}"#
            ),
            "{line}"
        );
        let parsed = read_records(format!("{line}\n").as_bytes()).expect("in memory");
        assert!(parsed.findings.is_empty(), "{:?}", parsed.findings);
        assert_eq!(parsed.items, vec![record.clone()]);

        // The count and the span are evidence: changing either changes the hash, and so
        // breaks the link of the next record.
        let single = ChainState::genesis("node-1").next(refusal());
        let mut hashes = vec![single.hash(), record.hash()];
        for changed in [
            aggregate(522),
            Aggregate {
                first: aggregate(523).first + time::Duration::seconds(1),
                ..aggregate(523)
            },
            Aggregate {
                last: aggregate(523).last + time::Duration::seconds(1),
                ..aggregate(523)
            },
        ] {
            let mut edited: AuditRecord = record.clone();
            edited.aggregate = Some(changed);
            hashes.push(edited.hash());
        }
        let distinct: std::collections::BTreeSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), hashes.len(), "two encodings collide");

        let mut chain = ChainState::genesis("node-1");
        chain.advance(&record).expect("first");
        let next = chain.next(refusal());
        let mut forged = record.clone();
        forged.aggregate = Some(aggregate(1));
        let mut replay = ChainState::genesis("node-1");
        replay
            .advance(&forged)
            .expect("the forged record alone chains");
        assert!(
            replay.advance(&next).is_err(),
            "a lowered count went unnoticed by the next record's link"
        );
    }
}
