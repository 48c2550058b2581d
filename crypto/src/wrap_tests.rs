//! Known answers: RFC 3394 section 4 (4.1 to 4.6), RFC 5649 section 6 (both examples); the
//! KMIP Encoding Option rule on the OASIS BL-M-3 (Transparent Symmetric Key) and CS-AC RSA key
//! values; RSA-OAEP wrapping with the CS-AC-M-OAEP keys.

use kmip_codec::enums::EncodingOption;
use kmip_codec::model::{Attribute, AttributeValue, Attributes};
use kmip_codec::version::ProtocolVersion;
use rand_chacha::rand_core::SeedableRng;

use super::*;
use crate::asymmetric::PrivateKeyFormat;
use crate::hash::HashAlgorithm;
use crate::oasis;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

const KEK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn rfc_3394_section_4() {
    let k128 = "00112233445566778899aabbccddeeff";
    let k192 = "00112233445566778899aabbccddeeff0001020304050607";
    let k256 = "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f";
    let cases = [
        (16, k128, "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"),
        (24, k128, "96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d"),
        (32, k128, "64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7"),
        (
            24,
            k192,
            "031d33264e15d33268f24ec260743edce1c6c7ddee725a936ba814915c6762d2",
        ),
        (
            32,
            k192,
            "a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1",
        ),
        (
            32,
            k256,
            "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
        ),
    ];
    for (kek_len, data, want) in cases {
        let kek = &hex(KEK)[..kek_len];
        let (data, want) = (hex(data), hex(want));
        assert_eq!(
            aes_key_wrap(kek, &data).expect("wrap"),
            want,
            "KEK {kek_len}"
        );
        assert_eq!(
            aes_key_unwrap(kek, &want).expect("unwrap").as_slice(),
            &data[..]
        );
        let mut bad = want.clone();
        bad[0] ^= 1;
        assert!(matches!(
            aes_key_unwrap(kek, &bad),
            Err(Error::DecryptionFailed)
        ));
    }
}

#[test]
fn rfc_5649_section_6() {
    let kek = hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    for (data, want) in [
        (
            "c37b7e6492584340bed12207808941155068f738",
            "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
        ),
        ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
    ] {
        let (data, want) = (hex(data), hex(want));
        assert_eq!(aes_key_wrap_padded(&kek, &data).expect("wrap"), want);
        assert_eq!(
            aes_key_unwrap_padded(&kek, &want)
                .expect("unwrap")
                .as_slice(),
            &data[..]
        );
        let mut bad = want.clone();
        bad[3] ^= 1;
        assert!(matches!(
            aes_key_unwrap_padded(&kek, &bad),
            Err(Error::DecryptionFailed)
        ));
    }
}

#[test]
fn malformed_wrap_inputs() {
    let kek = hex(KEK);
    assert!(matches!(
        aes_key_wrap(&kek[..15], &[0; 16]),
        Err(Error::BadLength {
            what: Input::SymmetricKey,
            ..
        })
    ));
    assert!(matches!(
        aes_key_wrap(&kek, &[0; 8]),
        Err(Error::BadLength {
            what: Input::WrapInput,
            ..
        })
    ));
    assert!(matches!(
        aes_key_wrap(&kek, &[0; 20]),
        Err(Error::BadLength {
            what: Input::WrapInput,
            ..
        })
    ));
    assert!(matches!(
        aes_key_unwrap(&kek, &[0; 16]),
        Err(Error::BadLength {
            what: Input::Wrapped,
            ..
        })
    ));
    assert!(matches!(
        aes_key_unwrap(&kek, &[0; 25]),
        Err(Error::BadLength { .. })
    ));
    assert!(matches!(
        aes_key_wrap_padded(&kek, &[]),
        Err(Error::BadLength { .. })
    ));
    assert!(matches!(
        aes_key_unwrap_padded(&kek, &[0; 8]),
        Err(Error::BadLength { .. })
    ));
    assert!(matches!(
        aes_key_wrap(&kek, &vec![0; MAX_WRAP_INPUT_LEN + 8]),
        Err(Error::TooLarge { .. })
    ));
    // Right sizes, wrong key: an integrity failure like any other.
    let wrapped = aes_key_wrap(&kek, &[7; 32]).expect("wrap");
    assert!(matches!(
        aes_key_unwrap(&kek[..16], &wrapped),
        Err(Error::DecryptionFailed)
    ));
}

#[test]
fn encoding_option_rule() {
    assert_eq!(
        WrapEncoding::from_kmip(None).expect("default"),
        WrapEncoding::Ttlv
    );
    assert_eq!(
        WrapEncoding::from_kmip(Some(EncodingOption::TTLV_ENCODING)).expect("ttlv"),
        WrapEncoding::Ttlv
    );
    assert_eq!(
        WrapEncoding::from_kmip(Some(EncodingOption::NO_ENCODING)).expect("none"),
        WrapEncoding::None
    );
    assert!(WrapEncoding::from_kmip(Some(EncodingOption(9))).is_err());
}

#[test]
fn oasis_key_values_wrap_and_unwrap_in_both_encodings() {
    let v = ProtocolVersion::V2_1;
    let kek = hex(KEK);
    // BL-M-3: a Transparent Symmetric Key; CS-AC-M-1: a PKCS#1 RSA private key (Byte String).
    let transparent = oasis::key_block("v2.1/XML/mandatory/BL-M-3-21.xml", 0);
    let pkcs1 = oasis::key_block("v1.4/XML/mandatory/CS-AC-M-1-14.xml", 0);
    for block in [&transparent, &pkcs1] {
        let kv = block.key_value.as_ref().expect("key value");
        let ttlv = bytes_to_wrap(WrapEncoding::Ttlv, kv, v).expect("ttlv");
        assert_eq!(
            ttlv.as_slice(),
            &kmip_codec::ttlv::encode::encode(&kv.to_ttlv(v))[..]
        );
        let wrapped = aes_key_wrap_padded(&kek, ttlv.as_slice()).expect("wrap");
        let plain = aes_key_unwrap_padded(&kek, &wrapped).expect("unwrap");
        let back = unwrapped_key_value(WrapEncoding::Ttlv, plain, block.key_format_type, v)
            .expect("key value");
        assert_eq!(&back, kv);
    }
    // No Encoding: the PKCS#1 bytes themselves; the Transparent key cannot go that way.
    let kv = pkcs1.key_value.as_ref().expect("key value");
    let raw = bytes_to_wrap(WrapEncoding::None, kv, v).expect("raw");
    let KeyValue::Plain {
        key_material: KeyMaterial::Bytes(der),
        ..
    } = kv
    else {
        panic!("bytes")
    };
    assert_eq!(raw.as_slice(), &der[..]);
    let back = unwrapped_key_value(WrapEncoding::None, raw, pkcs1.key_format_type, v).expect("kv");
    assert_eq!(&back, kv);
    assert!(matches!(
        bytes_to_wrap(
            WrapEncoding::None,
            transparent.key_value.as_ref().expect("kv"),
            v
        ),
        Err(Error::Wrap(WrapError::NotAByteString))
    ));
    // ... nor a Key Value with attributes.
    let mut attributes = Attributes::new();
    attributes.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_LENGTH,
        AttributeValue::Integer(2048),
    ));
    let with_attrs = KeyValue::Plain {
        key_material: KeyMaterial::Bytes(der.clone()),
        attributes,
    };
    assert!(matches!(
        bytes_to_wrap(WrapEncoding::None, &with_attrs, v),
        Err(Error::Wrap(WrapError::NotAByteString))
    ));
    assert!(matches!(
        bytes_to_wrap(WrapEncoding::Ttlv, &KeyValue::Wrapped(der.clone()), v),
        Err(Error::Wrap(WrapError::NoKeyValue))
    ));
    // Unwrapped bytes that are not a Key Value.
    for junk in [
        vec![0u8; 24],
        kmip_codec::ttlv::encode::encode(&Ttlv::new(
            Tag::KEY_MATERIAL,
            Value::ByteString(der.clone()),
        )),
    ] {
        assert!(matches!(
            unwrapped_key_value(
                WrapEncoding::Ttlv,
                SecretBytes::new(junk),
                KeyFormatType::PKCS1,
                v
            ),
            Err(Error::Wrap(WrapError::NotAKeyValue))
        ));
    }
}

#[test]
fn rsa_oaep_wraps_an_aes_key() {
    let der = oasis::byte_strings(
        "v1.4/XML/mandatory/CS-AC-M-OAEP-2-14.xml",
        Tag::KEY_MATERIAL,
    )
    .remove(0);
    let private = PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &der).expect("private");
    let params = OaepParams::new(HashAlgorithm::Sha256);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let key = hex(KEK);
    let wrapped = rsa_oaep_wrap(&private.public_key(), &params, &key, &mut rng).expect("wrap");
    assert_eq!(
        rsa_oaep_unwrap(&private, &params, &wrapped, &mut rng)
            .expect("unwrap")
            .as_slice(),
        &key[..]
    );
}

proptest::proptest! {
    #[test]
    fn wrap_unwrap_round_trip(kek_len in proptest::sample::select(vec![16usize, 24, 32]), data in proptest::collection::vec(proptest::num::u8::ANY, 1..200)) {
        let kek = &hex(KEK)[..kek_len];
        let padded = aes_key_wrap_padded(kek, &data).expect("wrap");
        let back = aes_key_unwrap_padded(kek, &padded).expect("unwrap");
        proptest::prop_assert_eq!(back.as_slice(), &data[..]);
        let whole = &data[..data.len() / 8 * 8];
        if whole.len() >= 16 {
            let w = aes_key_wrap(kek, whole).expect("wrap");
            proptest::prop_assert_eq!(w.len(), whole.len() + 8);
            let back = aes_key_unwrap(kek, &w).expect("unwrap");
            proptest::prop_assert_eq!(back.as_slice(), whole);
        }
    }
}
