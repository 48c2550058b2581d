//! Replays the cargo-fuzz seed corpora (`fuzz/corpus/decode/` for binary TTLV,
//! `fuzz/corpus/json/` for the JSON encoding) through the decoders on stable Rust, and (ignored
//! by default) writes those corpora from the encoders.

use std::fs;
use std::path::PathBuf;

use kmip_codec::json::{from_json, to_json};
use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};

/// The corpus must not silently shrink: at least this many seeds are replayed.
const MIN_SEEDS: usize = 40;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode")
}

fn json_corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/json")
}

#[test]
fn replay_seed_corpus() {
    let mut replayed = 0;
    let (mut ok, mut bad) = (0, 0);
    for entry in fs::read_dir(corpus_dir()).expect("corpus directory") {
        let path = entry.expect("directory entry").path();
        let bytes = fs::read(&path).expect("seed file");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match decode(&bytes, &Limits::default()) {
            Ok(item) => {
                assert_eq!(encode(&item), bytes, "{name} must re-encode identically");
                assert!(!name.starts_with("bad-"), "{name} should be refused");
                ok += 1;
            }
            Err(e) => {
                assert!(!name.starts_with("ok-"), "{name} should decode: {e}");
                bad += 1;
            }
        }
        replayed += 1;
    }
    assert!(replayed >= MIN_SEEDS, "only {replayed} seeds replayed");
    assert!(
        ok >= 10 && bad >= 10,
        "{ok} valid and {bad} malformed seeds"
    );
}

fn leaf(v: Value) -> Ttlv {
    Ttlv::new(Tag(0x420020), v)
}

fn int(tag: u32, v: i32) -> Ttlv {
    Ttlv::new(Tag(tag), Value::Integer(v))
}

fn st(tag: u32, c: Vec<Ttlv>) -> Ttlv {
    Ttlv::structure(Tag(tag), c)
}

fn get_response() -> Ttlv {
    let version = st(0x420069, vec![int(0x42006A, 1), int(0x42006B, 4)]);
    let key_block = st(
        0x420040,
        vec![
            Ttlv::new(Tag(0x420042), Value::Enumeration(1)),
            st(
                0x420045,
                vec![Ttlv::new(
                    Tag(0x420043),
                    Value::ByteString(Bytes::new((0u8..32).collect())),
                )],
            ),
            Ttlv::new(Tag(0x420028), Value::Enumeration(3)),
            int(0x42002A, 256),
        ],
    );
    st(
        0x42007B,
        vec![
            st(
                0x42007A,
                vec![
                    version,
                    Ttlv::new(Tag(0x420092), Value::DateTime(1_700_000_000)),
                    int(0x42000D, 1),
                ],
            ),
            st(
                0x42000F,
                vec![
                    Ttlv::new(Tag(0x42005C), Value::Enumeration(0x0A)),
                    Ttlv::new(Tag(0x42007F), Value::Enumeration(0)),
                    st(
                        0x42007C,
                        vec![
                            Ttlv::new(Tag(0x420057), Value::Enumeration(2)),
                            Ttlv::new(Tag(0x420094), Value::TextString("k-1".to_owned())),
                            st(0x42008F, vec![key_block]),
                        ],
                    ),
                ],
            ),
        ],
    )
}

/// Valid seeds, by name.
fn valid_seeds() -> Vec<(String, Vec<u8>)> {
    let mut items = vec![
        ("integer", leaf(Value::Integer(8))),
        ("integer-neg", leaf(Value::Integer(-1))),
        ("long", leaf(Value::LongInteger(123_456_789_000_000_000))),
        (
            "bigint",
            leaf(Value::BigInteger(
                vec![
                    0, 0, 0, 0, 3, 0xFD, 0x35, 0xEB, 0x6B, 0xC2, 0xDF, 0x46, 0x18, 8, 0, 0,
                ]
                .into(),
            )),
        ),
        ("bigint-neg", leaf(Value::BigInteger(vec![0xFF; 8].into()))),
        ("enum", leaf(Value::Enumeration(255))),
        ("bool-true", leaf(Value::Boolean(true))),
        ("bool-false", leaf(Value::Boolean(false))),
        ("text", leaf(Value::TextString("Hello World".to_owned()))),
        (
            "text-utf8",
            leaf(Value::TextString("clé ключ 鍵 🔑".to_owned())),
        ),
        ("text-empty", leaf(Value::TextString(String::new()))),
        ("bytes", leaf(Value::ByteString(Bytes::new(vec![1, 2, 3])))),
        (
            "bytes-8",
            leaf(Value::ByteString(Bytes::new(vec![0xA5; 8]))),
        ),
        ("datetime", leaf(Value::DateTime(1_205_495_800))),
        ("interval", leaf(Value::Interval(864_000))),
        (
            "datetime-ext",
            leaf(Value::DateTimeExtended(1_205_495_800_000_000)),
        ),
        ("struct-empty", st(0x420078, vec![])),
        (
            "struct-spec",
            st(
                0x420020,
                vec![
                    Ttlv::new(Tag(0x420004), Value::Enumeration(254)),
                    int(0x420005, 255),
                ],
            ),
        ),
        ("get-response", get_response()),
    ];
    let mut deep = int(0x420020, 1);
    for _ in 0..16 {
        deep = st(0x420078, vec![deep]);
    }
    items.push(("deep-16", deep));
    items.push((
        "wide-64",
        st(0x420078, (0..64).map(|i| int(0x420020, i)).collect()),
    ));
    items
        .into_iter()
        .map(|(n, t)| (format!("ok-{n}"), encode(&t)))
        .collect()
}

/// Malformed seeds, derived from valid ones.
fn malformed_seeds(valid: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let get = |name: &str| {
        valid
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .expect("seed exists")
    };
    let patch = |name: &str, at: usize, byte: u8| {
        let mut b = get(name);
        b[at] = byte;
        b
    };
    let resp = get("ok-get-response");
    let fixed: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header-only-5", vec![0x42, 0, 0x20, 0x02, 0]),
        ("type-00", patch("ok-integer", 3, 0x00)),
        ("type-0c", patch("ok-integer", 3, 0x0C)),
        ("type-ff", patch("ok-struct-spec", 11, 0xFF)),
        ("int-len-8", patch("ok-integer", 7, 8)),
        ("bool-len-4", patch("ok-bool-true", 7, 4)),
        ("interval-len-8", patch("ok-interval", 7, 8)),
        ("bool-2", patch("ok-bool-true", 15, 2)),
        ("bool-high", patch("ok-bool-true", 8, 0x80)),
        ("pad-int", patch("ok-integer", 15, 1)),
        ("pad-text", patch("ok-text", 23, 0x20)),
        ("pad-bytes", patch("ok-bytes", 12, 0xFF)),
        ("utf8", patch("ok-text", 8, 0xFF)),
        ("utf8-cut", patch("ok-text-utf8", 10, 0x41)),
        ("bigint-len-12", patch("ok-bigint", 7, 12)),
        ("struct-len-12", patch("ok-struct-spec", 7, 0x1C)),
        ("len-2-31", {
            let mut b = get("ok-bytes");
            b[4] = 0x80;
            b
        }),
        ("len-u32-max", {
            let mut b = get("ok-bytes");
            b[4..8].copy_from_slice(&[0xFF; 4]);
            b
        }),
        ("inner-beyond", {
            let mut b = get("ok-struct-spec");
            b[15] = 0x40;
            b
        }),
        ("trailing-1", {
            let mut b = get("ok-integer");
            b.push(0);
            b
        }),
        (
            "trailing-item",
            [get("ok-integer"), get("ok-enum")].concat(),
        ),
        (
            "deep-17",
            encode(&st(
                0x420078,
                vec![decode(&get("ok-deep-16"), &Limits::default()).expect("valid")],
            )),
        ),
    ];
    let cuts = [7, 8, 9, 40, resp.len() / 2, resp.len() - 1]
        .map(|cut| (format!("resp-cut-{cut}"), resp[..cut].to_vec()));
    fixed
        .into_iter()
        .map(|(n, b)| (n.to_owned(), b))
        .chain(cuts)
        .map(|(n, b)| (format!("bad-{n}"), b))
        .collect()
}

/// Writes the seed corpora. Run on purpose only:
/// `cargo test -p kmip-codec --test fuzz_corpus -- --ignored write_seed_corpus`.
#[test]
#[ignore = "rewrites fuzz/corpus/decode and fuzz/corpus/json"]
fn write_seed_corpus() {
    let valid = valid_seeds();
    let bad = malformed_seeds(&valid);
    let dir = corpus_dir();
    fs::create_dir_all(&dir).expect("create corpus directory");
    for (name, bytes) in valid.iter().chain(&bad) {
        fs::write(dir.join(name), bytes).expect("write seed");
    }
    assert!(valid.len() + bad.len() >= MIN_SEEDS);
    let json = json_seeds(&valid);
    let dir = json_corpus_dir();
    fs::create_dir_all(&dir).expect("create corpus directory");
    for (name, bytes) in &json {
        fs::write(dir.join(name), bytes).expect("write seed");
    }
    assert!(json.len() >= MIN_JSON_SEEDS);
}

/// The JSON corpus must not silently shrink either.
const MIN_JSON_SEEDS: usize = 40;

/// JSON seeds: every valid binary seed in the JSON encoding (`ok-*`), and malformed JSON
/// (`bad-*`): syntax errors, shapes that are not KMIP JSON, values that do not convert, and
/// limits exceeded.
fn json_seeds(valid: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = valid
        .iter()
        .map(|(name, bytes)| {
            let item = decode(bytes, &Limits::default()).expect("valid seed");
            (name.clone(), to_json(&item).into_bytes())
        })
        .collect();
    let int = r#"{"tag":"BatchCount","type":"Integer","value":1}"#;
    let deep = (0..17).fold(String::from("[]"), |inner, _| {
        format!(r#"[{{"tag":"BatchItem","value":{inner}}}]"#)
    });
    let bad: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("not-json", "KMIP".into()),
        ("cut", r#"{"tag":"RequestMessage","value":["#.into()),
        ("trailing", format!("{int} {int}")),
        ("array", "[]".into()),
        ("null", "null".into()),
        ("no-tag", r#"{"value":[]}"#.into()),
        ("no-value", r#"{"tag":"RequestMessage"}"#.into()),
        ("tag-number", r#"{"tag":66,"value":[]}"#.into()),
        ("tag-short-hex", r#"{"tag":"0x4200","value":[]}"#.into()),
        (
            "type-unknown",
            r#"{"tag":"BatchCount","type":"Float","value":1}"#.into(),
        ),
        (
            "member-extra",
            r#"{"tag":"RequestMessage","value":[],"x":1}"#.into(),
        ),
        (
            "member-twice",
            r#"{"tag":"RequestMessage","tag":"BatchItem","value":[]}"#.into(),
        ),
        (
            "value-object",
            r#"{"tag":"BatchCount","type":"Integer","value":{}}"#.into(),
        ),
        (
            "value-array-int",
            r#"{"tag":"BatchCount","type":"Integer","value":[]}"#.into(),
        ),
        (
            "struct-number",
            r#"{"tag":"RequestMessage","value":1}"#.into(),
        ),
        (
            "int-float",
            r#"{"tag":"BatchCount","type":"Integer","value":0.5}"#.into(),
        ),
        (
            "int-big",
            r#"{"tag":"BatchCount","type":"Integer","value":2147483648}"#.into(),
        ),
        (
            "int-hex-long",
            r#"{"tag":"BatchCount","type":"Integer","value":"0x100000000"}"#.into(),
        ),
        (
            "enum-name",
            r#"{"tag":"ObjectType","type":"Enumeration","value":"Nope"}"#.into(),
        ),
        (
            "bool-text",
            r#"{"tag":"Sensitive","type":"Boolean","value":"true"}"#.into(),
        ),
        (
            "bytes-odd",
            r#"{"tag":"KeyMaterial","type":"ByteString","value":"abc"}"#.into(),
        ),
        (
            "bigint-plain",
            r#"{"tag":"Modulus","type":"BigInteger","value":"00ff"}"#.into(),
        ),
        // Found by the fuzzer: a second "0x" was taken for hex digits.
        (
            "bigint-0x0x",
            r#"{"tag":"CompromiseDate","type":"BigInteger","value":"0x0x"}"#.into(),
        ),
        (
            "bytes-0x",
            r#"{"tag":"KeyMaterial","type":"ByteString","value":"0xab"}"#.into(),
        ),
        (
            "date-bad",
            r#"{"tag":"ActivationDate","type":"DateTime","value":"yesterday"}"#.into(),
        ),
        (
            "mask-name",
            r#"{"tag":"CryptographicUsageMask","type":"Integer","value":"Encrypt|Nope"}"#.into(),
        ),
        (
            "deep-17",
            format!(r#"{{"tag":"RequestMessage","value":{deep}}}"#),
        ),
        (
            "arrays-deep",
            format!(
                r#"{{"tag":"RequestMessage","value":{}{}}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
        ),
    ];
    out.extend(
        bad.into_iter()
            .map(|(n, t)| (format!("bad-{n}"), t.into_bytes())),
    );
    // An empty Big Integer is written "0x" and must read back.
    out.push((
        "ok-bigint-empty".into(),
        br#"{"tag":"Modulus","type":"BigInteger","value":"0x"}"#.to_vec(),
    ));
    // An invalid UTF-8 byte inside a string.
    out.push((
        "bad-utf8-raw".into(),
        b"{\"tag\":\"NameValue\",\"type\":\"TextString\",\"value\":\"\xff\"}".to_vec(),
    ));
    out
}

#[test]
fn replay_json_seed_corpus() {
    let (mut ok, mut bad) = (0, 0);
    for entry in fs::read_dir(json_corpus_dir()).expect("JSON corpus directory") {
        let path = entry.expect("directory entry").path();
        let bytes = fs::read(&path).expect("seed file");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match from_json(&bytes, &Limits::default()) {
            Ok(item) => {
                assert!(!name.starts_with("bad-"), "{name} should be refused");
                let again = from_json(to_json(&item).as_bytes(), &Limits::default())
                    .expect("own output reads");
                assert_eq!(again, item, "{name} must round-trip");
                ok += 1;
            }
            Err(e) => {
                assert!(!name.starts_with("ok-"), "{name} should decode: {e}");
                bad += 1;
            }
        }
    }
    assert!(
        ok + bad >= MIN_JSON_SEEDS && ok >= 10 && bad >= 10,
        "{ok} valid and {bad} malformed JSON seeds"
    );
}

/// The XML seeds (`fuzz/corpus/xml/`, written by hand in the OASIS vectors' notation) under
/// the checks of the `xml` fuzz target: `ok-*` read and round-trip through the writer,
/// `bad-*` are refused.
#[test]
fn replay_xml_seed_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/xml");
    let (mut ok, mut bad) = (0, 0);
    for entry in fs::read_dir(dir).expect("XML corpus directory") {
        let path = entry.expect("directory entry").path();
        let text = fs::read_to_string(&path).expect("seed file");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match kmip_codec::xml::from_xml_with(&text, &Limits::default()) {
            Ok(item) => {
                assert!(!name.starts_with("bad-"), "{name} should be refused");
                let again = kmip_codec::xml::from_xml_with(
                    &kmip_codec::xml::to_xml(&item),
                    &Limits::default(),
                )
                .expect("own output reads");
                assert_eq!(again, item, "{name} must round-trip");
                ok += 1;
            }
            Err(e) => {
                assert!(!name.starts_with("ok-"), "{name} should read: {e}");
                bad += 1;
            }
        }
    }
    assert!(
        ok >= 2 && bad >= 4,
        "{ok} valid and {bad} malformed XML seeds"
    );
}
