//! `kmsctl audit tail`: the newest records from the admin API, then (`--follow`) new ones as
//! they come, polled once a second until Ctrl-C.
//!
//! The API pages forward only (`after=`), so the newest N are found by reading from a little
//! before the last checkpoint to the end, widening the window until N records match (or the
//! start of the log is reached).

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use audit_log::AuditRecord;

use super::export::PAGE;
use super::{Console, Exit, FilterArgs, format_time};
use crate::admin::{AdminClient, AuditQuery};
use crate::cli::output::{self, clean};
use crate::cli::settings::Global;
use crate::error::{ClientError, Result};

/// Time between polls with --follow.
const POLL: Duration = Duration::from_secs(1);

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum TailFormat {
    /// One readable line per record.
    Text,
    /// The record's JSON line.
    Jsonl,
    /// One ArcSight CEF line.
    Cef,
}

/// `kmsctl audit tail`.
#[derive(Debug, clap::Args)]
pub(super) struct TailArgs {
    /// How many of the newest records to print first.
    #[arg(short = 'n', long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    lines: u32,
    /// Keep printing new records (polled every second) until Ctrl-C.
    #[arg(short, long)]
    follow: bool,
    /// Output format [default: text; jsonl with --json].
    #[arg(long, value_enum)]
    format: Option<TailFormat>,
    #[command(flatten)]
    filter: FilterArgs,
}

pub(super) async fn run(
    args: TailArgs,
    global: &Global,
    console: &mut Console<'_>,
) -> Result<Exit> {
    let (api, settings) = super::super::admin::connect(global, console)?;
    let format = args.format.unwrap_or(if settings.json {
        TailFormat::Jsonl
    } else {
        TailFormat::Text
    });
    let query = args.filter.query();
    let (newest, mut after) = newest(&api, &query, args.lines as usize).await?;
    for r in &newest {
        print(console.out, r, format)?;
    }
    if !args.follow {
        return Ok(Exit::Success);
    }
    let interrupt = async {
        // Without a handler, Ctrl-C keeps its default action (exit).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            () = &mut interrupt => return Ok(Exit::Success),
            () = tokio::time::sleep(POLL) => {}
        }
        loop {
            let page = match api.audit_records(&query, after, Some(PAGE)).await {
                Ok(page) => page,
                // refused: retrying will not help
                Err(
                    e @ ClientError::Admin {
                        status: 400..=499, ..
                    },
                ) => return Err(e),
                Err(e) => {
                    let line = format!("kmsctl: {} (retrying)", super::super::one_line(&e));
                    output::line(console.err, &line)?;
                    break;
                }
            };
            for r in &page.records {
                print(console.out, r, format)?;
            }
            after = after.max(page.next);
            if !page.more {
                break;
            }
        }
        console.out.flush().map_err(output::stdout_error)?;
    }
}

/// The newest `n` matching records, oldest first, and the `after` that follows them.
async fn newest(
    api: &AdminClient,
    query: &AuditQuery,
    n: usize,
) -> Result<(Vec<AuditRecord>, u64)> {
    // the log's name (from its first record) picks its checkpoints: the newest one tells
    // roughly where the log ends
    let first = api.audit_records(query, 0, Some(1)).await?;
    let Some(log) = first.records.first().map(|r| r.log.clone()) else {
        return Ok((Vec::new(), first.next));
    };
    let end = api
        .audit_checkpoints()
        .await?
        .checkpoints
        .iter()
        .filter(|c| c.log == log)
        .map(|c| c.seq)
        .max()
        .unwrap_or(0);
    let mut window = (n as u64).saturating_mul(4).max(256);
    loop {
        let start = end.saturating_sub(window);
        let mut kept: VecDeque<AuditRecord> = VecDeque::with_capacity(n);
        let mut after = start;
        loop {
            let page = api.audit_records(query, after, Some(PAGE)).await?;
            for r in page.records {
                if kept.len() == n {
                    kept.pop_front();
                }
                if n > 0 {
                    kept.push_back(r);
                }
            }
            after = after.max(page.next);
            if !page.more {
                break;
            }
        }
        if kept.len() >= n || start == 0 {
            return Ok((kept.into(), after));
        }
        window = window.saturating_mul(8);
    }
}

/// One record in `format`.
fn print(out: &mut dyn Write, r: &AuditRecord, format: TailFormat) -> Result<()> {
    let line = match format {
        TailFormat::Jsonl => r.to_json_line().map_err(ClientError::Audit)?,
        TailFormat::Cef => audit_log::to_cef(r),
        TailFormat::Text => clean(&text_line(r)),
    };
    output::line(out, &line)
}

/// `time log#seq tenant kind operation object status (reason) by who from address`, then for
/// an aggregate `, N times between FIRST and LAST`.
fn text_line(r: &AuditRecord) -> String {
    let e = &r.event;
    let who = e
        .principal
        .as_ref()
        .map_or("-", |p| p.client.as_deref().unwrap_or(p.subject.as_str()));
    let reason = e
        .reason
        .as_deref()
        .map_or_else(String::new, |r| format!(" ({r})"));
    let times = r.aggregate.as_ref().map_or_else(String::new, |a| {
        format!(
            ", {} times between {} and {}",
            a.count,
            format_time(a.first),
            format_time(a.last)
        )
    });
    format!(
        "{} {}#{} {} {} {} {} {}{reason} by {who} from {}{times}",
        format_time(e.time),
        r.log,
        r.seq,
        e.tenant.as_deref().unwrap_or("-"),
        e.kind.as_str(),
        e.operation,
        e.object.as_deref().unwrap_or("-"),
        e.status.as_str(),
        e.client_addr.as_deref().unwrap_or("-"),
    )
}

#[cfg(test)]
mod tests {
    use audit_log::{AuditEvent, ChainState, Kind, Principal, Status};
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn a_text_line_names_who_did_what_and_cannot_drive_the_terminal() {
        let r = ChainState::genesis("node-a").next(AuditEvent {
            time: OffsetDateTime::UNIX_EPOCH,
            node: "node-a".into(),
            tenant: Some("acme".into()),
            principal: Some(Principal {
                fingerprint: "ab".repeat(32),
                subject: "CN=vc".into(),
                issuer: "CN=CA".into(),
                client: None,
            }),
            client_addr: Some("192.0.2.7:50000".into()),
            kind: Kind::Kmip,
            operation: "Get".into(),
            object: Some("uid\u{1b}[2J".into()),
            status: Status::Denied,
            reason: Some("Permission Denied".into()),
            request_id: None,
            change: None,
        });
        let mut out = Vec::new();
        print(&mut out, &r, TailFormat::Text).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "1970-01-01T00:00:00Z node-a#1 acme kmip Get uid?[2J denied (Permission Denied) \
             by CN=vc from 192.0.2.7:50000\n"
        );
    }

    #[test]
    fn a_text_line_gives_an_aggregate_its_count_and_span() {
        let event = AuditEvent {
            time: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(10),
            node: "node-a".into(),
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
        };
        let aggregate = audit_log::Aggregate {
            count: 523,
            first: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1),
            last: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(9),
        };
        let r = ChainState::genesis("node-a").next_aggregate(event, Some(aggregate));
        assert_eq!(
            text_line(&r),
            "1970-01-01T00:00:10Z node-a#1 - connection connect - denied (TLS handshake failed) \
             by - from 192.0.2.7, 523 times between 1970-01-01T00:00:01Z and 1970-01-01T00:00:09Z"
        );
    }
}
