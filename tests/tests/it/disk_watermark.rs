//! The audit disk watermark (issue 14, H2): when free space under the audit directory falls
//! below `audit.min_free_bytes` / `audit.min_free_percent`, the node says so well before the
//! trail must fail closed: `kms_audit_disk_low 1` in the metrics, and `/readyz` answers 200
//! with `status: degraded`, `audit_disk: low` and a warning, while KMIP is still served.
//!
//! Instead of filling a disk, the threshold is set above any real free space
//! (`min_free_bytes` = the largest TOML integer); a threshold of zero is the control.

use client::IdentityFiles;
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::Attributes;
use kms_tests::testbed::TestServer;
use serde_json::json;
use server::store::records::Role;

use crate::admin::Api;

/// The largest integer TOML can write: more bytes than any disk has.
const ABOVE_ANY_DISK: &str = "9223372036854775807";

/// The value of a metric line `name value`, if present.
fn metric(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn operator(server: &TestServer) -> (Api, IdentityFiles) {
    let files = server
        .admin_identity(Role::Operator, None, "ops")
        .await
        .expect("operator enrolled");
    (Api::new(server, &files), files)
}

kms_tests::server_test! {
    async fn free_space_below_the_watermark_raises_the_metric_and_readyz_says_degraded(
        server,
        &[("KMSD_AUDIT__MIN_FREE_BYTES", ABOVE_ANY_DISK)]
    ) {
        let (ops, files) = operator(server).await;
        let (status, body) = ops.get("/readyz").await;
        assert_eq!(status, 200, "the node still serves: {body}");
        assert_eq!(body["status"], json!("degraded"), "{body}");
        assert_eq!(body["audit_disk"], json!("low"), "{body}");
        assert!(
            body["warnings"][0].as_str().is_some_and(|w| w.contains("audit")),
            "{body}"
        );
        let (status, text) = ops.get("/metrics").await;
        assert_eq!(status, 200);
        let text = text.as_str().expect("metrics text");
        assert_eq!(metric(text, "kms_audit_disk_low"), Some(1), "{text}");
        let free = metric(text, "kms_audit_disk_free_bytes").expect("free bytes");
        let total = metric(text, "kms_audit_disk_total_bytes").expect("total bytes");
        assert!(0 < free && free <= total, "{free} of {total}");

        // `kmsctl health` shows it (and still exits 0: the node is ready).
        let arg = |p: &std::path::Path| p.display().to_string();
        let (exit, out, err) = kms_tests::kmsctl::run([
            "health".to_owned(),
            "--admin-addr".to_owned(),
            server.admin_addr().expect("admin API").to_string(),
            "--ca".to_owned(),
            arg(server.ca_path()),
            "--cert".to_owned(),
            arg(&files.cert),
            "--key".to_owned(),
            arg(&files.key),
        ])
        .await;
        assert_eq!(exit, client::cli::Exit::Success, "{err}");
        assert!(out.contains("degraded") && out.contains("audit disk") && out.contains("low"), "{out}");
        assert!(out.contains("below the watermark"), "{out}");

        // An alert, not a refusal: KMIP requests are still served and audited.
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        acme.create_symmetric_key(
            CryptographicAlgorithm::AES,
            256,
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            Attributes::new(),
        )
        .await
        .expect("served while the disk is low");
    }
}

kms_tests::server_test! {
    async fn free_space_above_the_watermark_is_ready_and_not_low(
        server,
        &[("KMSD_AUDIT__MIN_FREE_BYTES", "0"), ("KMSD_AUDIT__MIN_FREE_PERCENT", "0")]
    ) {
        let (ops, _) = operator(server).await;
        let (status, body) = ops.get("/readyz").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], json!("ready"), "{body}");
        assert_eq!(body["audit_disk"], json!("ok"), "{body}");
        assert!(body.get("warnings").is_none(), "{body}");
        let (_, text) = ops.get("/metrics").await;
        let text = text.as_str().expect("metrics text");
        assert_eq!(metric(text, "kms_audit_disk_low"), Some(0), "{text}");
    }
}
