//! Asymmetric keys end to end (issue 18): Create Key Pair (RSA 2048 / 3072 / 4096, EC P-256 /
//! P-384) over real TLS against a real server on a real SoftHSM token; the two objects linked
//! both ways; Get of both keys in every format the server converts to; Sign by the server
//! checked by an independent verifier (ring), Signature Verify answering Valid and, for a
//! tampered message, Invalid; usage masks enforced; the pair written atomically; the private key
//! sealed at rest.

use client::{ClientError, Connection};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm, HashingAlgorithm,
    KeyFormatType, LinkType, ObjectType, PaddingMethod, RecommendedCurve, ResultReason,
    ValidityIndicator,
};
use kmip_codec::model::{
    AttributeName, AttributeValue, Attributes, CreateKeyPairRequest, CreateKeyPairResponse,
    CryptographicParameters, KeyMaterial, KeyPairAttributes, KeyValue, ManagedObject, Name, Object,
    RequestPayload, ResponsePayload, SignRequest, SignatureVerifyRequest, TemplateAttribute,
    TransparentKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

pub(crate) const MESSAGE: &[u8] = b"issue 18: a tenant leaves with its keys";

/// A key pair to make: the common attributes that name it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Spec {
    Rsa(i32),
    Ec(RecommendedCurve),
}

fn mask(m: CryptographicUsageMask) -> AttributeValue {
    AttributeValue::Integer(i32::from_be_bytes(m.0.to_be_bytes()))
}

fn template(attributes: Attributes) -> Option<TemplateAttribute> {
    Some(TemplateAttribute {
        names: Vec::new(),
        attributes,
    })
}

fn name(text: &str) -> AttributeValue {
    AttributeValue::Name(Name {
        value: text.to_owned(),
        name_type: kmip_codec::enums::NameType::UNINTERPRETED_TEXT_STRING,
    })
}

/// The Create Key Pair request for `spec`, with these usage masks and extra private / public
/// attributes.
pub(crate) fn request(
    spec: Spec,
    private_mask: CryptographicUsageMask,
    public_mask: CryptographicUsageMask,
    private_extra: Attributes,
    public_extra: Attributes,
) -> CreateKeyPairRequest {
    let common = match spec {
        Spec::Rsa(bits) => Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::RSA.0),
            )
            .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(bits)),
        Spec::Ec(curve) => Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::EC.0),
            )
            .with(Tag::RECOMMENDED_CURVE, AttributeValue::Enumeration(curve.0)),
    };
    let mut private = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(private_mask));
    private.0.extend(private_extra.0);
    let mut public = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(public_mask));
    public.0.extend(public_extra.0);
    CreateKeyPairRequest {
        attributes: KeyPairAttributes {
            common: template(common),
            private_key: template(private),
            public_key: template(public),
            ..KeyPairAttributes::default()
        },
    }
}

pub(crate) async fn create_pair(
    conn: &mut Connection,
    request: CreateKeyPairRequest,
) -> Result<CreateKeyPairResponse, ClientError> {
    conn.call(RequestPayload::CreateKeyPair(request), |p| match p {
        ResponsePayload::CreateKeyPair(r) => Some(r),
        _ => None,
    })
    .await
}

pub(crate) async fn sign(
    conn: &mut Connection,
    uid: &str,
    params: &CryptographicParameters,
    data: &[u8],
) -> Result<Vec<u8>, ClientError> {
    sign_with(conn, uid, Some(params.clone()), data).await
}

/// Sign of `data` with `uid`, naming `params` (`None`: the key's own or the server's default).
pub(crate) async fn sign_with(
    conn: &mut Connection,
    uid: &str,
    params: Option<CryptographicParameters>,
    data: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let request = SignRequest {
        unique_identifier: Some(uid.to_owned()),
        cryptographic_parameters: params,
        data: Some(Bytes::from(data)),
        ..SignRequest::default()
    };
    let r = conn
        .call(RequestPayload::Sign(request), |p| match p {
            ResponsePayload::Sign(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(r.signature_data
        .expect("signature data")
        .as_slice()
        .to_vec())
}

async fn verify(
    conn: &mut Connection,
    uid: &str,
    params: &CryptographicParameters,
    data: &[u8],
    signature: &[u8],
) -> Result<ValidityIndicator, ClientError> {
    let request = SignatureVerifyRequest {
        unique_identifier: Some(uid.to_owned()),
        cryptographic_parameters: Some(params.clone()),
        data: Some(Bytes::from(data)),
        signature_data: Some(Bytes::from(signature)),
        ..SignatureVerifyRequest::default()
    };
    let r = conn
        .call(RequestPayload::SignatureVerify(request), |p| match p {
            ResponsePayload::SignatureVerify(r) => Some(r),
            _ => None,
        })
        .await?;
    Ok(r.validity_indicator)
}

fn reason(e: &ClientError) -> Option<ResultReason> {
    match e {
        ClientError::Kmip { reason, .. } => *reason,
        _ => None,
    }
}

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

/// The key block's plain material of a Get in `format`.
async fn material(conn: &mut Connection, uid: &str, format: KeyFormatType) -> KeyMaterial {
    let got = conn.get(uid, Some(format)).await.expect("get");
    let block = match got
        .object
        .to_object(ProtocolVersion::V2_1)
        .expect("typed object")
    {
        Object::PublicKey(k) => k.key_block,
        Object::PrivateKey(k) => k.key_block,
        other => panic!("not an asymmetric key: {other:?}"),
    };
    assert_eq!(block.key_format_type, format, "the format asked");
    match block.key_value {
        Some(KeyValue::Plain { key_material, .. }) => key_material,
        other => panic!("no plain key value: {other:?}"),
    }
}

fn bytes(m: &KeyMaterial) -> Vec<u8> {
    m.bytes().expect("byte string material").as_slice().to_vec()
}

/// The Link of `uid` of `link_type`.
async fn link(conn: &mut Connection, uid: &str, link_type: LinkType) -> Option<String> {
    let attributes = conn
        .get_attributes(uid, vec![AttributeName::Standard(Tag::LINK)])
        .await
        .expect("get attributes");
    attributes.get_all(Tag::LINK).find_map(|v| match v {
        AttributeValue::Link(l) if l.link_type == link_type => {
            Some(l.linked_object_identifier.clone())
        }
        _ => None,
    })
}

pub(crate) const SIGN: CryptographicUsageMask = CryptographicUsageMask::SIGN;
pub(crate) const VERIFY: CryptographicUsageMask = CryptographicUsageMask::VERIFY;

kms_tests::server_test! {
    async fn key_pairs_are_made_linked_exported_and_sign_verifiably(server) {
        let mut conn = connect(server).await;
        let specs = [
            Spec::Rsa(2048),
            Spec::Rsa(3072),
            Spec::Rsa(4096),
            Spec::Ec(RecommendedCurve::P_256),
            Spec::Ec(RecommendedCurve::P_384),
        ];
        for spec in specs {
            let pair = create_pair(
                &mut conn,
                request(spec, SIGN, VERIFY, Attributes::new(), Attributes::new()),
            )
            .await
            .unwrap_or_else(|e| panic!("{spec:?}: create key pair: {e}"));
            let (private, public) = (
                pair.private_key_unique_identifier.clone(),
                pair.public_key_unique_identifier.clone(),
            );
            assert_eq!(link(&mut conn, &private, LinkType::PUBLIC_KEY_LINK).await.as_deref(), Some(public.as_str()), "{spec:?}");
            assert_eq!(link(&mut conn, &public, LinkType::PRIVATE_KEY_LINK).await.as_deref(), Some(private.as_str()), "{spec:?}");
            let attrs = conn.get_attributes(&public, Vec::new()).await.expect("attributes");
            let (algorithm, length) = match spec {
                Spec::Rsa(bits) => (CryptographicAlgorithm::RSA, bits),
                Spec::Ec(c) if c == RecommendedCurve::P_256 => (CryptographicAlgorithm::EC, 256),
                Spec::Ec(_) => (CryptographicAlgorithm::EC, 384),
            };
            assert_eq!(attrs.cryptographic_algorithm(), Some(algorithm), "{spec:?}");
            assert_eq!(attrs.cryptographic_length(), Some(length), "{spec:?}");
            assert_eq!(attrs.object_type(), Some(ObjectType::PUBLIC_KEY), "{spec:?}");

            // The default formats: PKCS#8 and SubjectPublicKeyInfo (X.509).
            let got = conn.get(&private, None).await.expect("get private");
            assert_eq!(got.object.object_type(), ObjectType::PRIVATE_KEY);
            let pkcs8 = bytes(&material(&mut conn, &private, KeyFormatType::PKCS8).await);
            let spki = bytes(&material(&mut conn, &public, KeyFormatType::X_509).await);
            assert_eq!(pkcs8.first(), Some(&0x30), "{spec:?}: PKCS#8 is DER");
            assert_eq!(spki.first(), Some(&0x30), "{spec:?}: SPKI is DER");

            // Nothing of the private key is stored in clear.
            let record = server.kms().store().object(&private).expect("store").expect("record");
            let sealed = record.material.as_ref().expect("material").sealed.to_bytes();
            assert!(
                !sealed.windows(32).any(|w| pkcs8.windows(32).any(|p| p == w)),
                "{spec:?}: the stored blob holds part of the PKCS#8 key in clear"
            );

            conn.activate(&private).await.expect("activate private");
            conn.activate(&public).await.expect("activate public");
            let params = match spec {
                Spec::Rsa(_) => CryptographicParameters {
                    cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
                    padding_method: Some(PaddingMethod::PSS),
                    hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                    ..CryptographicParameters::default()
                },
                Spec::Ec(c) if c == RecommendedCurve::P_256 => CryptographicParameters {
                    digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA256),
                    ..CryptographicParameters::default()
                },
                Spec::Ec(_) => CryptographicParameters {
                    digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA384),
                    ..CryptographicParameters::default()
                },
            };
            let signature = sign(&mut conn, &private, &params, MESSAGE).await.expect("sign");

            // An independent verifier (ring) over the exported public key.
            match spec {
                Spec::Rsa(_) => {
                    let pkcs1 = bytes(&material(&mut conn, &public, KeyFormatType::PKCS1).await);
                    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PSS_2048_8192_SHA256, &pkcs1)
                        .verify(MESSAGE, &signature)
                        .unwrap_or_else(|_| panic!("{spec:?}: ring rejects the server's RSA-PSS signature"));
                    // PKCS#1 v1.5 too.
                    let v15 = CryptographicParameters {
                        digital_signature_algorithm: Some(DigitalSignatureAlgorithm::SHA_256_WITH_RSA_ENCRYPTION),
                        ..CryptographicParameters::default()
                    };
                    let s = sign(&mut conn, &private, &v15, MESSAGE).await.expect("sign v1.5");
                    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &pkcs1)
                        .verify(MESSAGE, &s)
                        .unwrap_or_else(|_| panic!("{spec:?}: ring rejects the server's PKCS#1 v1.5 signature"));
                    assert_eq!(verify(&mut conn, &public, &v15, MESSAGE, &s).await.expect("verify"), ValidityIndicator::VALID);
                    // The private key in PKCS#1 and Transparent RSA agrees with the public key.
                    let t = material(&mut conn, &private, KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY).await;
                    let Ok(Some(TransparentKey::RsaPrivate(t))) = t.transparent(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY) else {
                        panic!("{spec:?}: not a transparent RSA private key");
                    };
                    let tp = material(&mut conn, &public, KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY).await;
                    let Ok(Some(TransparentKey::RsaPublic(tp))) = tp.transparent(KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY) else {
                        panic!("{spec:?}: not a transparent RSA public key");
                    };
                    assert_eq!(t.modulus.as_slice(), tp.modulus.as_slice(), "{spec:?}: modulus");
                    let der1 = bytes(&material(&mut conn, &private, KeyFormatType::PKCS1).await);
                    assert_eq!(der1.first(), Some(&0x30));
                    // An EC format of an RSA key is refused with the KMIP reason.
                    let e = conn.get(&private, Some(KeyFormatType::ECPRIVATEKEY)).await.expect_err("EC format of an RSA key");
                    assert_eq!(reason(&e), Some(ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED), "{e}");
                }
                Spec::Ec(curve) => {
                    let format = KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY;
                    let t = material(&mut conn, &public, format).await;
                    let Ok(Some(TransparentKey::EcPublic(t))) = t.transparent(format) else {
                        panic!("{spec:?}: not a transparent EC public key");
                    };
                    assert_eq!(t.recommended_curve, curve);
                    let alg = if curve == RecommendedCurve::P_256 {
                        &ring::signature::ECDSA_P256_SHA256_ASN1
                    } else {
                        &ring::signature::ECDSA_P384_SHA384_ASN1
                    };
                    ring::signature::UnparsedPublicKey::new(alg, t.q_string.as_slice())
                        .verify(MESSAGE, &signature)
                        .unwrap_or_else(|_| panic!("{spec:?}: ring rejects the server's ECDSA signature"));
                    let sec1 = bytes(&material(&mut conn, &private, KeyFormatType::ECPRIVATEKEY).await);
                    assert_eq!(sec1.first(), Some(&0x30));
                    let e = conn.get(&private, Some(KeyFormatType::PKCS1)).await.expect_err("PKCS#1 of an EC key");
                    assert_eq!(reason(&e), Some(ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED), "{e}");
                }
            }

            assert_eq!(
                verify(&mut conn, &public, &params, MESSAGE, &signature).await.expect("verify"),
                ValidityIndicator::VALID,
                "{spec:?}"
            );
            // A wrong signature is an answer (Invalid), not an error.
            assert_eq!(
                verify(&mut conn, &public, &params, b"another message", &signature).await.expect("verify"),
                ValidityIndicator::INVALID,
                "{spec:?}"
            );
            let mut bad = signature.clone();
            if let Some(last) = bad.last_mut() {
                *last ^= 1;
            }
            assert_eq!(
                verify(&mut conn, &public, &params, MESSAGE, &bad).await.expect("verify"),
                ValidityIndicator::INVALID,
                "{spec:?}"
            );
        }
    }
}

kms_tests::server_test! {
    async fn key_pair_refusals_usage_masks_and_atomicity(server) {
        let mut conn = connect(server).await;
        let ec = Spec::Ec(RecommendedCurve::P_256);
        let params = CryptographicParameters {
            digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA256),
            ..CryptographicParameters::default()
        };

        // Usage masks: a private key without Sign does not sign; a public key without Verify
        // does not verify; a public key never signs.
        let pair = create_pair(
            &mut conn,
            request(ec, CryptographicUsageMask::DECRYPT, CryptographicUsageMask::ENCRYPT, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("create");
        conn.activate(&pair.private_key_unique_identifier).await.expect("activate");
        conn.activate(&pair.public_key_unique_identifier).await.expect("activate");
        let e = sign(&mut conn, &pair.private_key_unique_identifier, &params, MESSAGE).await.expect_err("sign without Sign");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        let e = verify(&mut conn, &pair.public_key_unique_identifier, &params, MESSAGE, &[0x30, 0]).await.expect_err("verify without Verify");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");

        let good = create_pair(&mut conn, request(ec, SIGN, VERIFY, Attributes::new(), Attributes::new())).await.expect("create");
        // Not yet Active: Wrong Key Lifecycle State.
        let e = sign(&mut conn, &good.private_key_unique_identifier, &params, MESSAGE).await.expect_err("sign before activation");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");
        conn.activate(&good.private_key_unique_identifier).await.expect("activate");
        conn.activate(&good.public_key_unique_identifier).await.expect("activate");
        let e = sign(&mut conn, &good.public_key_unique_identifier, &params, MESSAGE).await.expect_err("sign with a public key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        // An RSA scheme with an EC key.
        let pss = CryptographicParameters {
            cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
            padding_method: Some(PaddingMethod::PSS),
            hashing_algorithm: Some(HashingAlgorithm::SHA_256),
            ..CryptographicParameters::default()
        };
        let e = sign(&mut conn, &good.private_key_unique_identifier, &pss, MESSAGE).await.expect_err("RSA-PSS with an EC key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");

        // Sizes and curves the server does not make.
        for (spec, expected) in [
            (Spec::Rsa(1024), ResultReason::INVALID_FIELD),
            (Spec::Rsa(2047), ResultReason::INVALID_FIELD),
            (Spec::Ec(RecommendedCurve::P_521), ResultReason::UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS),
        ] {
            let e = create_pair(&mut conn, request(spec, SIGN, VERIFY, Attributes::new(), Attributes::new()))
                .await
                .expect_err("refused size");
            assert_eq!(reason(&e), Some(expected), "{spec:?}: {e}");
        }

        // Atomic: the public key's Name is taken, so neither object is made (the private
        // key's Name stays free).
        conn.register(
            ManagedObject::OpaqueObject(kmip_codec::model::OpaqueObject {
                opaque_data_type: kmip_codec::enums::OpaqueDataType(0x8000_0001),
                opaque_data_value: Bytes::from(&b"taken"[..]),
            }),
            Attributes::new().with(Tag::NAME, name("pair-public")),
        )
        .await
        .expect("register the name holder");
        let e = create_pair(
            &mut conn,
            request(
                ec,
                SIGN,
                VERIFY,
                Attributes::new().with(Tag::NAME, name("pair-private")),
                Attributes::new().with(Tag::NAME, name("pair-public")),
            ),
        )
        .await
        .expect_err("name clash");
        assert_eq!(reason(&e), Some(ResultReason::NON_UNIQUE_NAME_ATTRIBUTE), "{e}");
        let found = conn
            .locate(Attributes::new().with(Tag::NAME, name("pair-private")), None, None)
            .await
            .expect("locate")
            .unique_identifiers;
        assert!(found.is_empty(), "half a key pair was stored: {found:?}");
        // With the clash gone the same request succeeds, and both are found by Name.
        let ok = create_pair(
            &mut conn,
            request(
                ec,
                SIGN,
                VERIFY,
                Attributes::new().with(Tag::NAME, name("pair-private")),
                Attributes::new().with(Tag::NAME, name("pair-public-2")),
            ),
        )
        .await
        .expect("create with free names");
        let found = conn
            .locate(Attributes::new().with(Tag::NAME, name("pair-private")), None, None)
            .await
            .expect("locate")
            .unique_identifiers;
        assert_eq!(found, vec![ok.private_key_unique_identifier.clone()]);
    }
}

/// RSA-OAEP parameters with `hash` for the message and MGF1.
fn oaep(hash: HashingAlgorithm) -> CryptographicParameters {
    CryptographicParameters {
        cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
        padding_method: Some(PaddingMethod::OAEP),
        hashing_algorithm: Some(hash),
        mask_generator: Some(kmip_codec::enums::MaskGenerator::MGF1),
        mask_generator_hashing_algorithm: Some(hash),
        ..CryptographicParameters::default()
    }
}

/// Runs `openssl pkeyutl` with `args` on `input`; its output.
fn openssl_pkeyutl(dir: &std::path::Path, args: &[&str], input: &[u8]) -> Vec<u8> {
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

kms_tests::server_test! {
    async fn rsa_oaep_round_trips_with_openssl_and_honours_usage_masks(server) {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to check RSA-OAEP against");
            return;
        }
        let mut conn = connect(server).await;
        let pair = create_pair(
            &mut conn,
            request(
                Spec::Rsa(2048),
                CryptographicUsageMask::DECRYPT,
                CryptographicUsageMask::ENCRYPT,
                Attributes::new(),
                Attributes::new(),
            ),
        )
        .await
        .expect("create");
        let (private, public) = (pair.private_key_unique_identifier, pair.public_key_unique_identifier);
        conn.activate(&private).await.expect("activate");
        conn.activate(&public).await.expect("activate");
        let dir = tempfile::tempdir().expect("temp dir");
        let key_file = dir.path().join("private.der");
        std::fs::write(&key_file, bytes(&material(&mut conn, &private, KeyFormatType::PKCS8).await)).expect("key file");
        let pub_file = dir.path().join("public.der");
        std::fs::write(&pub_file, bytes(&material(&mut conn, &public, KeyFormatType::X_509).await)).expect("pub file");
        let key = key_file.to_str().expect("path");
        let pubkey = pub_file.to_str().expect("path");

        for (hash, md) in [(HashingAlgorithm::SHA_256, "sha256"), (HashingAlgorithm::SHA_1, "sha1")] {
            let md_opt = format!("rsa_oaep_md:{md}");
            let mgf_opt = format!("rsa_mgf1_md:{md}");
            // The server encrypts, openssl decrypts with the exported private key.
            let ct = conn
                .encrypt(&public, Bytes::from(MESSAGE), client::CipherOptions { parameters: Some(oaep(hash)), ..client::CipherOptions::default() })
                .await
                .expect("server encrypts")
                .data
                .expect("ciphertext");
            assert_eq!(ct.as_slice().len(), 256);
            let plain = openssl_pkeyutl(
                dir.path(),
                &["-decrypt", "-inkey", key, "-keyform", "DER", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", &md_opt, "-pkeyopt", &mgf_opt],
                ct.as_slice(),
            );
            assert_eq!(plain, MESSAGE, "{md}: openssl decrypts the server's ciphertext");
            // openssl encrypts with the exported public key, the server decrypts.
            let ct = openssl_pkeyutl(
                dir.path(),
                &["-encrypt", "-pubin", "-inkey", pubkey, "-keyform", "DER", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", &md_opt, "-pkeyopt", &mgf_opt],
                MESSAGE,
            );
            let plain = conn
                .decrypt(&private, Bytes::new(ct.clone()), client::CipherOptions { parameters: Some(oaep(hash)), ..client::CipherOptions::default() })
                .await
                .expect("server decrypts");
            assert_eq!(plain.as_slice(), MESSAGE, "{md}: the server decrypts openssl's ciphertext");
            // A damaged ciphertext is a Cryptographic Failure, nothing more.
            let mut bad = ct;
            bad[100] ^= 1;
            let e = conn
                .decrypt(&private, Bytes::new(bad), client::CipherOptions { parameters: Some(oaep(hash)), ..client::CipherOptions::default() })
                .await
                .expect_err("damaged ciphertext");
            assert_eq!(reason(&e), Some(ResultReason::CRYPTOGRAPHIC_FAILURE), "{e}");
        }
        // Usage masks: the public key cannot decrypt, the private key lacks Encrypt.
        let e = conn
            .decrypt(&public, Bytes::new(vec![0; 256]), client::CipherOptions { parameters: Some(oaep(HashingAlgorithm::SHA_256)), ..client::CipherOptions::default() })
            .await
            .expect_err("decrypt with a public key");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
        let e = conn
            .encrypt(&private, Bytes::from(MESSAGE), client::CipherOptions { parameters: Some(oaep(HashingAlgorithm::SHA_256)), ..client::CipherOptions::default() })
            .await
            .expect_err("encrypt with a private key without Encrypt");
        assert_eq!(reason(&e), Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK), "{e}");
    }
}

/// Runs `openssl` with `args`; its standard output (panics when it fails).
pub(crate) fn openssl(args: &[&str]) -> Vec<u8> {
    openssl_in(None, args)
}

/// As [`openssl`], run in `dir` when given.
pub(crate) fn openssl_in(dir: Option<&std::path::Path>, args: &[&str]) -> Vec<u8> {
    let mut command = std::process::Command::new("openssl");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.args(args).output().expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A Public or Private Key object with byte-string material in `format`, and optionally the
/// Key Block's algorithm and length.
pub(crate) fn key_object(
    private: bool,
    format: KeyFormatType,
    der: &[u8],
    declared: Option<(CryptographicAlgorithm, i32)>,
) -> ManagedObject {
    let key_block = kmip_codec::model::KeyBlock {
        key_format_type: format,
        key_compression_type: None,
        key_value: Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(Bytes::from(der)),
            attributes: Attributes::new(),
        }),
        cryptographic_algorithm: declared.map(|d| d.0),
        cryptographic_length: declared.map(|d| d.1),
        key_wrapping_data: None,
    };
    let object = if private {
        Object::PrivateKey(kmip_codec::model::PrivateKey { key_block })
    } else {
        Object::PublicKey(kmip_codec::model::PublicKey { key_block })
    };
    ManagedObject::from_object(object, ProtocolVersion::V2_1)
}

kms_tests::server_test! {
    async fn registered_keys_are_parsed_checked_converted_and_used(server) {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to make the registered keys");
            return;
        }
        let mut conn = connect(server).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).to_str().expect("path").to_owned();
        let (priv_der, msg, sig) = (path("priv.der"), path("msg.bin"), path("sig.bin"));
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-outform", "DER", "-out", &priv_der]);
        // (genpkey's DER is PKCS#1 in some OpenSSL versions: PKCS#8 explicitly.)
        let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", &priv_der, "-outform", "DER"]);
        let spki = openssl(&["pkey", "-in", &priv_der, "-inform", "DER", "-pubout", "-outform", "DER"]);
        let pkcs1 = openssl(&["rsa", "-in", &priv_der, "-inform", "DER", "-traditional", "-outform", "DER"]);

        // Registered without algorithm or length: both come from the parsed key.
        let sign_mask = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(SIGN));
        let private = conn
            .register(key_object(true, KeyFormatType::PKCS8, &pkcs8, None), sign_mask)
            .await
            .expect("register the private key");
        let verify_mask = Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(VERIFY));
        let public = conn
            .register(key_object(false, KeyFormatType::X_509, &spki, None), verify_mask)
            .await
            .expect("register the public key");
        let attrs = conn.get_attributes(&private, Vec::new()).await.expect("attributes");
        assert_eq!(attrs.cryptographic_algorithm(), Some(CryptographicAlgorithm::RSA));
        assert_eq!(attrs.cryptographic_length(), Some(2048));

        // Get: as registered, and converted (PKCS#8 -> PKCS#1 equals openssl's).
        assert_eq!(bytes(&material(&mut conn, &private, KeyFormatType::PKCS8).await), pkcs8);
        assert_eq!(bytes(&material(&mut conn, &private, KeyFormatType::PKCS1).await), pkcs1);

        // The server signs with the registered key; openssl verifies with the public key.
        conn.activate(&private).await.expect("activate");
        conn.activate(&public).await.expect("activate");
        let v15 = CryptographicParameters {
            digital_signature_algorithm: Some(DigitalSignatureAlgorithm::SHA_256_WITH_RSA_ENCRYPTION),
            ..CryptographicParameters::default()
        };
        let signature = sign(&mut conn, &private, &v15, MESSAGE).await.expect("sign");
        std::fs::write(&msg, MESSAGE).expect("message file");
        std::fs::write(&sig, &signature).expect("signature file");
        let pub_der = path("pub.der");
        std::fs::write(&pub_der, &spki).expect("public key file");
        let said = openssl(&["dgst", "-sha256", "-keyform", "DER", "-verify", &pub_der, "-signature", &sig, &msg]);
        assert!(String::from_utf8_lossy(&said).contains("Verified OK"), "openssl: {}", String::from_utf8_lossy(&said));
        assert_eq!(verify(&mut conn, &public, &v15, MESSAGE, &signature).await.expect("verify"), ValidityIndicator::VALID);

        // Refused at Register: malformed, a length or algorithm the key contradicts.
        for (object, what) in [
            (key_object(true, KeyFormatType::PKCS8, &pkcs8[..pkcs8.len() - 7], None), "truncated PKCS#8"),
            (key_object(true, KeyFormatType::PKCS1, &pkcs8, None), "PKCS#8 bytes named PKCS#1"),
            (key_object(true, KeyFormatType::PKCS8, &pkcs8, Some((CryptographicAlgorithm::RSA, 4096))), "wrong length"),
            (key_object(false, KeyFormatType::X_509, &spki, Some((CryptographicAlgorithm::EC, 2048))), "wrong algorithm"),
        ] {
            let e = conn.register(object, Attributes::new()).await.expect_err(what);
            assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{what}: {e}");
        }

        // An RSA-1024 key is stored as given (the Baseline profile registers such keys) but
        // the server does no cryptography with it.
        let small = path("small.der");
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-outform", "DER", "-out", &small]);
        let small_der = openssl(&["pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", &small, "-outform", "DER"]);
        let weak = conn
            .register(key_object(true, KeyFormatType::PKCS8, &small_der, None), Attributes::new().with(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask(SIGN)))
            .await
            .expect("register RSA-1024");
        conn.activate(&weak).await.expect("activate");
        let e = sign(&mut conn, &weak, &v15, MESSAGE).await.expect_err("sign with RSA-1024");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
    }
}

kms_tests::server_test! {
    async fn certificates_are_checked_and_their_x509_identity_derived(server) {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to read the certificate's serial");
            return;
        }
        let mut conn = connect(server).await;
        let made = rcgen::generate_simple_self_signed(vec!["kms.test".to_owned()]).expect("certificate");
        let der = made.cert.der().to_vec();
        let certificate = |value: Vec<u8>| {
            ManagedObject::from_object(
                Object::Certificate(kmip_codec::model::Certificate {
                    certificate_type: kmip_codec::enums::CertificateType::X_509,
                    certificate_value: value,
                }),
                ProtocolVersion::V2_1,
            )
        };
        let uid = conn.register(certificate(der.clone()), Attributes::new()).await.expect("register");
        let attrs = conn.get_attributes(&uid, Vec::new()).await.expect("attributes");
        let (Some(AttributeValue::X509CertificateIdentifier(id)), Some(AttributeValue::X509CertificateSubject(subject)), Some(AttributeValue::X509CertificateIssuer(issuer))) = (
            attrs.get(Tag::X_509_CERTIFICATE_IDENTIFIER),
            attrs.get(Tag::X_509_CERTIFICATE_SUBJECT),
            attrs.get(Tag::X_509_CERTIFICATE_ISSUER),
        ) else {
            panic!("X.509 identity attributes missing: {attrs:?}");
        };
        // Self-signed: issuer = subject; the serial is the one openssl reads.
        assert_eq!(subject.subject_distinguished_name, issuer.issuer_distinguished_name);
        assert_eq!(id.issuer_distinguished_name, issuer.issuer_distinguished_name);
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cert.der");
        std::fs::write(&file, &der).expect("certificate file");
        let said = openssl(&["x509", "-inform", "DER", "-in", file.to_str().expect("path"), "-noout", "-serial"]);
        let said = String::from_utf8_lossy(&said);
        let serial_hex = said.trim().trim_start_matches("serial=").to_ascii_lowercase();
        let ours: String = id.certificate_serial_number.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours.trim_start_matches('0'), serial_hex.trim_start_matches('0'), "serial");
        // Get returns exactly the registered certificate.
        let got = conn.get(&uid, None).await.expect("get");
        let Object::Certificate(c) = got.object.to_object(ProtocolVersion::V2_1).expect("typed") else {
            panic!("not a certificate");
        };
        assert_eq!(c.certificate_value, der);
        // A trailing byte, or not a certificate at all, is refused.
        let mut trailing = der.clone();
        trailing.push(0);
        for (value, what) in [(trailing, "trailing byte"), (b"not a certificate".to_vec(), "garbage")] {
            let e = conn.register(certificate(value), Attributes::new()).await.expect_err(what);
            assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{what}: {e}");
        }
    }
}
