//! The OASIS KMIP profile vectors (all 393 files of `shared/kmip-vectors`) replayed against a
//! real server, each file under a fresh tenant so that Locate and identifiers start from an
//! empty store.
//!
//! The files in scope (SKLC, SKFF, BL, CS-BC, CS-RNG, OMOS, bar the documented skips; see
//! `kms_tests::vectors::scope`) must pass. The files of the other families are replayed too and
//! counted per family as "not yet in scope": they may fail (their `TODO` lines are the server
//! phase's to-do list), but one that passes must be moved into scope.
//!
//! A file that works on the objects an earlier file left behind (`scope::CONTINUES`: TL-M-3
//! after TL-M-2, SASED-M-3 after SASED-M-2) is replayed under that file's tenant.
//!
//! The MSGENC files are sent as KMIP over HTTPS (`POST /kmip` on the KMIP port) in their
//! profile's encoding: binary TTLV, XML or JSON.
//!
//! `KMS_VECTORS=SKLC-M-1` replays only the files whose name contains that text.

use std::collections::{HashMap, HashSet};

use kms_tests::transport::{HttpEncoding, HttpsTransport};
use kms_tests::vectors::replay::replay_file_continuing;
use kms_tests::vectors::scope::{Scope, classify, continues, test_case};
use kms_tests::vectors::{FamilySummary, FileReport, Outcome, Summary, discover, shared_dir};

kms_tests::server_test! {
    async fn oasis_vectors_in_scope_pass(server) {
        let shared = shared_dir();
        let root = shared.join("kmip-vectors");
        let filter = std::env::var("KMS_VECTORS").unwrap_or_default();
        let files = discover(&shared).expect("vector directory");
        // libtest prints the test's name on the line the first output lands on: give it this
        // one, so that every report line starts at the beginning of its own.
        println!("replaying {} OASIS vector files", files.len());
        let mut reports = Vec::new();
        // The tenant each replayed file ran under, and the objects whose key the server
        // generated in it, by file name.
        let mut tenants: HashMap<String, String> = HashMap::new();
        let mut generated: HashMap<String, HashSet<String>> = HashMap::new();
        for (i, path) in files.iter().enumerate() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.contains(filter.as_str()) {
                continue;
            }
            let outcome = match classify(name) {
                Scope::Skipped(reason) => Outcome::Skipped(reason),
                Scope::In | Scope::NotYetInScope => {
                    let earlier = continues(name).and_then(|e| tenants.get(&e).cloned());
                    let connector = match &earlier {
                        Some(tenant) => server.client(tenant).expect("earlier tenant"),
                        None => {
                            let tenant = format!("v{i}-{}", test_case(name).to_ascii_lowercase());
                            let connector =
                                server.add_tenant(&tenant).await.expect("fresh tenant");
                            tenants.insert(name.to_owned(), tenant);
                            connector
                        }
                    };
                    if let Some(tenant) = earlier {
                        tenants.insert(name.to_owned(), tenant);
                    }
                    let before = continues(name)
                        .and_then(|e| generated.get(&e).cloned())
                        .unwrap_or_default();
                    // The MSGENC profiles post their messages to /kmip over HTTPS, each in
                    // its encoding; every other file speaks TTLV on the KMIP port.
                    let (outcome, after) = match HttpEncoding::of_vector(name) {
                        Some(encoding) => {
                            let tenant = &tenants[name];
                            let config = server.client_config(tenant).expect("client config");
                            let https = HttpsTransport::new(config, encoding).expect("HTTPS transport");
                            replay_file_continuing(path, &https, before).await
                        }
                        None => replay_file_continuing(path, &connector, before).await,
                    }
                    .expect("a file name");
                    generated.insert(name.to_owned(), after);
                    outcome
                }
            };
            let report = FileReport::new(&root, path, outcome);
            println!("{report}");
            reports.push(report);
        }
        for family in FamilySummary::of(&reports) {
            println!("{family}");
        }
        let (in_scope, later): (Vec<_>, Vec<_>) =
            reports.iter().partition(|r| r.scope != Scope::NotYetInScope);
        let summary = Summary::of(in_scope.iter().copied());
        println!("not yet in scope: {}", Summary::of(later.iter().copied()));
        println!("{summary}");
        assert!(!reports.is_empty(), "no vector file matches KMS_VECTORS={filter:?}");
        assert_eq!(summary.failed, 0, "OASIS vectors in scope: {summary}");
        let newly_passing: Vec<_> = reports
            .iter()
            .filter(|r| r.passes_out_of_scope())
            .map(|r| r.file.as_str())
            .collect();
        assert!(
            newly_passing.is_empty(),
            "these files pass: add their test cases to PASSING_ELSEWHERE (or their family to \
             the families in scope) in tests/src/vectors/scope.rs: {newly_passing:?}"
        );
    }
}
