//! Encrypt never acts as Decrypt: a caller that may not Decrypt with a key (its usage mask lacks
//! Decrypt, or its Process Start Date is still ahead) cannot have the server compute AES of a
//! block it picks, which is what decrypts GCM: no client-chosen GCM, CTR or CBC IV, no ECB, no
//! multi-part stream (whose Correlation Value carries the IV); it gets server-generated IVs,
//! never the same twice. A caller that may Decrypt keeps every option, as the OASIS CS-BC
//! vectors use them (`server/src/ops/crypto.rs`, `refuse_decrypting_inputs`).

use client::{CipherOptions, ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, PaddingMethod, ResultReason,
};
use kmip_codec::model::{
    AttributeValue, Attributes, CryptographicParameters, EncryptRequest, EncryptResponse,
    ResponsePayload,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

/// A date far in the future (2100-01-01).
const LATER: i64 = 4_102_444_800;

/// What the victim encrypts; 48 bytes, three AES blocks.
const SECRET: &[u8; 48] = b"payroll: alice 120k, bob 95k, carol 180k (Q3)!!!";

const ENCRYPT_ONLY: CryptographicUsageMask = CryptographicUsageMask::ENCRYPT;
const ENCRYPT_DECRYPT: CryptographicUsageMask =
    CryptographicUsageMask(CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0);

async fn connect(server: &TestServer, version: ProtocolVersion) -> Connection {
    let config = server
        .client_config("acme")
        .expect("config")
        .with_protocol_version(version);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

/// An Active AES-256 key with this usage mask and the `extra` attributes.
async fn active_key(
    conn: &mut Connection,
    mask: CryptographicUsageMask,
    extra: Attributes,
) -> String {
    let uid = conn
        .create_symmetric_key(CryptographicAlgorithm::AES, 256, mask, extra)
        .await
        .expect("create");
    conn.activate(&uid).await.expect("activate");
    uid
}

fn options(mode: BlockCipherMode, iv: Option<Vec<u8>>) -> CipherOptions {
    CipherOptions {
        parameters: Some(CryptographicParameters {
            block_cipher_mode: Some(mode),
            padding_method: Some(PaddingMethod::NONE),
            cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
            ..CryptographicParameters::default()
        }),
        iv,
        ..CipherOptions::default()
    }
}

/// What the victim holds: the ciphertext of [`SECRET`] under a server-generated GCM IV.
struct Sealed {
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
}

async fn victim(conn: &mut Connection, uid: &str) -> Sealed {
    let r = conn
        .encrypt(
            uid,
            Bytes::new(SECRET.to_vec()),
            options(BlockCipherMode::GCM, None),
        )
        .await
        .expect("the victim's Encrypt");
    let iv = r
        .iv_counter_nonce
        .expect("the server returns the IV it made");
    assert_eq!(iv.len(), 12, "a 96-bit GCM IV");
    Sealed {
        iv,
        ciphertext: r.data.expect("ciphertext").as_slice().to_vec(),
    }
}

/// The GCM counter blocks of a 96-bit IV for `n` data blocks: IV || 2, IV || 3, ... (NIST SP
/// 800-38D section 7.1: J0 = IV || 1 is for the tag).
fn counter_blocks(iv: &[u8], n: u32) -> Vec<u8> {
    (0..n)
        .flat_map(|j| {
            let mut block = iv.to_vec();
            block.extend_from_slice(&(2 + j).to_be_bytes());
            block
        })
        .collect()
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// Refused because the caller may not Decrypt: Incompatible Cryptographic Usage Mask in 2.x,
/// Permission Denied in 1.x. An answer is a failure of the test, worse if it is the plaintext.
fn assert_refused(
    result: Result<EncryptResponse, ClientError>,
    version: ProtocolVersion,
    keystream_to_secret: impl Fn(&[u8]) -> Vec<u8>,
    what: &str,
) {
    match result {
        Ok(r) => {
            let data = r.data.map(|d| d.as_slice().to_vec()).unwrap_or_default();
            let recovered = keystream_to_secret(&data);
            if !recovered.is_empty() && SECRET.get(..recovered.len()) == Some(&recovered[..]) {
                panic!("{what}: Encrypt acted as Decrypt and gave the plaintext away");
            }
            panic!("{what}: the server accepted it");
        }
        Err(e) => {
            let want = if version >= ProtocolVersion::V2_0 {
                ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK
            } else {
                ResultReason::PERMISSION_DENIED
            };
            assert_eq!(e.result_reason(), Some(want), "{what}: {e}");
        }
    }
}

async fn encrypt_raw(
    conn: &mut Connection,
    request: EncryptRequest,
) -> Result<EncryptResponse, ClientError> {
    conn.call(request, |p| match p {
        ResponsePayload::Encrypt(r) => Some(r),
        _ => None,
    })
    .await
}

fn gcm() -> Option<CryptographicParameters> {
    options(BlockCipherMode::GCM, None).parameters
}

kms_tests::server_test! {
    async fn an_encrypt_only_caller_cannot_choose_a_gcm_or_ctr_iv(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let uid = active_key(&mut conn, ENCRYPT_ONLY, Attributes::new()).await;
            let sealed = victim(&mut conn, &uid).await;
            // GCM is CTR plus a tag: Encrypt of the ciphertext under its own IV is Decrypt.
            let replay = conn
                .encrypt(
                    &uid,
                    Bytes::new(sealed.ciphertext.clone()),
                    options(BlockCipherMode::GCM, Some(sealed.iv.clone())),
                )
                .await;
            assert_refused(replay, version, |d| d.to_vec(), "GCM under the victim's IV");
            let ctr = conn
                .encrypt(
                    &uid,
                    Bytes::new(sealed.ciphertext.clone()),
                    options(BlockCipherMode::CTR, Some(counter_blocks(&sealed.iv, 1))),
                )
                .await;
            match ctr {
                Ok(r) => panic!("CTR with a chosen counter was accepted: {r:?}"),
                Err(e) => assert!(e.result_reason().is_some(), "CTR: {e}"),
            }
            // No nonce reuse either: the caller cannot repeat an IV, and the server never does.
            let fixed = conn
                .encrypt(
                    &uid,
                    Bytes::new(b"a message".to_vec()),
                    options(BlockCipherMode::GCM, Some(vec![7; 12])),
                )
                .await;
            assert_refused(fixed, version, |_| Vec::new(), "a fixed GCM IV");
            let again = victim(&mut conn, &uid).await;
            assert_ne!(again.iv, sealed.iv, "two server IVs");
            assert_ne!(again.ciphertext, sealed.ciphertext);

            // Decrypt in the mask is not enough: the caller must be able to Decrypt now.
            let later = active_key(
                &mut conn,
                ENCRYPT_DECRYPT,
                Attributes::new().with(Tag::PROCESS_START_DATE, AttributeValue::DateTime(LATER)),
            )
            .await;
            let sealed = victim(&mut conn, &later).await;
            let replay = conn
                .encrypt(
                    &later,
                    Bytes::new(sealed.ciphertext.clone()),
                    options(BlockCipherMode::GCM, Some(sealed.iv.clone())),
                )
                .await;
            assert_refused(
                replay,
                version,
                |d| d.to_vec(),
                "GCM before the Process Start Date",
            );
        }
    }
}

kms_tests::server_test! {
    async fn an_encrypt_only_key_is_no_block_cipher_oracle(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let uid = active_key(&mut conn, ENCRYPT_ONLY, Attributes::new()).await;
            let sealed = victim(&mut conn, &uid).await;
            let ciphertext = sealed.ciphertext.clone();
            // ECB of the counter blocks is the keystream.
            let ecb = conn
                .encrypt(
                    &uid,
                    Bytes::new(counter_blocks(&sealed.iv, 3)),
                    options(BlockCipherMode::ECB, None),
                )
                .await;
            assert_refused(ecb, version, |k| xor(k, &ciphertext), "ECB of counter blocks");
            // CBC of a zero block under a chosen IV is AES of that IV: one keystream block.
            let cbc = conn
                .encrypt(
                    &uid,
                    Bytes::new(vec![0; 16]),
                    options(BlockCipherMode::CBC, Some(counter_blocks(&sealed.iv, 1))),
                )
                .await;
            assert_refused(cbc, version, |k| xor(k, &ciphertext), "CBC under a chosen IV");
            // CBC under an IV the server makes stays available.
            let r = conn
                .encrypt(
                    &uid,
                    Bytes::new(vec![0; 16]),
                    options(BlockCipherMode::CBC, None),
                )
                .await
                .expect("CBC with a server IV");
            assert_eq!(r.iv_counter_nonce.map(|iv| iv.len()), Some(16));
        }
    }
}

kms_tests::server_test! {
    async fn multi_part_encrypt_needs_decrypt(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let uid = active_key(&mut conn, ENCRYPT_ONLY, Attributes::new()).await;
            let sealed = victim(&mut conn, &uid).await;
            // A Correlation Value is the client's to send: one naming the victim's IV makes
            // the next part an Encrypt under that IV.
            let bytes = |tag, b: &[u8]| Ttlv::new(tag, Value::ByteString(Bytes::from(b)));
            let forged = encode(&Ttlv::structure(
                Tag::CORRELATION_VALUE,
                vec![
                    bytes(Tag::IV_COUNTER_NONCE, &sealed.iv),
                    bytes(Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA, &[]),
                    Ttlv::new(Tag::TAG_LENGTH, Value::Integer(16)),
                    bytes(Tag::DATA, &[]),
                ],
            ));
            let continued = encrypt_raw(
                &mut conn,
                EncryptRequest {
                    unique_identifier: Some(uid.clone()),
                    cryptographic_parameters: gcm(),
                    data: Some(Bytes::new(sealed.ciphertext.clone())),
                    correlation_value: Some(forged),
                    final_indicator: Some(true),
                    ..EncryptRequest::default()
                },
            )
            .await;
            assert_refused(continued, version, |d| d.to_vec(), "a forged Correlation Value");
            let started = encrypt_raw(
                &mut conn,
                EncryptRequest {
                    unique_identifier: Some(uid.clone()),
                    cryptographic_parameters: gcm(),
                    data: Some(Bytes::new(b"first part".to_vec())),
                    init_indicator: Some(true),
                    ..EncryptRequest::default()
                },
            )
            .await;
            assert_refused(started, version, |_| Vec::new(), "a stream's first part");
        }
    }
}

kms_tests::server_test! {
    async fn a_caller_that_may_decrypt_keeps_its_ivs_ecb_and_streams(server) {
        let mut conn = connect(server, ProtocolVersion::V2_1).await;
        let uid = active_key(&mut conn, ENCRYPT_DECRYPT, Attributes::new()).await;
        let iv = vec![9; 12];
        let r = conn
            .encrypt(
                &uid,
                Bytes::new(SECRET.to_vec()),
                options(BlockCipherMode::GCM, Some(iv.clone())),
            )
            .await
            .expect("GCM with the client's IV");
        assert_eq!(r.iv_counter_nonce, None, "the client's IV is not echoed");
        let plain = conn
            .decrypt(
                &uid,
                r.data.expect("ciphertext"),
                CipherOptions {
                    iv: Some(iv),
                    tag: r.authenticated_encryption_tag,
                    ..options(BlockCipherMode::GCM, None)
                },
            )
            .await
            .expect("decrypt");
        assert_eq!(plain.as_slice(), SECRET);
        conn.encrypt(
            &uid,
            Bytes::new(vec![0; 16]),
            options(BlockCipherMode::ECB, None),
        )
        .await
        .expect("ECB");
        conn.encrypt(
            &uid,
            Bytes::new(vec![0; 16]),
            options(BlockCipherMode::CBC, Some(vec![1; 16])),
        )
        .await
        .expect("CBC with the client's IV");
        let first = encrypt_raw(
            &mut conn,
            EncryptRequest {
                unique_identifier: Some(uid.clone()),
                cryptographic_parameters: gcm(),
                data: Some(Bytes::new(SECRET[..16].to_vec())),
                init_indicator: Some(true),
                ..EncryptRequest::default()
            },
        )
        .await
        .expect("a stream's first part");
        let last = encrypt_raw(
            &mut conn,
            EncryptRequest {
                unique_identifier: Some(uid.clone()),
                cryptographic_parameters: gcm(),
                data: Some(Bytes::new(SECRET[16..].to_vec())),
                correlation_value: first.correlation_value,
                final_indicator: Some(true),
                ..EncryptRequest::default()
            },
        )
        .await
        .expect("a stream's last part");
        assert!(last.authenticated_encryption_tag.is_some());
    }
}
