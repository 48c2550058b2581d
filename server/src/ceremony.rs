//! `kmsd ceremony <step>`: the HSM key ceremony that puts one Root of Trust into every AZ's
//! HSM, and its M-of-N disaster-recovery backup, as command-line steps over files.
//!
//! Each step is one function here, taking its parsed arguments and returning the text to
//! print; the HSM work is one call into [`hsm::ceremony`]. What this module adds is the file
//! handling around it:
//!
//! - the token comes from the `[hsm]` table of `--config` (a node's `kmsd.toml` as it is, or
//!   a file holding only that table); the user PIN from the table's `pin_env` / `pin_file`;
//! - the Security Officer PIN from `--so-pin-file` or the [`SO_PIN_ENV`] variable, never a
//!   command-line value (that would show in `ps`);
//! - every file written is new (`create_new`, mode 0600); an existing file is refused unless
//!   `--force` is given, and that is checked before the HSM is touched;
//! - every file read is size-checked before it is read.
//!
//! See `docs/KEY-CEREMONY.md` for who runs which step, and why.

mod command;
mod files;

use std::path::{Path, PathBuf};

use hsm::ceremony::{
    self as steps, CeremonyToken, CustodianShare, TransportPublicKey, WrappedRoot,
};
use hsm::{HsmConfig, PinSource, RootAttributes, RootExport};
use secrecy::SecretString;

pub use command::{
    Args, BackupCreate, BackupRestore, ExportRoot, ImportRoot, InitRoot, SoPinArgs, Status, Step,
    TokenArgs, TransportKeygen,
};
use files::{make_private_dir, read_text, refuse_existing, write_new};

/// The environment variable read for the Security Officer PIN when `--so-pin-file` is absent.
pub const SO_PIN_ENV: &str = "KMSD_SO_PIN";

/// Largest configuration file read (a `kmsd.toml` is a few KiB).
const MAX_CONFIG_LEN: u64 = 1 << 20;
/// Largest transport PEM or wrapped-root record read (an RSA-16384 PEM is under 3 KiB; a
/// wrapped-root record under 3 KiB).
const MAX_RECORD_LEN: u64 = 64 << 10;
/// Largest share file read (a share's text is under 100 bytes).
const MAX_SHARE_LEN: u64 = 1 << 10;

/// Name of the wrapped-root record in a backup directory.
pub const BACKUP_RECORD: &str = "backup.json";

/// Errors of the ceremony commands: one line each, naming the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ceremony step failed in the HSM crate (token, PIN, PKCS#11, records, shares).
    #[error(transparent)]
    Hsm(#[from] hsm::Error),
    /// A file could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is larger than its kind may be.
    #[error("{path} is larger than the {max} bytes a {what} may have")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        what: &'static str,
        /// The limit.
        max: u64,
    },
    /// An output file exists and `--force` was not given.
    #[error("{path} exists; refusing to overwrite it (pass --force to replace it)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file or directory could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not TOML, or its `[hsm]` table is invalid.
    #[error("{path}: invalid [hsm] configuration")]
    Config {
        /// The file.
        path: PathBuf,
        /// What the TOML parser reported.
        source: toml::de::Error,
    },
    /// The configuration file has no `[hsm]` table.
    #[error("{path} has no [hsm] table")]
    NoHsmTable {
        /// The file.
        path: PathBuf,
    },
    /// A JSON record could not be parsed.
    #[error("{path} is not a valid {what} record")]
    Record {
        /// The file.
        path: PathBuf,
        /// Which record.
        what: &'static str,
        /// What the JSON parser reported.
        source: serde_json::Error,
    },
    /// A record could not be encoded (not expected to happen).
    #[error("cannot encode the {what} record")]
    Encode {
        /// Which record.
        what: &'static str,
        /// What the JSON encoder reported.
        source: serde_json::Error,
    },
    /// A share file does not hold a custodian share.
    #[error("{path} is not a valid custodian share")]
    Share {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: hsm::Error,
    },
    /// Fewer shares were given than the backup's threshold.
    #[error("backup-restore needs {threshold} custodian shares, {given} given")]
    TooFewShares {
        /// The threshold recorded in the shares.
        threshold: u8,
        /// How many were given.
        given: usize,
    },
    /// The Security Officer PIN could not be read.
    #[error("cannot read the Security Officer PIN (--so-pin-file or {SO_PIN_ENV})")]
    SoPin(#[source] hsm::PinError),
}

/// The module's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs one step; returns what to print on standard output.
pub fn run(args: &Args) -> Result<String> {
    match &args.step {
        Step::InitRoot(a) => init_root(a),
        Step::Status(a) => status(a),
        Step::TransportKeygen(a) => transport_keygen(a),
        Step::ExportRoot(a) => export_root(a),
        Step::ImportRoot(a) => import_root(a),
        Step::BackupCreate(a) => backup_create(a),
        Step::BackupRestore(a) => backup_restore(a),
    }
}

/// Step `init-root`: [`steps::generate_root`].
pub fn init_root(args: &InitRoot) -> Result<String> {
    let (token, pin) = open(&args.token)?;
    let export = export_choice(args.exportable);
    let kcv = steps::generate_root(&token, &pin, export)?;
    Ok(format!(
        "Root of Trust generated\nKCV: {kcv}\nexport: {}\n",
        describe(export)
    ))
}

/// Step `status`: [`steps::root_status`].
pub fn status(args: &Status) -> Result<String> {
    let (token, pin) = open(&args.token)?;
    let status = steps::root_status(&token, &pin)?;
    if args.json {
        return Ok(json(&status, "root status")? + "\n");
    }
    let mut text = format!("token: {}\nKCV: {}\n", status.token_label, status.kcv);
    for (name, value) in attribute_rows(&status.attributes) {
        text.push_str(&format!("{name:<22} {value}\n"));
    }
    Ok(text)
}

/// Step `transport-keygen`: [`steps::generate_transport_key`]; writes the PEM.
pub fn transport_keygen(args: &TransportKeygen) -> Result<String> {
    refuse_existing(&args.out, args.force)?;
    let (token, pin) = open(&args.token)?;
    let public = steps::generate_transport_key(&token, &pin)?;
    write_new(&args.out, public.pem.as_bytes(), args.force)?;
    Ok(format!(
        "transport public key of token {} written to {}\nfingerprint: {}\n\
         Read the fingerprint aloud to the source HSM's officers; it is export-root's \
         --expect-fingerprint.\n",
        public.token_label,
        args.out.display(),
        public.fingerprint
    ))
}

/// Step `export-root`: [`steps::export_root`]; writes the wrapped-root record.
pub fn export_root(args: &ExportRoot) -> Result<String> {
    refuse_existing(&args.out, args.force)?;
    let pem = read_text(&args.transport, MAX_RECORD_LEN, "transport public key")?;
    let so_pin = so_pin(&args.so_pin)?;
    let (token, pin) = open(&args.token)?;
    // `export_root` recomputes the fingerprint from the PEM and compares it with the
    // expected one; the label and fingerprint fields are not read by it.
    let transport = TransportPublicKey {
        token_label: String::new(),
        pem: pem.to_string(),
        fingerprint: args.expect_fingerprint.clone(),
    };
    let wrapped = steps::export_root(&token, &so_pin, &pin, &transport, &args.expect_fingerprint)?;
    write_new(
        &args.out,
        (json(&wrapped, "wrapped root")? + "\n").as_bytes(),
        args.force,
    )?;
    Ok(format!(
        "Root of Trust wrapped for transport key {}\nKCV: {}\nwritten to {}\n",
        wrapped.transport_fingerprint.as_deref().unwrap_or("?"),
        wrapped.kcv,
        args.out.display()
    ))
}

/// Step `import-root`: [`steps::import_root`], always as a non-extractable root.
pub fn import_root(args: &ImportRoot) -> Result<String> {
    let wrapped = read_wrapped_root(&args.input)?;
    let (token, pin) = open(&args.token)?;
    let kcv = steps::import_root(&token, &pin, &wrapped, RootExport::Never)?;
    Ok(format!(
        "Root of Trust imported\nKCV: {kcv}\nexport: {}\n",
        describe(RootExport::Never)
    ))
}

/// Step `backup-create`: [`steps::create_backup`]; writes `backup.json` and one share file
/// per custodian into `--out-dir`.
pub fn backup_create(args: &BackupCreate) -> Result<String> {
    let record = args.out_dir.join(BACKUP_RECORD);
    let share_paths: Vec<PathBuf> = (1..=args.shares)
        .map(|n| args.out_dir.join(format!("share-{n}.txt")))
        .collect();
    for path in std::iter::once(&record).chain(&share_paths) {
        refuse_existing(path, args.force)?;
    }
    let so_pin = so_pin(&args.so_pin)?;
    let (token, pin) = open(&args.token)?;
    let backup = steps::create_backup(&token, &so_pin, &pin, args.threshold, args.shares)?;
    make_private_dir(&args.out_dir)?;
    write_new(
        &record,
        (json(&backup.wrapped_root, "backup")? + "\n").as_bytes(),
        args.force,
    )?;
    let mut text = format!(
        "backup of the Root of Trust written to {}\nKCV: {}\n{} of {} shares restore it:\n",
        record.display(),
        backup.wrapped_root.kcv,
        args.threshold,
        args.shares
    );
    for (share, path) in backup.shares.iter().zip(&share_paths) {
        let mut line = share.to_text();
        line.push('\n');
        write_new(path, line.as_bytes(), args.force)?;
        text.push_str(&format!("  {}\n", path.display()));
    }
    text.push_str(
        "Give each share file to its custodian, then delete it from this machine; keep \
         backup.json apart from the shares.\n",
    );
    Ok(text)
}

/// Step `backup-restore`: [`steps::restore_backup`].
pub fn backup_restore(args: &BackupRestore) -> Result<String> {
    let wrapped = read_wrapped_root(&args.backup)?;
    let shares = args
        .shares
        .iter()
        .map(|path| {
            let text = read_text(path, MAX_SHARE_LEN, "custodian share")?;
            CustodianShare::from_text(&text).map_err(|source| Error::Share {
                path: path.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(threshold) = shares.first().map(CustodianShare::threshold)
        && shares.len() < usize::from(threshold)
    {
        return Err(Error::TooFewShares {
            threshold,
            given: shares.len(),
        });
    }
    let (token, pin) = open(&args.token)?;
    let export = export_choice(args.exportable);
    let kcv = steps::restore_backup(&token, &pin, &wrapped, &shares, export)?;
    Ok(format!(
        "Root of Trust restored from backup\nKCV: {kcv}\nexport: {}\n",
        describe(export)
    ))
}

/// Reads the `[hsm]` table of a TOML file.
pub fn load_hsm_config(path: &Path) -> Result<HsmConfig> {
    let text = read_text(path, MAX_CONFIG_LEN, "configuration")?;
    let config_error = |source| Error::Config {
        path: path.to_owned(),
        source,
    };
    let mut doc: toml::Table = toml::from_str(&text).map_err(config_error)?;
    let table = doc.remove("hsm").ok_or_else(|| Error::NoHsmTable {
        path: path.to_owned(),
    })?;
    table.try_into().map_err(config_error)
}

/// Opens the token and reads the user PIN from its configured source.
fn open(args: &TokenArgs) -> Result<(CeremonyToken, SecretString)> {
    let config = load_hsm_config(&args.config)?;
    let token = CeremonyToken::open(&config)?;
    let pin = token.user_pin()?;
    Ok((token, pin))
}

fn so_pin(args: &SoPinArgs) -> Result<SecretString> {
    let source = match &args.so_pin_file {
        Some(path) => PinSource::File(path.clone()),
        None => PinSource::Env(SO_PIN_ENV.to_owned()),
    };
    source.read().map_err(Error::SoPin)
}

fn export_choice(exportable: bool) -> RootExport {
    if exportable {
        RootExport::WrappedUnderTrustedOnly
    } else {
        RootExport::Never
    }
}

fn describe(export: RootExport) -> &'static str {
    match export {
        RootExport::Never => "never (CKA_EXTRACTABLE=false)",
        RootExport::WrappedUnderTrustedOnly => {
            "only wrapped under SO-trusted keys (CKA_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED)"
        }
    }
}

fn attribute_rows(a: &RootAttributes) -> [(&'static str, bool); 12] {
    [
        ("CKA_TOKEN", a.token),
        ("CKA_PRIVATE", a.private),
        ("CKA_SENSITIVE", a.sensitive),
        ("CKA_ALWAYS_SENSITIVE", a.always_sensitive),
        ("CKA_EXTRACTABLE", a.extractable),
        ("CKA_NEVER_EXTRACTABLE", a.never_extractable),
        ("CKA_WRAP_WITH_TRUSTED", a.wrap_with_trusted),
        ("CKA_MODIFIABLE", a.modifiable),
        ("CKA_WRAP", a.wrap),
        ("CKA_UNWRAP", a.unwrap),
        ("CKA_ENCRYPT", a.encrypt),
        ("CKA_DECRYPT", a.decrypt),
    ]
}

fn json(value: &impl serde::Serialize, what: &'static str) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|source| Error::Encode { what, source })
}

fn read_wrapped_root(path: &Path) -> Result<WrappedRoot> {
    let text = read_text(path, MAX_RECORD_LEN, "wrapped-root record")?;
    serde_json::from_str(&text).map_err(|source| Error::Record {
        path: path.to_owned(),
        what: "wrapped-root",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_shares_are_refused_before_the_token_is_opened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = dir.path().join(BACKUP_RECORD);
        std::fs::write(
            &record,
            r#"{"format":1,"kcv":"AABBCC","mechanism":"aes_key_wrap_pad","transport_fingerprint":null,"wrapped":"00"}"#,
        )
        .expect("write");
        let share = dir.path().join("share-1.txt");
        std::fs::write(
            &share,
            format!("kms-share-v1:AABBCC:3:01{}\n", "07".repeat(32)),
        )
        .expect("write");
        let args = BackupRestore {
            // Never opened: the share count is checked first.
            token: TokenArgs {
                config: dir.path().join("missing.toml"),
            },
            backup: record,
            shares: vec![share.clone(), share],
            exportable: false,
        };
        let err = backup_restore(&args).expect_err("two shares of a 3-of-N backup");
        assert_eq!(
            err.to_string(),
            "backup-restore needs 3 custodian shares, 2 given"
        );
    }

    #[test]
    fn hsm_table_is_read_from_a_full_or_bare_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let full = dir.path().join("kmsd.toml");
        std::fs::write(
            &full,
            "[server]\nnode_id = 2\n[tls]\nclient_ca = \"ca.pem\"\n\
             [hsm]\nmodule = \"/m.so\"\ntoken_label = \"az2\"\npin_env = \"PIN\"\n",
        )
        .expect("write");
        assert_eq!(load_hsm_config(&full).expect("full").token_label, "az2");
        let bare = dir.path().join("hsm.toml");
        std::fs::write(&bare, "[tls]\nclient_ca = \"ca.pem\"\n").expect("write");
        assert!(matches!(
            load_hsm_config(&bare),
            Err(Error::NoHsmTable { .. })
        ));
        std::fs::write(
            &bare,
            "[hsm]\nmodule = \"/m.so\"\ntoken_label = \"t\"\npin = \"1\"\n",
        )
        .expect("write");
        assert!(matches!(load_hsm_config(&bare), Err(Error::Config { .. })));
    }
}
