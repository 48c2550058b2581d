//! EC private keys registered as ECPrivateKey (SEC1 DER, RFC 5915), as CS-AC-M-3-ECC registers
//! its key: a P-256 key made by `openssl`, whose Cryptographic Parameters name only ECDSA, signs
//! (the server takes SHA-256, the hash of the curve's strength) and `openssl` verifies the
//! signature; the server's own Signature Verify agrees. The secp256k1 key of CS-AC-M-3-ECC is
//! stored but signs nothing: the answer names the curve as the reason.

use kmip_codec::enums::{CryptographicAlgorithm, KeyFormatType, ResultReason, ValidityIndicator};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, CryptographicParameters, RequestPayload,
    ResponsePayload, SignatureVerifyRequest,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;

use crate::asymmetric::{MESSAGE, SIGN, VERIFY, key_object, openssl};

/// The attributes CS-AC-M-3-ECC registers its keys with: a usage mask and Cryptographic
/// Parameters that name only ECDSA.
fn ecdsa_attributes(mask: kmip_codec::enums::CryptographicUsageMask) -> Attributes {
    let mut a = Attributes::new().with(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeValue::Integer(i32::from_be_bytes(mask.0.to_be_bytes())),
    );
    a.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_PARAMETERS,
        AttributeValue::CryptographicParameters(Box::new(CryptographicParameters {
            cryptographic_algorithm: Some(CryptographicAlgorithm::ECDSA),
            ..CryptographicParameters::default()
        })),
    ));
    a
}

/// Sign of the message with `uid`, naming no parameters (the key's own say only ECDSA).
async fn sign(conn: &mut client::Connection, uid: &str) -> Result<Vec<u8>, client::ClientError> {
    crate::asymmetric::sign_with(conn, uid, None, MESSAGE).await
}

kms_tests::server_test! {
    async fn a_registered_sec1_p256_key_signs_verifiably_and_secp256k1_is_refused(server) {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            kms_tests::softhsm::skip("no openssl binary to make the registered keys");
            return;
        }
        let mut conn = server
            .client("acme")
            .expect("client")
            .connect()
            .await
            .expect("connect");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name).to_str().expect("path").to_owned();
        let (sec1, spki) = (path("p256.der"), path("p256-pub.der"));
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-outform", "DER", "-out", &sec1]);
        openssl(&["ec", "-inform", "DER", "-in", &sec1, "-pubout", "-outform", "DER", "-out", &spki]);
        let sec1_der = std::fs::read(&sec1).expect("SEC1 key");
        let spki_der = std::fs::read(&spki).expect("public key");
        let private = conn
            .register(
                key_object(true, KeyFormatType::ECPRIVATEKEY, &sec1_der, Some((CryptographicAlgorithm::EC, 256))),
                ecdsa_attributes(SIGN),
            )
            .await
            .expect("register the SEC1 private key");
        let public = conn
            .register(
                key_object(false, KeyFormatType::X_509, &spki_der, Some((CryptographicAlgorithm::EC, 256))),
                ecdsa_attributes(VERIFY),
            )
            .await
            .expect("register the public key");
        conn.activate(&private).await.expect("activate");
        conn.activate(&public).await.expect("activate");

        let signature = sign(&mut conn, &private).await.expect("sign with the registered key");
        let (msg, sig) = (path("msg.bin"), path("sig.bin"));
        std::fs::write(&msg, MESSAGE).expect("message file");
        std::fs::write(&sig, &signature).expect("signature file");
        let said = openssl(&["dgst", "-sha256", "-keyform", "DER", "-verify", &spki, "-signature", &sig, &msg]);
        assert!(String::from_utf8_lossy(&said).contains("Verified OK"), "openssl: {}", String::from_utf8_lossy(&said));
        let verify = |data: &'static [u8]| SignatureVerifyRequest {
            unique_identifier: Some(public.clone()),
            data: Some(Bytes::from(data)),
            signature_data: Some(Bytes::from(signature.as_slice())),
            ..SignatureVerifyRequest::default()
        };
        for (data, want) in [(MESSAGE, ValidityIndicator::VALID), (&b"another message"[..], ValidityIndicator::INVALID)] {
            let r = conn
                .call(RequestPayload::SignatureVerify(verify(data)), |p| match p {
                    ResponsePayload::SignatureVerify(r) => Some(r),
                    _ => None,
                })
                .await
                .expect("verify");
            assert_eq!(r.validity_indicator, want);
        }

        // CS-AC-M-3-ECC's own key: secp256k1 (OID 1.3.132.0.10), not P-256.
        let k1 = hex::decode("30740201010420db4d128c30ca309e62c4019758c00ba244dd64d9bf52a31078866b8a00c19c68a00706052b8104000aa14403420004dab5d3c253113db414abfc1c0ebf5a02559e656aa1c8b0aa8d870aa0324cda4899925ea1e6dbc259a6c7825cf46592ac7594cc40bd604b728d88b636f317d366").expect("hex");
        let k1_key = conn
            .register(
                key_object(true, KeyFormatType::ECPRIVATEKEY, &k1, Some((CryptographicAlgorithm::EC, 256))),
                ecdsa_attributes(SIGN),
            )
            .await
            .expect("a key of another curve is stored as given");
        conn.activate(&k1_key).await.expect("activate");
        let e = sign(&mut conn, &k1_key).await.expect_err("secp256k1 signs nothing");
        // Unsupported Cryptographic Parameters, which the client's 1.4 gets as Feature Not
        // Supported (the version filter), with the reason in the message.
        assert_eq!(e.result_reason(), Some(ResultReason::FEATURE_NOT_SUPPORTED), "{e}");
        assert!(e.to_string().contains("elliptic curve not supported"), "{e}");
    }
}
