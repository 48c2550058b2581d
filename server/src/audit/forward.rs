//! Forwarding the trail to a SIEM: syslog (RFC 5424) over TLS (RFC 5425, octet counting), each
//! message carrying one record as CEF or as its JSON line (`audit_log::syslog`).
//!
//! The forwarder is a node task that reads the trail's segment files, never the writer's
//! queue: requests wait for the audit writer's fsync only, whatever the SIEM does. It sends
//! only records that are durable, in sequence order. Syslog over TLS has no acknowledgement,
//! and a write into a connection the SIEM already dropped still succeeds locally, so a batch
//! counts as delivered only once the connection is seen still open a second after the write
//! (checked before every write and every 200 ms); the cursor file records it, rewritten at
//! most once a second (and at shutdown). When the connection is found closed or a write
//! fails, everything after the last delivered record is sent again on a new connection, and
//! after a restart everything after the cursor: delivery is at least once (the SIEM drops
//! repeats by log name and sequence number, which every message carries). Until a record's
//! delivery is in the cursor file, retention keeps its segment ([`super::AuditLog::hold_from`]). An outage is seen in the metrics
//! (`kms_audit_forward_*`) and the backlog is sent when the SIEM is back.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_log::AuditRecord;
use audit_log::syslog::{Payload, octet_counted, to_syslog};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::AuditLog;
use super::segment::list_segments;

/// Time allowed to connect (TCP and TLS) or to write one batch.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// First wait after a failure; doubled after each one up to the configured maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How often the forwarder looks for new durable records when it has caught up (and checks
/// that the SIEM still holds the connection open).
const POLL: Duration = Duration::from_millis(200);
/// A batch counts as delivered once the connection it was written on is still open this
/// long after the write (syslog over TLS has no acknowledgement; see the module docs).
const CONFIRM_AFTER: Duration = Duration::from_secs(1);
/// Most bytes of messages sent in one write.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Where and how to forward (the `[audit.forward]` section, resolved).
#[derive(Clone, Debug)]
pub struct Forwarding {
    /// The SIEM's syslog-over-TLS listener, `host:port`.
    pub address: String,
    /// The name its certificate must carry.
    pub server_name: ServerName<'static>,
    /// TLS client settings: the SIEM's trust anchors, and a client certificate if it wants
    /// one.
    pub tls: Arc<rustls::ClientConfig>,
    /// CEF or the record's JSON line.
    pub payload: Payload,
    /// File holding the sequence number of the last record sent.
    pub cursor: PathBuf,
    /// Most records per write.
    pub batch_records: usize,
    /// Longest wait between attempts while the SIEM is unreachable.
    pub max_backoff: Duration,
}

/// Runs until `stop` turns true: sends every durable record after the cursor, then keeps up.
pub async fn run_forwarder(audit: AuditLog, f: Forwarding, mut stop: watch::Receiver<bool>) {
    let mut safe = match read_cursor(&f.cursor) {
        Ok(last) => last.unwrap_or(0),
        Err(e) => {
            tracing::error!(error = %e, cursor = %f.cursor.display(),
                "audit forwarding cursor unreadable; forwarding stopped (fix or remove the file)");
            audit.forward_failed();
            return;
        }
    };
    audit.hold_from(safe.saturating_add(1));
    // What the cursor file says, and when it was last written: at most once per
    // CONFIRM_AFTER under load (each write is an fsync beside the audit writer's).
    let mut saved = safe;
    let mut saved_at = Instant::now();
    let connector = TlsConnector::from(f.tls.clone());
    let mut next = safe.saturating_add(1);
    let mut tail = Tail::default();
    let mut stream: Option<TlsStream<TcpStream>> = None;
    // Batches written on `stream` and not yet confirmed: (last sequence number, when).
    let mut unconfirmed: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut backoff = FIRST_BACKOFF;
    while !*stop.borrow() {
        // A connection the SIEM closed is found here, before anything more is written on
        // it, and what was written since the last confirmation is sent again.
        let failure = match stream.as_mut() {
            Some(s) => (!still_open(s).await).then(|| "the SIEM closed the connection".to_owned()),
            None => None,
        };
        if failure.is_none() {
            safe = safe.max(confirm(&mut unconfirmed));
            if safe > saved && saved_at.elapsed() >= CONFIRM_AFTER {
                save_cursor(&f.cursor, safe).await;
                (saved, saved_at) = (safe, Instant::now());
                audit.forwarded(saved);
            }
        }
        let durable = audit.stats().seq;
        if failure.is_none() && next > durable {
            wait(&mut stop, POLL).await;
            continue;
        }
        let outcome = match failure {
            Some(reason) => Err(reason),
            None => {
                send_batch(
                    &audit,
                    &f,
                    &connector,
                    &mut stream,
                    &mut tail,
                    next,
                    durable,
                )
                .await
            }
        };
        match outcome {
            Ok(Some(last)) => {
                unconfirmed.push_back((last, Instant::now()));
                next = last.saturating_add(1);
                backoff = FIRST_BACKOFF;
                audit.forwarded(saved);
            }
            Ok(None) => wait(&mut stop, POLL).await,
            Err(reason) => {
                tracing::warn!(error = %reason, address = %f.address,
                    "audit forwarding failed; unconfirmed records are kept and sent again");
                stream = None;
                unconfirmed.clear();
                next = safe.saturating_add(1);
                tail = Tail::default();
                audit.forward_failed();
                wait(&mut stop, backoff).await;
                backoff = (backoff * 2).min(f.max_backoff);
            }
        }
    }
    if safe > saved {
        save_cursor(&f.cursor, safe).await;
        audit.forwarded(safe);
    }
    if let Some(mut s) = stream {
        let _ = tokio::time::timeout(IO_TIMEOUT, s.shutdown()).await;
    }
}

/// Reads the records from `next` to `durable` (one batch), connects if needed and writes them.
/// `Ok(Some(last))`: written up to `last`; `Ok(None)`: nothing to send yet.
async fn send_batch(
    audit: &AuditLog,
    f: &Forwarding,
    connector: &TlsConnector,
    stream: &mut Option<TlsStream<TcpStream>>,
    tail: &mut Tail,
    next: u64,
    durable: u64,
) -> Result<Option<u64>, String> {
    let dir = audit.dir().to_owned();
    let limit = f.batch_records;
    // The tail moves on only once the batch it read is written.
    let mut moved = *tail;
    let (moved, batch) = tokio::task::spawn_blocking(move || {
        let batch = moved.read(&dir, next, durable, limit);
        (moved, batch)
    })
    .await
    .map_err(|e| e.to_string())?;
    let batch = batch.map_err(|e| format!("reading the trail: {e}"))?;
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        *tail = moved;
        return Ok(None);
    };
    if first.seq > next {
        tracing::warn!(
            from = next,
            to = first.seq - 1,
            "audit records deleted by retention before they were forwarded are skipped"
        );
    }
    let last = last.seq;
    let bytes = encode(&batch, f.payload).map_err(|e| format!("encoding a record: {e}"))?;
    if stream.is_none() {
        *stream = Some(connect(connector, f).await.map_err(|e| e.to_string())?);
    }
    let Some(s) = stream.as_mut() else {
        return Err("not connected".to_owned());
    };
    tokio::time::timeout(IO_TIMEOUT, async {
        s.write_all(&bytes).await?;
        s.flush().await
    })
    .await
    .map_err(|_| "write timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    *tail = moved;
    Ok(Some(last))
}

/// Whether the SIEM has not closed the connection (syslog receivers send nothing; anything
/// they do send is ignored).
async fn still_open(s: &mut TlsStream<TcpStream>) -> bool {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::ZERO, s.read(&mut buf)).await {
        Err(_) | Ok(Ok(1..)) => true,
        Ok(Ok(0) | Err(_)) => false,
    }
}

/// Takes the batches written at least [`CONFIRM_AFTER`] ago off `unconfirmed` (the
/// connection is still open) and returns the last sequence number they cover (0: none).
fn confirm(unconfirmed: &mut VecDeque<(u64, Instant)>) -> u64 {
    let mut confirmed = 0;
    while let Some(&(last, at)) = unconfirmed.front() {
        if at.elapsed() < CONFIRM_AFTER {
            break;
        }
        confirmed = last;
        unconfirmed.pop_front();
    }
    confirmed
}

async fn save_cursor(path: &Path, seq: u64) {
    let path = path.to_owned();
    match tokio::task::spawn_blocking(move || write_cursor(&path, seq)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "audit forwarding cursor not saved"),
        Err(e) => tracing::warn!(error = %e, "audit forwarding cursor not saved"),
    }
}

async fn connect(
    connector: &TlsConnector,
    f: &Forwarding,
) -> std::io::Result<TlsStream<TcpStream>> {
    tokio::time::timeout(IO_TIMEOUT, async {
        let tcp = TcpStream::connect(&f.address).await?;
        tcp.set_nodelay(true)?;
        connector.connect(f.server_name.clone(), tcp).await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
}

fn encode(batch: &[AuditRecord], payload: Payload) -> Result<Vec<u8>, audit_log::Error> {
    let mut out = Vec::new();
    for record in batch {
        out.extend_from_slice(&octet_counted(&to_syslog(record, payload)?));
    }
    Ok(out)
}

async fn wait(stop: &mut watch::Receiver<bool>, time: Duration) {
    tokio::select! {
        _ = stop.changed() => {}
        () = tokio::time::sleep(time) => {}
    }
}

/// Where the forwarder is in the segment files: the segment (by first sequence number) and
/// the byte offset of the next unread line in it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tail {
    segment: u64,
    offset: u64,
}

impl Tail {
    /// Up to `limit` records with `next <= seq <= durable`, in order, starting where the last
    /// read stopped when that is still the right place, otherwise from the segment that holds
    /// `next` (or the oldest one kept). Only whole lines are read.
    pub(super) fn read(
        &mut self,
        dir: &Path,
        next: u64,
        durable: u64,
        limit: usize,
    ) -> std::io::Result<Vec<AuditRecord>> {
        let segments = list_segments(dir).map_err(std::io::Error::other)?;
        let start = segments
            .iter()
            .rposition(|(first, _)| *first <= next)
            .unwrap_or(0);
        if self.segment != segments.get(start).map_or(0, |s| s.0) {
            self.segment = segments.get(start).map_or(0, |s| s.0);
            self.offset = 0;
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        for (first, path) in segments.iter().skip(start) {
            if *first != self.segment {
                self.segment = *first;
                self.offset = 0;
            }
            let mut file = BufReader::new(std::fs::File::open(path)?);
            file.seek(SeekFrom::Start(self.offset))?;
            let mut line = String::new();
            loop {
                line.clear();
                let n = file.read_line(&mut line)?;
                if n == 0 || !line.ends_with('\n') {
                    break; // the end, or a line still being written
                }
                let record: AuditRecord = serde_json::from_str(line.trim_end())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                if record.seq > durable {
                    return Ok(out);
                }
                self.offset += n as u64;
                if record.seq >= next {
                    bytes += line.len();
                    out.push(record);
                    if out.len() >= limit || bytes >= MAX_BATCH_BYTES {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The last sequence number sent, or `None` when nothing was sent yet.
fn read_cursor(path: &Path) -> std::io::Result<Option<u64>> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces the cursor atomically (a new file renamed over the old one, then synced).
fn write_cursor(path: &Path, seq: u64) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = crate::permissions::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    writeln!(file, "{seq}")?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_survives_a_rewrite_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forward.cursor");
        assert_eq!(read_cursor(&path).unwrap(), None);
        write_cursor(&path, 41).unwrap();
        write_cursor(&path, 42).unwrap();
        assert_eq!(read_cursor(&path).unwrap(), Some(42));
        std::fs::write(&path, "not a number").unwrap();
        assert!(read_cursor(&path).is_err());
    }
}
