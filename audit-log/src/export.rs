//! What auditors do with verified records: filter them (tenant, time range, operation,
//! object, principal) and export them as JSON Lines or as ArcSight CEF for a SIEM.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::record::{AuditRecord, Status};

/// Vendor, product and version in every CEF header.
const CEF_VENDOR: &str = "kms";
const CEF_PRODUCT: &str = "kmsd";
const CEF_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which records to keep; every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this tenant (`Some(None)`: only records without a tenant).
    pub tenant: Option<Option<String>>,
    /// At or after this time.
    pub from: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
    /// Only this operation (exact, case-sensitive).
    pub operation: Option<String>,
    /// Only this object UID.
    pub object: Option<String>,
    /// Only this principal: matches the certificate fingerprint, the subject or the client name.
    pub principal: Option<String>,
}

impl Filter {
    /// Whether `record` passes.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let e = &record.event;
        self.tenant.as_ref().is_none_or(|t| *t == e.tenant)
            && self.from.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && self.operation.as_ref().is_none_or(|o| *o == e.operation)
            && self
                .object
                .as_ref()
                .is_none_or(|o| Some(o) == e.object.as_ref())
            && self.principal.as_ref().is_none_or(|p| {
                e.principal.as_ref().is_some_and(|q| {
                    (q.has_certificate() && (q.fingerprint == *p || q.subject == *p))
                        || q.client.as_ref() == Some(p)
                })
            })
    }
}

/// CEF severity: 3 for successes, 5 for failures, 7 for refusals.
fn severity(status: Status) -> u8 {
    match status {
        Status::Success | Status::Pending => 3,
        Status::Failure | Status::Undone => 5,
        Status::Denied => 7,
    }
}

/// Escapes a CEF header field: backslash and pipe.
fn header(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Escapes a CEF extension value: backslash, equals sign and line breaks.
fn value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The record as one CEF line (ArcSight CEF 25: `CEF:0|vendor|product|version|id|name|sev|ext`),
/// without the trailing newline. Standard keys where CEF has one, labelled custom strings for
/// the rest.
pub fn to_cef(record: &AuditRecord) -> String {
    let e = &record.event;
    let id = format!("{}:{}", e.kind.as_str(), e.operation);
    let mut ext = String::new();
    let mut put = |k: &str, v: &str| {
        if !ext.is_empty() {
            ext.push(' ');
        }
        let _ = write!(ext, "{k}={}", value(v));
    };
    put(
        "rt",
        &(e.time.unix_timestamp_nanos() / 1_000_000).to_string(),
    );
    put("dvchost", &e.node);
    put("externalId", &format!("{}/{}", record.log, record.seq));
    put("act", &e.operation);
    put("outcome", e.status.as_str());
    if let Some(r) = &e.reason {
        put("reason", r);
    }
    if let Some(addr) = &e.client_addr {
        if let Ok(sa) = addr.parse::<std::net::SocketAddr>() {
            put("src", &sa.ip().to_string());
            put("spt", &sa.port().to_string());
        } else if let Ok(ip) = addr.parse::<std::net::IpAddr>() {
            // an aggregate's source: an address without a port
            put("src", &ip.to_string());
        } else {
            put("cs6", addr);
            put("cs6Label", "clientAddress");
        }
    }
    if let Some(p) = &e.principal {
        // a principal named by role and name only has no certificate fields to give
        if !p.subject.is_empty() {
            put("suser", &p.subject);
        }
        if !p.fingerprint.is_empty() {
            put("cs2Label", "certFingerprint");
            put("cs2", &p.fingerprint);
        }
        if !p.issuer.is_empty() {
            put("cs3Label", "certIssuer");
            put("cs3", &p.issuer);
        }
        if let Some(c) = &p.client {
            put("suid", c);
        }
    }
    if let Some(t) = &e.tenant {
        put("cs1Label", "tenant");
        put("cs1", t);
    }
    if let Some(o) = &e.object {
        put("cs4Label", "objectUid");
        put("cs4", o);
    }
    if let Some(r) = &e.request_id {
        put("cs5Label", "requestId");
        put("cs5", r);
    }
    if let Some(c) = e.change {
        put("cn2Label", "change");
        put("cn2", &c.to_string());
    }
    if let Some(a) = &record.aggregate {
        // CEF's own keys: baseEventCount, startTime, endTime
        put("cnt", &a.count.to_string());
        put(
            "start",
            &(a.first.unix_timestamp_nanos() / 1_000_000).to_string(),
        );
        put(
            "end",
            &(a.last.unix_timestamp_nanos() / 1_000_000).to_string(),
        );
    }
    format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|{ext}",
        header(CEF_VENDOR),
        header(CEF_PRODUCT),
        header(CEF_VERSION),
        header(&id),
        header(&format!("{} {}", e.operation, e.status.as_str())),
        severity(e.status),
    )
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::{AuditEvent, ChainState, Kind, MAX_FIELD_LEN, Principal};

    fn record(tenant: Option<&str>, operation: &str, reason: Option<&str>) -> AuditRecord {
        ChainState::genesis("node-a").next(AuditEvent {
            time: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(90),
            node: "node-a".into(),
            tenant: tenant.map(str::to_owned),
            principal: Some(Principal {
                fingerprint: "ab".repeat(32),
                subject: "CN=vc|1,O=a=b".into(),
                issuer: "CN=CA".into(),
                client: Some("vcenter".into()),
            }),
            client_addr: Some("[2001:db8::1]:5000".into()),
            kind: Kind::Kmip,
            operation: operation.into(),
            object: Some("uid-1".into()),
            status: Status::Denied,
            reason: reason.map(str::to_owned),
            request_id: None,
            change: None,
        })
    }

    #[test]
    fn cef_escapes_header_and_extension_and_maps_fields() {
        let line = to_cef(&record(Some("acme"), "Get|x", Some("a\\b\nc")));
        assert!(line.starts_with("CEF:0|kms|kmsd|"), "{line}");
        assert!(line.contains("|kmip:Get\\|x|Get\\|x denied|7|"), "{line}");
        assert!(line.contains("reason=a\\\\b\\nc"), "{line}");
        assert!(line.contains("suser=CN\\=vc|1,O\\=a\\=b"), "{line}");
        assert!(line.contains("src=2001:db8::1 spt=5000"), "{line}");
        assert!(line.contains("cs1Label=tenant cs1=acme"), "{line}");
        assert!(line.contains("rt=90000 "), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn cef_gives_an_aggregate_its_count_and_span_and_its_source_without_a_port() {
        let mut event = record(None, "connect", Some("TLS handshake failed")).event;
        event.client_addr = Some("192.0.2.7".into());
        let aggregate = crate::Aggregate {
            count: 523,
            first: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(80),
            last: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(89),
        };
        let line = to_cef(&ChainState::genesis("node-a").next_aggregate(event, Some(aggregate)));
        assert!(line.contains("src=192.0.2.7 "), "{line}");
        assert!(!line.contains("spt="), "{line}");
        assert!(line.contains("cnt=523 start=80000 end=89000"), "{line}");
        let single = to_cef(&record(None, "connect", None));
        assert!(!single.contains("cnt="), "{single}");
    }

    #[test]
    fn filters_combine() {
        let r = record(Some("acme"), "Get", None);
        assert!(Filter::default().matches(&r));
        let by_tenant = Filter {
            tenant: Some(Some("acme".into())),
            ..Filter::default()
        };
        assert!(by_tenant.matches(&r));
        let other = Filter {
            tenant: Some(None),
            ..Filter::default()
        };
        assert!(!other.matches(&r));
        let by_principal = Filter {
            principal: Some("vcenter".into()),
            ..by_tenant.clone()
        };
        assert!(by_principal.matches(&r));
        let late = Filter {
            from: Some(OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(91)),
            ..by_principal
        };
        assert!(!late.matches(&r));
        let op = Filter {
            operation: Some("Create".into()),
            ..Filter::default()
        };
        assert!(!op.matches(&r));
    }

    #[test]
    fn long_fields_are_clamped_at_a_char_boundary() {
        let long = "é".repeat(MAX_FIELD_LEN);
        let r = record(Some(&long), "Get", Some(&long));
        let tenant = r.event.tenant.as_deref().unwrap_or_default();
        assert_eq!(tenant.len(), MAX_FIELD_LEN);
        assert!(tenant.chars().all(|c| c == 'é'));
        assert_eq!(r.event.reason.as_deref().map(str::len), Some(MAX_FIELD_LEN));
    }
}
