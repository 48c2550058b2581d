//! Typed model + binary codec, both directions, for the two hot messages: a vCenter-style
//! Create request (KMIP 1.1, Template-Attribute: AES, 256, usage mask 12, a Name) and the Get
//! response carrying a 32-byte AES key.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmip_codec::enums::{CryptographicAlgorithm, NameType, ObjectType};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    AttributeValue, Attributes, CreateRequest, GetRequest, GetResponse, KeyBlock, ManagedObject,
    Name, RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseHeader, ResponseMessage,
    SymmetricKey, decode_request, decode_response, encode_request, encode_response,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

fn create_request() -> RequestMessage {
    let attributes = Attributes::new()
        .with(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
        )
        .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256))
        .with(Tag::CRYPTOGRAPHIC_USAGE_MASK, AttributeValue::Integer(12))
        .with(
            Tag::NAME,
            AttributeValue::Name(Name {
                value: "vm-disk-key".into(),
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            }),
        );
    let item = RequestBatchItem::new(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes,
        template_names: Vec::new(),
        protection_storage_masks: None,
    })
    .with_id(*b"QLKC\0\0\0\x01");
    RequestMessage::new(ProtocolVersion::V1_1, vec![item])
}

fn get_response() -> ResponseMessage {
    let request = RequestBatchItem::new(GetRequest {
        unique_identifier: Some("0a1b2c3d-key".into()),
        ..GetRequest::default()
    })
    .with_id(*b"QLKC\0\0\0\x02");
    let get = GetResponse {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifier: "0a1b2c3d-key".into(),
        object: ManagedObject::SymmetricKey(SymmetricKey {
            key_block: KeyBlock::raw(Bytes::new(vec![0x42; 32]), CryptographicAlgorithm::AES, 256),
        }),
    };
    ResponseMessage::new(
        ResponseHeader::new(ProtocolVersion::V1_1, 1_700_000_000),
        vec![ResponseBatchItem::success(&request, get)],
    )
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let create = encode_request(&create_request());
    let get = encode_response(&get_response());
    c.bench_function("model create request decode+encode", |b| {
        b.iter(|| {
            let m = decode_request(black_box(&create), &limits).expect("decodes");
            black_box(encode_request(&m))
        })
    });
    c.bench_function("model get response decode+encode", |b| {
        b.iter(|| {
            let m = decode_response(black_box(&get), &limits).expect("decodes");
            black_box(encode_response(&m))
        })
    });
    let tree = kmip_codec::ttlv::decode::decode(&get, &limits).expect("decodes");
    c.bench_function("model get response from_ttlv only", |b| {
        b.iter(|| black_box(ResponseMessage::from_ttlv(black_box(&tree)).expect("typed")))
    });
    let typed = get_response();
    c.bench_function("model get response to_ttlv only", |b| {
        b.iter(|| black_box(black_box(&typed).to_ttlv(ProtocolVersion::V1_1)))
    });
    c.bench_function("model get response encode only", |b| {
        b.iter(|| black_box(encode_response(black_box(&typed))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
