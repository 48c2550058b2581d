//! Fuzzes the checkpoint reader: any file must read into checkpoints and findings without a
//! panic; every checkpoint read must write back and read to the same value, and narrowing it
//! to a tenant's view (what `kmsctl audit export --tenant` does) must not panic.
#![no_main]
#![forbid(unsafe_code)]

use audit_log::read_checkpoints;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = read_checkpoints(data) else {
        return;
    };
    for cp in &parsed.items {
        let line = cp.to_json_line().expect("a checkpoint read must write");
        let again = read_checkpoints(format!("{line}\n").as_bytes()).expect("reads");
        assert_eq!(again.items.first(), Some(cp), "round trip: {line}");
        let _ = cp.proven_heads();
        let _ = cp.for_tenant(Some("acme"));
        let _ = cp.for_tenant(None);
    }
});
