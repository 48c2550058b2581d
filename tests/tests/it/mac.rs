//! HMAC keys, MAC, MAC Verify and Hash end to end (issue 19) over real TLS against a real server
//! on a real SoftHSM token: HMAC-SHA1 / SHA-256 / SHA-384 / SHA-512 keys made by Create (and an
//! HMAC-SHA256 key by Register, MACing with the HMAC its request names), each
//! MAC checked by an independent implementation (the `openssl` binary, on the key bytes read
//! back with Get); MAC Verify answering Valid and, for a wrong MAC, Invalid (a success, not an
//! error); usage masks and the Active state enforced; lengths the server does not make
//! refused; Hash with SHA-1 / SHA-224 / SHA-256 / SHA-384 / SHA-512 checked against `openssl`.

use std::process::Command;

use client::{ClientError, Connection};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, ResultReason,
    ValidityIndicator,
};
use kmip_codec::model::{
    AttributeValue, Attributes, CryptographicParameters, HashRequest, KeyBlock, MacRequest,
    MacVerifyRequest, ManagedObject, RequestPayload, ResponsePayload, SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{TestServer, key_bytes};

const DATA: &[u8] = b"issue 19: every OASIS profile";

const MAC_BOTH: CryptographicUsageMask = CryptographicUsageMask(
    CryptographicUsageMask::MAC_GENERATE.0 | CryptographicUsageMask::MAC_VERIFY.0,
);

async fn connect(server: &TestServer) -> Connection {
    let config = server
        .client_config("acme")
        .expect("config")
        .with_protocol_version(ProtocolVersion::V2_1);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

fn reason(e: &ClientError) -> Option<ResultReason> {
    match e {
        ClientError::Kmip { reason, .. } => *reason,
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `openssl dgst` of `DATA` with `digest`, keyed (HMAC) when `hmac_key` is given; the hex
/// output.
fn openssl_dgst(digest: &str, hmac_key: Option<&[u8]>) -> String {
    let input = std::env::temp_dir().join(format!("mac-test-{}.bin", std::process::id()));
    std::fs::write(&input, DATA).expect("write the input");
    let mut cmd = Command::new("openssl");
    cmd.arg("dgst").arg(format!("-{digest}")).arg("-r");
    if let Some(key) = hmac_key {
        cmd.args(["-mac", "HMAC", "-macopt"])
            .arg(format!("hexkey:{}", hex(key)));
    }
    let out = cmd.arg(&input).output().expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.split_whitespace().next().expect("digest").to_owned()
}

async fn mac(conn: &mut Connection, uid: &str, data: &[u8]) -> Result<Vec<u8>, ClientError> {
    let request = MacRequest {
        unique_identifier: Some(uid.to_owned()),
        data: Some(Bytes::from(data)),
        ..MacRequest::default()
    };
    let r = conn
        .call(RequestPayload::Mac(request), |p| match p {
            ResponsePayload::Mac(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(r.mac_data.expect("MAC data").as_slice().to_vec())
}

async fn mac_verify(
    conn: &mut Connection,
    uid: &str,
    data: &[u8],
    mac_data: &[u8],
) -> Result<ValidityIndicator, ClientError> {
    let request = MacVerifyRequest {
        unique_identifier: Some(uid.to_owned()),
        data: Some(Bytes::from(data)),
        mac_data: Some(Bytes::from(mac_data)),
        ..MacVerifyRequest::default()
    };
    let r = conn
        .call(RequestPayload::MacVerify(request), |p| match p {
            ResponsePayload::MacVerify(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(r.validity_indicator)
}

async fn hash(
    conn: &mut Connection,
    algorithm: HashingAlgorithm,
    data: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let request = HashRequest {
        cryptographic_parameters: CryptographicParameters {
            hashing_algorithm: Some(algorithm),
            ..CryptographicParameters::default()
        },
        data: Some(Bytes::from(data)),
        ..HashRequest::default()
    };
    let r = conn
        .call(RequestPayload::Hash(request), |p| match p {
            ResponsePayload::Hash(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(r.data.expect("digest").as_slice().to_vec())
}

kms_tests::server_test! {
    async fn hmac_keys_mac_verifiably_and_verify(server) {
        let mut conn = connect(server).await;
        let cases = [
            (CryptographicAlgorithm::HMAC_SHA1, 160, "sha1"),
            (CryptographicAlgorithm::HMAC_SHA256, 256, "sha256"),
            (CryptographicAlgorithm::HMAC_SHA384, 384, "sha384"),
            (CryptographicAlgorithm::HMAC_SHA512, 512, "sha512"),
        ];
        for (algorithm, bits, digest) in cases {
            let uid = conn
                .create_symmetric_key(algorithm, bits, MAC_BOTH, Attributes::new())
                .await
                .expect("create an HMAC key");
            // Pre-Active: no MAC.
            let e = mac(&mut conn, &uid, DATA).await.expect_err("MAC before activation");
            assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");
            conn.activate(&uid).await.expect("activate");
            let key = key_bytes(&mut conn, &uid).await;
            assert_eq!(key.len() * 8, usize::try_from(bits).expect("bits"), "{digest}");
            let tag = mac(&mut conn, &uid, DATA).await.expect("MAC");
            assert_eq!(hex(&tag), openssl_dgst(digest, Some(&key)), "HMAC-{digest} as openssl computes it");
            assert_eq!(mac_verify(&mut conn, &uid, DATA, &tag).await.expect("verify"), ValidityIndicator::VALID);
            let mut wrong = tag.clone();
            wrong[0] ^= 1;
            assert_eq!(mac_verify(&mut conn, &uid, DATA, &wrong).await.expect("verify a wrong MAC"), ValidityIndicator::INVALID);
            assert_eq!(mac_verify(&mut conn, &uid, b"other data", &tag).await.expect("verify other data"), ValidityIndicator::INVALID);
        }
    }
}

kms_tests::server_test! {
    async fn registered_hmac_keys_mac_and_the_request_names_the_hmac(server) {
        let mut conn = connect(server).await;
        let key: Vec<u8> = (1..=32).collect();
        let object = ManagedObject::SymmetricKey(SymmetricKey {
            key_block: KeyBlock::raw(Bytes::new(key.clone()), CryptographicAlgorithm::HMAC_SHA256, 256),
        });
        let mask = AttributeValue::Integer(i32::from_be_bytes(MAC_BOTH.0.to_be_bytes()));
        let uid = conn
            .register(object, Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask))
            .await
            .expect("register an HMAC-SHA256 key");
        conn.activate(&uid).await.expect("activate");
        // The key's own algorithm.
        let tag = mac(&mut conn, &uid, DATA).await.expect("MAC");
        assert_eq!(hex(&tag), openssl_dgst("sha256", Some(&key)), "HMAC-SHA256 of the registered key");
        // The request's Cryptographic Parameters win over the key's algorithm.
        let request = MacRequest {
            unique_identifier: Some(uid.clone()),
            cryptographic_parameters: Some(CryptographicParameters {
                cryptographic_algorithm: Some(CryptographicAlgorithm::HMAC_SHA512),
                ..CryptographicParameters::default()
            }),
            data: Some(Bytes::from(DATA)),
            ..MacRequest::default()
        };
        let r = conn
            .call(RequestPayload::Mac(request), |p| match p {
                ResponsePayload::Mac(r) => Some(r),
                _ => None,
            })
            .await
            .expect("MAC with HMAC-SHA512 asked");
        let tag = r.mac_data.expect("MAC data").as_slice().to_vec();
        assert_eq!(hex(&tag), openssl_dgst("sha512", Some(&key)), "HMAC-SHA512 as asked");
        // An AES key without HMAC parameters names no HMAC, even with MAC Generate in its mask.
        let aes = conn
            .create_symmetric_key(CryptographicAlgorithm::AES, 256, MAC_BOTH, Attributes::new())
            .await
            .expect("create");
        conn.activate(&aes).await.expect("activate");
        let e = mac(&mut conn, &aes, DATA).await.expect_err("no HMAC named");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
    }
}

kms_tests::server_test! {
    async fn mac_refusals_usage_masks_lengths_and_keys(server) {
        let mut conn = connect(server).await;
        // MAC Generate only: MAC, but no MAC Verify; MAC Verify only: the other way round.
        let generate = conn
            .create_symmetric_key(CryptographicAlgorithm::HMAC_SHA256, 256, CryptographicUsageMask::MAC_GENERATE, Attributes::new())
            .await
            .expect("create");
        conn.activate(&generate).await.expect("activate");
        let tag = mac(&mut conn, &generate, DATA).await.expect("MAC");
        let e = mac_verify(&mut conn, &generate, DATA, &tag).await.expect_err("verify without MAC Verify");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        let verify = conn
            .create_symmetric_key(CryptographicAlgorithm::HMAC_SHA256, 256, CryptographicUsageMask::MAC_VERIFY, Attributes::new())
            .await
            .expect("create");
        conn.activate(&verify).await.expect("activate");
        let e = mac(&mut conn, &verify, DATA).await.expect_err("MAC without MAC Generate");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        // An AES key for encryption has no MAC usage.
        let aes = kms_tests::testbed::create_aes_key(&mut conn).await.expect("create");
        conn.activate(&aes).await.expect("activate");
        let e = mac(&mut conn, &aes, DATA).await.expect_err("MAC with an encryption key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        // Revoked: no more MACs.
        conn.revoke(&generate, kmip_codec::enums::RevocationReasonCode::CESSATION_OF_OPERATION, None)
            .await
            .expect("revoke");
        let e = mac(&mut conn, &generate, DATA).await.expect_err("MAC with a revoked key");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");
        // A MAC too short to mean anything is refused, not answered Invalid.
        let e = mac_verify(&mut conn, &verify, DATA, &tag[..4]).await.expect_err("a 4-byte MAC");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        // Lengths the server does not make: below 128 bits, past 1024, not whole bytes.
        for bits in [64, 1032, 260] {
            let e = conn
                .create_symmetric_key(CryptographicAlgorithm::HMAC_SHA256, bits, MAC_BOTH, Attributes::new())
                .await
                .expect_err("a length the server does not make");
            assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{bits}: {e}");
        }
        // Other algorithms are still refused.
        let e = conn
            .create_symmetric_key(CryptographicAlgorithm::_3DES, 192, MAC_BOTH, Attributes::new())
            .await
            .expect_err("3DES");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
    }
}

kms_tests::server_test! {
    async fn hash_matches_openssl(server) {
        let mut conn = connect(server).await;
        for (algorithm, digest) in [
            (HashingAlgorithm::SHA_1, "sha1"),
            (HashingAlgorithm::SHA_224, "sha224"),
            (HashingAlgorithm::SHA_256, "sha256"),
            (HashingAlgorithm::SHA_384, "sha384"),
            (HashingAlgorithm::SHA_512, "sha512"),
        ] {
            let got = hash(&mut conn, algorithm, DATA).await.expect("hash");
            assert_eq!(hex(&got), openssl_dgst(digest, None), "{digest}");
        }
        let e = hash(&mut conn, HashingAlgorithm::MD5, DATA).await.expect_err("MD5");
        assert_eq!(reason(&e), Some(ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS), "{e}");
    }
}
