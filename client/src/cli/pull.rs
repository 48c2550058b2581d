//! `kmsctl tenant pull`: inbound migration from a foreign KMIP server ([`crate::migrate`]).
//!
//! Two KMIP connections: to the foreign server with its own options (`--from`, `--from-ca`,
//! `--from-cert`, `--from-key`), and to this server as the destination tenant's KMIP client
//! with the usual settings (`--addr`, `--ca`, `--cert`, `--key`), always in KMIP 2.1 (Import).
//! One line per object on stdout, warnings on stderr, a summary; exit 1 when an object failed.

use std::path::PathBuf;

use kmip_codec::enums::ObjectType;
use kmip_codec::version::ProtocolVersion;
use serde_json::{Value, json};

use super::output;
use super::settings::{Global, Settings, host_of, parse_protocol};
use super::{Console, Exit};
use crate::config::ClientConfig;
use crate::connection::Connector;
use crate::error::Result;
use crate::migrate::{self, Item, Outcome, Progress, PullOptions, Summary, Transport};

/// `kmsctl tenant pull`.
#[derive(Debug, clap::Args)]
pub(super) struct PullArgs {
    /// The foreign KMIP server, host:port.
    #[arg(long, value_name = "HOST:PORT")]
    from: String,
    /// PEM file of the CA the foreign server's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    from_ca: PathBuf,
    /// Your certificate chain for the foreign server, PEM, leaf first.
    #[arg(long, value_name = "FILE")]
    from_cert: PathBuf,
    /// Your private key for the foreign server, PEM.
    #[arg(long, value_name = "FILE")]
    from_key: PathBuf,
    /// Name the foreign server's certificate must carry [default: the host of --from].
    #[arg(long, value_name = "NAME")]
    from_server_name: Option<String>,
    /// KMIP protocol version spoken to the foreign server: 1.0 to 1.4, 2.0, 2.1.
    #[arg(long, value_name = "VERSION", default_value = "1.2")]
    from_protocol: String,
    /// Fail an object the foreign server will not wrap under the transfer key, instead of
    /// fetching it plain with a warning.
    #[arg(long)]
    require_wrapping: bool,
}

/// Runs `tenant pull` with the global settings of this server.
pub(super) async fn run(
    args: PullArgs,
    global: &Global,
    console: &mut Console<'_>,
) -> Result<Exit> {
    let settings = Settings::resolve(global, console.env)?;
    let local_config = settings
        .client_config(&settings.addr)?
        .with_protocol_version(ProtocolVersion::V2_1);
    let name = args
        .from_server_name
        .clone()
        .unwrap_or_else(|| host_of(&args.from).to_owned());
    let foreign_config = ClientConfig::new(args.from.clone(), name)
        .with_ca_file(&args.from_ca)
        .with_identity(&args.from_cert, &args.from_key)
        .with_protocol_version(parse_protocol(&args.from_protocol)?)
        .with_timeouts(settings.timeout, settings.timeout);
    let mut foreign = Connector::new(foreign_config)?.connect().await?;
    let mut local = match Connector::new(local_config)?.connect().await {
        Ok(c) => c,
        Err(e) => {
            let _closed = foreign.close().await;
            return Err(e);
        }
    };
    let options = PullOptions {
        source: args.from.clone(),
        require_wrapping: args.require_wrapping,
    };
    let mut report = Report {
        json: settings.json,
        items: Vec::new(),
        console,
    };
    let pulled = migrate::pull(&mut foreign, &mut local, &options, &mut report).await;
    let _closed = foreign.close().await;
    let _closed = local.close().await;
    let summary = pulled?;
    report.finish(&summary, &args.from)?;
    Ok(if summary.failed == 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// Prints the pull as it goes (text) or at the end (JSON).
struct Report<'c, 'a> {
    json: bool,
    items: Vec<Value>,
    console: &'c mut Console<'a>,
}

fn type_name(t: Option<ObjectType>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| {
            t.name()
                .map_or_else(|| format!("0x{:08x}", t.0), str::to_owned)
        },
    )
}

/// The result word of an item: wrapped, plain, already present, failed.
fn result_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Pulled(Transport::Wrapped) => "wrapped",
        Outcome::Pulled(Transport::Plain) => "plain",
        Outcome::AlreadyPresent => "already present",
        Outcome::Failed(_) => "failed",
    }
}

impl Progress for Report<'_, '_> {
    fn warn(&mut self, text: &str) {
        let _ = writeln!(self.console.err, "kmsctl: warning: {}", output::clean(text));
    }

    fn item(&mut self, item: &Item) {
        let failure = match &item.outcome {
            Outcome::Failed(f) => Some(f.to_string()),
            _ => None,
        };
        let kept_here = !matches!(item.outcome, Outcome::Failed(_));
        if self.json {
            self.items.push(json!({
                "foreign_uid": item.uid,
                "uid": kept_here.then_some(&item.uid),
                "object_type": type_name(item.object_type),
                "result": result_word(&item.outcome),
                "error": failure,
            }));
            return;
        }
        let uid = output::clean(&item.uid);
        let line = match failure {
            Some(why) => format!(
                "{uid} -> -  {}  failed: {}",
                type_name(item.object_type),
                output::clean(&why)
            ),
            None => format!(
                "{uid} -> {uid}  {}  {}",
                type_name(item.object_type),
                result_word(&item.outcome)
            ),
        };
        let _ = output::line(self.console.out, &line);
    }
}

impl Report<'_, '_> {
    fn finish(self, summary: &Summary, from: &str) -> Result<()> {
        if self.json {
            return output::json(
                self.console.out,
                &json!({ "from": from, "objects": self.items, "summary": summary }),
            );
        }
        output::line(
            self.console.out,
            &format!(
                "{} objects on {}: {} pulled ({} wrapped, {} plain), {} already present, {} failed",
                summary.found,
                output::clean(from),
                summary.wrapped + summary.plain,
                summary.wrapped,
                summary.plain,
                summary.already_present,
                summary.failed
            ),
        )
    }
}
