//! Every Request Message and Response Message of the OASIS KMIP profile test vectors (all 393
//! files, KMIP 1.0 to 2.1, every profile) goes XML -> TTLV -> typed model -> TTLV and must come
//! back EQUAL to the TTLV it came from, and must be typed all the way down:
//!
//! - every batch item payload decodes to its operation's typed payload (none stays raw);
//! - every managed object decodes to its typed [`Object`] and re-encodes to the same TTLV (the
//!   payloads carry Certificates, Public / Private Keys and Templates as TTLV, see
//!   `ManagedObject::Other`);
//! - every transparent Key Material decodes to its typed [`TransparentKey`] and back;
//! - every standard attribute's value is typed (no raw structure), in 1.x and 2.x form;
//! - every Query response item after the Application Namespaces decodes typed.
//!
//! Placeholders (`$NOW`, `$UNIQUE_IDENTIFIER_0`, ...) become dummies of their type. A message
//! that falls short fails the test unless [`KNOWN_GAPS`] lists it with a reason. The test prints
//! per profile family how many files and messages were checked and how many payloads typed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, KeyMaterial, KeyValue, Object, QueryInformation,
    RequestMessage, ResponseMessage, ResponsePayload,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;
use kmip_codec::xml::parse_document_with;

/// Vector files in `../shared/kmip-vectors` (393 when this test was written): all must be
/// checked.
const FILES: usize = 393;

/// Messages that may fall short of full typing, with the reason. Empty: everything the vectors
/// use is typed. Entries are `(file name, reason)`.
const KNOWN_GAPS: [(&str, &str); 0] = [];

/// Object structure tags (Certificate Request only as a 2.x object).
const OBJECT_TAGS: [Tag; 10] = [
    Tag::SYMMETRIC_KEY,
    Tag::SECRET_DATA,
    Tag::OPAQUE_OBJECT,
    Tag::CERTIFICATE,
    Tag::PUBLIC_KEY,
    Tag::PRIVATE_KEY,
    Tag::SPLIT_KEY,
    Tag::TEMPLATE,
    Tag::PGP_KEY,
    Tag::CERTIFICATE_REQUEST,
];

/// 2.x structures whose children are attributes.
const ATTRIBUTE_CONTAINERS: [Tag; 6] = [
    Tag::ATTRIBUTES,
    Tag::COMMON_ATTRIBUTES,
    Tag::PRIVATE_KEY_ATTRIBUTES,
    Tag::PUBLIC_KEY_ATTRIBUTES,
    Tag::NEW_ATTRIBUTE,
    Tag::CURRENT_ATTRIBUTE,
];

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

/// The profile family of a file name: `CS-BC-M-GCM-1-14.xml` -> `CS-BC`.
fn family(name: &str) -> String {
    for marker in ["-M-", "-O-"] {
        if let Some(i) = name.find(marker) {
            return name[..i].to_owned();
        }
    }
    name.to_owned()
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
                    "{}: {} children != {}",
                    path.join("/"),
                    x.len(),
                    y.len()
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
    files: usize,
    messages: usize,
    typed: usize,
    raw: usize,
    objects: usize,
    transparent_keys: usize,
    attributes: usize,
    query_items: usize,
}

/// Checks one object structure: typed decode, re-encode equal, transparent material typed.
fn check_object(item: &Ttlv, v: ProtocolVersion, c: &mut Counts) -> Result<(), String> {
    let object = Object::decode(item, v).map_err(|e| format!("object {:?}: {e}", item.tag))?;
    if let Some(d) = first_diff(item, &object.encode(v), &mut Vec::new()) {
        return Err(format!("object re-encodes differently at {d}"));
    }
    c.objects += 1;
    let Some(block) = object.key_block() else {
        return Ok(());
    };
    if let Some(KeyValue::Plain { key_material, .. }) = &block.key_value
        && let KeyMaterial::Structure(_) | KeyMaterial::TransparentSymmetricKey(_) = key_material
    {
        let typed = key_material
            .transparent(block.key_format_type)
            .map_err(|e| format!("key material: {e}"))?
            .ok_or_else(|| format!("key format {:?} has no typed form", block.key_format_type))?;
        if &KeyMaterial::from_transparent(&typed) != key_material {
            return Err("transparent key material re-encodes differently".into());
        }
        c.transparent_keys += 1;
    }
    Ok(())
}

/// Checks one attribute: decodes, standard ones are typed, re-encodes equal.
fn check_attribute(item: &Ttlv, two: bool, c: &mut Counts) -> Result<(), String> {
    let (attr, back) = if two {
        let a = Attribute::from_ttlv_2x(item).map_err(|e| format!("attribute: {e}"))?;
        let back = a.to_ttlv_2x();
        (a, back)
    } else {
        let a = Attribute::from_ttlv_1x(item).map_err(|e| format!("attribute: {e}"))?;
        let back = a.to_ttlv_1x();
        (a, back)
    };
    if matches!(attr.name, AttributeName::Standard(_))
        && matches!(attr.value, AttributeValue::Structure(_))
    {
        return Err(format!("attribute {:?} kept raw", attr.name));
    }
    if back.as_ref() != Some(item) {
        return Err(format!("attribute {:?} re-encodes differently", attr.name));
    }
    c.attributes += 1;
    Ok(())
}

/// Walks a payload tree: objects, attributes.
fn walk(item: &Ttlv, v: ProtocolVersion, c: &mut Counts) -> Result<(), String> {
    let is_object = OBJECT_TAGS.contains(&item.tag)
        && matches!(item.value, Value::Structure(_))
        && (item.tag != Tag::CERTIFICATE_REQUEST || v.is_2x());
    if is_object {
        check_object(item, v, c)?;
    }
    if item.tag == Tag::ATTRIBUTE && item.child(Tag::ATTRIBUTE_VALUE).is_some() {
        check_attribute(item, v.is_2x(), c)?;
        return Ok(());
    }
    if ATTRIBUTE_CONTAINERS.contains(&item.tag) {
        for child in item.children() {
            check_attribute(child, true, c)?;
        }
        return Ok(());
    }
    for child in item.children() {
        walk(child, v, c)?;
    }
    Ok(())
}

fn check(item: &Ttlv, c: &mut Counts) -> Result<(), String> {
    let (back, v, raws) = if item.tag == Tag::REQUEST_MESSAGE {
        let m = RequestMessage::from_ttlv(item).map_err(|e| format!("decode: {e}"))?;
        let raws: Vec<String> = m
            .batch_items
            .iter()
            .filter(|b| b.payload.is_raw())
            .map(|b| format!("{:?}", b.operation))
            .collect();
        c.typed += m.batch_items.len() - raws.len();
        (m.to_ttlv(), m.version(), raws)
    } else if item.tag == Tag::RESPONSE_MESSAGE {
        let m = ResponseMessage::from_ttlv(item).map_err(|e| format!("decode: {e}"))?;
        let v = m.header.protocol_version;
        let mut raws = Vec::new();
        for b in &m.batch_items {
            match &b.payload {
                Some(p) if p.is_raw() => raws.push(format!("{:?}", b.operation)),
                Some(ResponsePayload::Query(q)) => {
                    let items: Vec<QueryInformation> =
                        q.information(v).map_err(|e| format!("query: {e}"))?;
                    c.query_items += items.len();
                    c.typed += 1;
                }
                Some(_) => c.typed += 1,
                None => {}
            }
        }
        (m.to_ttlv(v), v, raws)
    } else {
        return Err(format!("unexpected top-level {:?}", item.tag));
    };
    c.messages += 1;
    if let Some(d) = first_diff(item, &back, &mut Vec::new()) {
        return Err(format!("re-encoding differs at {d}"));
    }
    if !raws.is_empty() {
        c.raw += raws.len();
        return Err(format!("payloads kept raw: {}", raws.join(", ")));
    }
    for batch_item in item.children_with(Tag::BATCH_ITEM) {
        for payload in batch_item
            .children()
            .iter()
            .filter(|p| p.tag == Tag::REQUEST_PAYLOAD || p.tag == Tag::RESPONSE_PAYLOAD)
        {
            walk(payload, v, c)?;
        }
    }
    Ok(())
}

#[test]
fn every_vector_message_is_typed_and_round_trips() {
    let mut files = Vec::new();
    xml_files(&vectors_dir(), &mut files);
    files.sort();
    assert_eq!(files.len(), FILES, "vector files");
    let mut per_family: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let counts = per_family.entry(family(&name)).or_default();
        counts.files += 1;
        let text = std::fs::read_to_string(path).expect("readable vector file");
        let items = match parse_document_with(&text, &mut dummy) {
            Ok(items) => items,
            Err(e) => {
                failures.push((name, format!("XML: {e}")));
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = check(item, counts) {
                failures.push((name.clone(), format!("#{i}: {e}")));
            }
        }
    }
    let mut total = Counts::default();
    for (family, c) in &per_family {
        println!(
            "{family}: {} files, {} messages, {} payloads typed, {} raw; {} objects, {} transparent keys, {} attributes, {} query items typed",
            c.files,
            c.messages,
            c.typed,
            c.raw,
            c.objects,
            c.transparent_keys,
            c.attributes,
            c.query_items
        );
        total.files += c.files;
        total.messages += c.messages;
        total.typed += c.typed;
        total.raw += c.raw;
    }
    println!(
        "{} files, {} messages round-tripped through the typed model; batch item payloads: {} typed, {} raw",
        total.files, total.messages, total.typed, total.raw
    );
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(file, _)| !KNOWN_GAPS.iter().any(|(f, _)| f == file))
        .collect();
    for (file, why) in unexpected.iter().take(60) {
        println!("FAIL {file} {why}");
    }
    assert!(
        unexpected.is_empty(),
        "{} messages not fully typed",
        unexpected.len()
    );
    for (file, _) in KNOWN_GAPS {
        assert!(
            failures.iter().any(|(f, _)| f == file),
            "{file} is listed as a known gap but is fully typed: remove it"
        );
    }
}
