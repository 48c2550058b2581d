//! Fuzzes the export bundle's manifest reader: any text either reads or is refused without a
//! panic, and a manifest read writes back to one that reads to the same value.
#![no_main]
#![forbid(unsafe_code)]

use audit_log::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(m) = Manifest::from_json(text) {
        let json = m.to_json().expect("a manifest read must write");
        assert_eq!(Manifest::from_json(&json), Some(m));
    }
});
