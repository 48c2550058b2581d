//! Every Request Message and Response Message of the OASIS KMIP profile test vectors (KMIP 1.0
//! to 2.1) goes XML -> TTLV -> typed model -> TTLV and must come back EQUAL to the TTLV it
//! came from. Placeholders (`$NOW`, `$UNIQUE_IDENTIFIER_0`, ...) become dummies of their type.
//! Payloads the model keeps raw still count (they must be lossless too); the test prints how
//! many batch items were typed and how many raw.

use std::path::{Path, PathBuf};

use kmip_codec::model::{RequestMessage, ResponseMessage};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};
use kmip_codec::xml::parse_document_with;

/// Vector files when this test was written (393): fewer means the set went missing.
const MIN_FILES: usize = 390;

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
    let n = i32::try_from(name.len()).unwrap_or(0);
    Some(match ty {
        ItemType::TextString => Value::TextString(name.to_owned()),
        ItemType::ByteString => Value::ByteString(Bytes::from(name.as_bytes())),
        ItemType::DateTime => Value::DateTime(1_700_000_000 + i64::from(n)),
        ItemType::DateTimeExtended => Value::DateTimeExtended(1_700_000_000_000_000),
        ItemType::Integer => Value::Integer(n),
        ItemType::LongInteger => Value::LongInteger(i64::from(n)),
        ItemType::Interval => Value::Interval(n.unsigned_abs()),
        ItemType::Enumeration => Value::Enumeration(1),
        ItemType::BigInteger => Value::BigInteger(vec![0; 8].into()),
        ItemType::Boolean => Value::Boolean(true),
        ItemType::Structure => return None,
    })
}

/// The first difference between two trees, as a tag path, for the failure message.
fn first_diff(a: &Ttlv, b: &Ttlv, path: &mut Vec<String>) -> Option<String> {
    path.push(format!("{:?}", a.tag));
    if a.tag != b.tag {
        return Some(format!(
            "{}: tag {:?} != {:?}",
            path.join("/"),
            a.tag,
            b.tag
        ));
    }
    match (&a.value, &b.value) {
        (Value::Structure(x), Value::Structure(y)) => {
            for (cx, cy) in x.iter().zip(y) {
                if let Some(d) = first_diff(cx, cy, path) {
                    return Some(d);
                }
            }
            if x.len() != y.len() {
                return Some(format!(
                    "{}: {} children != {} (extra: {:?})",
                    path.join("/"),
                    x.len(),
                    y.len(),
                    x.iter()
                        .chain(y)
                        .skip(x.len().min(y.len()) * 2)
                        .map(|t| t.tag)
                        .next()
                ));
            }
        }
        (x, y) if x != y => return Some(format!("{}: {:?} != {:?}", path.join("/"), x, y)),
        _ => {}
    }
    path.pop();
    None
}

#[derive(Default)]
struct Counts {
    messages: usize,
    typed: usize,
    raw: usize,
}

fn count_items(items: impl Iterator<Item = bool>, c: &mut Counts) {
    for raw in items {
        if raw {
            c.raw += 1;
        } else {
            c.typed += 1;
        }
    }
}

fn check(item: &Ttlv, c: &mut Counts) -> Result<(), String> {
    let back = if item.tag == Tag::REQUEST_MESSAGE {
        let m = RequestMessage::from_ttlv(item).map_err(|e| format!("decode: {e}"))?;
        count_items(m.batch_items.iter().map(|b| b.payload.is_raw()), c);
        m.to_ttlv()
    } else if item.tag == Tag::RESPONSE_MESSAGE {
        let m = ResponseMessage::from_ttlv(item).map_err(|e| format!("decode: {e}"))?;
        count_items(
            m.batch_items
                .iter()
                .filter_map(|b| b.payload.as_ref().map(|p| p.is_raw())),
            c,
        );
        m.to_ttlv(m.header.protocol_version)
    } else {
        return Err(format!("unexpected top-level {:?}", item.tag));
    };
    c.messages += 1;
    match first_diff(item, &back, &mut Vec::new()) {
        None => Ok(()),
        Some(d) => Err(format!("re-encoding differs at {d}")),
    }
}

#[test]
fn every_vector_message_survives_the_typed_model() {
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    files.sort();
    assert!(
        files.len() >= MIN_FILES,
        "only {} vector files",
        files.len()
    );
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable vector file");
        let items = match parse_document_with(&text, &mut dummy) {
            Ok(items) => items,
            Err(e) => {
                failures.push(format!("{}: XML: {e}", path.display()));
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = check(item, &mut counts) {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                failures.push(format!("{} #{i}: {e}", name.unwrap_or_default()));
            }
        }
    }
    println!(
        "{} files, {} messages round-tripped through the typed model; batch item payloads: {} typed, {} raw",
        files.len(),
        counts.messages,
        counts.typed,
        counts.raw
    );
    for f in failures.iter().take(40) {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} messages failed", failures.len());
    assert!(counts.typed > counts.raw, "most payloads should be typed");
}
