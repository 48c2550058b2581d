//! Known answers: FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values": the
//! one-block message "abc", the two-block 448-bit message, and the empty message).

use super::*;

const ABC: &[u8] = b"abc";
const TWO_BLOCKS: &[u8] = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

#[test]
fn fips_180_4_abc() {
    let cases = [
        (
            HashAlgorithm::Sha1,
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            HashAlgorithm::Sha224,
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
        ),
        (
            HashAlgorithm::Sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            HashAlgorithm::Sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            HashAlgorithm::Sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (alg, want) in cases {
        let got = digest(alg, ABC).expect("digest");
        assert_eq!(got, hex(want), "{alg:?}");
        assert_eq!(got.len(), alg.output_len(), "{alg:?}");
    }
}

#[test]
fn fips_180_4_two_blocks_and_empty() {
    assert_eq!(
        digest(HashAlgorithm::Sha256, TWO_BLOCKS).expect("digest"),
        hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    );
    assert_eq!(
        digest(HashAlgorithm::Sha1, TWO_BLOCKS).expect("digest"),
        hex("84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    );
    assert_eq!(
        digest(HashAlgorithm::Sha256, b"").expect("digest"),
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        digest(HashAlgorithm::Sha1, b"").expect("digest"),
        hex("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
}

#[test]
fn incremental_equals_one_shot() {
    for alg in HashAlgorithm::ALL {
        let mut h = Hasher::new(alg);
        for chunk in TWO_BLOCKS.chunks(7) {
            h.update(chunk).expect("update");
        }
        assert_eq!(h.algorithm(), alg);
        assert_eq!(
            h.finish(),
            digest(alg, TWO_BLOCKS).expect("digest"),
            "{alg:?}"
        );
    }
}

#[test]
fn kmip_names_round_trip_and_others_are_refused() {
    for alg in HashAlgorithm::ALL {
        assert_eq!(HashAlgorithm::from_kmip(alg.to_kmip()).expect("known"), alg);
    }
    for other in [
        HashingAlgorithm::MD5,
        HashingAlgorithm::SHA3_256,
        HashingAlgorithm(0x8000_0001),
    ] {
        assert!(matches!(
            HashAlgorithm::from_kmip(other),
            Err(Error::Unsupported { parameter: Parameter::HashingAlgorithm, value }) if value == other.0
        ));
    }
}

#[test]
fn oversize_input_is_refused_before_hashing() {
    let big = vec![0u8; MAX_DATA_LEN + 1];
    assert!(matches!(
        digest(HashAlgorithm::Sha256, &big),
        Err(Error::TooLarge { what: Input::Data, len, max: MAX_DATA_LEN }) if len == MAX_DATA_LEN + 1
    ));
    let mut h = Hasher::new(HashAlgorithm::Sha256);
    h.update(&big[..MAX_DATA_LEN]).expect("up to the limit");
    assert!(h.update(&[0]).is_err(), "one byte past the limit");
}

#[test]
fn oasis_cs_ac_m_7_hash() {
    use kmip_codec::tags::Tag;
    let data = crate::oasis::byte_strings("v1.4/XML/mandatory/CS-AC-M-7-14.xml", Tag::DATA);
    // Request data, SHA-256 answer, request data, SHA-512 answer.
    assert_eq!(data.len(), 4);
    assert_eq!(
        digest(HashAlgorithm::Sha256, &data[0]).expect("sha256"),
        data[1]
    );
    assert_eq!(
        digest(HashAlgorithm::Sha512, &data[2]).expect("sha512"),
        data[3]
    );
}
