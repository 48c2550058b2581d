//! Offline tests of the runner: every vector it replays (in scope or not yet) replayed against
//! its own expected responses passes, and each kind of tampering with a response is caught at
//! the right place.

use std::sync::Mutex;

use kmip_codec::enums::ResultReason;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value, encode::encode};

use super::replay::{Echo, replay_file};
use super::scope::{Scope, classify};
use super::{Failure, Outcome, Transport, Vector, discover, replay, shared_dir, unix_now};
use crate::error::Error;

fn vector(version: &str, kind: &str, name: &str) -> Vector {
    let path = shared_dir()
        .join("kmip-vectors")
        .join(version)
        .join("XML")
        .join(kind)
        .join(name);
    Vector::load(&path).expect("vector loads")
}

/// Answers with the vector's expected responses (placeholders filled like [`Echo`]), after
/// `tamper` had its way with the answer to step `step` (1-based).
struct Tamper<F> {
    echo: Echo,
    step: Mutex<usize>,
    at: usize,
    tamper: F,
}

impl<F: Fn(&mut Ttlv) + Sync> Tamper<F> {
    fn new(vector: &Vector, at: usize, tamper: F) -> Self {
        Self {
            echo: Echo::new(vector),
            step: Mutex::new(0),
            at,
            tamper,
        }
    }
}

impl<F: Fn(&mut Ttlv) + Sync> Transport for Tamper<F> {
    async fn send_raw(&self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let step = {
            let mut s = self.step.lock().expect("lock");
            *s += 1;
            *s
        };
        let bytes = self.echo.send_raw(request).await?;
        if step != self.at {
            return Ok(bytes);
        }
        let mut item =
            kmip_codec::ttlv::decode::decode(&bytes, &Default::default()).map_err(Error::Decode)?;
        (self.tamper)(&mut item);
        Ok(encode(&item))
    }
}

/// Applies `f` to the first item with `tag` (depth first).
fn edit(item: &mut Ttlv, tag: Tag, f: &mut dyn FnMut(&mut Ttlv)) -> bool {
    if item.tag == tag {
        f(item);
        return true;
    }
    if let Value::Structure(children) = &mut item.value {
        return children.iter_mut().any(|c| edit(c, tag, f));
    }
    false
}

/// Removes the first child with `tag` of the first structure holding one.
fn remove(item: &mut Ttlv, tag: Tag) -> bool {
    if let Value::Structure(children) = &mut item.value {
        if let Some(i) = children.iter().position(|c| c.tag == tag) {
            children.remove(i);
            return true;
        }
        return children.iter_mut().any(|c| remove(c, tag));
    }
    false
}

fn run<T: Transport>(vector: &Vector, transport: &T) -> Outcome {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(replay(vector, transport))
}

fn difference(outcome: Outcome) -> (usize, super::Difference) {
    match outcome {
        Outcome::Failed(Failure::Differs {
            step, difference, ..
        }) => (step, difference),
        other => panic!("expected a difference, got {other:?}"),
    }
}

#[test]
fn every_replayed_vector_matches_itself() {
    let root = shared_dir();
    let files = discover(&root).expect("vectors");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut passed = 0;
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if matches!(classify(name), Scope::Skipped(_)) {
            continue;
        }
        let vector = Vector::load(&path).expect("vector loads");
        let outcome = rt.block_on(replay_file(&path, &Echo::new(&vector)));
        match outcome {
            Some(Outcome::Passed { steps }) => {
                assert!(steps > 0, "{name} has no steps");
                passed += 1;
            }
            other => failures.push(format!("{name}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(passed >= 325, "only {passed} files replayed");
}

#[test]
fn changed_result_reason_fails() {
    // Step 3 of CS-BC-M-13-14 is a Decrypt without IV: Operation Failed, Invalid Message.
    let v = vector("v1.4", "mandatory", "CS-BC-M-13-14.xml");
    let t = Tamper::new(&v, 3, |m| {
        assert!(edit(m, Tag::RESULT_REASON, &mut |r| {
            r.value = Value::Enumeration(ResultReason::ITEM_NOT_FOUND.0)
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 3);
    assert_eq!(d.path, "ResponseMessage/BatchItem/ResultReason");
    assert!(d.got.contains("ItemNotFound"), "{d}");
}

#[test]
fn result_message_is_free_text() {
    let v = vector("v1.4", "mandatory", "CS-BC-M-13-14.xml");
    let t = Tamper::new(&v, 3, |m| {
        assert!(remove(m, Tag::RESULT_MESSAGE));
    });
    assert!(matches!(run(&v, &t), Outcome::Passed { .. }));
}

#[test]
fn missing_item_fails() {
    let v = vector("v1.0", "mandatory", "SKLC-M-1-10.xml");
    let t = Tamper::new(&v, 1, |m| {
        assert!(remove(m, Tag::UNIQUE_IDENTIFIER));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 1);
    assert_eq!(
        d.path,
        "ResponseMessage/BatchItem/ResponsePayload/UniqueIdentifier"
    );
    assert_eq!(d.got, "nothing");
    assert_eq!(d.note.as_deref(), Some("missing item"));
}

#[test]
fn changed_uid_after_capture_fails() {
    // Step 1 captures $UNIQUE_IDENTIFIER_0; step 2 (GetAttributes) must repeat it.
    let v = vector("v1.0", "mandatory", "SKLC-M-1-10.xml");
    let t = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::UNIQUE_IDENTIFIER, &mut |u| {
            u.value = Value::TextString("someone-else".into())
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 2);
    assert!(d.path.ends_with("ResponsePayload/UniqueIdentifier"), "{d}");
    assert!(d.expected.contains("$UNIQUE_IDENTIFIER_0"), "{d}");
    assert!(d.got.contains("someone-else"), "{d}");
}

#[test]
fn two_placeholders_cannot_capture_one_identifier() {
    // CS-BC-M-GCM-2-14 registers key 0 (step 1) and later key 1 (step 6).
    let v = vector("v1.4", "mandatory", "CS-BC-M-GCM-2-14.xml");
    let t = Tamper::new(&v, 6, |m| {
        assert!(edit(m, Tag::UNIQUE_IDENTIFIER, &mut |u| {
            u.value = Value::TextString("echo-$UNIQUE_IDENTIFIER_0".into())
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 6);
    assert!(
        d.note
            .as_deref()
            .is_some_and(|n| n.contains("$UNIQUE_IDENTIFIER_0")),
        "{d}"
    );
}

#[test]
fn registered_key_material_must_match_and_stays_redacted() {
    // BL-M-1-21 registers a known key; step 4 (Get) must return exactly it. Step 1 (Interop) is
    // not sent, so the Get is the third exchange.
    let v = vector("v2.1", "mandatory", "BL-M-1-21.xml");
    let t = Tamper::new(&v, 3, |m| {
        assert!(edit(m, Tag::KEY_MATERIAL, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0xAB; 16]))
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 4);
    assert!(d.path.ends_with("KeyValue/KeyMaterial"), "{d}");
    let text = d.to_string();
    assert!(
        !text.to_lowercase().contains("abab"),
        "key bytes leaked: {text}"
    );
    assert!(
        !text.contains("0123456789abcdef"),
        "key bytes leaked: {text}"
    );
    assert!(text.contains("redacted"), "{text}");
}

#[test]
fn generated_key_material_may_differ_but_not_in_length() {
    // SKFF-M-9-14 creates a key (step 1) and gets it (step 6).
    let v = vector("v1.4", "mandatory", "SKFF-M-9-14.xml");
    let other = Tamper::new(&v, 6, |m| {
        assert!(edit(m, Tag::KEY_MATERIAL, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0x5A; 16]))
        }));
    });
    assert!(matches!(run(&v, &other), Outcome::Passed { .. }));
    let shorter = Tamper::new(&v, 6, |m| {
        assert!(edit(m, Tag::KEY_MATERIAL, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0x5A; 8]))
        }));
    });
    let (step, d) = difference(run(&v, &shorter));
    assert_eq!(step, 6);
    assert_eq!(d.note.as_deref(), Some("random bytes of another length"));
}

#[test]
fn ciphertext_under_a_registered_key_must_match() {
    // CS-BC-M-GCM-2-14 step 7: Encrypt under a registered key with a client IV.
    let v = vector("v1.4", "mandatory", "CS-BC-M-GCM-2-14.xml");
    let t = Tamper::new(&v, 7, |m| {
        assert!(edit(m, Tag::AUTHENTICATED_ENCRYPTION_TAG, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0; 16]))
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 7);
    assert!(d.path.ends_with("AuthenticatedEncryptionTag"), "{d}");
}

#[test]
fn server_chosen_iv_may_differ_and_feeds_later_requests() {
    // CS-BC-M-13-14 step 2: Encrypt with a random IV; steps 3-4 send $DATA_0 and
    // $IV_COUNTER_NONCE, which must be the server's values.
    let v = vector("v1.4", "mandatory", "CS-BC-M-13-14.xml");
    let t = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::IV_COUNTER_NONCE, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![7; 16]))
        }));
    });
    assert!(matches!(run(&v, &t), Outcome::Passed { .. }));
    let mut session = super::Session::new(v.steps.iter().map(|s| &s.request), unix_now());
    let now = unix_now();
    let uid = Value::TextString("uid-0".into());
    for (i, step) in v.steps.iter().take(2).enumerate() {
        let request = session.request(&step.request, now).expect("request");
        let mut answer = step
            .response
            .instantiate(&mut |p, _| {
                Ok(match p {
                    super::Placeholder::Now { .. } => Value::DateTime(now),
                    super::Placeholder::Named(_) => uid.clone(),
                })
            })
            .expect("answer");
        if i == 1 {
            assert!(edit(&mut answer, Tag::IV_COUNTER_NONCE, &mut |k| {
                k.value = Value::ByteString(Bytes::new(vec![7; 16]))
            }));
        }
        session
            .check(&request, &step.response, &answer, now)
            .expect("tolerated");
    }
    let decrypt = session.request(&v.steps[3].request, now).expect("filled");
    let iv = decrypt
        .child(Tag::BATCH_ITEM)
        .and_then(|b| b.child(Tag::REQUEST_PAYLOAD))
        .and_then(|p| p.child(Tag::IV_COUNTER_NONCE))
        .expect("IV sent back");
    assert_eq!(iv.value, Value::ByteString(Bytes::new(vec![7; 16])));
}

#[test]
fn time_stamp_far_from_now_fails() {
    let v = vector("v1.4", "mandatory", "SKFF-M-9-14.xml");
    let t = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::TIME_STAMP, &mut |ts| {
            ts.value = Value::DateTime(unix_now() - 86_400)
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 2);
    assert_eq!(d.path, "ResponseMessage/ResponseHeader/TimeStamp");
    assert_eq!(d.note.as_deref(), Some("time outside the replay window"));
}

#[test]
fn extra_batch_item_fails() {
    let v = vector("v1.0", "mandatory", "SKLC-M-1-10.xml");
    let t = Tamper::new(&v, 1, |m| {
        if let Value::Structure(children) = &mut m.value {
            let copy = children.last().cloned().expect("batch item");
            children.push(copy);
        }
    });
    let (_, d) = difference(run(&v, &t));
    assert_eq!(d.path, "ResponseMessage/BatchItem");
    assert_eq!(d.note.as_deref(), Some("unexpected item"));
}

#[test]
fn unknown_request_placeholder_is_reported() {
    let xml = r#"<KMIP><RequestMessage><BatchItem><RequestPayload>
        <UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_9"/>
        </RequestPayload></BatchItem></RequestMessage>
        <ResponseMessage/></KMIP>"#;
    let v = Vector::from_xml("t.xml".into(), xml).expect("parses");
    match run(&v, &Echo::new(&v)) {
        Outcome::Failed(Failure::Broken {
            step: 1,
            error: Error::Unresolved(name),
        }) => assert_eq!(name, "$UNIQUE_IDENTIFIER_9"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_response_first_is_a_shape_error() {
    let xml = "<KMIP><ResponseMessage/><RequestMessage/></KMIP>";
    assert!(matches!(
        Vector::from_xml("t.xml".into(), xml),
        Err(Error::VectorShape { index: 0, .. })
    ));
}

#[test]
fn errata_correct_their_files() {
    let v = vector("v1.4", "optional", "OMOS-O-1-14.xml");
    let minor = v.steps[1]
        .response
        .child(Tag::RESPONSE_HEADER)
        .and_then(|h| h.child(Tag::PROTOCOL_VERSION))
        .and_then(|p| p.child(Tag::PROTOCOL_VERSION_MINOR));
    assert_eq!(
        minor,
        Some(&super::Node::Literal(Ttlv::new(
            Tag::PROTOCOL_VERSION_MINOR,
            Value::Integer(4)
        )))
    );
    let mut steps = v.steps.clone();
    assert!(matches!(
        super::errata::apply("OMOS-O-1-14.xml", &mut steps),
        Err(Error::ErratumNotFound { step: 2, .. })
    ));
}

#[test]
fn ecb_ciphertext_under_a_registered_key_must_match() {
    // CS-BC-M-6-14 step 2: ECB Encrypt under a registered key; there is no IV, so nothing about
    // the ciphertext is random.
    let v = vector("v1.4", "mandatory", "CS-BC-M-6-14.xml");
    let t = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::DATA, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0; 16]))
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 2);
    assert!(d.path.ends_with("ResponsePayload/Data"), "{d}");
    assert!(
        !d.to_string().contains("d9bcce11"),
        "ciphertext leaked: {d}"
    );
}

#[test]
fn the_servers_rng_may_differ_but_must_be_described() {
    for (version, file) in [("v1.4", "SKFF-M-10-14.xml"), ("v2.1", "SKFF-M-10-21.xml")] {
        // Step 2 asks for the Random Number Generator of a created key.
        let v = vector(version, "mandatory", file);
        let other = Tamper::new(&v, 2, |m| {
            assert!(edit(m, Tag::RNG_ALGORITHM, &mut |a| {
                a.value = Value::Enumeration(1)
            }));
            assert!(remove(m, Tag::CRYPTOGRAPHIC_LENGTH));
        });
        assert!(
            matches!(run(&v, &other), Outcome::Passed { .. }),
            "{file}: another RNG must pass"
        );
        let none = Tamper::new(&v, 2, |m| {
            assert!(remove(m, Tag::RNG_ALGORITHM));
        });
        let (step, d) = difference(run(&v, &none));
        assert_eq!(step, 2, "{file}");
        assert_eq!(
            d.note.as_deref(),
            Some("RNG Parameters without an RNG Algorithm"),
            "{file}"
        );
    }
}

/// The 1.x attribute names of a step's response payload, in order (Attribute Name literals of
/// Get Attribute List, or the names of Get Attributes' Attribute structures).
fn listed_names(v: &Vector, step: usize) -> Vec<String> {
    let payload = v.steps[step - 1]
        .response
        .child(Tag::BATCH_ITEM)
        .and_then(|i| i.child(Tag::RESPONSE_PAYLOAD))
        .expect("payload");
    payload
        .children()
        .iter()
        .filter_map(|n| {
            let name = if n.tag() == Tag::ATTRIBUTE {
                n.child(Tag::ATTRIBUTE_NAME)?
            } else {
                n
            };
            match name {
                super::Node::Literal(Ttlv {
                    tag: Tag::ATTRIBUTE_NAME,
                    value: Value::TextString(s),
                }) => Some(s.clone()),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn list_errata_move_and_insert_attribute_entries() {
    // SKFF-M-10-12 step 9: Original Creation Date moves between Name and Revocation Reason.
    let names = listed_names(&vector("v1.0", "mandatory", "SKFF-M-10-12.xml"), 9);
    let at = |n: &str| names.iter().position(|x| x == n).expect(n);
    assert_eq!(at("Original Creation Date"), at("Name") + 1);
    assert_eq!(names.last().map(String::as_str), Some("State"));
    // SKLC-O-1-13 step 4 (Get Attributes) gains a Random Number Generator with RNG Parameters.
    let v = vector("v1.3", "optional", "SKLC-O-1-13.xml");
    let names = listed_names(&v, 4);
    let at = |n: &str| names.iter().position(|x| x == n).expect(n);
    assert_eq!(
        at("Random Number Generator"),
        at("Original Creation Date") + 1
    );
    // An erratum whose entry is missing fails the load.
    let mut steps = v.steps.clone();
    assert!(matches!(
        super::errata::apply("SKLC-O-1-13.xml", &mut steps),
        Err(Error::ErratumNotFound { step: 4, .. })
    ));
}

/// An [`Echo`] that refuses to carry an Interop request.
struct NoInterop(Echo);

impl Transport for NoInterop {
    async fn send_raw(&self, request: &[u8]) -> Result<Vec<u8>, Error> {
        let item = kmip_codec::ttlv::decode::decode(request, &Default::default())
            .map_err(Error::Decode)?;
        let op = item
            .child(Tag::BATCH_ITEM)
            .and_then(|b| b.child(Tag::OPERATION))
            .map(|o| o.value.clone());
        if op == Some(Value::Enumeration(kmip_codec::enums::Operation::INTEROP.0)) {
            return Err(Error::UnpairedRequest);
        }
        self.0.send_raw(request).await
    }
}

#[test]
fn interop_steps_are_not_sent() {
    // BL-M-1-21 opens and closes with Interop: neither reaches the transport, and the file
    // still counts them as steps.
    let v = vector("v2.1", "mandatory", "BL-M-1-21.xml");
    let outcome = run(&v, &NoInterop(Echo::new(&v)));
    assert!(
        matches!(outcome, Outcome::Passed { steps: 7 }),
        "{outcome:?}"
    );
}

#[test]
fn oaep_ciphertext_under_a_registered_public_key_may_differ_but_not_in_length() {
    // CS-AC-M-OAEP-1-21 step 2: RSA-OAEP Encrypt under the public key registered at step 1.
    let v = vector("v2.1", "mandatory", "CS-AC-M-OAEP-1-21.xml");
    let other_bytes = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::DATA, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0x5a; 256]))
        }));
    });
    assert!(matches!(run(&v, &other_bytes), Outcome::Passed { .. }));
    let shorter = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::DATA, &mut |k| {
            k.value = Value::ByteString(Bytes::new(vec![0x5a; 255]))
        }));
    });
    let (step, d) = difference(run(&v, &shorter));
    assert_eq!(step, 2);
    assert!(d.path.ends_with("Data"), "{d}");
}

#[test]
fn plaintext_of_an_oaep_decrypt_must_match() {
    // CS-AC-M-OAEP-2-21 step 2: Decrypt of a fixed ciphertext under a registered private key.
    let v = vector("v2.1", "mandatory", "CS-AC-M-OAEP-2-21.xml");
    let t = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::DATA, &mut |k| {
            let Value::ByteString(b) = &k.value else {
                panic!("data is a byte string");
            };
            let mut other = b.as_slice().to_vec();
            other[0] ^= 1;
            k.value = Value::ByteString(Bytes::new(other));
        }));
    });
    let (step, d) = difference(run(&v, &t));
    assert_eq!(step, 2);
    assert!(d.path.ends_with("Data"), "{d}");
}

/// Removes every child with `tag` of the first Response Payload.
fn remove_all_in_payload(item: &mut Ttlv, tag: Tag) -> bool {
    edit(item, Tag::RESPONSE_PAYLOAD, &mut |p| {
        if let Value::Structure(children) = &mut p.value {
            children.retain(|c| c.tag != tag);
        }
    })
}

#[test]
fn a_query_answer_lists_the_servers_own_capabilities() {
    // Step 2 of MSGENC-HTTPS-M-1-21 is a Query of operations and object types.
    let v = vector("v2.1", "mandatory", "MSGENC-HTTPS-M-1-21.xml");
    // Another server's list (fewer operations, another order) is its own business.
    let shorter = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::RESPONSE_PAYLOAD, &mut |p| {
            if let Value::Structure(children) = &mut p.value {
                children.retain(|c| c.tag != Tag::OPERATION || c.value != Value::Enumeration(0x1));
                children.reverse();
            }
        }));
    });
    assert!(matches!(run(&v, &shorter), Outcome::Passed { .. }));
    // No operation at all, or one listed twice, is not.
    let none = Tamper::new(&v, 2, |m| {
        assert!(remove_all_in_payload(m, Tag::OPERATION));
    });
    let (step, d) = difference(run(&v, &none));
    assert_eq!(step, 2);
    assert!(d.to_string().contains("lists none"), "{d}");
    let twice = Tamper::new(&v, 2, |m| {
        assert!(edit(m, Tag::RESPONSE_PAYLOAD, &mut |p| {
            if let Value::Structure(children) = &mut p.value {
                let first = children
                    .iter()
                    .find(|c| c.tag == Tag::OBJECT_TYPE)
                    .cloned()
                    .expect("an object type");
                children.push(first);
            }
        }));
    });
    let (_, d) = difference(run(&v, &twice));
    assert!(d.to_string().contains("twice"), "{d}");
}

#[test]
fn the_vendor_identification_and_server_information_are_the_servers_own() {
    // Step 1 of TL-M-1-21 asks Query Server Information among others.
    let v = vector("v2.1", "mandatory", "TL-M-1-21.xml");
    let another_vendor = Tamper::new(&v, 1, |m| {
        assert!(edit(m, Tag::VENDOR_IDENTIFICATION, &mut |i| {
            i.value = Value::TextString("another-vendor.example".into());
        }));
        assert!(edit(m, Tag::SERVER_INFORMATION, &mut |i| {
            i.value = Value::Structure(vec![Ttlv::new(
                Tag::VENDOR_IDENTIFICATION,
                Value::TextString("build 7".into()),
            )]);
        }));
    });
    assert!(matches!(run(&v, &another_vendor), Outcome::Passed { .. }));
    let no_information = Tamper::new(&v, 1, |m| {
        assert!(remove_all_in_payload(m, Tag::SERVER_INFORMATION));
    });
    let (step, d) = difference(run(&v, &no_information));
    assert_eq!(step, 1);
    assert_eq!(d.note.as_deref(), Some("missing item"), "{d}");
    let nameless = Tamper::new(&v, 1, |m| {
        assert!(edit(m, Tag::VENDOR_IDENTIFICATION, &mut |i| {
            i.value = Value::TextString(String::new());
        }));
    });
    let (_, d) = difference(run(&v, &nameless));
    assert_eq!(
        d.note.as_deref(),
        Some("an empty Vendor Identification"),
        "{d}"
    );
}

#[test]
fn get_attribute_list_names_may_come_in_any_order_but_all_and_once() {
    // Step 9 of SKFF-M-9-21 is a Get Attribute List (2.x Attribute References).
    let v = vector("v2.1", "mandatory", "SKFF-M-9-21.xml");
    let names_of = |m: &mut Ttlv, f: &dyn Fn(&mut Vec<Ttlv>)| {
        assert!(edit(m, Tag::RESPONSE_PAYLOAD, &mut |p| {
            if let Value::Structure(children) = &mut p.value {
                let mut names: Vec<Ttlv> = children
                    .iter()
                    .filter(|c| c.tag == Tag::ATTRIBUTE_REFERENCE)
                    .cloned()
                    .collect();
                assert!(names.len() > 10);
                f(&mut names);
                children.retain(|c| c.tag != Tag::ATTRIBUTE_REFERENCE);
                children.extend(names);
            }
        }));
    };
    let reversed = Tamper::new(&v, 9, |m| names_of(m, &|n| n.reverse()));
    assert!(matches!(run(&v, &reversed), Outcome::Passed { .. }));
    let one_missing = Tamper::new(&v, 9, |m| {
        names_of(m, &|n| {
            n.remove(3);
        })
    });
    let (step, d) = difference(run(&v, &one_missing));
    assert_eq!(step, 9);
    assert!(d.path.ends_with("AttributeReference[3]"), "{d}");
    let one_twice = Tamper::new(&v, 9, |m| {
        names_of(m, &|n| {
            let first = n[0].clone();
            n.push(first);
        })
    });
    let (_, d) = difference(run(&v, &one_twice));
    assert_eq!(d.note.as_deref(), Some("unexpected item"), "{d}");
}

#[test]
fn get_attributes_entries_may_come_in_any_order_but_keep_their_values() {
    // Step 3 of TL-M-3-21 is Locate then Get Attributes of every attribute (2.x Attributes);
    // it continues TL-M-2-21, but against its own echo it replays alone.
    let v = vector("v2.1", "mandatory", "TL-M-3-21.xml");
    let attributes_of = |m: &mut Ttlv, f: &dyn Fn(&mut Vec<Ttlv>)| {
        assert!(edit(m, Tag::ATTRIBUTES, &mut |a| {
            if let Value::Structure(children) = &mut a.value {
                assert!(children.len() > 20);
                f(children);
            }
        }));
    };
    let reversed = Tamper::new(&v, 3, |m| attributes_of(m, &|c| c.reverse()));
    assert!(matches!(run(&v, &reversed), Outcome::Passed { .. }));
    // Paired by attribute, so a changed value is still found, wherever it stands.
    let changed = Tamper::new(&v, 3, |m| {
        attributes_of(m, &|c| {
            c.reverse();
            let state = c.iter_mut().find(|a| a.tag == Tag::STATE).expect("State");
            state.value = Value::Enumeration(2);
        })
    });
    let (step, d) = difference(run(&v, &changed));
    assert_eq!(step, 3);
    assert!(d.path.ends_with("Attributes/State"), "{d}");
    // An attribute the vector does not list is unexpected.
    let extra = Tamper::new(&v, 3, |m| {
        attributes_of(m, &|c| {
            c.insert(0, Ttlv::new(Tag::COMMENT, Value::TextString("more".into())));
        })
    });
    let (_, d) = difference(run(&v, &extra));
    assert_eq!(d.note.as_deref(), Some("unexpected item"), "{d}");
}

#[test]
fn tl_m_3_list_errata_complete_the_1_3_and_1_4_lists() {
    // 1.3: Random Number Generator in Get Attribute List (step 2) and Get Attributes (step 3),
    // both in the second batch item.
    let v = vector("v1.3", "mandatory", "TL-M-3-13.xml");
    for step in [2, 3] {
        let item = v.steps[step - 1]
            .response
            .children()
            .iter()
            .filter(|c| c.tag() == Tag::BATCH_ITEM)
            .nth(1)
            .and_then(|i| i.child(Tag::RESPONSE_PAYLOAD))
            .expect("second payload");
        let text = format!("{item:?}");
        assert!(text.contains("Random Number Generator"), "step {step}");
    }
    // 1.4: Get Attributes gains the four protection attributes its Get Attribute List names.
    let v = vector("v1.4", "mandatory", "TL-M-3-14.xml");
    let payload = v.steps[2]
        .response
        .children()
        .iter()
        .filter(|c| c.tag() == Tag::BATCH_ITEM)
        .nth(1)
        .and_then(|i| i.child(Tag::RESPONSE_PAYLOAD))
        .expect("second payload");
    let text = format!("{payload:?}");
    for name in [
        "Always Sensitive",
        "Extractable",
        "Never Extractable",
        "\"Sensitive\"",
    ] {
        assert!(text.contains(name), "{name}");
    }
}
