//! Wrapped Get and wrapped Register of Public and Private Keys (issue 18, bring-your-own-KMS)
//! over real TLS against a real server on a real SoftHSM token: RSA and EC key pairs made by
//! the server leave wrapped under an AES key (RFC 5649 with the PKCS#8 / X.509 bytes, RFC 3394
//! with the TTLV Key Value) or an RSA public key (OAEP, when the key fits), are checked with an
//! independent unwrap (RustCrypto `aes-kw`), come back by a wrapped Register in the same tenant
//! and read back plain to the same bytes; and the refusals, each with its KMIP reason and
//! nothing stored.

use aes_kw::KekAes256;
use client::{ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicUsageMask, EncodingOption, HashingAlgorithm, KeyFormatType,
    RecommendedCurve, ResultReason, WrappingMethod,
};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, KeyBlock, KeyMaterial, KeyValue, KeyWrappingData,
    ManagedObject, Object, PrivateKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::asymmetric::{Spec, create_pair, request};
use crate::wrapped_keys::{
    aes, connect_as, der, get_wrapped_object, info, mask, oaep, reason, register_plain,
};

const KEK: [u8; 32] = [0x2e; 32];
const OTHER_KEK: [u8; 32] = [0x3f; 32];
const V: ProtocolVersion = ProtocolVersion::V2_1;

/// The Key Block of a Public or Private Key object.
fn block_of(object: &mut Object) -> &mut KeyBlock {
    match object {
        Object::PrivateKey(k) => &mut k.key_block,
        Object::PublicKey(k) => &mut k.key_block,
        other => panic!("not an asymmetric key: {other:?}"),
    }
}

/// `object` (a Public or Private Key) with its Key Block changed by `edit`.
fn edited(object: &ManagedObject, edit: impl FnOnce(&mut KeyBlock)) -> ManagedObject {
    let mut typed = object.to_object(V).expect("typed object");
    edit(block_of(&mut typed));
    ManagedObject::from_object(typed, V)
}

/// The wrapped bytes of a wrapped Public or Private Key (panics when not wrapped).
fn wrapped_bytes(object: &ManagedObject) -> Vec<u8> {
    let mut typed = object.to_object(V).expect("typed object");
    let block = block_of(&mut typed);
    assert!(block.key_wrapping_data.is_some(), "no Key Wrapping Data");
    match &block.key_value {
        Some(KeyValue::Wrapped(b)) => b.as_slice().to_vec(),
        other => panic!("not wrapped: {other:?}"),
    }
}

/// Registers `object` (wrapped or not) with usage Sign (private) / Verify (public).
async fn register(conn: &mut Connection, object: ManagedObject) -> Result<String, ClientError> {
    let private = matches!(object.to_object(V), Ok(Object::PrivateKey(_)));
    let usage = if private {
        CryptographicUsageMask::SIGN
    } else {
        CryptographicUsageMask::VERIFY
    };
    let attributes = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(usage));
    conn.register(object, attributes).await
}

/// Objects of the caller's tenant (to see that a refusal stored nothing).
async fn count(conn: &mut Connection) -> usize {
    conn.locate(Attributes::new(), None, None)
        .await
        .expect("locate")
        .unique_identifiers
        .len()
}

fn kwp() -> kmip_codec::model::CryptographicParameters {
    aes(BlockCipherMode::AESKEYWRAPPADDING)
}

fn kw() -> kmip_codec::model::CryptographicParameters {
    aes(BlockCipherMode::NISTKEYWRAP)
}

const NO_ENCODING: Option<EncodingOption> = Some(EncodingOption::NO_ENCODING);

use crate::asymmetric::openssl;

kms_tests::server_test! {
    async fn asymmetric_keys_wrap_under_aes_and_rsa_and_register_back_to_the_same_bytes(server) {
        let mut conn = connect_as(server, "acme").await;
        let kek = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY).await;
        let independent = KekAes256::from(KEK);
        let sign = CryptographicUsageMask::SIGN;
        let verify = CryptographicUsageMask::VERIFY;

        for spec in [Spec::Rsa(2048), Spec::Ec(RecommendedCurve::P_256)] {
            let pair = create_pair(&mut conn, request(spec, sign, verify, Attributes::new(), Attributes::new()))
                .await
                .expect("create key pair");
            let (private, public) = (pair.private_key_unique_identifier, pair.public_key_unique_identifier);
            let pkcs8 = der(&mut conn, &private, KeyFormatType::PKCS8).await;
            let spki = der(&mut conn, &public, KeyFormatType::X_509).await;

            // RFC 5649 of the PKCS#8 bytes: RustCrypto unwraps it to the plain Get's bytes, and
            // the wrapped object registers back to the same key.
            let wrapped = get_wrapped_object(&mut conn, &private, Some(KeyFormatType::PKCS8), info(&kek, kwp()), NO_ENCODING)
                .await
                .unwrap_or_else(|e| panic!("{spec:?}: wrapped Get, KWP: {e}"));
            let blob = wrapped_bytes(&wrapped);
            let mut out = vec![0u8; blob.len() - 8];
            let plain = independent.unwrap_with_padding(&blob, &mut out).expect("RustCrypto unwraps KWP");
            assert_eq!(plain, pkcs8.as_slice(), "{spec:?}: KWP unwraps to the PKCS#8 key");
            let back = register(&mut conn, wrapped).await.unwrap_or_else(|e| panic!("{spec:?}: wrapped Register: {e}"));
            assert_eq!(der(&mut conn, &back, KeyFormatType::PKCS8).await, pkcs8, "{spec:?}: PKCS#8 round trip");

            // RFC 3394 of the TTLV Key Value (the default encoding, the stored format).
            let wrapped = get_wrapped_object(&mut conn, &private, None, info(&kek, kw()), None)
                .await
                .unwrap_or_else(|e| panic!("{spec:?}: wrapped Get, KW TTLV: {e}"));
            let ttlv = independent.unwrap_vec(&wrapped_bytes(&wrapped)).expect("RustCrypto unwraps KW");
            assert_eq!(ttlv.first(), Some(&0x42), "a TTLV Key Value");
            let back = register(&mut conn, wrapped).await.unwrap_or_else(|e| panic!("{spec:?}: TTLV wrapped Register: {e}"));
            assert_eq!(der(&mut conn, &back, KeyFormatType::PKCS8).await, pkcs8, "{spec:?}: TTLV round trip");

            // The public key, X.509 bytes under KWP.
            let wrapped = get_wrapped_object(&mut conn, &public, Some(KeyFormatType::X_509), info(&kek, kwp()), NO_ENCODING)
                .await
                .unwrap_or_else(|e| panic!("{spec:?}: wrapped Get of the public key: {e}"));
            let back = register(&mut conn, wrapped).await.expect("wrapped Register of a public key");
            assert_eq!(der(&mut conn, &back, KeyFormatType::X_509).await, spki, "{spec:?}: X.509 round trip");

            // RFC 3394 needs a multiple of 8 bytes: a clear refusal otherwise.
            let asked = get_wrapped_object(&mut conn, &private, Some(KeyFormatType::PKCS8), info(&kek, kw()), NO_ENCODING).await;
            if pkcs8.len() % 8 == 0 {
                asked.expect("KW of a multiple of 8 bytes");
            } else {
                let e = asked.expect_err("KW of a PKCS#8 key that is not a multiple of 8 bytes");
                assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
                assert!(e.to_string().contains("AESKeyWrapPadding"), "{e}");
            }
        }

        // RSA-OAEP: an EC private key and public key fit under a 2048-bit key with SHA-256.
        let wrapping = create_pair(
            &mut conn,
            request(Spec::Rsa(2048), CryptographicUsageMask::UNWRAP_KEY, CryptographicUsageMask::WRAP_KEY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("wrapping pair");
        let (unwrapper, wrapper) = (wrapping.private_key_unique_identifier, wrapping.public_key_unique_identifier);
        conn.activate(&unwrapper).await.expect("activate");
        conn.activate(&wrapper).await.expect("activate");
        let ec = create_pair(&mut conn, request(Spec::Ec(RecommendedCurve::P_256), sign, verify, Attributes::new(), Attributes::new()))
            .await
            .expect("EC pair");
        for (uid, format) in [(&ec.private_key_unique_identifier, KeyFormatType::PKCS8), (&ec.public_key_unique_identifier, KeyFormatType::X_509)] {
            let plain = der(&mut conn, uid, format).await;
            let wrapped = get_wrapped_object(&mut conn, uid, Some(format), info(&wrapper, oaep(HashingAlgorithm::SHA_256)), NO_ENCODING)
                .await
                .unwrap_or_else(|e| panic!("{format:?}: wrapped Get, OAEP: {e}"));
            assert_eq!(wrapped_bytes(&wrapped).len(), 256, "one RSA-2048 block");
            let under_private = edited(&wrapped, |b| {
                if let Some(d) = b.key_wrapping_data.as_mut() {
                    d.encryption_key_information = Some(info(&unwrapper, oaep(HashingAlgorithm::SHA_256)));
                }
            });
            let back = register(&mut conn, under_private).await.unwrap_or_else(|e| panic!("{format:?}: OAEP-wrapped Register: {e}"));
            assert_eq!(der(&mut conn, &back, format).await, plain, "{format:?}: OAEP round trip");
        }

        // An RSA private key does not fit in one OAEP block: refused, pointing at AES.
        let rsa = create_pair(&mut conn, request(Spec::Rsa(2048), sign, verify, Attributes::new(), Attributes::new()))
            .await
            .expect("RSA pair");
        let e = get_wrapped_object(&mut conn, &rsa.private_key_unique_identifier, Some(KeyFormatType::PKCS8), info(&wrapper, oaep(HashingAlgorithm::SHA_256)), NO_ENCODING)
            .await
            .expect_err("an RSA private key under RSA-OAEP");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        assert!(e.to_string().contains("use an AES key"), "{e}");
    }
}

kms_tests::server_test! {
    async fn wrapped_asymmetric_refusals_name_the_reason_and_store_nothing(server) {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to make an RSA-1024 key");
            return;
        }
        let mut conn = connect_as(server, "acme").await;
        let both = CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY;
        let kek = register_plain(&mut conn, &KEK, both).await;
        let other_kek = register_plain(&mut conn, &OTHER_KEK, both).await;
        let pair = create_pair(
            &mut conn,
            request(Spec::Ec(RecommendedCurve::P_256), CryptographicUsageMask::SIGN, CryptographicUsageMask::VERIFY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("EC pair");
        let (private, public) = (pair.private_key_unique_identifier, pair.public_key_unique_identifier);
        let wrapped = get_wrapped_object(&mut conn, &private, Some(KeyFormatType::PKCS8), info(&kek, kwp()), NO_ENCODING)
            .await
            .expect("wrapped Get");

        // An RSA-1024 key pair, registered plain (stored as given, used for nothing).
        let dir = tempfile::tempdir().expect("temp dir");
        let key_file = dir.path().join("rsa1024.der");
        let key_path = key_file.to_str().expect("path");
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-outform", "DER", "-out", key_path]);
        let small_pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", key_path, "-outform", "DER"]);
        let small_spki = openssl(&["pkey", "-in", key_path, "-inform", "DER", "-pubout", "-outform", "DER"]);
        let private_key = |der: &[u8], wrapping: Option<KeyWrappingData>| {
            let key_value = match wrapping {
                Some(_) => KeyValue::Wrapped(Bytes::from(der)),
                None => KeyValue::Plain { key_material: KeyMaterial::Bytes(Bytes::from(der)), attributes: Attributes::new() },
            };
            ManagedObject::from_object(Object::PrivateKey(PrivateKey { key_block: KeyBlock {
                key_format_type: KeyFormatType::PKCS8,
                key_compression_type: None,
                key_value: Some(key_value),
                cryptographic_algorithm: None,
                cryptographic_length: None,
                key_wrapping_data: wrapping.map(Box::new),
            } }), V)
        };
        let unwrap_mask = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(CryptographicUsageMask::UNWRAP_KEY));
        let small_private = conn.register(private_key(&small_pkcs8, None), unwrap_mask).await.expect("register RSA-1024");
        conn.activate(&small_private).await.expect("activate");
        let wrap_mask = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(CryptographicUsageMask::WRAP_KEY));
        let small_public = {
            let object = ManagedObject::from_object(Object::PublicKey(kmip_codec::model::PublicKey { key_block: KeyBlock {
                key_format_type: KeyFormatType::X_509,
                key_compression_type: None,
                key_value: Some(KeyValue::Plain { key_material: KeyMaterial::Bytes(Bytes::from(small_spki.as_slice())), attributes: Attributes::new() }),
                cryptographic_algorithm: None,
                cryptographic_length: None,
                key_wrapping_data: None,
            } }), V);
            conn.register(object, wrap_mask).await.expect("register RSA-1024 public")
        };
        conn.activate(&small_public).await.expect("activate");
        let before = count(&mut conn).await;

        // The wrong unwrapping key, a corrupted or truncated blob: nothing comes in.
        let under = |uid: &str| {
            let uid = uid.to_owned();
            move |b: &mut KeyBlock| {
                if let Some(d) = b.key_wrapping_data.as_mut() {
                    d.encryption_key_information = Some(info(&uid, kwp()));
                }
            }
        };
        let e = register(&mut conn, edited(&wrapped, under(&other_kek))).await.expect_err("the wrong key");
        assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
        let blob = wrapped_bytes(&wrapped);
        let with_blob = |bytes: Vec<u8>| edited(&wrapped, move |b| b.key_value = Some(KeyValue::Wrapped(Bytes::new(bytes))));
        let mut flipped = blob.clone();
        flipped[9] ^= 0x80;
        let e = register(&mut conn, with_blob(flipped)).await.expect_err("a corrupted blob");
        assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
        let e = register(&mut conn, with_blob(blob[..blob.len() - 8].to_vec())).await.expect_err("a blob short of a block");
        assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
        let e = register(&mut conn, with_blob(blob[..blob.len() - 3].to_vec())).await.expect_err("a truncated blob");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");

        // Another tenant's wrapping key is answered exactly like a missing one, both ways.
        let mut globex = connect_as(server, "globex").await;
        let theirs = register_plain(&mut globex, &KEK, both).await;
        let missing = get_wrapped_object(&mut conn, &private, None, info("no-such-key", kwp()), None).await.expect_err("missing");
        let other = get_wrapped_object(&mut conn, &private, None, info(&theirs, kwp()), None).await.expect_err("other tenant");
        assert_eq!(reason(&other), Some(ResultReason::OBJECT_NOT_FOUND), "{other}");
        assert_eq!(other.to_string(), missing.to_string());
        let missing = register(&mut conn, edited(&wrapped, under("no-such-key"))).await.expect_err("missing");
        let other = register(&mut conn, edited(&wrapped, under(&theirs))).await.expect_err("other tenant");
        assert_eq!(reason(&other), Some(ResultReason::OBJECT_NOT_FOUND), "{other}");
        assert_eq!(other.to_string(), missing.to_string());

        // RSA keys under 2048 bits: neither wraps nor unwraps, and a wrapped one is not taken in.
        let e = get_wrapped_object(&mut conn, &private, Some(KeyFormatType::PKCS8), info(&small_public, oaep(HashingAlgorithm::SHA_1)), NO_ENCODING)
            .await
            .expect_err("wrapped under RSA-1024");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        let data = |uid: &str, params| KeyWrappingData {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(info(uid, params)),
            mac_signature_key_information: None,
            mac_signature: None,
            iv_counter_nonce: None,
            encoding_option: NO_ENCODING,
        };
        let e = register(&mut conn, private_key(&[7u8; 128], Some(data(&small_private, oaep(HashingAlgorithm::SHA_1)))))
            .await
            .expect_err("unwrapped with RSA-1024");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        let small_wrapped = KekAes256::from(KEK).wrap_with_padding_vec(&small_pkcs8).expect("KWP");
        let e = register(&mut conn, private_key(&small_wrapped, Some(data(&kek, kwp()))))
            .await
            .expect_err("a wrapped RSA-1024 private key");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        assert!(e.to_string().contains("RSA key size"), "{e}");
        assert_eq!(count(&mut conn).await, before, "no refusal stored anything");

        // The same checks as for symmetric keys: Wrap Key usage, Sensitive, Extractable.
        conn.activate(&public).await.expect("activate");
        let e = get_wrapped_object(&mut conn, &private, None, info(&public, oaep(HashingAlgorithm::SHA_256)), None)
            .await
            .expect_err("a wrapping key without Wrap Key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        conn.add_attribute(&private, Attribute::new(Tag::SENSITIVE, AttributeValue::Boolean(true)))
            .await
            .expect("sensitive");
        let e = get_wrapped_object(&mut conn, &private, None, info(&kek, kwp()), None).await.expect_err("sensitive, untrusted key");
        assert_eq!(reason(&e), Some(ResultReason::SENSITIVE), "{e}");
        conn.add_attribute(&public, Attribute::new(Tag::EXTRACTABLE, AttributeValue::Boolean(false)))
            .await
            .expect("not extractable");
        let e = get_wrapped_object(&mut conn, &public, None, info(&kek, kwp()), None).await.expect_err("not extractable");
        assert_eq!(reason(&e), Some(ResultReason::NOT_EXTRACTABLE), "{e}");
    }
}
