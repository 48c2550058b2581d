//! Where an admin call's audit record is filed and what it says about the caller, end to end
//! over real TLS on a real server with SoftHSM2 (`docs/SECURITY.md`, "Audit records: what they
//! name and where they are filed"):
//!
//! - the tenant and key a record names are the path parameters exactly as the handler decoded
//!   them (`%61cme` is acme);
//! - a tenant principal's record goes to its own tenant's chain whatever the path names, so
//!   where a probe is filed tells nothing about which tenants exist; a refused caller's record
//!   goes to no tenant's chain;
//! - a record in tenant B's chain carries certificate details only of B's own principals: an
//!   operator's call on B is attributed by role and name (`operator/ops`) alone.

use audit_log::{AuditRecord, Kind, Status};
use kms_tests::testbed::{TestServer, create_aes_key};
use serde_json::json;
use server::store::records::Role;

use crate::admin::Api;
use crate::audit_trail::all_records;

/// Every character of `s` percent-encoded (`acme` -> `%61%63%6D%65`).
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The admin records written since `before` records were in the log.
fn admin_records_since(server: &TestServer, before: usize) -> Vec<AuditRecord> {
    all_records(server)
        .into_iter()
        .skip(before)
        .filter(|r| r.event.kind == Kind::Admin)
        .collect()
}

/// The SHA-256 fingerprint (hex) of a certificate file.
fn fingerprint_of(cert: &std::path::Path) -> String {
    let pem = certs::files::read_pem_file(cert).expect("certificate file");
    certs::Certificate::from_pem(&pem)
        .expect("certificate")
        .fingerprint()
        .hex()
}

kms_tests::server_test! {
    async fn an_encoded_path_is_recorded_as_the_handler_decoded_it(server) {
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let uid = create_aes_key(&mut acme).await.expect("create");
        let operator = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let api = Api::new(server, &operator);
        let before = all_records(server).len();
        // every character of the tenant and of the UID percent-encoded: the router matches,
        // the handler decodes, and acme's key is destroyed
        let path = format!(
            "/v1/tenants/{}/keys/{}/destroy",
            encode_all("acme"),
            encode_all(&uid)
        );
        let (status, body) = api.post(&path, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], "Destroyed", "{body}");

        let records = admin_records_since(server, before);
        let destroy = records
            .iter()
            .find(|r| r.event.operation == "POST /v1/tenants/{tenant}/keys/{uid}/{action}")
            .unwrap_or_else(|| panic!("no record of the destroy: {records:?}"));
        // recorded with what the handler acted on, in acme's chain, as the change it made
        assert_eq!(destroy.event.tenant.as_deref(), Some("acme"), "{destroy:?}");
        assert_eq!(destroy.event.object.as_deref(), Some(uid.as_str()), "{destroy:?}");
        assert_eq!(destroy.event.status, Status::Success);
        assert!(destroy.event.change.is_some(), "the destroy carried its record: {destroy:?}");

        // a parameter that does not decode to UTF-8 names nothing: no tenant, no object
        let before = all_records(server).len();
        let (status, _) = api.post("/v1/tenants/%FFcme/keys/x/destroy", json!({})).await;
        assert_eq!(status, 404);
        let records = admin_records_since(server, before);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!((&records[0].event.tenant, &records[0].event.object), (&None, &None));
    }
}

kms_tests::server_test! {
    async fn where_a_probe_is_filed_does_not_tell_whether_a_tenant_exists(server) {
        let admin = server
            .admin_identity(Role::TenantAdmin, Some("globex"), "gina")
            .await
            .unwrap();
        let gina = Api::new(server, &admin);
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let uid = create_aes_key(&mut acme).await.expect("create");
        let before = all_records(server).len();
        // globex's admin names acme (which exists) and nosuch (which does not), through
        // matched routes, a key action and an unmatched route: 404 every time
        for tenant in ["acme", "nosuch"] {
            assert_eq!(gina.get(&format!("/v1/tenants/{tenant}/keys")).await.0, 404);
            let action = format!("/v1/tenants/{tenant}/keys/{uid}/destroy");
            assert_eq!(gina.post(&action, json!({})).await.0, 404);
            assert_eq!(gina.get(&format!("/v1/tenants/{tenant}/no/such/route/here")).await.0, 404);
        }
        let records = admin_records_since(server, before);
        assert_eq!(records.len(), 6, "{records:?}");
        for r in &records {
            assert_eq!(r.event.tenant.as_deref(), Some("globex"), "filed outside globex: {r:?}");
            let client = r.event.principal.as_ref().and_then(|p| p.client.as_deref());
            assert_eq!(client, Some("gina"), "{r:?}");
        }

        // a certificate from the CA that nobody enrolled: refused, and filed under no tenant
        let stranger = server
            .issue_identity(Role::TenantAdmin, Some("acme"), "mallory")
            .expect("issue");
        let before = all_records(server).len();
        let mallory = Api::new(server, &stranger);
        assert_eq!(mallory.get("/v1/tenants/acme/keys").await.0, 401);
        assert_eq!(mallory.get("/v1/tenants/acme/no/such/route/here").await.0, 404);
        let records = admin_records_since(server, before);
        assert_eq!(records.len(), 2, "{records:?}");
        for r in &records {
            assert_eq!(r.event.tenant, None, "a refused caller reached a tenant chain: {r:?}");
        }
        assert_eq!(records[0].event.status, Status::Denied);
    }
}

kms_tests::server_test! {
    async fn a_tenants_records_show_certificates_of_its_own_principals_only(server) {
        let operator = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let ops = Api::new(server, &operator);
        let operator_fingerprint = fingerprint_of(&operator.cert);
        let auditor = server
            .admin_identity(Role::Auditor, Some("acme"), "carol")
            .await
            .unwrap();
        let admin = server
            .admin_identity(Role::TenantAdmin, Some("acme"), "alice")
            .await
            .unwrap();
        let own = [
            fingerprint_of(&server.client_files("acme").unwrap().cert),
            fingerprint_of(&auditor.cert),
            fingerprint_of(&admin.cert),
        ];

        // the operator acts on acme: lists its keys, suspends and resumes it, creates a tenant
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let uid = create_aes_key(&mut acme).await.expect("create");
        assert_eq!(ops.get("/v1/tenants/acme/keys").await.0, 200);
        assert_eq!(ops.post(&format!("/v1/tenants/acme/keys/{uid}/activate"), json!({})).await.0, 200);
        assert_eq!(ops.post("/v1/tenants/acme/suspend", json!({})).await.0, 200);
        assert_eq!(ops.post("/v1/tenants/acme/resume", json!({})).await.0, 200);
        assert_eq!(ops.post("/v1/tenants", json!({ "id": "initech" })).await.0, 201);
        assert_eq!(ops.get("/v1/tenants").await.0, 200);
        // acme's own admin and KMIP client act too
        assert_eq!(Api::new(server, &admin).get("/v1/tenants/acme/clients").await.0, 200);
        acme.get_attributes(&uid, Vec::new()).await.expect("attributes");

        // acme's auditor reads acme's trail over the API
        let (status, page) = Api::new(server, &auditor)
            .get("/v1/audit/records?limit=10000")
            .await;
        assert_eq!(status, 200, "{page}");
        let text = page.to_string();
        assert!(
            !text.contains(&operator_fingerprint),
            "the operator's certificate fingerprint is in acme's trail: {text}"
        );
        // the operator's calls that act on no tenant keep the full certificate, in no
        // tenant's chain: that is the subject to look for
        let all = all_records(server);
        let listed = all
            .iter()
            .rfind(|r| r.event.operation == "GET /v1/tenants")
            .expect("the listing's record");
        assert_eq!(listed.event.tenant, None);
        let listed_by = listed.event.principal.clone().expect("a principal");
        assert_eq!(listed_by.fingerprint, operator_fingerprint);
        assert!(!listed_by.subject.is_empty());
        assert!(
            !text.contains(&listed_by.subject),
            "the operator's certificate subject is in acme's trail: {text}"
        );
        let records: Vec<AuditRecord> =
            serde_json::from_value(page["records"].clone()).expect("records");
        // what the operator did to acme is there, attributed by role and name
        let by_operator: Vec<&str> = records
            .iter()
            .filter(|r| {
                r.event.principal.as_ref().and_then(|p| p.client.as_deref()) == Some("operator/ops")
            })
            .map(|r| r.event.operation.as_str())
            .collect();
        for op in [
            "GET /v1/tenants/{tenant}/keys",
            "POST /v1/tenants/{tenant}/keys/{uid}/{action}",
            "POST /v1/tenants/{tenant}/suspend",
            "POST /v1/tenants/{tenant}/resume",
        ] {
            assert!(by_operator.contains(&op), "{op} missing from acme's trail: {by_operator:?}");
        }
        // every certificate named in acme's trail is one of acme's own principals'
        for r in &records {
            assert_eq!(r.event.tenant.as_deref(), Some("acme"));
            let Some(p) = &r.event.principal else { continue };
            if p.client.as_deref() == Some("operator/ops") {
                assert!(
                    p.fingerprint.is_empty() && p.subject.is_empty() && p.issuer.is_empty(),
                    "{r:?}"
                );
            } else {
                assert!(own.contains(&p.fingerprint), "a foreign certificate in acme's trail: {r:?}");
            }
        }
        // KMIP records are filed in the client's own tenant, with its own certificate
        let kmip_by = |r: &&AuditRecord| {
            r.event.kind == Kind::Kmip
                && r.event.principal.as_ref().is_some_and(|p| p.fingerprint == own[0])
        };
        assert!(records.iter().any(|r| kmip_by(&r)), "{records:?}");

        // the tenant the operator created starts its chain with its creation
        let created = all
            .iter()
            .find(|r| r.event.operation == "POST /v1/tenants" && r.event.status == Status::Success)
            .expect("the creation's record");
        assert_eq!(created.event.tenant.as_deref(), Some("initech"), "{created:?}");
        assert_eq!(created.tenant_seq, 1, "{created:?}");
    }
}
