//! `kmsctl audit export`: records, checkpoints and the audit public key from the admin API,
//! or from a node's audit directory (`--from-dir`), as an export directory for
//! `audit verify` (JSON Lines) or as CEF lines for a SIEM.
//!
//! Checkpoints are read before records: every checkpoint then covers records the export
//! holds, and records written meanwhile only add to the not-yet-signed tail. Read the other
//! way round, a checkpoint made during the export would look like truncation.
//!
//! A jsonl export ends with its manifest (`audit_log::Manifest`): the scope it was made for
//! (`--tenant`, or the tenant the server confines the caller to, else the whole trail), the
//! log, the counts and where the scope's chain starts and ends in it.

use std::io::Write;
use std::path::{Path, PathBuf};

use audit_log::{AuditRecord, Checkpoint, Finding, Manifest, PublicKey, Scope};

use super::files::{self, Issue};
use super::{Console, Exit, FilterArgs, key_fingerprint, public_key_arg};
use crate::admin::AdminClient;
use crate::cli::output::{self, clean};
use crate::cli::settings::Global;
use crate::error::{ClientError, Result};

/// Records asked for per request.
pub(super) const PAGE: u32 = 1000;

/// Output format of records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    /// An export directory: records.jsonl, checkpoints.jsonl, audit-public-key.hex.
    Jsonl,
    /// One ArcSight CEF line per record (records only), to --out FILE or stdout.
    Cef,
}

/// `kmsctl audit export`.
#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    /// Where to write: a directory (created if missing; existing files are never
    /// overwritten) for jsonl, a new file for cef [default for cef: stdout].
    #[arg(long, value_name = "DIR|FILE")]
    out: Option<PathBuf>,
    /// jsonl: an export directory for `kmsctl audit verify`; cef: lines for a SIEM.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Read a node's audit directory (its audit-*.jsonl segments and checkpoints.jsonl)
    /// instead of the admin API; for operators with access to the node's files.
    #[arg(long, value_name = "DIR")]
    from_dir: Option<PathBuf>,
    /// With --from-dir: the audit public key (file or hex) to put into the export; the
    /// audit directory does not hold it (the admin API serves it).
    #[arg(long, value_name = "FILE|HEX", requires = "from_dir")]
    public_key: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
}

/// Where records go.
struct Sink<'a> {
    out: &'a mut dyn Write,
    path: PathBuf,
    format: Format,
    count: u64,
    manifest: Manifest,
}

impl Sink<'_> {
    fn put(&mut self, record: &AuditRecord) -> Result<()> {
        let line = match self.format {
            Format::Jsonl => record.to_json_line().map_err(ClientError::Audit)?,
            Format::Cef => audit_log::to_cef(record),
        };
        files::put_line(self.out, &self.path, &line)?;
        self.count += 1;
        self.manifest.note(record);
        Ok(())
    }
}

/// The scope an export holds: the tenant asked for, else the tenant the server confined the
/// caller to, else the whole trail.
fn export_scope(tenant: Option<&str>, served: Option<Scope>) -> Scope {
    match (tenant, served) {
        (Some(t), _) => Scope::Tenant(Some(t.to_owned())),
        (None, Some(Scope::Tenant(t))) => Scope::Tenant(t),
        (None, _) => Scope::All,
    }
}

pub(super) async fn run(
    args: ExportArgs,
    global: &Global,
    console: &mut Console<'_>,
) -> Result<Exit> {
    if args.format == Format::Jsonl && args.out.is_none() {
        return Err(ClientError::Usage("--format jsonl needs --out DIR"));
    }
    if args.format == Format::Jsonl && args.filter.cuts_chains() {
        output::line(
            console.err,
            "kmsctl: warning: records filtered by time, operation, object or principal do not \
             form chains; `audit verify` will report gaps (filter by --tenant only to verify)",
        )?;
    }
    // checkpoints (and key) first, then records: see the module docs
    let api = match &args.from_dir {
        Some(_) => None,
        None => Some(super::super::admin::connect(global, console)?.0),
    };
    let (key, mut checkpoints, served, mut issues) = match (&api, &args.from_dir) {
        (Some(api), _) => {
            let key = api.audit_public_key().await?;
            let view = api.audit_checkpoints().await?;
            (Some(key), view.checkpoints, view.scope, Vec::new())
        }
        (None, Some(dir)) => {
            let key = args.public_key.as_deref().map(public_key_arg).transpose()?;
            let (cps, issues) = files::read_checkpoints(&dir.join(files::CHECKPOINTS))?;
            (key, cps, None, issues)
        }
        (None, None) => return Err(ClientError::Usage("no source")),
    };
    if let Some(t) = &args.filter.tenant {
        checkpoints = files::tenant_view(checkpoints, t);
    }
    let scope = export_scope(args.filter.tenant.as_deref(), served);
    let mut manifest = Manifest::new(scope, args.filter.cuts_chains());
    manifest.checkpoints = checkpoints.len() as u64;

    let mut file = None;
    let path = match (args.format, &args.out) {
        (Format::Jsonl, Some(dir)) => {
            write_dir_head(dir, key.as_ref(), &checkpoints)?;
            let path = dir.join(files::RECORDS);
            file = Some(files::create_new(&path)?);
            path
        }
        (Format::Cef, Some(path)) if path.as_os_str() != "-" => {
            file = Some(files::create_new(path)?);
            path.clone()
        }
        _ => PathBuf::from("<stdout>"),
    };
    let mut sink = Sink {
        out: match &mut file {
            Some(f) => f,
            None => &mut *console.out,
        },
        path: path.clone(),
        format: args.format,
        count: 0,
        manifest,
    };
    match (&api, &args.from_dir) {
        (Some(api), _) => from_api(api, &args.filter, &mut sink).await?,
        (None, Some(dir)) => {
            let segments = files::segments(dir)?;
            let (records, record_issues) = files::read_records(&segments)?;
            issues.extend(record_issues);
            let filter = args.filter.filter();
            for r in records.iter().filter(|r| filter.matches(r)) {
                sink.put(r)?;
            }
            // a live writer may be in the middle of the last line of the newest segment or
            // of the checkpoints: not a problem of the trail
            let live = [segments.last().cloned(), Some(dir.join(files::CHECKPOINTS))];
            issues.retain(|i| !(torn(&i.finding) && live.contains(&Some(i.file.clone()))));
        }
        (None, None) => {}
    }
    let count = sink.count;
    let manifest = sink.manifest;
    if let Some(f) = file {
        files::finish(f, &path)?;
    } else {
        console.out.flush().map_err(output::stdout_error)?;
    }
    if let (Format::Jsonl, Some(dir)) = (args.format, &args.out) {
        // last: an export cut short has no manifest
        let path = dir.join(files::MANIFEST);
        let mut f = files::create_new(&path)?;
        let text = manifest.to_json().map_err(ClientError::Audit)?;
        files::put_line(&mut f, &path, &text)?;
        files::finish(f, &path)?;
    }
    report(
        console,
        &args,
        key.as_ref(),
        count,
        checkpoints.len(),
        &issues,
    )
}

fn torn(f: &Finding) -> bool {
    matches!(f, Finding::TornTail { .. })
}

/// Creates the export directory and writes the key and checkpoint files.
fn write_dir_head(dir: &Path, key: Option<&PublicKey>, checkpoints: &[Checkpoint]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ClientError::WriteFile {
        path: dir.to_path_buf(),
        source,
    })?;
    if let Some(key) = key {
        let path = dir.join(files::PUBLIC_KEY);
        let mut f = files::create_new(&path)?;
        files::put_line(&mut f, &path, &hex::encode(key.as_bytes()))?;
        files::finish(f, &path)?;
    }
    let path = dir.join(files::CHECKPOINTS);
    let mut f = files::create_new(&path)?;
    for cp in checkpoints {
        let line = cp.to_json_line().map_err(ClientError::Audit)?;
        files::put_line(&mut f, &path, &line)?;
    }
    files::finish(f, &path)
}

/// Every page of records from the admin API.
async fn from_api(api: &AdminClient, filter: &FilterArgs, sink: &mut Sink<'_>) -> Result<()> {
    let query = filter.query();
    let mut after = 0;
    loop {
        let page = api.audit_records(&query, after, Some(PAGE)).await?;
        for r in &page.records {
            sink.put(r)?;
        }
        if !page.more {
            return Ok(());
        }
        after = page.next;
    }
}

/// What was exported, on stderr; irregular source lines as warnings (exit status 5).
fn report(
    console: &mut Console<'_>,
    args: &ExportArgs,
    key: Option<&PublicKey>,
    records: u64,
    checkpoints: usize,
    issues: &[Issue],
) -> Result<Exit> {
    let err = &mut *console.err;
    let target = args
        .out
        .as_ref()
        .map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let what = match args.format {
        Format::Jsonl => format!("{records} records and {checkpoints} checkpoints"),
        Format::Cef => format!("{records} records as CEF"),
    };
    output::line(err, &clean(&format!("kmsctl: exported {what} to {target}")))?;
    match (key, args.format) {
        (Some(k), _) => output::line(
            err,
            &format!(
                "kmsctl: audit key sha256 {} (compare with the key ceremony's record)",
                key_fingerprint(k)
            ),
        )?,
        (None, Format::Jsonl) => output::line(
            err,
            "kmsctl: no audit-public-key.hex written (give --public-key, or get it from the \
             admin API); `audit verify` needs it",
        )?,
        (None, Format::Cef) => {}
    }
    for i in issues {
        let fate = match i.finding {
            Finding::NonCanonicalLine { .. } => "exported in canonical form",
            _ => "not exported",
        };
        let text = format!(
            "kmsctl: warning: {}: {} ({fate})",
            i.file.display(),
            i.finding
        );
        output::line(err, &clean(&text))?;
    }
    Ok(if issues.is_empty() {
        Exit::Success
    } else {
        Exit::AuditFindings
    })
}
