//! Wrapped Get and wrapped Register (issue 18, bring-your-own-KMS) over real TLS against a real
//! server on a real SoftHSM token: Get with a Key Wrapping Specification under an AES key (AES
//! Key Wrap, AES Key Wrap with Padding) and an RSA public key (RSA-OAEP, SHA-256 and SHA-1),
//! each unwrapped independently (RustCrypto `aes-kw`, the `openssl` binary) and compared with the
//! plain Get; Register of a key wrapped outside the server, read back plain; the refusals.

use aes_kw::KekAes256;
use client::{ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, EncodingOption,
    HashingAlgorithm, KeyFormatType, ResultReason, WrappingMethod,
};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, CryptographicParameters, GetRequest, KeyBlock,
    KeyInformation, KeyMaterial, KeyValue, KeyWrappingData, KeyWrappingSpecification,
    ManagedObject, ResponsePayload, SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{TestServer, key_bytes};

use serde_json::json;
use server::store::records::Role;

use crate::admin::Api;
use crate::asymmetric::{Spec, create_pair, request};

const KEY: [u8; 32] = [0x5a; 32];
const KEK: [u8; 32] = [0x1f; 32];

pub(crate) fn reason(e: &ClientError) -> Option<ResultReason> {
    match e {
        ClientError::Kmip { reason, .. } => *reason,
        _ => None,
    }
}

pub(crate) fn aes(mode: BlockCipherMode) -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(mode),
        ..CryptographicParameters::default()
    }
}

pub(crate) fn oaep(hash: HashingAlgorithm) -> CryptographicParameters {
    CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
        padding_method: Some(kmip_codec::enums::PaddingMethod::OAEP),
        hashing_algorithm: Some(hash),
        ..CryptographicParameters::default()
    }
}

pub(crate) fn info(uid: &str, params: CryptographicParameters) -> KeyInformation {
    KeyInformation {
        unique_identifier: uid.to_owned(),
        cryptographic_parameters: Some(params),
    }
}

pub(crate) fn mask(m: CryptographicUsageMask) -> AttributeValue {
    AttributeValue::Integer(i32::from_be_bytes(m.0.to_be_bytes()))
}

/// An AES-256 Symmetric Key object, plain or wrapped.
pub(crate) fn aes_object(value: KeyValue, wrapping: Option<KeyWrappingData>) -> ManagedObject {
    ManagedObject::SymmetricKey(SymmetricKey {
        key_block: KeyBlock {
            key_format_type: KeyFormatType::RAW,
            key_compression_type: None,
            key_value: Some(value),
            cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
            cryptographic_length: Some(256),
            key_wrapping_data: wrapping.map(Box::new),
        },
    })
}

/// Registers `bytes` as an AES-256 key with `usage` and activates it.
pub(crate) async fn register_plain(
    conn: &mut Connection,
    bytes: &[u8],
    usage: CryptographicUsageMask,
) -> String {
    let value = KeyValue::Plain {
        key_material: KeyMaterial::Bytes(Bytes::from(bytes)),
        attributes: Attributes::new(),
    };
    let attributes = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(usage));
    let uid = conn
        .register(aes_object(value, None), attributes)
        .await
        .expect("register");
    conn.activate(&uid).await.expect("activate");
    uid
}

/// Registers `wrapped` (the key wrapped under `under`) as an AES-256 key.
async fn register_wrapped(
    conn: &mut Connection,
    wrapped: Vec<u8>,
    under: KeyInformation,
    encoding: Option<EncodingOption>,
) -> Result<String, ClientError> {
    let data = KeyWrappingData {
        wrapping_method: WrappingMethod::ENCRYPT,
        encryption_key_information: Some(under),
        mac_signature_key_information: None,
        mac_signature: None,
        iv_counter_nonce: None,
        encoding_option: encoding,
    };
    let usage = Attributes::new().with(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        mask(CryptographicUsageMask::ENCRYPT),
    );
    conn.register(
        aes_object(KeyValue::Wrapped(Bytes::new(wrapped)), Some(data)),
        usage,
    )
    .await
}

/// Get of `uid` in `format` wrapped under `under`: the object answered.
pub(crate) async fn get_wrapped_object(
    conn: &mut Connection,
    uid: &str,
    format: Option<KeyFormatType>,
    under: KeyInformation,
    encoding: Option<EncodingOption>,
) -> Result<ManagedObject, ClientError> {
    let request = GetRequest {
        unique_identifier: Some(uid.to_owned()),
        key_format_type: format,
        key_wrapping_specification: Some(KeyWrappingSpecification {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(under),
            mac_signature_key_information: None,
            attribute_names: Vec::new(),
            encoding_option: encoding,
        }),
        ..GetRequest::default()
    };
    let got = conn
        .call(request, |p| match p {
            ResponsePayload::Get(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(got.object)
}

/// Get of `uid` wrapped under `under`: the wrapped bytes and the Key Wrapping Data answered.
async fn get_wrapped(
    conn: &mut Connection,
    uid: &str,
    under: KeyInformation,
    encoding: Option<EncodingOption>,
) -> Result<(Vec<u8>, KeyWrappingData), ClientError> {
    let got = get_wrapped_object(conn, uid, None, under, encoding).await?;
    let ManagedObject::SymmetricKey(key) = got else {
        panic!("not a symmetric key");
    };
    match (key.key_block.key_value, key.key_block.key_wrapping_data) {
        (Some(KeyValue::Wrapped(b)), Some(d)) => Ok((b.as_slice().to_vec(), *d)),
        other => panic!("not wrapped: {other:?}"),
    }
}

/// Runs `openssl pkeyutl` with `args` on `input` in `dir`; its output.
fn pkeyutl(dir: &std::path::Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let (inp, out) = (dir.join("in.bin"), dir.join("out.bin"));
    std::fs::write(&inp, input).expect("write input");
    let status = std::process::Command::new("openssl")
        .arg("pkeyutl")
        .args(args)
        .arg("-in")
        .arg(&inp)
        .arg("-out")
        .arg(&out)
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl pkeyutl {args:?} failed");
    std::fs::read(&out).expect("read output")
}

/// The DER material of an asymmetric key's Get in `format`.
pub(crate) async fn der(conn: &mut Connection, uid: &str, format: KeyFormatType) -> Vec<u8> {
    let got = conn.get(uid, Some(format)).await.expect("get");
    let object = got
        .object
        .to_object(conn.protocol_version())
        .expect("typed object");
    let block = match object {
        kmip_codec::model::Object::PublicKey(k) => k.key_block,
        kmip_codec::model::Object::PrivateKey(k) => k.key_block,
        other => panic!("not an asymmetric key: {other:?}"),
    };
    match block.key_value {
        Some(KeyValue::Plain { key_material, .. }) => {
            key_material.bytes().expect("bytes").as_slice().to_vec()
        }
        other => panic!("no plain key value: {other:?}"),
    }
}

/// A KMIP 2.1 connection of `tenant` (2.x names the refusals exactly: Incompatible
/// Cryptographic Usage Mask, Wrong Key Lifecycle State).
pub(crate) async fn connect_as(server: &TestServer, tenant: &str) -> Connection {
    let config = server
        .client_config(tenant)
        .expect("config")
        .with_protocol_version(ProtocolVersion::V2_1);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

async fn connect(server: &TestServer) -> Connection {
    connect_as(server, "acme").await
}

kms_tests::server_test! {
    async fn wrapped_get_under_aes_kw_kwp_and_rsa_oaep_unwraps_to_the_plain_key(server) {
        let mut conn = connect(server).await;
        // Not Sensitive: it may be wrapped under any wrapping key of the tenant (a Sensitive
        // one only under a trusted key: `sensitive_keys_wrap_only_under_keys_an_admin_trusted`).
        let target = register_plain(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT).await;
        let kek = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY).await;
        let independent = KekAes256::from(KEK);

        // AES Key Wrap (RFC 3394), raw key bytes.
        let (wrapped, data) = get_wrapped(&mut conn, &target, info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("wrapped Get, KW");
        assert_eq!(wrapped.len(), 40);
        assert_eq!(data.wrapping_method, WrappingMethod::ENCRYPT);
        let named = data.encryption_key_information.expect("encryption key information");
        assert_eq!(named.unique_identifier, kek);
        assert_eq!(named.cryptographic_parameters.and_then(|p| p.block_cipher_mode), Some(BlockCipherMode::NISTKEYWRAP));
        assert_eq!(data.encoding_option, Some(EncodingOption::NO_ENCODING));
        let mut out = [0u8; 32];
        independent.unwrap(&wrapped, &mut out).expect("RustCrypto unwraps KW");
        assert_eq!(out, KEY, "KW unwraps to the key");

        // AES Key Wrap with Padding (RFC 5649).
        let (wrapped, _) = get_wrapped(&mut conn, &target, info(&kek, aes(BlockCipherMode::AESKEYWRAPPADDING)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("wrapped Get, KWP");
        let mut out = vec![0u8; wrapped.len() - 8];
        let plain = independent.unwrap_with_padding(&wrapped, &mut out).expect("RustCrypto unwraps KWP");
        assert_eq!(plain, KEY, "KWP unwraps to the key");

        // The default encoding: the TTLV Key Value structure, which holds the key bytes.
        let (wrapped, data) = get_wrapped(&mut conn, &target, info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), None)
            .await
            .expect("wrapped Get, TTLV");
        assert_eq!(data.encoding_option, None);
        let ttlv = independent.unwrap_vec(&wrapped).expect("RustCrypto unwraps TTLV");
        assert!(ttlv.windows(32).any(|w| w == KEY), "the TTLV Key Value carries the key");
        // ... and it registers back (BYOK of a TTLV-wrapped key) to the same key.
        let back = register_wrapped(&mut conn, wrapped, info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), None)
            .await
            .expect("register TTLV-wrapped");
        assert_eq!(key_bytes(&mut conn, &back).await, KEY);

        // RSA-OAEP under a public key, unwrapped by openssl with the private key.
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to check RSA-OAEP wrapping");
            return;
        }
        let pair = create_pair(
            &mut conn,
            request(Spec::Rsa(2048), CryptographicUsageMask::UNWRAP_KEY, CryptographicUsageMask::WRAP_KEY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("create key pair");
        let (private, public) = (pair.private_key_unique_identifier, pair.public_key_unique_identifier);
        conn.activate(&private).await.expect("activate");
        conn.activate(&public).await.expect("activate");
        let dir = tempfile::tempdir().expect("temp dir");
        let key_file = dir.path().join("private.der");
        std::fs::write(&key_file, der(&mut conn, &private, KeyFormatType::PKCS8).await).expect("key file");
        let key = key_file.to_str().expect("path");
        for (hash, md) in [(HashingAlgorithm::SHA_256, "sha256"), (HashingAlgorithm::SHA_1, "sha1")] {
            let (wrapped, data) = get_wrapped(&mut conn, &target, info(&public, oaep(hash)), Some(EncodingOption::NO_ENCODING))
                .await
                .unwrap_or_else(|e| panic!("{md}: wrapped Get, OAEP: {e}"));
            assert_eq!(wrapped.len(), 256);
            assert_eq!(data.encryption_key_information.expect("info").unique_identifier, public);
            let md_opt = format!("rsa_oaep_md:{md}");
            let mgf_opt = format!("rsa_mgf1_md:{md}");
            let plain = pkeyutl(
                dir.path(),
                &["-decrypt", "-inkey", key, "-keyform", "DER", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", &md_opt, "-pkeyopt", &mgf_opt],
                &wrapped,
            );
            assert_eq!(plain, KEY, "{md}: openssl unwraps to the key");
        }
    }
}

kms_tests::server_test! {
    async fn wrapped_register_unwraps_in_the_server_and_get_returns_the_key(server) {
        let mut conn = connect(server).await;
        let kek = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY).await;
        let independent = KekAes256::from(KEK);
        let kw = independent.wrap_vec(&KEY).expect("KW");
        let uid = register_wrapped(&mut conn, kw.clone(), info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("register KW-wrapped");
        assert_eq!(key_bytes(&mut conn, &uid).await, KEY, "KW");
        let kwp = independent.wrap_with_padding_vec(&KEY).expect("KWP");
        let uid = register_wrapped(&mut conn, kwp, info(&kek, aes(BlockCipherMode::AESKEYWRAPPADDING)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("register KWP-wrapped");
        assert_eq!(key_bytes(&mut conn, &uid).await, KEY, "KWP");

        // Damaged wrapped data: Cryptographic Failure, nothing stored.
        let mut bad = kw;
        bad[5] ^= 1;
        let e = register_wrapped(&mut conn, bad, info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("damaged KW");
        assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
        let e = register_wrapped(&mut conn, vec![1, 2, 3], info(&kek, aes(BlockCipherMode::NISTKEYWRAP)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("short KW");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");

        // RSA-OAEP: openssl wraps to the public key, the server unwraps with the private key.
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to wrap with RSA-OAEP");
            return;
        }
        let pair = create_pair(
            &mut conn,
            request(Spec::Rsa(2048), CryptographicUsageMask::UNWRAP_KEY, CryptographicUsageMask::WRAP_KEY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("create key pair");
        let (private, public) = (pair.private_key_unique_identifier, pair.public_key_unique_identifier);
        conn.activate(&private).await.expect("activate");
        conn.activate(&public).await.expect("activate");
        let dir = tempfile::tempdir().expect("temp dir");
        let pub_file = dir.path().join("public.der");
        std::fs::write(&pub_file, der(&mut conn, &public, KeyFormatType::X_509).await).expect("pub file");
        let pubkey = pub_file.to_str().expect("path");
        let wrapped = pkeyutl(
            dir.path(),
            &["-encrypt", "-pubin", "-inkey", pubkey, "-keyform", "DER", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"],
            &KEY,
        );
        let uid = register_wrapped(&mut conn, wrapped.clone(), info(&private, oaep(HashingAlgorithm::SHA_256)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("register OAEP-wrapped");
        assert_eq!(key_bytes(&mut conn, &uid).await, KEY, "OAEP");
        // The wrong hash: Cryptographic Failure.
        let e = register_wrapped(&mut conn, wrapped, info(&private, oaep(HashingAlgorithm::SHA_1)), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("OAEP with the wrong hash");
        assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
    }
}

kms_tests::server_test! {
    async fn wrapping_keys_need_wrap_usage_active_state_and_the_same_tenant(server) {
        let mut conn = connect(server).await;
        let target = register_plain(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT).await;
        let kw = || aes(BlockCipherMode::NISTKEYWRAP);
        let raw = Some(EncodingOption::NO_ENCODING);
        let wrapped = KekAes256::from(KEK).wrap_vec(&KEY).expect("KW");

        // No Wrap Key / Unwrap Key in the usage mask.
        let encrypt_only = register_plain(&mut conn, &KEK, CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT).await;
        let e = get_wrapped(&mut conn, &target, info(&encrypt_only, kw()), raw).await.expect_err("no Wrap Key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        let e = register_wrapped(&mut conn, wrapped.clone(), info(&encrypt_only, kw()), raw).await.expect_err("no Unwrap Key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");

        // Not Active (Pre-Active).
        let attributes = Attributes::new().with(
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            mask(CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY),
        );
        let plain = KeyValue::Plain { key_material: KeyMaterial::Bytes(Bytes::from(&KEK[..])), attributes: Attributes::new() };
        let pre_active = conn.register(aes_object(plain, None), attributes).await.expect("register");
        let e = get_wrapped(&mut conn, &target, info(&pre_active, kw()), raw).await.expect_err("pre-active");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");
        let e = register_wrapped(&mut conn, wrapped.clone(), info(&pre_active, kw()), raw).await.expect_err("pre-active");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");

        // Another tenant's wrapping key is answered exactly like a missing one.
        // globex: the testbed's second tenant.
        let mut globex = connect_as(server, "globex").await;
        let theirs = register_plain(&mut globex, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY).await;
        let missing = get_wrapped(&mut conn, &target, info("no-such-key", kw()), raw).await.expect_err("missing");
        let other = get_wrapped(&mut conn, &target, info(&theirs, kw()), raw).await.expect_err("other tenant");
        assert_eq!(reason(&other), Some(ResultReason::OBJECT_NOT_FOUND), "{other}");
        assert_eq!(other.to_string(), missing.to_string());
        let missing = register_wrapped(&mut conn, wrapped.clone(), info("no-such-key", kw()), raw).await.expect_err("missing");
        let other = register_wrapped(&mut conn, wrapped, info(&theirs, kw()), raw).await.expect_err("other tenant");
        assert_eq!(reason(&other), Some(ResultReason::OBJECT_NOT_FOUND), "{other}");
        assert_eq!(other.to_string(), missing.to_string());

        // A non-extractable key does not leave, even wrapped.
        let kek = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY).await;
        conn.add_attribute(&target, Attribute::new(Tag::EXTRACTABLE, AttributeValue::Boolean(false)))
            .await
            .expect("not extractable");
        let e = get_wrapped(&mut conn, &target, info(&kek, kw()), raw).await.expect_err("not extractable");
        assert_eq!(reason(&e), Some(ResultReason::NOT_EXTRACTABLE), "{e}");
    }
}

/// The admin API of `server` as tenant admin `alice` of acme.
async fn acme_admin(server: &TestServer) -> Api {
    let files = server
        .admin_identity(Role::TenantAdmin, Some("acme"), "alice")
        .await
        .expect("tenant admin");
    Api::new(server, &files)
}

/// Is `uid` marked trusted for wrapping, as Get Attributes reports it?
async fn trusted(conn: &mut Connection, uid: &str) -> bool {
    let got = conn
        .get_attributes(uid, Vec::new())
        .await
        .expect("get attributes");
    got.iter()
        .any(|a| a.name.to_1x().as_deref() == Some(TRUSTED) && a.value.as_bool() == Some(true))
}

const TRUSTED: &str = "y-kms-trusted-for-wrapping";

kms_tests::server_test! {
    async fn sensitive_keys_wrap_only_under_keys_an_admin_trusted(server) {
        let mut conn = connect(server).await;
        let admin = acme_admin(server).await;
        let target = register_plain(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT).await;
        conn.add_attribute(&target, Attribute::new(Tag::SENSITIVE, AttributeValue::Boolean(true)))
            .await
            .expect("sensitive");
        let e = conn.get(&target, None).await.expect_err("plain Get of a sensitive key");
        assert_eq!(reason(&e), Some(ResultReason::SENSITIVE), "{e}");
        let kw = || info("", aes(BlockCipherMode::NISTKEYWRAP));
        let under = |uid: &str| KeyInformation { unique_identifier: uid.to_owned(), ..kw() };

        // A client's own wrapping key (it knows the bytes): no way out for a Sensitive key.
        let both = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY).await;
        let e = get_wrapped(&mut conn, &target, under(&both), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("wrapped under an untrusted key");
        assert_eq!(reason(&e), Some(ResultReason::SENSITIVE), "{e}");

        // Marks the rule refuses, each with its reason.
        let path = |uid: &str, action: &str| format!("/v1/tenants/acme/keys/{uid}/{action}");
        let (status, body) = admin.post(&path(&both, "trust-wrapping"), json!({})).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap_or("").contains("Unwrap Key"), "{body}");
        let wrap_only = register_plain(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY).await;
        let (status, body) = admin.post(&path(&wrap_only, "trust-wrapping"), json!({})).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap_or("").contains("Sensitive"), "{body}");
        let pair = create_pair(
            &mut conn,
            request(Spec::Rsa(2048), CryptographicUsageMask::UNWRAP_KEY, CryptographicUsageMask::WRAP_KEY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("create key pair");
        let (status, body) = admin.post(&path(&pair.public_key_unique_identifier, "trust-wrapping"), json!({})).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["detail"].as_str().unwrap_or("").contains("private half"), "{body}");
        let (status, _) = admin.post(&path("no-such-key", "trust-wrapping"), json!({})).await;
        assert_eq!(status, 404);

        // A client cannot set the mark itself, at creation or later, nor delete it.
        let e = conn
            .add_attribute(&wrap_only, Attribute::custom(TRUSTED, AttributeValue::Boolean(true)))
            .await
            .expect_err("a client sets the server's attribute");
        assert_eq!(reason(&e), Some(ResultReason::ATTRIBUTE_READ_ONLY), "{e}");
        let value = KeyValue::Plain {
            key_material: KeyMaterial::Bytes(Bytes::from(&KEK[..])),
            attributes: Attributes::new(),
        };
        let mut attributes = Attributes::new()
            .with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(CryptographicUsageMask::WRAP_KEY));
        attributes.push(Attribute::custom(TRUSTED, AttributeValue::Boolean(true)));
        let e = conn
            .register(aes_object(value, None), attributes)
            .await
            .expect_err("a client registers a key with the server's attribute");
        assert_eq!(reason(&e), Some(ResultReason::ATTRIBUTE_READ_ONLY), "{e}");
        assert!(!trusted(&mut conn, &wrap_only).await);

        // Sensitive, Wrap Key only: the admin trusts it, and the Sensitive key leaves under it.
        conn.add_attribute(&wrap_only, Attribute::new(Tag::SENSITIVE, AttributeValue::Boolean(true)))
            .await
            .expect("sensitive wrapping key");
        let (status, body) = admin.post(&path(&wrap_only, "trust-wrapping"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(trusted(&mut conn, &wrap_only).await, "Get Attributes reports the mark");
        let e = conn
            .delete_attribute(&wrap_only, Attribute::custom(TRUSTED, AttributeValue::Boolean(true)).name, None)
            .await
            .expect_err("a client deletes the mark");
        assert_eq!(reason(&e), Some(ResultReason::ATTRIBUTE_READ_ONLY), "{e}");
        let (wrapped, _) = get_wrapped(&mut conn, &target, under(&wrap_only), Some(EncodingOption::NO_ENCODING))
            .await
            .expect("wrapped under the trusted key");
        let mut out = [0u8; 32];
        KekAes256::from(KEK).unwrap(&wrapped, &mut out).expect("unwraps");
        assert_eq!(out, KEY);

        // A Re-key's new key is not trusted: the admin trusted the old key's material.
        let rekeyed = conn.rekey(&wrap_only, None).await.expect("re-key the trusted key");
        conn.activate(&rekeyed).await.ok();
        assert!(!trusted(&mut conn, &rekeyed).await, "the mark does not move to the new key");
        let e = get_wrapped(&mut conn, &target, under(&rekeyed), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("wrapped under the re-keyed key");
        assert_eq!(reason(&e), Some(ResultReason::SENSITIVE), "{e}");

        // Distrusted: the way out closes again.
        let (status, body) = admin.post(&path(&wrap_only, "distrust-wrapping"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(!trusted(&mut conn, &wrap_only).await);
        let e = get_wrapped(&mut conn, &target, under(&wrap_only), Some(EncodingOption::NO_ENCODING))
            .await
            .expect_err("wrapped under a distrusted key");
        assert_eq!(reason(&e), Some(ResultReason::SENSITIVE), "{e}");
    }
}
