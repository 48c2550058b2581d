//! `kmsctl key ...`: KMIP operations as a KMIP client of one tenant, over the typed calls of
//! [`crate::Connection`]. One connection per command.
//!
//! Key bytes (`key get`) go only to a file created with mode 0600 (`--out`, refused if the
//! file exists), or to stdout in hex with an explicit `--reveal`; never by default.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use kmip_codec::enums::NameType;
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, KeyBlock, KeyMaterial, KeyValue, ManagedObject, Name,
    SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use serde_json::json;
use zeroize::Zeroizing;

use super::output::{self, Table};
use super::settings::{Global, Settings};
use super::values::{Alg, Format, Reason, StateArg, parse_attr};
use super::{Console, Exit, attributes};
use crate::connection::{Connection, Connector};
use crate::error::{ClientError, Result};

/// Largest key file `key register` reads (a 4096-bit key is 512 bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// `kmsctl key`.
#[derive(Debug, clap::Args)]
pub(super) struct KeyArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: KeyCmd,
}

#[derive(Debug, Subcommand)]
enum KeyCmd {
    /// Creates a symmetric key (KMIP Create) and prints its UID.
    Create {
        /// Cryptographic Algorithm.
        #[arg(long, value_enum, default_value_t = Alg::Aes)]
        alg: Alg,
        /// Cryptographic Length in bits.
        #[arg(long, default_value_t = 256)]
        bits: i32,
        /// A KMIP Name for the key.
        #[arg(long)]
        name: Option<String>,
        /// A custom text attribute, x-Name=value (repeatable).
        #[arg(long = "attr", value_name = "x-NAME=VALUE", value_parser = parse_attr)]
        attrs: Vec<(String, String)>,
        /// Activate the key at once (KMIP Activate).
        #[arg(long)]
        activate: bool,
    },
    /// Fetches a key (KMIP Get). Prints its metadata; the key bytes go only to --out (a new
    /// file, mode 0600) or, with --reveal, to stdout in hex.
    Get {
        /// Unique Identifier.
        uid: String,
        /// Key Format Type asked for.
        #[arg(long, value_enum, default_value_t = Format::Raw)]
        format: Format,
        /// Write the key bytes (binary) to this new file, created with mode 0600; an existing
        /// file is not overwritten.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the key bytes in hex on stdout (they end up in the terminal's scrollback).
        #[arg(long)]
        reveal: bool,
    },
    /// Finds keys (KMIP Locate) and prints their UIDs.
    Locate {
        /// KMIP Name equals.
        #[arg(long)]
        name: Option<String>,
        /// State equals.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Custom attribute equals, x-Name=value (repeatable).
        #[arg(long = "attr", value_name = "x-NAME=VALUE", value_parser = parse_attr)]
        attrs: Vec<(String, String)>,
        /// At most this many UIDs.
        #[arg(long)]
        max: Option<i32>,
    },
    /// Prints every attribute of a key (KMIP Get Attributes).
    Attrs {
        /// Unique Identifier.
        uid: String,
    },
    /// Activates a Pre-Active key (KMIP Activate).
    Activate {
        /// Unique Identifier.
        uid: String,
    },
    /// Revokes a key (KMIP Revoke).
    Revoke {
        /// Unique Identifier.
        uid: String,
        /// Revocation Reason Code.
        #[arg(long, value_enum, default_value_t = Reason::Unspecified)]
        reason: Reason,
        /// Revocation Message.
        #[arg(long)]
        message: Option<String>,
    },
    /// Destroys a key's material (KMIP Destroy; Active keys must be revoked first).
    Destroy {
        /// Unique Identifier.
        uid: String,
    },
    /// Replaces a symmetric key with a new one (KMIP Re-key) and prints the new UID.
    Rekey {
        /// Unique Identifier.
        uid: String,
    },
    /// Registers key bytes from a file (KMIP Register) and prints the new UID.
    Register {
        /// The key bytes, binary (not hex, not PEM).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Cryptographic Algorithm.
        #[arg(long, value_enum, default_value_t = Alg::Aes)]
        alg: Alg,
        /// A KMIP Name for the key.
        #[arg(long)]
        name: Option<String>,
        /// A custom text attribute, x-Name=value (repeatable).
        #[arg(long = "attr", value_name = "x-NAME=VALUE", value_parser = parse_attr)]
        attrs: Vec<(String, String)>,
    },
}

/// Runs a `key` command.
pub(super) async fn run(args: KeyArgs, console: &mut Console<'_>) -> Result<Exit> {
    let settings = Settings::resolve(&args.global, console.env)?;
    let connector = Connector::new(settings.client_config(&settings.addr)?)?;
    let mut conn = connector.connect().await?;
    let exit = command(args.command, &mut conn, &settings, console).await;
    let _closed = conn.close().await;
    exit
}

async fn command(
    command: KeyCmd,
    conn: &mut Connection,
    settings: &Settings,
    console: &mut Console<'_>,
) -> Result<Exit> {
    let json = settings.json;
    match command {
        KeyCmd::Create {
            alg,
            bits,
            name,
            attrs,
            activate,
        } => {
            let extra = extra_attributes(name, &attrs);
            let uid = conn
                .create_symmetric_key(alg.kmip(), bits, alg.usage(), extra)
                .await?;
            if activate {
                conn.activate(&uid).await?;
            }
            print_uid(console.out, json, "uid", &uid)?;
        }
        KeyCmd::Get {
            uid,
            format,
            out,
            reveal,
        } => get(conn, &uid, format, out.as_deref(), reveal, json, console).await?,
        KeyCmd::Locate {
            name,
            state,
            attrs,
            max,
        } => {
            let mut filter = extra_attributes(name, &attrs);
            if let Some(state) = state {
                filter.push(Attribute::new(
                    Tag::STATE,
                    AttributeValue::Enumeration(state.kmip().0),
                ));
            }
            let found = conn.locate(filter, max, None).await?;
            if json {
                output::json(console.out, &json!({ "uids": found.unique_identifiers }))?;
            } else {
                for uid in &found.unique_identifiers {
                    output::line(console.out, &output::clean(uid))?;
                }
            }
        }
        KeyCmd::Attrs { uid } => {
            let attrs = conn.get_attributes(&uid, Vec::new()).await?;
            let rows = attributes::rows(&attrs);
            if json {
                let map: Vec<_> = rows
                    .iter()
                    .map(|(n, v)| json!({ "name": n, "value": v }))
                    .collect();
                output::json(console.out, &json!({ "uid": uid, "attributes": map }))?;
            } else {
                let mut table = Table::new(&["ATTRIBUTE", "VALUE"]);
                for (n, v) in rows {
                    table.row(vec![Some(n), Some(v)]);
                }
                table.write(console.out)?;
            }
        }
        KeyCmd::Activate { uid } => {
            conn.activate(&uid).await?;
            print_uid(console.out, json, "activated", &uid)?;
        }
        KeyCmd::Revoke {
            uid,
            reason,
            message,
        } => {
            conn.revoke(&uid, reason.kmip(), message).await?;
            print_uid(console.out, json, "revoked", &uid)?;
        }
        KeyCmd::Destroy { uid } => {
            conn.destroy(&uid).await?;
            print_uid(console.out, json, "destroyed", &uid)?;
        }
        KeyCmd::Rekey { uid } => {
            let new = conn.rekey(&uid, None).await?;
            print_uid(console.out, json, "uid", &new)?;
        }
        KeyCmd::Register {
            file,
            alg,
            name,
            attrs,
        } => {
            let bytes = read_key_file(&file)?;
            let bits = i32::try_from(bytes.len().saturating_mul(8))
                .map_err(|_| ClientError::Usage("key file too large"))?;
            let object = ManagedObject::SymmetricKey(SymmetricKey {
                key_block: KeyBlock::raw(bytes, alg.kmip(), bits),
            });
            let mut attributes = Attributes::new().with(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                AttributeValue::Integer(i32::from_be_bytes(alg.usage().0.to_be_bytes())),
            );
            attributes.0.extend(extra_attributes(name, &attrs).0);
            let uid = conn.register(object, attributes).await?;
            print_uid(console.out, json, "uid", &uid)?;
        }
    }
    Ok(Exit::Success)
}

/// A Name (Uninterpreted Text String) and custom text attributes.
fn extra_attributes(name: Option<String>, attrs: &[(String, String)]) -> Attributes {
    let mut out = Attributes::new();
    if let Some(value) = name {
        out.push(Attribute::new(
            Tag::NAME,
            AttributeValue::Name(Name {
                value,
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            }),
        ));
    }
    for (n, v) in attrs {
        out.push(Attribute::custom(n, AttributeValue::TextString(v.clone())));
    }
    out
}

fn print_uid(out: &mut dyn Write, json: bool, field: &str, uid: &str) -> Result<()> {
    if json {
        output::json(out, &json!({ field: uid }))
    } else {
        output::line(out, &output::clean(uid))
    }
}

/// `key get`: metadata to stdout; bytes to `out_file` and/or, with `reveal`, hex to stdout.
async fn get(
    conn: &mut Connection,
    uid: &str,
    format: Format,
    out_file: Option<&Path>,
    reveal: bool,
    json: bool,
    console: &mut Console<'_>,
) -> Result<()> {
    let got = conn.get(uid, Some(format.kmip())).await?;
    let block = match &got.object {
        ManagedObject::SymmetricKey(k) => &k.key_block,
        ManagedObject::SecretData(s) => &s.key_block,
        _ => {
            return Err(ClientError::Usage(
                "key get fetches symmetric keys and secret data",
            ));
        }
    };
    let material = match &block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b) | KeyMaterial::TransparentSymmetricKey(b),
            ..
        }) => b,
        _ => {
            return Err(ClientError::UnexpectedResponse(
                "the key value is wrapped or not a byte string",
            ));
        }
    };
    if let Some(path) = out_file {
        write_private(path, material)?;
    }
    let object_type = enum_text(got.object_type.name(), got.object_type.0);
    let algorithm = block
        .cryptographic_algorithm
        .map(|a| enum_text(a.name(), a.0));
    let hex = reveal.then(|| Zeroizing::new(hex::encode(material.as_slice())));
    if json {
        let mut doc = json!({
            "uid": got.unique_identifier,
            "object_type": object_type,
            "algorithm": algorithm,
            "length": block.cryptographic_length,
            "format": enum_text(block.key_format_type.name(), block.key_format_type.0),
            "bytes": material.len(),
            "out": out_file.map(|p| p.display().to_string()),
        });
        if let (Some(h), Some(map)) = (&hex, doc.as_object_mut()) {
            map.insert("key_hex".to_owned(), json!(h.as_str()));
        }
        let text = Zeroizing::new(serde_json::to_string_pretty(&doc).map_err(ClientError::Json)?);
        output::line(console.out, &text)?;
        return Ok(());
    }
    let mut table = Table::new(&["UID", "TYPE", "ALGORITHM", "LENGTH", "BYTES"]);
    table.row(vec![
        Some(got.unique_identifier.clone()),
        Some(object_type),
        algorithm,
        block.cryptographic_length.map(|l| l.to_string()),
        Some(material.len().to_string()),
    ]);
    table.write(console.out)?;
    match (&hex, out_file) {
        (Some(h), _) => output::line(console.out, h)?,
        (None, Some(p)) => {
            let _ = writeln!(
                console.err,
                "key bytes written to {} (mode 0600)",
                p.display()
            );
        }
        (None, None) => {
            let _ = writeln!(
                console.err,
                "key bytes not shown: --out FILE writes them to a new 0600 file, --reveal prints them"
            );
        }
    }
    Ok(())
}

fn enum_text(name: Option<&'static str>, value: u32) -> String {
    name.map_or_else(|| format!("0x{value:08x}"), str::to_owned)
}

/// Creates `path` (it must not exist) readable by its owner only, and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

/// The bytes of a key file, wiped after use.
fn read_key_file(path: &Path) -> Result<Bytes> {
    let read_error = |source| ClientError::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_error)?.len();
    if len > MAX_KEY_FILE {
        return Err(ClientError::Usage("key file larger than 64 KiB"));
    }
    if len == 0 {
        return Err(ClientError::Usage("key file is empty"));
    }
    // Sized up front so no reallocation leaves a copy of the key behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(len).unwrap_or_default().saturating_add(1),
    ));
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE).read_to_end(&mut bytes))
        .map_err(read_error)?;
    Ok(Bytes::new(std::mem::take(&mut *bytes)))
}
