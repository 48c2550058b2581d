//! Binary TTLV decode + encode of two typical messages: a Create request for an AES-256 key
//! (KMIP 1.4 with a Template-Attribute) and the Get response carrying a 32-byte key.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};

fn int(tag: u32, v: i32) -> Ttlv {
    Ttlv::new(Tag(tag), Value::Integer(v))
}
fn en(tag: u32, v: u32) -> Ttlv {
    Ttlv::new(Tag(tag), Value::Enumeration(v))
}
fn text(tag: u32, v: &str) -> Ttlv {
    Ttlv::new(Tag(tag), Value::TextString(v.to_owned()))
}
fn st(tag: u32, c: Vec<Ttlv>) -> Ttlv {
    Ttlv::structure(Tag(tag), c)
}
fn attribute(name: &str, value: Ttlv) -> Ttlv {
    st(0x420008, vec![text(0x42000A, name), value])
}
fn version() -> Ttlv {
    st(0x420069, vec![int(0x42006A, 1), int(0x42006B, 4)])
}

/// Request Message > Batch Item: Create (Symmetric Key, AES, 256, Encrypt|Decrypt, a Name).
fn create_request() -> Ttlv {
    st(
        0x420078,
        vec![
            st(0x420077, vec![version(), int(0x42000D, 1)]),
            st(
                0x42000F,
                vec![
                    en(0x42005C, 0x01),
                    st(
                        0x420079,
                        vec![
                            en(0x420057, 0x02),
                            st(
                                0x420091,
                                vec![
                                    attribute("Cryptographic Algorithm", en(0x42000B, 0x03)),
                                    attribute("Cryptographic Length", int(0x42000B, 256)),
                                    attribute("Cryptographic Usage Mask", int(0x42000B, 0x0C)),
                                    attribute(
                                        "Name",
                                        st(
                                            0x42000B,
                                            vec![
                                                text(0x420055, "vm-disk-key-0001"),
                                                en(0x420054, 0x01),
                                            ],
                                        ),
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )
}

/// Response Message > Batch Item: Get, Success, Symmetric Key with a 32-byte Raw key.
fn get_response() -> Ttlv {
    st(
        0x42007B,
        vec![
            st(
                0x42007A,
                vec![
                    version(),
                    Ttlv::new(Tag(0x420092), Value::DateTime(1_700_000_000)),
                    int(0x42000D, 1),
                ],
            ),
            st(
                0x42000F,
                vec![
                    en(0x42005C, 0x0A),
                    en(0x42007F, 0x00),
                    st(
                        0x42007C,
                        vec![
                            en(0x420057, 0x02),
                            text(0x420094, "7c1a3f0e-5b2d-4f61-9a8e-2d4b6c8e0f13"),
                            st(
                                0x42008F,
                                vec![st(
                                    0x420040,
                                    vec![
                                        en(0x420042, 0x01),
                                        st(
                                            0x420045,
                                            vec![Ttlv::new(
                                                Tag(0x420043),
                                                Value::ByteString(Bytes::new(vec![0x5A; 32])),
                                            )],
                                        ),
                                        en(0x420028, 0x03),
                                        int(0x42002A, 256),
                                    ],
                                )],
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, msg) in [
        ("create_request", create_request()),
        ("get_response", get_response()),
    ] {
        let bytes = encode(&msg);
        c.bench_function(
            &format!("{name}/decode+encode ({} bytes)", bytes.len()),
            |b| {
                b.iter(|| {
                    let t = decode(black_box(&bytes), &limits).expect("valid message");
                    black_box(encode(&t))
                })
            },
        );
        c.bench_function(&format!("{name}/decode"), |b| {
            b.iter(|| decode(black_box(&bytes), &limits).expect("valid message"))
        });
        c.bench_function(&format!("{name}/encode"), |b| {
            b.iter(|| encode(black_box(&msg)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
