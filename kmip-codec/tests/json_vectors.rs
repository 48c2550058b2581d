//! Every Request Message and Response Message of the OASIS KMIP profile test vectors (all 393
//! files) survives the KMIP JSON encoding: to_json -> from_json gives back the same tree, under
//! the default limits, and the typed model decodes the result. The MSGENC-JSON files (the JSON
//! profile's own test cases, KMIP 1.3, 1.4 and 2.1) are reported on their own.

use std::path::{Path, PathBuf};

use kmip_codec::json::{from_json, to_json};
use kmip_codec::limits::Limits;
use kmip_codec::model::{RequestMessage, ResponseMessage};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};
use kmip_codec::xml::parse_document_with;

/// Vector files in `../shared/kmip-vectors`.
const FILES: usize = 393;

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

fn dummy(placeholder: &str, ty: ItemType) -> Option<Value> {
    let name = placeholder.trim_start_matches('$');
    Some(match ty {
        ItemType::TextString => Value::TextString(name.to_owned()),
        ItemType::ByteString => Value::ByteString(Bytes::from(name.as_bytes())),
        ItemType::DateTime => Value::DateTime(1_700_000_000),
        ItemType::DateTimeExtended => Value::DateTimeExtended(1_700_000_000_000_000),
        ItemType::Integer => Value::Integer(7),
        ItemType::LongInteger => Value::LongInteger(7),
        ItemType::Interval => Value::Interval(7),
        ItemType::Enumeration => Value::Enumeration(1),
        ItemType::BigInteger => Value::BigInteger(vec![0; 8].into()),
        ItemType::Boolean => Value::Boolean(true),
        ItemType::Structure => return None,
    })
}

fn check(message: &Ttlv) -> Result<(), String> {
    let json = to_json(message);
    let back = from_json(json.as_bytes(), &Limits::default()).map_err(|e| format!("{e}"))?;
    if &back != message {
        return Err("JSON round trip differs".into());
    }
    let typed = if back.tag == Tag::REQUEST_MESSAGE {
        RequestMessage::from_ttlv(&back).map(|_| ())
    } else {
        ResponseMessage::from_ttlv(&back).map(|_| ())
    };
    typed.map_err(|e| format!("typed model: {e}"))
}

#[test]
fn every_vector_message_round_trips_through_json() {
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    files.sort();
    assert_eq!(files.len(), FILES);
    let (mut messages, mut msgenc) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("readable");
        let items = parse_document_with(&text, &mut dummy).expect("XML parses");
        for (i, item) in items.iter().enumerate() {
            match check(item) {
                Ok(()) => {
                    messages += 1;
                    if name.starts_with("MSGENC-JSON") {
                        msgenc += 1;
                    }
                }
                Err(e) => failures.push(format!("{name} #{i}: {e}")),
            }
        }
    }
    println!(
        "{} vector files, {messages} messages round-tripped through JSON ({msgenc} of the MSGENC-JSON profile)",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(msgenc, 12, "the three MSGENC-JSON files hold 12 messages");
}
