//! A record as a syslog message (RFC 5424) framed for a TLS transport (RFC 5425, octet
//! counting), for forwarding the trail to a SIEM.
//!
//! ```text
//! 97 <110>1 2026-12-07T04:30:00.123456Z node-a kmsd - kmip [kms@32473 log="node-a" seq="7" hash="…"] CEF:0|…
//! ```
//!
//! - PRI: facility 13 ("log audit"); severity 6 (informational) for a success or a pending
//!   item, 5 (notice) for a failure or an undone item, 4 (warning) for a denial.
//! - HOSTNAME: the record's node; APP-NAME `kmsd`; PROCID `-`; MSGID the record kind
//!   (`kmip`, `admin`, `connection`).
//! - STRUCTURED-DATA `kms@32473`: the log name, sequence number and record hash, so an entry
//!   in the SIEM can be matched to its place in the signed chain. 32473 is the private
//!   enterprise number RFC 5612 reserves for documentation: the element is ours, not IANA's.
//! - MSG: the record as a CEF line ([`to_cef`]), or as its own JSON line (the exact bytes of
//!   the trail's file, which the offline verifier accepts).

use time::format_description::well_known::Rfc3339;

use crate::export::to_cef;
use crate::record::{AuditRecord, Status};

/// Facility 13, "log audit" (RFC 5424 section 6.2.1).
const FACILITY_LOG_AUDIT: u8 = 13;
/// The SD-ID of the element naming the record's place in its chain.
pub const SD_ID: &str = "kms@32473";
/// APP-NAME of every message.
const APP_NAME: &str = "kmsd";
/// Longest HOSTNAME RFC 5424 allows.
const MAX_HOSTNAME: usize = 255;

/// What the MSG part of a forwarded message holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// The record as a CEF line ([`to_cef`]).
    Cef,
    /// The record's JSON line, byte for byte as in the trail's files.
    Json,
}

/// The record as one RFC 5424 message (no framing, no trailing newline).
pub fn to_syslog(record: &AuditRecord, payload: Payload) -> Result<String, crate::Error> {
    let e = &record.event;
    let severity = match e.status {
        Status::Success | Status::Pending => 6,
        Status::Failure | Status::Undone => 5,
        Status::Denied => 4,
    };
    let pri = FACILITY_LOG_AUDIT * 8 + severity;
    let time = e
        .time
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(e.time.microsecond() * 1_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned());
    let msg = match payload {
        Payload::Cef => to_cef(record),
        Payload::Json => record.to_json_line()?,
    };
    Ok(format!(
        "<{pri}>1 {time} {host} {APP_NAME} - {msgid} [{SD_ID} log=\"{log}\" seq=\"{seq}\" hash=\"{hash}\"] {msg}",
        host = header_field(&e.node, MAX_HOSTNAME),
        msgid = e.kind.as_str(),
        log = param_value(&record.log),
        seq = record.seq,
        hash = record.hash(),
        msg = msg.trim_end_matches(['\r', '\n']),
    ))
}

/// `message` framed by octet counting (RFC 5425 section 4.3): `MSG-LEN SP SYSLOG-MSG`.
pub fn octet_counted(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 8);
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message.as_bytes());
    out
}

/// A header field: printable US-ASCII without spaces, at most `max` characters, `-` if empty.
fn header_field(value: &str, max: usize) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_owned()
    } else {
        cleaned
    }
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 section 6.3.3).
fn param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditEvent, ChainState, Kind};

    fn record(status: Status, node: &str) -> AuditRecord {
        let log = ChainState::genesis("node \"a\"]");
        log.next(AuditEvent {
            time: time::macros::datetime!(2026-12-07 04:30:00.123456789 UTC),
            node: node.into(),
            tenant: Some("acme".into()),
            principal: None,
            client_addr: Some("192.0.2.7:50000".into()),
            kind: Kind::Kmip,
            operation: "Get".into(),
            object: Some("k-1".into()),
            status,
            reason: None,
            request_id: None,
            change: None,
        })
    }

    #[test]
    fn a_message_has_every_rfc5424_header_field_and_the_chain_place() {
        let r = record(Status::Success, "node-a");
        let m = to_syslog(&r, Payload::Cef).unwrap();
        let expected_head = format!(
            "<110>1 2026-12-07T04:30:00.123456Z node-a kmsd - kmip [kms@32473 log=\"node \\\"a\\\"\\]\" seq=\"1\" hash=\"{}\"] CEF:0|",
            r.hash()
        );
        assert!(m.starts_with(&expected_head), "{m}");
        assert!(!m.contains('\n'));
    }

    #[test]
    fn severity_follows_the_outcome() {
        for (status, pri) in [
            (Status::Success, "<110>"),
            (Status::Pending, "<110>"),
            (Status::Failure, "<109>"),
            (Status::Undone, "<109>"),
            (Status::Denied, "<108>"),
        ] {
            let m = to_syslog(&record(status, "n"), Payload::Cef).unwrap();
            assert!(m.starts_with(pri), "{status:?}: {m}");
        }
    }

    #[test]
    fn the_json_payload_is_the_trails_own_line() {
        let r = record(Status::Success, "n");
        let m = to_syslog(&r, Payload::Json).unwrap();
        let line = r.to_json_line().unwrap();
        let line = line.trim_end();
        assert!(m.ends_with(&format!("] {line}")), "{m}");
        let parsed: AuditRecord = serde_json::from_str(line).unwrap();
        assert_eq!(parsed.hash(), r.hash());
    }

    #[test]
    fn a_hostname_with_spaces_or_control_characters_stays_one_field() {
        let m = to_syslog(&record(Status::Success, "node a\n"), Payload::Cef).unwrap();
        assert!(m.contains(" node_a_ kmsd "), "{m}");
        let m = to_syslog(&record(Status::Success, ""), Payload::Cef).unwrap();
        assert!(m.contains("Z - kmsd "), "{m}");
    }

    #[test]
    fn octet_counting_prefixes_the_byte_length() {
        assert_eq!(octet_counted("héllo"), b"6 h\xc3\xa9llo".to_vec());
    }
}
