//! Fuzzes the KMIP XML reader (the MSGENC-XML profile's bodies): any input must either fail
//! with an error or read to a tree that the writer turns back into XML that reads to the same
//! tree, under the default limits.
#![no_main]
#![forbid(unsafe_code)]

use kmip_codec::limits::Limits;
use kmip_codec::xml::{from_xml_with, to_xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(item) = from_xml_with(text, &Limits::default()) {
        let again = from_xml_with(&to_xml(&item), &Limits::default())
            .expect("the writer's output must read");
        assert_eq!(again, item, "accepted input must round-trip through the writer");
    }
});
