//! Writes made outside a KMIP item or an admin call leave their audit record too: each write of
//! a Domain Key rotation job (started by an admin call, run in the background) leaves exactly
//! one record, committed with the change (numbered by the store: `change` set). The offline
//! `kmsd enroll-operator`'s one record: `server/tests/enroll_operator.rs`.

use std::time::Duration;

use audit_log::{AuditRecord, Kind, Status};
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::Attributes;
use serde_json::json;

use crate::admin::operator;
use crate::audit_trail::all_records;

/// The operation the records of a rotation job's writes name.
const ROTATION_JOB: &str = "domain key rotation job";

kms_tests::server_test! {
    async fn each_write_of_a_domain_key_rotation_job_leaves_one_record(server) {
        let ops = operator(server).await;
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let mut uids = Vec::new();
        for _ in 0..3 {
            uids.push(
                acme.create_symmetric_key(
                    CryptographicAlgorithm::AES,
                    256,
                    CryptographicUsageMask::ENCRYPT,
                    Attributes::new(),
                )
                .await
                .expect("create"),
            );
        }
        let (status, started) = ops.post("/v1/tenants/acme/rotate-domain-key", json!({})).await;
        assert_eq!(status, 202, "{started}");
        let job = started["job"].as_str().expect("job id").to_owned();
        let mut done = serde_json::Value::Null;
        for _ in 0..400 {
            let (_, body) = ops.get(&format!("/v1/tenants/acme/jobs/{job}")).await;
            if body["state"] != "running" {
                done = body;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["resealed"], uids.len(), "{done}");

        let job_records: Vec<AuditRecord> = all_records(server)
            .into_iter()
            .filter(|r| r.event.operation == ROTATION_JOB)
            .collect();
        for uid in &uids {
            let resealed: Vec<_> = job_records
                .iter()
                .filter(|r| r.event.object.as_deref() == Some(uid.as_str()))
                .collect();
            assert_eq!(resealed.len(), 1, "re-seal of {uid}: {job_records:#?}");
        }
        // The retirement of the old version is the job's one other write.
        assert_eq!(job_records.len(), uids.len() + 1, "{job_records:#?}");
        for r in &job_records {
            assert_eq!(r.event.kind, Kind::Admin, "{r:?}");
            assert_eq!(r.event.status, Status::Success, "{r:?}");
            assert_eq!(r.event.tenant.as_deref(), Some("acme"), "filed in the tenant's chain: {r:?}");
            assert!(r.event.change.is_some(), "carried by its change: {r:?}");
            assert!(r.event.principal.as_ref().and_then(|p| p.client.as_deref()).is_some_and(|c| c.starts_with("operator/")), "names who started the job: {r:?}");
        }
    }
}
