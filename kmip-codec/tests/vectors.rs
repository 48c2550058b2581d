//! Every Request Message and Response Message of the OASIS KMIP profile test vectors (KMIP 1.0
//! to 2.1, mandatory and optional, `../shared/kmip-vectors` or `$KMS_SHARED_DIR/kmip-vectors`)
//! parses from the KMIP XML encoding, survives binary TTLV encode -> decode unchanged, and
//! survives to_xml -> from_xml unchanged. Placeholders (`$NOW`, `$UNIQUE_IDENTIFIER_0`, ...)
//! become deterministic dummies of the declared type.

use std::path::{Path, PathBuf};

use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};
use kmip_codec::xml::{from_xml, parse_document_with, to_xml};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Vector files present when this test was written (393); fewer means the set went missing.
const MIN_FILES: usize = 390;
/// Messages in those files (measured: see the test's output).
const MIN_MESSAGES: usize = 4800;

fn vectors_dir() -> PathBuf {
    let shared = std::env::var_os("KMS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("kmip-vectors")
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

/// A deterministic stand-in for a placeholder such as `$NOW-3600` or `$UNIQUE_IDENTIFIER_3`.
fn dummy(placeholder: &str, ty: ItemType) -> Option<Value> {
    const NOW: i64 = 1_700_000_000;
    let name = placeholder.trim_start_matches('$');
    Some(match ty {
        ItemType::TextString => Value::TextString(name.to_owned()),
        ItemType::ByteString => Value::ByteString(Bytes::from(name.as_bytes())),
        ItemType::DateTime => {
            let offset = name
                .strip_prefix("NOW")
                .and_then(|rest| rest.parse::<i64>().ok())
                .unwrap_or(0);
            Value::DateTime(NOW + offset)
        }
        ItemType::DateTimeExtended => Value::DateTimeExtended(NOW * 1_000_000),
        ItemType::Integer => Value::Integer(name.len() as i32),
        ItemType::LongInteger => Value::LongInteger(name.len() as i64),
        ItemType::Interval => Value::Interval(name.len() as u32),
        ItemType::Enumeration => Value::Enumeration(1),
        ItemType::BigInteger => Value::BigInteger(vec![0; 8].into()),
        ItemType::Boolean => Value::Boolean(true),
        ItemType::Structure => return None,
    })
}

/// Tags in `item` that have no name (would mean the XML used a hex tag or a table gap).
fn unnamed_tags(item: &Ttlv, out: &mut Vec<Tag>) {
    if item.tag.xml_name().is_none() {
        out.push(item.tag);
    }
    for c in item.children() {
        unnamed_tags(c, out);
    }
}

/// The (element, type, value) triples of an XML text in document order, mask flag names
/// sorted, so the vectors' spelling can be compared with ours.
fn triples(xml: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let mut ty = String::new();
                let mut value = None;
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
                    match a.key.as_ref() {
                        b"type" => ty = v,
                        b"value" => value = Some(v),
                        _ => {}
                    }
                }
                if let Some(v) = value {
                    let v = match ty.as_str() {
                        "Integer" => {
                            let mut words: Vec<&str> = v.split_whitespace().collect();
                            words.sort_unstable();
                            words.join(" ")
                        }
                        // Hex digits in either case; times in any offset.
                        "ByteString" | "BigInteger" => v.to_ascii_lowercase(),
                        "DateTime" if !v.starts_with('$') => OffsetDateTime::parse(&v, &Rfc3339)
                            .map(|t| t.unix_timestamp().to_string())
                            .unwrap_or(v),
                        _ => v,
                    };
                    out.push((name, ty, v));
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn check_file(path: &Path) -> Result<usize, String> {
    let xml = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let messages =
        parse_document_with(&xml, &mut dummy).map_err(|e| format!("parse: {e} ({e:?})"))?;
    if messages.is_empty() {
        return Err("no messages".into());
    }
    for (i, msg) in messages.iter().enumerate() {
        if msg.tag != Tag::REQUEST_MESSAGE && msg.tag != Tag::RESPONSE_MESSAGE {
            return Err(format!("item {i} is {:?}, not a message", msg.tag));
        }
        let mut unnamed = Vec::new();
        unnamed_tags(msg, &mut unnamed);
        if !unnamed.is_empty() {
            return Err(format!("message {i}: tags without a name {unnamed:?}"));
        }
        let wire = encode(msg);
        let back = decode(&wire, &Limits::default())
            .map_err(|e| format!("message {i}: decode of own encoding: {e}"))?;
        if &back != msg {
            return Err(format!("message {i}: binary round trip differs"));
        }
        let text = to_xml(msg);
        let again = from_xml(&text).map_err(|e| format!("message {i}: re-read to_xml: {e}"))?;
        if &again != msg {
            return Err(format!("message {i}: XML round trip differs:\n{text}"));
        }
    }
    // Our output spells every name and value as the vector does.
    let ours: String = messages.iter().map(to_xml).collect();
    let theirs = triples(&xml)?;
    let ours = triples(&ours)?;
    // A placeholder's value is our dummy; its element and type must still match.
    let differs = |(a, b): &(&(String, String, String), &(String, String, String))| {
        if a.2.starts_with('$') {
            (&a.0, &a.1) != (&b.0, &b.1)
        } else {
            a != b
        }
    };
    if let Some((a, b)) = theirs.iter().zip(&ours).find(differs) {
        return Err(format!("to_xml writes {b:?} where the vector has {a:?}"));
    }
    if theirs.len() != ours.len() {
        return Err(format!(
            "{} values in the vector, {} in to_xml",
            theirs.len(),
            ours.len()
        ));
    }
    Ok(messages.len())
}

#[test]
fn oasis_vectors_round_trip() {
    let dir = vectors_dir();
    let mut files = Vec::new();
    xml_files(&dir, &mut files);
    files.sort();
    let mut messages = 0;
    let mut failures = Vec::new();
    for path in &files {
        match check_file(path) {
            Ok(n) => messages += n,
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    println!(
        "{} vector files, {messages} messages round-tripped, {} failed",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        files.len() >= MIN_FILES,
        "only {} vector files in {}",
        files.len(),
        dir.display()
    );
    assert!(messages >= MIN_MESSAGES, "only {messages} messages");
}
