//! Derive Key (issue 19) over real TLS against a real server on a real SoftHSM token, each
//! method checked against its published test vector through the whole path (base object
//! registered, derived object read back with Get): HKDF (RFC 5869 A.1), PBKDF2 (RFC 6070, from
//! a Secret Data password and from Derivation Data), NIST SP 800-108 counter mode (CAVP
//! KBKDF, HMAC-SHA256, counter before the fixed input); the links both ways; and the refusals
//! with their KMIP reasons (usage mask, state, another tenant's base, methods and lengths not
//! offered, missing parameters, several bases), nothing stored by a refusal.

use client::{ClientError, Connection};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DerivationMethod, HashingAlgorithm, LinkType,
    ObjectType, ResultReason,
};
use kmip_codec::model::{
    AttributeName, AttributeValue, Attributes, CryptographicParameters, DerivationParameters,
    DeriveKeyRequest, KeyValue, ManagedObject, RequestPayload, ResponsePayload,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kms_tests::testbed::key_bytes;

use crate::wrapped_keys::{connect_as, reason, register_plain};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

/// Registers `bytes` as an active Secret Data (a password) with `usage`.
async fn register_secret(
    conn: &mut Connection,
    bytes: &[u8],
    usage: CryptographicUsageMask,
) -> String {
    let object = crate::pull::secret(bytes);
    let attributes = Attributes::new().with(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeValue::Integer(usage.0 as i32),
    );
    let uid = conn
        .register(object, attributes)
        .await
        .expect("register secret");
    conn.activate(&uid).await.expect("activate");
    uid
}

/// The material of a derived Secret Data.
async fn secret_bytes(conn: &mut Connection, uid: &str) -> Vec<u8> {
    match conn.get(uid, None).await.expect("get").object {
        ManagedObject::SecretData(s) => match s.key_block.key_value {
            Some(KeyValue::Plain { key_material, .. }) => {
                key_material.bytes().expect("bytes").as_slice().to_vec()
            }
            other => panic!("secret value {other:?}"),
        },
        other => panic!("not secret data: {other:?}"),
    }
}

fn params(hash: HashingAlgorithm) -> Option<CryptographicParameters> {
    Some(CryptographicParameters {
        hashing_algorithm: Some(hash),
        ..CryptographicParameters::default()
    })
}

fn secret_of(bits: i32) -> Attributes {
    Attributes::new().with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(bits))
}

fn aes_of(bits: i32) -> Attributes {
    Attributes::new()
        .with(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
        )
        .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(bits))
        .with(
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            AttributeValue::Integer(CryptographicUsageMask::ENCRYPT.0 as i32),
        )
}

fn request(
    object_type: ObjectType,
    base: &[&str],
    method: DerivationMethod,
    parameters: DerivationParameters,
    attributes: Attributes,
) -> DeriveKeyRequest {
    DeriveKeyRequest {
        object_type,
        unique_identifiers: base.iter().map(|u| (*u).to_owned()).collect(),
        derivation_method: method,
        derivation_parameters: parameters,
        attributes,
        template_names: Vec::new(),
    }
}

async fn derive(conn: &mut Connection, r: DeriveKeyRequest) -> Result<String, ClientError> {
    conn.call(RequestPayload::DeriveKey(r), |p| match p {
        ResponsePayload::DeriveKey(r) => Some(r.unique_identifier),
        _ => None,
    })
    .await
}

/// The targets of `uid`'s Links of `link_type`.
async fn links(conn: &mut Connection, uid: &str, link_type: LinkType) -> Vec<String> {
    let got = conn
        .get_attributes(uid, vec![AttributeName::Standard(Tag::LINK)])
        .await
        .expect("links");
    got.get_all(Tag::LINK)
        .filter_map(|v| match v {
            AttributeValue::Link(l) if l.link_type == link_type => {
                Some(l.linked_object_identifier.clone())
            }
            _ => None,
        })
        .collect()
}

kms_tests::server_test! {
    async fn each_derivation_method_gives_its_published_vector(server) {
        let mut conn = connect_as(server, "acme").await;
        let derive_mask = CryptographicUsageMask::DERIVE_KEY;

        // HKDF, RFC 5869 A.1: IKM 0x0b x 22, salt 00..0c, info f0..f9, L = 42.
        let ikm = register_secret(&mut conn, &[0x0b; 22], derive_mask).await;
        let hkdf = derive(&mut conn, request(
            ObjectType::SECRET_DATA,
            &[&ikm],
            DerivationMethod::HKDF,
            DerivationParameters {
                cryptographic_parameters: params(HashingAlgorithm::SHA_256),
                derivation_data: vec![Bytes::from((0xf0..=0xf9).collect::<Vec<u8>>().as_slice())],
                salt: Some((0x00..=0x0c).collect()),
                ..DerivationParameters::default()
            },
            secret_of(42 * 8),
        )).await.expect("HKDF");
        assert_eq!(
            secret_bytes(&mut conn, &hkdf).await,
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
            "RFC 5869 A.1"
        );
        assert_eq!(links(&mut conn, &hkdf, LinkType::DERIVATION_BASE_OBJECT_LINK).await, vec![ikm.clone()]);
        assert_eq!(links(&mut conn, &ikm, LinkType::DERIVED_KEY_LINK).await, vec![hkdf.clone()]);

        // PBKDF2-HMAC-SHA1, RFC 6070: "password", "salt", 4096 iterations, 20 bytes.
        let pbkdf2 = |base: &str, data: Vec<Bytes>| request(
            ObjectType::SECRET_DATA,
            &[base],
            DerivationMethod::PBKDF2,
            DerivationParameters {
                cryptographic_parameters: params(HashingAlgorithm::SHA_1),
                derivation_data: data,
                salt: Some(b"salt".to_vec()),
                iteration_count: Some(4096),
                ..DerivationParameters::default()
            },
            secret_of(160),
        );
        let want = hex("4b007901b765489abead49d926f721d065a429c1");
        let password = register_secret(&mut conn, b"password", derive_mask).await;
        let from_secret = derive(&mut conn, pbkdf2(&password, Vec::new())).await.expect("PBKDF2 from a Secret Data");
        assert_eq!(secret_bytes(&mut conn, &from_secret).await, want, "RFC 6070, password in a Secret Data");
        let key = register_plain(&mut conn, &[0x77; 32], derive_mask).await;
        let from_data = derive(&mut conn, pbkdf2(&key, vec![Bytes::from(&b"password"[..])])).await.expect("PBKDF2 from Derivation Data");
        assert_eq!(secret_bytes(&mut conn, &from_data).await, want, "RFC 6070, password as Derivation Data");
        let both = derive(&mut conn, pbkdf2(&password, vec![Bytes::from(&b"password"[..])])).await.expect_err("both passwords");
        assert_eq!(reason(&both), Some(ResultReason::INVALID_FIELD), "{both}");

        // SP 800-108 counter mode, CAVP KBKDF HMAC_SHA256 BEFORE_FIXED RLEN=32 COUNT=0: an AES-128 key.
        let ki = register_plain(&mut conn, &hex("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0"), derive_mask).await;
        let kbkdf = derive(&mut conn, request(
            ObjectType::SYMMETRIC_KEY,
            &[&ki],
            DerivationMethod::NIST800_108_C,
            DerivationParameters {
                cryptographic_parameters: params(HashingAlgorithm::SHA_256),
                derivation_data: vec![Bytes::from(hex("01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac").as_slice())],
                ..DerivationParameters::default()
            },
            aes_of(128),
        )).await.expect("counter mode");
        assert_eq!(key_bytes(&mut conn, &kbkdf).await, hex("10621342bfb0fd40046c0e29f2cfdbf0"), "CAVP KBKDF COUNT=0");
    }
}

/// The objects `conn`'s tenant holds.
async fn count(conn: &mut Connection) -> usize {
    conn.locate(Attributes::new(), None, None)
        .await
        .expect("locate")
        .unique_identifiers
        .len()
}

kms_tests::server_test! {
    async fn derive_key_refusals_name_the_reason_and_store_nothing(server) {
        let mut conn = connect_as(server, "acme").await;
        let mut other = connect_as(server, "globex").await;
        let hkdf = |base: &str, attributes: Attributes| request(
            ObjectType::SYMMETRIC_KEY,
            &[base],
            DerivationMethod::HKDF,
            DerivationParameters {
                derivation_data: vec![Bytes::from(&b"info"[..])],
                ..DerivationParameters::default()
            },
            attributes,
        );
        let no_derive = register_plain(&mut conn, &[1; 32], CryptographicUsageMask::ENCRYPT).await;
        let base = register_plain(&mut conn, &[2; 32], CryptographicUsageMask::DERIVE_KEY).await;
        let before = count(&mut conn).await;

        let cases: Vec<(&str, DeriveKeyRequest, ResultReason)> = vec![
            ("no Derive Key in the usage mask", hkdf(&no_derive, aes_of(256)), ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK),
            ("AES of 100 bits", hkdf(&base, aes_of(100)), ResultReason::INVALID_FIELD),
            ("no length", hkdf(&base, Attributes::new().with(Tag::CRYPTOGRAPHIC_ALGORITHM, AttributeValue::Enumeration(CryptographicAlgorithm::AES.0))), ResultReason::MISSING_DATA),
            ("a length not in whole bytes", request(ObjectType::SECRET_DATA, &[&base], DerivationMethod::HKDF, DerivationParameters::default(), secret_of(100)), ResultReason::INVALID_FIELD),
            ("over the server's limit", request(ObjectType::SECRET_DATA, &[&base], DerivationMethod::HKDF, DerivationParameters::default(), secret_of(8 * 4096)), ResultReason::INVALID_FIELD),
            ("HASH method", request(ObjectType::SYMMETRIC_KEY, &[&base], DerivationMethod::HASH, DerivationParameters::default(), aes_of(256)), ResultReason::FEATURE_NOT_SUPPORTED),
            ("two bases", request(ObjectType::SYMMETRIC_KEY, &[&base, &base], DerivationMethod::HKDF, DerivationParameters::default(), aes_of(256)), ResultReason::FEATURE_NOT_SUPPORTED),
            ("PBKDF2 without a salt", request(ObjectType::SECRET_DATA, &[&base], DerivationMethod::PBKDF2, DerivationParameters { iteration_count: Some(4096), ..DerivationParameters::default() }, secret_of(256)), ResultReason::MISSING_DATA),
            ("PBKDF2 with 10 iterations", request(ObjectType::SECRET_DATA, &[&base], DerivationMethod::PBKDF2, DerivationParameters { salt: Some(b"salt".to_vec()), iteration_count: Some(10), ..DerivationParameters::default() }, secret_of(256)), ResultReason::INVALID_FIELD),
            ("a Public Key to be derived", request(ObjectType::PUBLIC_KEY, &[&base], DerivationMethod::HKDF, DerivationParameters::default(), secret_of(256)), ResultReason::INVALID_FIELD),
            ("counter mode with SHA-1", request(ObjectType::SECRET_DATA, &[&base], DerivationMethod::NIST800_108_C, DerivationParameters { cryptographic_parameters: params(HashingAlgorithm::SHA_1), ..DerivationParameters::default() }, secret_of(256)), ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS),
        ];
        for (what, r, want) in cases {
            let e = derive(&mut conn, r).await.expect_err(what);
            assert_eq!(reason(&e), Some(want), "{what}: {e}");
        }
        // Another tenant's base is answered exactly like a missing one.
        let foreign = derive(&mut other, hkdf(&base, aes_of(256))).await.expect_err("other tenant");
        let missing = derive(&mut other, hkdf("no-such-uid", aes_of(256))).await.expect_err("missing");
        assert_eq!(reason(&foreign), reason(&missing), "{foreign} / {missing}");
        assert_eq!(reason(&foreign), Some(ResultReason::OBJECT_NOT_FOUND), "2.1 names it Object Not Found");
        // A Pre-Active base.
        let idle = {
            let uid = register_plain(&mut conn, &[3; 32], CryptographicUsageMask::DERIVE_KEY).await;
            conn.revoke(&uid, kmip_codec::enums::RevocationReasonCode::CESSATION_OF_OPERATION, None).await.expect("revoke");
            uid
        };
        let e = derive(&mut conn, hkdf(&idle, aes_of(256))).await.expect_err("deactivated base");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");

        assert_eq!(count(&mut conn).await, before + 1, "no refusal stored anything (the one new object is the revoked base)");
    }
}
