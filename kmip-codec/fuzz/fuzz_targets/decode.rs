//! Fuzzes the binary TTLV decoder: any input must either fail with an error or decode to a tree
//! that re-encodes to exactly the input (decoding is strict, so accepted input is canonical).
#![no_main]
#![forbid(unsafe_code)]

use kmip_codec::limits::Limits;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(item) = decode(data, &Limits::default()) {
        assert_eq!(encode(&item), data, "accepted input must re-encode identically");
    }
});
