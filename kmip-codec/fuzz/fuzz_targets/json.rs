//! Fuzzes the KMIP JSON reader: any input must either fail with an error or decode to a tree
//! that the writer turns back into JSON that reads to the same tree. Inputs are bodies as a
//! server would receive them, under the default limits.
#![no_main]
#![forbid(unsafe_code)]

use kmip_codec::json::{from_json, to_json};
use kmip_codec::limits::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(item) = from_json(data, &Limits::default()) {
        let again = from_json(to_json(&item).as_bytes(), &Limits::default())
            .expect("the writer's output must read");
        assert_eq!(again, item, "accepted input must round-trip through the writer");
    }
});
