//! Test access to the OASIS KMIP profile vectors (`shared/kmip-vectors`, found through
//! `KMS_SHARED_DIR` or `../shared` beside the repository, as the other crates' tests do). A
//! vector file is parsed with `kmip_codec`, so the tests feed this crate what the server will
//! get: typed Key Blocks, Key Material, Data.

use std::path::PathBuf;

use kmip_codec::model::{Object, RequestMessage, RequestPayload};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, ItemType, Ttlv, Value};

/// The vector directory.
pub(crate) fn dir() -> PathBuf {
    std::env::var_os("KMS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("kmip-vectors")
}

/// The messages of a vector file, `path` relative to the vector directory (placeholders become
/// dummies of their type).
pub(crate) fn messages(path: &str) -> Vec<Ttlv> {
    let file = dir().join(path);
    let xml = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    kmip_codec::xml::parse_document_with(&xml, &mut |p, ty| {
        let name = p.trim_start_matches('$').as_bytes();
        Some(match ty {
            ItemType::TextString => Value::TextString(String::from_utf8_lossy(name).into_owned()),
            ItemType::ByteString => Value::ByteString(Bytes::from(name)),
            ItemType::DateTime => Value::DateTime(1_700_000_000),
            ItemType::Integer => Value::Integer(0),
            ItemType::Enumeration => Value::Enumeration(1),
            _ => return None,
        })
    })
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every Byte String with `tag` in the file, in document order.
pub(crate) fn byte_strings(path: &str, tag: Tag) -> Vec<Vec<u8>> {
    fn walk(item: &Ttlv, tag: Tag, out: &mut Vec<Vec<u8>>) {
        if let (true, Value::ByteString(b)) = (item.tag == tag, &item.value) {
            out.push(b.to_vec());
        }
        for c in item.children() {
            walk(c, tag, out);
        }
    }
    let mut out = Vec::new();
    for m in messages(path) {
        walk(&m, tag, &mut out);
    }
    out
}

/// The objects the file's Register requests carry, typed, in order.
pub(crate) fn registered(path: &str) -> Vec<Object> {
    let mut out = Vec::new();
    for m in messages(path) {
        if m.tag != Tag::REQUEST_MESSAGE {
            continue;
        }
        let request = RequestMessage::from_ttlv(&m).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v = request.version();
        for item in request.batch_items {
            if let RequestPayload::Register(r) = item.payload {
                out.push(
                    r.object
                        .to_object(v)
                        .unwrap_or_else(|e| panic!("{path}: {e}")),
                );
            }
        }
    }
    out
}

/// The Key Block of the `index`-th registered object that has one.
pub(crate) fn key_block(path: &str, index: usize) -> kmip_codec::model::KeyBlock {
    let blocks: Vec<_> = registered(path)
        .into_iter()
        .filter_map(|o| match o {
            Object::PrivateKey(k) => Some(k.key_block),
            Object::PublicKey(k) => Some(k.key_block),
            Object::SymmetricKey(k) => Some(k.key_block),
            _ => None,
        })
        .collect();
    blocks
        .into_iter()
        .nth(index)
        .unwrap_or_else(|| panic!("{path}: no key block {index}"))
}

/// The Key Material of a plain Key Block.
pub(crate) fn material(block: &kmip_codec::model::KeyBlock) -> &kmip_codec::model::KeyMaterial {
    match &block.key_value {
        Some(kmip_codec::model::KeyValue::Plain { key_material, .. }) => key_material,
        other => panic!("not a plain key value: {other:?}"),
    }
}
