//! The admin API end to end: real TLS with client certificates on the admin port, real
//! SoftHSM2 behind it, real KMIP clients making the keys the inventory shows.
//!
//! An operator creates a tenant; its tenant admin enrolls a KMIP client whose keys carry the
//! VMware `x-` attributes; the inventory finds them by `x-Name`; a revoke, an activate and a
//! re-key go through the API; a Domain Key rotation re-seals everything while every key still
//! reads the same bytes. A tenant admin of one tenant sees nothing of another (404, exactly
//! like a missing tenant); an auditor changes nothing (403); a disabled client is refused at
//! its next request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use client::{ClientConfig, Connection, Connector, IdentityFiles};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::{Attribute, AttributeValue, Attributes};
use kms_tests::testbed::{TestServer, key_bytes};
use rustls_pki_types::ServerName;
use serde_json::{Value, json};
use server::store::records::Role;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// An HTTPS client of the admin API holding one principal's certificate.
pub(crate) struct Api {
    addr: SocketAddr,
    tls: TlsConnector,
}

impl Api {
    pub(crate) fn new(server: &TestServer, files: &IdentityFiles) -> Api {
        Self::with_ca(server, server.ca_path(), files)
    }

    /// As [`Api::new`], trusting the server through `ca_file` (a test that changes the
    /// server's CA file keeps a copy).
    pub(crate) fn with_ca(
        server: &TestServer,
        ca_file: &std::path::Path,
        files: &IdentityFiles,
    ) -> Api {
        let addr = server.admin_addr().expect("the admin API is enabled");
        let settings = ClientConfig::new(addr.to_string(), "127.0.0.1")
            .with_ca_file(ca_file)
            .with_identity(files.cert.clone(), files.key.clone());
        let tls = settings.tls_config().expect("admin TLS settings");
        Api {
            addr,
            tls: TlsConnector::from(Arc::new(tls)),
        }
    }

    /// One request on a fresh connection: status and body (JSON, or the text as a string).
    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let tls = self.tls.connect(name, tcp).await.expect("TLS handshake");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "kms")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
            .await
            .expect("answer in time")
            .expect("answer");
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }
}

/// The operator `kmsd dev` bootstraps: its certificate from `dev::operator_identity`,
/// enrolled as the binary does.
pub(crate) async fn operator(server: &TestServer) -> Api {
    let (name, cert, key) =
        server::dev::operator_identity(server.layout()).expect("dev operator certificate");
    let key_name = server::store::records::client_key(None, &name);
    if server.kms().store().client(&key_name).unwrap().is_none() {
        server
            .kms()
            .tenancy()
            .enroll_operator(&server.setup(), &name, 0)
            .await
            .expect("operator enrolled");
    }
    Api::new(server, &IdentityFiles { cert, key })
}

pub(crate) fn kmip(server: &TestServer, files: &IdentityFiles) -> Connector {
    let settings = ClientConfig::new(server.addr().to_string(), "127.0.0.1")
        .with_ca_file(server.ca_path())
        .with_identity(files.cert.clone(), files.key.clone());
    Connector::new(settings).expect("KMIP connector")
}

/// Creates an AES-256 key carrying the VMware attributes, as vCenter does (Create, then Add
/// Attribute for each).
pub(crate) async fn vm_key(conn: &mut Connection, vm: &str, component: &str) -> String {
    let uid = conn
        .create_symmetric_key(
            CryptographicAlgorithm::AES,
            256,
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            Attributes::new(),
        )
        .await
        .expect("create");
    for (name, value) in [
        ("x-Component", component.to_owned()),
        ("x-Identifier", format!("uuid-{vm}")),
        ("x-Name", vm.to_owned()),
    ] {
        conn.add_attribute(
            &uid,
            Attribute::custom(name, AttributeValue::TextString(value)),
        )
        .await
        .expect("add attribute");
    }
    uid
}
fn keys_of(body: &Value) -> Vec<Value> {
    body["keys"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_job(api: &Api, tenant: &str, job: &str) -> Value {
    for _ in 0..200 {
        let (status, body) = api.get(&format!("/v1/tenants/{tenant}/jobs/{job}")).await;
        assert_eq!(status, 200, "{body}");
        if body["state"] != "running" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rotation did not finish");
}

kms_tests::server_test! {
    async fn operator_creates_a_tenant_and_watches_the_node(server) {
        let ops = operator(server).await;
        let (status, body) = ops.post("/v1/tenants", json!({ "id": "initech" })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["id"], "initech");
        assert_eq!(body["domain_key_version"], 1);
        let (status, body) = ops.post("/v1/tenants", json!({ "id": "initech" })).await;
        assert_eq!((status, &body["error"]), (409, &json!("tenant already exists")));
        let (status, body) = ops.post("/v1/tenants", json!({ "id": "Not Valid" })).await;
        assert_eq!((status, &body["error"]), (400, &json!("invalid tenant id")));

        let (status, body) = ops.get("/v1/tenants").await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = body["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert_eq!(ids, ["acme", "globex", "initech"]);

        let (status, body) = ops.post("/v1/tenants/initech/suspend", json!({})).await;
        assert_eq!((status, &body["suspended"]), (200, &json!(true)));
        assert!(server.kms().store().tenant("initech").unwrap().unwrap().suspended);
        let (status, body) = ops.post("/v1/tenants/initech/resume", json!({})).await;
        assert_eq!((status, &body["suspended"]), (200, &json!(false)));

        // Some KMIP traffic for the metrics.
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        vm_key(&mut acme, "vm-1", "Virtual Machine").await;

        let (status, body) = ops.get("/v1/node/status").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["counts"]["tenants"], 3);
        assert_eq!(body["counts"]["objects"], 1);
        let kcv = server.kms().keys().hsm().root_kcv().to_string();
        assert_eq!(body["root_kcv"], kcv.as_str());

        assert_eq!(ops.get("/healthz").await.0, 200);
        let (status, body) = ops.get("/readyz").await;
        assert_eq!((status, &body["hsm"]), (200, &json!("ok")));
        let (status, text) = ops.get("/metrics").await;
        assert_eq!(status, 200);
        let text = text.as_str().expect("metrics text");
        assert!(
            text.contains(r#"kms_kmip_requests_total{operation="Create",result="Success"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kms_kmip_requests_total{operation="AddAttribute",result="Success"} 3"#),
            "{text}"
        );
        assert!(text.contains("kms_hsm_call_duration_seconds_count{call=\"seal\",result=\"ok\"}"));
        assert!(text.contains("kms_admin_requests_total{action=\"POST /v1/tenants\",status=\"201\"} 1"), "{text}");

        let (status, body) = ops.get("/v1/no/such/route").await;
        assert_eq!((status, &body["error"]), (404, &json!("not found")));
    }
}

kms_tests::server_test! {
    async fn a_tenant_admin_runs_the_key_lifecycle_and_rotates_the_domain_key(server) {
        let ops = operator(server).await;
        assert_eq!(ops.post("/v1/tenants", json!({ "id": "initech" })).await.0, 201);
        let (status, body) = ops
            .post("/v1/tenants/initech/clients", json!({ "name": "alice", "role": "tenant-admin" }))
            .await;
        assert_eq!(status, 201, "{body}");
        let alice = Api::new(server, &server.issue_identity(Role::TenantAdmin, Some("initech"), "alice").unwrap());

        // The tenant admin enrolls a CA-issued KMIP client, which then makes keys.
        let (status, body) = alice.post("/v1/tenants/initech/clients", json!({ "name": "esx" })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["role"], "kmip-client");
        assert_eq!(body["identity"], "ca-issued");
        let esx = server.issue_identity(Role::KmipClient, Some("initech"), "esx").unwrap();
        let mut conn = kmip(server, &esx).connect().await.expect("enrolled client connects");
        let web = vm_key(&mut conn, "vm-web-01", "Virtual Machine").await;
        let db = vm_key(&mut conn, "vm-db-01", "Virtual Machine").await;
        let host = vm_key(&mut conn, "10.0.0.7", "ESXi Server").await;
        let mut before = Vec::new();
        for uid in [&web, &db, &host] {
            before.push(key_bytes(&mut conn, uid).await);
        }

        // Inventory: all three, then by x-Name, by component, by page.
        let (status, body) = alice.get("/v1/tenants/initech/keys").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(keys_of(&body).len(), 3);
        let (_, body) = alice.get("/v1/tenants/initech/keys?name=vm-web-01").await;
        let found = keys_of(&body);
        assert_eq!(found.len(), 1, "{body}");
        assert_eq!(found[0]["uid"], web.as_str());
        assert_eq!(found[0]["vmware"]["component"], "Virtual Machine");
        assert_eq!(found[0]["vmware"]["identifier"], "uuid-vm-web-01");
        assert_eq!(found[0]["algorithm"], "AES");
        assert_eq!(found[0]["length"], 256);
        assert_eq!(found[0]["state"], "PreActive");
        let (_, body) = alice.get("/v1/tenants/initech/keys?component=ESXi%20Server").await;
        assert_eq!(keys_of(&body).len(), 1);
        assert_eq!(keys_of(&body)[0]["uid"], host.as_str());
        let (_, page) = alice.get("/v1/tenants/initech/keys?limit=2").await;
        assert_eq!(keys_of(&page).len(), 2);
        let next = page["next"].as_str().expect("a next page").to_owned();
        let (_, rest) = alice.get(&format!("/v1/tenants/initech/keys?limit=2&after={next}")).await;
        assert_eq!(keys_of(&rest).len(), 1);
        assert!(rest["next"].is_null());

        // Lifecycle through the API.
        let (status, body) = alice.post(&format!("/v1/tenants/initech/keys/{web}/activate"), json!({})).await;
        assert_eq!((status, &body["state"]), (200, &json!("Active")), "{body}");
        let (status, body) = alice
            .post(&format!("/v1/tenants/initech/keys/{db}/revoke"), json!({ "reason": "CessationOfOperation" }))
            .await;
        assert_eq!((status, &body["state"]), (200, &json!("Deactivated")), "{body}");
        let (status, body) = alice.post(&format!("/v1/tenants/initech/keys/{web}/destroy"), json!({})).await;
        assert_eq!((status, &body["error"]), (409, &json!("wrong key lifecycle state")));
        let (_, body) = alice.get("/v1/tenants/initech/keys?state=Deactivated").await;
        assert_eq!(keys_of(&body).len(), 1);
        assert_eq!(keys_of(&body)[0]["uid"], db.as_str());
        let attrs = conn.get_attributes(&db, Vec::new()).await.expect("attributes");
        assert_eq!(
            attrs.iter().find(|a| a.tag() == Some(kmip_codec::tags::Tag::STATE)).map(|a| a.value.clone()),
            Some(AttributeValue::Enumeration(kmip_codec::enums::State::DEACTIVATED.0)),
            "the KMIP client sees the revocation"
        );
        let (status, rekeyed) = alice.post(&format!("/v1/tenants/initech/keys/{host}/rekey"), json!({})).await;
        assert_eq!(status, 200, "{rekeyed}");
        let new_host = rekeyed["uid"].as_str().expect("new uid").to_owned();
        assert_ne!(new_host, host);
        assert_eq!(rekeyed["vmware"]["name"], "10.0.0.7", "x- attributes move to the new key");
        let new_host_bytes = key_bytes(&mut conn, &new_host).await;
        assert_ne!(new_host_bytes, before[2]);

        // Domain Key rotation: every key re-sealed under version 2, every key reads the same.
        let (status, started) = alice.post("/v1/tenants/initech/rotate-domain-key", json!({})).await;
        assert_eq!(status, 202, "{started}");
        assert_eq!(started["domain_key_version"], 2);
        let job = started["job"].as_str().expect("job id").to_owned();
        // Gets keep working while the rotation runs.
        assert_eq!(key_bytes(&mut conn, &web).await, before[0]);
        let done = wait_for_job(&alice, "initech", &job).await;
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["total"], 4, "{done}");
        assert_eq!(done["resealed"], 4, "{done}");
        let (_, tenant) = alice.get("/v1/tenants/initech").await;
        assert_eq!(tenant["domain_key_versions"], json!([2]));
        for (uid, bytes) in [(&web, &before[0]), (&db, &before[1]), (&host, &before[2]), (&new_host, &new_host_bytes)] {
            assert_eq!(&key_bytes(&mut conn, uid).await, bytes, "{uid} reads the same after rotation");
        }
        // A fresh connection (no cache in the way of the server? the cache is per node, so
        // the re-sealed blobs are what matters): the inventory names version 2 everywhere.
        let (_, body) = alice.get("/v1/tenants/initech/keys").await;
        for k in keys_of(&body) {
            assert_eq!(k["domain_key_version"], 2, "{k}");
        }
    }
}

kms_tests::server_test! {
    async fn a_scheduled_rotation_is_started_by_the_cluster_once_its_days_have_passed(server) {
        // The pass the leader runs every minute, called with a clock days ahead (the schedule
        // counts days); everything else is the real path: the HSM makes the version, the job
        // is replicated, the leader's task drives it to the end.
        let mut conn = server.client("acme").unwrap().connect().await.unwrap();
        let uid = vm_key(&mut conn, "vm-scheduled", "Virtual Machine").await;
        let before = key_bytes(&mut conn, &uid).await;
        let alice = Api::new(server, &server.admin_identity(Role::TenantAdmin, Some("acme"), "alice").await.unwrap());
        let (status, body) = alice
            .call("PUT", "/v1/tenants/acme/platform/domain-key-rotation", Some(json!({ "every_days": 30 })))
            .await;
        assert_eq!((status, &body["domain_key_rotation_days"]), (200, &json!(30)), "{body}");
        let kms = server.kms();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let day = 86_400;
        let start = server::admin::rotation::start_scheduled;
        assert_eq!(start(kms, now + 29 * day).await.expect("pass"), 0, "not due before 30 days");
        assert_eq!(start(kms, now + 31 * day).await.expect("pass"), 1, "due after 30 days");
        let job = kms.store().running_rotations(Some("acme")).expect("jobs");
        let job = job.first().expect("a running job").id.clone();
        // The same pass again (a second leader, or the next minute): one job only.
        assert_eq!(start(kms, now + 31 * day).await.expect("pass"), 0, "one job at a time");
        let done = wait_for_job(&alice, "acme", &job).await;
        assert_eq!(done["state"], "completed", "{done}");
        let (_, tenant) = alice.get("/v1/tenants/acme").await;
        assert_eq!(tenant["domain_key_versions"], json!([2]), "{tenant}");
        assert_eq!(key_bytes(&mut conn, &uid).await, before, "the key reads the same");
        // The new version was made "31 days ahead": the next is due 30 days after that.
        assert_eq!(start(kms, now + 60 * day).await.expect("pass"), 0);
        // Cleared: never again.
        let (status, _) = alice
            .call("PUT", "/v1/tenants/acme/platform/domain-key-rotation", Some(json!({ "every_days": null })))
            .await;
        assert_eq!(status, 200);
        assert_eq!(start(kms, now + 400 * day).await.expect("pass"), 0, "no schedule");
    }
}

kms_tests::server_test! {
    async fn a_tenant_admin_sees_nothing_of_another_tenant(server) {
        let mut globex = server.client("globex").unwrap().connect().await.unwrap();
        let theirs = vm_key(&mut globex, "vm-globex", "Virtual Machine").await;
        let alice = Api::new(server, &server.admin_identity(Role::TenantAdmin, Some("acme"), "alice").await.unwrap());

        for (method, suffix, body) in [
            ("GET", "", None),
            ("GET", "/keys", None),
            ("GET", "/clients", None),
            ("POST", "/clients", Some(json!({ "name": "intruder" }))),
            ("POST", "/rotate-domain-key", Some(json!({}))),
            ("POST", "/clients/vcenter/disable", Some(json!({}))),
        ] {
            let other = alice.call(method, &format!("/v1/tenants/globex{suffix}"), body.clone()).await;
            let missing = alice.call(method, &format!("/v1/tenants/nosuch{suffix}"), body).await;
            assert_eq!(other, (404, json!({ "error": "no such tenant" })), "{method} {suffix}");
            assert_eq!(other, missing, "{method} {suffix}");
        }
        // Another tenant's key under one's own tenant: exactly a missing key.
        let (status, body) = alice.post(&format!("/v1/tenants/acme/keys/{theirs}/revoke"), json!({})).await;
        assert_eq!((status, &body), (404, &json!({ "error": "no such key" })));
        let missing = alice.post("/v1/tenants/acme/keys/6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b/revoke", json!({})).await;
        assert_eq!((status, body), missing);
        // Operator routes are not theirs.
        assert_eq!(alice.get("/v1/tenants").await.0, 403);
        assert_eq!(alice.post("/v1/tenants", json!({ "id": "mine" })).await.0, 403);
        assert_eq!(alice.get("/v1/node/status").await.0, 403);
        // Nothing changed at globex.
        assert!(server.kms().store().client("globex/intruder").unwrap().is_none());
        assert!(server.kms().store().client("globex/vcenter").unwrap().unwrap().enabled);
        assert_eq!(key_bytes(&mut globex, &theirs).await.len(), 32);
        // A KMIP client certificate gets nothing from the admin API.
        let vcenter = Api::new(server, &server.client_files("acme").unwrap());
        assert_eq!(vcenter.get("/v1/tenants/acme/keys").await, (403, json!({ "error": "forbidden" })));
    }
}

kms_tests::server_test! {
    async fn an_auditor_reads_but_changes_nothing(server) {
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let uid = vm_key(&mut acme, "vm-audited", "Virtual Machine").await;
        let auditor = Api::new(server, &server.admin_identity(Role::Auditor, Some("acme"), "carol").await.unwrap());

        let (status, body) = auditor.get("/v1/tenants/acme/keys").await;
        assert_eq!(status, 200);
        assert_eq!(keys_of(&body).len(), 1);
        assert_eq!(auditor.get("/v1/tenants/acme/clients").await.0, 200);

        let forbidden = (403, json!({ "error": "forbidden" }));
        for action in ["activate", "revoke", "destroy", "rekey"] {
            let got = auditor.post(&format!("/v1/tenants/acme/keys/{uid}/{action}"), json!({})).await;
            assert_eq!(got, forbidden, "{action}");
        }
        assert_eq!(auditor.post("/v1/tenants/acme/clients", json!({ "name": "x" })).await, forbidden);
        assert_eq!(auditor.post("/v1/tenants/acme/clients/vcenter/disable", json!({})).await, forbidden);
        assert_eq!(
            auditor.call("PUT", "/v1/tenants/acme/clients/vcenter/password", Some(json!({ "password": "p" }))).await,
            forbidden
        );
        assert_eq!(auditor.post("/v1/tenants/acme/rotate-domain-key", json!({})).await, forbidden);
        assert_eq!(auditor.post("/v1/tenants", json!({ "id": "t" })).await, forbidden);
        assert_eq!(auditor.post("/v1/tenants/acme/suspend", json!({})).await, forbidden);
        // Another tenant is as missing for an auditor as for a tenant admin.
        assert_eq!(auditor.get("/v1/tenants/globex/keys").await.0, 404);

        // Nothing changed.
        let (_, body) = auditor.get("/v1/tenants/acme/keys").await;
        assert_eq!(keys_of(&body)[0]["state"], "PreActive");
        let tenant = server.kms().store().tenant("acme").unwrap().unwrap();
        assert_eq!(tenant.domain_keys.len(), 1);
        let vcenter = server.kms().store().client("acme/vcenter").unwrap().unwrap();
        assert!(vcenter.enabled && vcenter.password_hash.is_none());
    }
}

kms_tests::server_test! {
    async fn a_disabled_client_is_refused_at_once(server) {
        let alice = Api::new(server, &server.admin_identity(Role::TenantAdmin, Some("acme"), "alice").await.unwrap());
        let mut open = server.client("acme").unwrap().connect().await.unwrap();
        let uid = vm_key(&mut open, "vm-1", "Virtual Machine").await;

        let (status, body) = alice.post("/v1/tenants/acme/clients/vcenter/disable", json!({})).await;
        assert_eq!((status, &body["enabled"]), (200, &json!(false)), "{body}");
        assert!(open.get(&uid, None).await.is_err(), "the open connection is refused at once");
        let fresh = server.client("acme").unwrap().connect().await;
        // Refused at the handshake or at the first request, never answered.
        if let Ok(mut c) = fresh {
            assert!(c.get(&uid, None).await.is_err(), "a new connection is refused");
        }
        let (status, _) = alice.post("/v1/tenants/acme/clients/vcenter/enable", json!({})).await;
        assert_eq!(status, 200);
        let mut again = server.client("acme").unwrap().connect().await.unwrap();
        assert_eq!(key_bytes(&mut again, &uid).await.len(), 32);

        // The optional KMIP credential: set, required, cleared.
        let (status, body) = alice
            .call("PUT", "/v1/tenants/acme/clients/vcenter/password", Some(json!({ "password": "s3cret-pass" })))
            .await;
        assert_eq!((status, &body["has_password"]), (200, &json!(true)), "{body}");
        let stored = server.kms().store().client("acme/vcenter").unwrap().unwrap();
        assert!(stored.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2")));
        assert!(again.get(&uid, None).await.is_err(), "no credential, refused");
        let with_password = server
            .client_config("acme")
            .unwrap()
            .with_username_password("vcenter", kmip_codec::model::Password::new("s3cret-pass".to_owned()));
        let mut c = Connector::new(with_password).unwrap().connect().await.unwrap();
        assert_eq!(key_bytes(&mut c, &uid).await.len(), 32);
        let (status, body) = alice
            .call("PUT", "/v1/tenants/acme/clients/vcenter/password", Some(json!({ "password": null })))
            .await;
        assert_eq!((status, &body["has_password"]), (200, &json!(false)));

        // An admin disabled by the operator is refused at its next call too.
        let ops = operator(server).await;
        assert_eq!(alice.get("/v1/tenants/acme/keys").await.0, 200);
        assert_eq!(ops.post("/v1/tenants/acme/clients/alice/disable", json!({})).await.0, 200);
        assert_eq!(alice.get("/v1/tenants/acme/keys").await, (401, json!({ "error": "not authenticated" })));
    }
}

/// Keys made for the rotation measurement; `KMS_ADMIN_BENCH_KEYS` raises it.
fn bench_keys() -> usize {
    std::env::var("KMS_ADMIN_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

kms_tests::server_test! {
    /// Re-seals every key of a tenant, prints the rate and the inventory latency, and checks
    /// that a sample of keys reads the same afterwards. Measure with
    /// `KMS_ADMIN_BENCH_KEYS=1000 cargo test -p kms-tests --test it admin::rotation_rate -- --nocapture`.
    async fn rotation_rate_and_inventory_latency(server) {
        let ops = operator(server).await;
        let mut acme = server.client("acme").unwrap().connect().await.unwrap();
        let n = bench_keys();
        let mut uids = Vec::with_capacity(n);
        for i in 0..n {
            uids.push(
                acme.create_symmetric_key(
                    CryptographicAlgorithm::AES,
                    256,
                    CryptographicUsageMask::ENCRYPT,
                    Attributes::new(),
                )
                .await
                .unwrap_or_else(|e| panic!("create {i}: {e}")),
            );
        }
        let sample: Vec<(String, Vec<u8>)> = {
            let mut out = Vec::new();
            for uid in uids.iter().step_by((n / 10).max(1)) {
                out.push((uid.clone(), key_bytes(&mut acme, uid).await));
            }
            out
        };

        let start = std::time::Instant::now();
        let (_, page) = ops.get("/v1/tenants/acme/keys?limit=1000").await;
        let inventory = start.elapsed();
        assert_eq!(keys_of(&page).len(), n.min(1000));

        let start = std::time::Instant::now();
        let (status, started) = ops.post("/v1/tenants/acme/rotate-domain-key", json!({})).await;
        assert_eq!(status, 202, "{started}");
        let job = started["job"].as_str().unwrap().to_owned();
        let mut done = Value::Null;
        for _ in 0..6000 {
            let (_, body) = ops.get(&format!("/v1/tenants/acme/jobs/{job}")).await;
            if body["state"] != "running" {
                done = body;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = start.elapsed();
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["resealed"], n, "{done}");
        for (uid, bytes) in &sample {
            assert_eq!(&key_bytes(&mut acme, uid).await, bytes);
        }
        println!(
            "admin bench: {n} keys; inventory page of {} in {:.1} ms; rotation in {:.2} s = {:.0} keys/s",
            n.min(1000),
            inventory.as_secs_f64() * 1e3,
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
    }
}
