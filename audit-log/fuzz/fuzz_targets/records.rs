//! Fuzzes the record reader and the verifier: any file must read into records and findings
//! without a panic; every record read must write back to the line it came from (the reader
//! accepts only the canonical spelling) and keep its hash; the verifier must judge any mix of
//! records without a panic.
#![no_main]
#![forbid(unsafe_code)]

use audit_log::{PublicKey, Scope, read_records, verify};
use libfuzzer_sys::fuzz_target;

/// The P-256 base point, SEC1 uncompressed: a valid key that signed nothing here.
const KEY: &str = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = read_records(data) else {
        return;
    };
    for record in &parsed.items {
        let line = record.to_json_line().expect("a record read must write");
        let again: audit_log::AuditRecord =
            serde_json::from_str(&line).expect("the written line must read");
        assert_eq!(&again, record);
        assert_eq!(again.hash(), record.hash());
    }
    let key = PublicKey::from_hex(KEY).expect("valid point");
    let _ = verify(&parsed.items, &[], &key, &Scope::All);
    let _ = verify(&parsed.items, &[], &key, &Scope::Tenant(Some("acme".into())));
});
