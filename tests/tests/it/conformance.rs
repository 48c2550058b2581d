//! The OASIS KMIP profile vectors in scope (SKLC, SKFF, BL, CS-BC, CS-RNG, OMOS; see
//! `kms_tests::vectors::scope`) replayed against a real server, each file under a fresh tenant
//! so that Locate and identifiers start from an empty store.
//!
//! `KMS_VECTORS=SKLC-M-1` replays only the files whose name contains that text.

use kms_tests::vectors::replay::replay_file;
use kms_tests::vectors::scope::{Scope, classify, test_case};
use kms_tests::vectors::{FileReport, Outcome, Summary, discover, shared_dir};

kms_tests::server_test! {
    async fn oasis_vectors_in_scope_pass(server) {
        let shared = shared_dir();
        let root = shared.join("kmip-vectors");
        let filter = std::env::var("KMS_VECTORS").unwrap_or_default();
        let files = discover(&shared).expect("vector directory");
        let mut reports = Vec::new();
        for (i, path) in files.iter().enumerate() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.contains(filter.as_str()) {
                continue;
            }
            let outcome = match classify(name) {
                Scope::OtherProfile => continue,
                Scope::Skipped(reason) => Outcome::Skipped(reason),
                Scope::In => {
                    let tenant = format!("v{i}-{}", test_case(name).to_ascii_lowercase());
                    let connector = server.add_tenant(&tenant).await.expect("fresh tenant");
                    replay_file(path, &connector).await.expect("in scope")
                }
            };
            let report = FileReport::new(&root, path, outcome);
            println!("{report}");
            reports.push(report);
        }
        let summary = Summary::of(&reports);
        println!("{summary}");
        assert!(summary.passed + summary.failed > 0, "no vector replayed");
        assert_eq!(summary.failed, 0, "OASIS vectors: {summary}");
    }
}
