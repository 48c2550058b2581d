//! Two-stage destroy on one node (issue 17), over real KMIP and the admin API with client
//! certificates, on SoftHSM2: with a destroy grace, KMIP Destroy answers Success and the key is
//! Destroyed for KMIP (Get refused) while its material is kept; the tenant admin cancels one
//! key (it comes back Deactivated with the same bytes); the other is erased by the node's own
//! time-driven task once the grace ends; bad cancels are refused; the event feed and the audit
//! trail tell each step. A hold whose retention ends is told once by the node's task.

use kmip_codec::enums::{ResultReason, RevocationReasonCode};
use kms_tests::testbed::{TestServer, create_aes_key, key_bytes};
use serde_json::{Value, json};
use server::store::records::Role;

use crate::admin::{Api, operator};
use crate::audit_trail::all_records;

const GRACE: &str = "/v1/tenants/acme/platform/destroy-grace";

fn key_path(uid: &str) -> String {
    format!("/v1/tenants/acme/keys/{uid}")
}

/// Polls the key until its material is erased (the task runs every second); `None` if it is
/// not within `patience` (a failure, not a measurement).
async fn erased(api: &Api, uid: &str, patience: std::time::Duration) -> Option<Value> {
    let started = std::time::Instant::now();
    while started.elapsed() < patience {
        let (_, key) = api.get(&key_path(uid)).await;
        if key["domain_key_version"].is_null() && key.get("erase_at").is_none() {
            return Some(key);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    None
}

async fn tenant_admin(server: &TestServer) -> Api {
    Api::new(
        server,
        &server
            .admin_identity(Role::TenantAdmin, Some("acme"), "alice")
            .await
            .expect("acme's admin"),
    )
}

kms_tests::server_test! {
    async fn a_destroy_with_a_grace_is_pending_then_cancelled_or_erased(server) {
        let ops = operator(server).await;
        let alice = tenant_admin(server).await;
        // Bad grace values are refused; the default is 0 (erase at once).
        let (_, policy) = alice.get("/v1/tenants/acme/platform").await;
        assert_eq!(policy["destroy_grace_secs"], 0, "{policy}");
        for bad in [json!({ "destroy_grace_secs": 31_536_001 }), json!({ "destroy_grace_secs": -1 }), json!({ "grace": 2 })] {
            assert_eq!(alice.call("PUT", GRACE, Some(bad.clone())).await.0, 400, "{bad}");
        }
        let (status, policy) = alice.call("PUT", GRACE, Some(json!({ "destroy_grace_secs": 2 }))).await;
        assert_eq!((status, &policy["destroy_grace_secs"]), (200, &json!(2)), "{policy}");

        let mut acme = server.client("acme").expect("acme").connect().await.expect("acme connects");
        let erase_me = create_aes_key(&mut acme).await.expect("a key");
        let keep_me = create_aes_key(&mut acme).await.expect("a key");
        let bytes = key_bytes(&mut acme, &keep_me).await;
        for uid in [&erase_me, &keep_me] {
            acme.revoke(uid, RevocationReasonCode::CESSATION_OF_OPERATION, None).await.expect("revoked");
            acme.destroy(uid).await.expect("KMIP Destroy answers Success");
            // Destroyed for KMIP: the material is not served, exactly as for an erased key
            // (KMIP 1.x has no Object Destroyed reason: Item Not Found, "object destroyed").
            let refused = acme.get(uid, None).await.expect_err("a pending key is not served");
            assert_eq!(refused.result_reason(), Some(ResultReason::ITEM_NOT_FOUND), "{refused}");
            assert!(refused.to_string().contains("object destroyed"), "{refused}");
            let (_, key) = alice.get(&key_path(uid)).await;
            assert_eq!(key["state"], "Destroyed", "{key}");
            assert!(key["erase_at"].is_string(), "pending: {key}");
            assert!(key["domain_key_version"].is_u64(), "material kept: {key}");
        }

        // Bad cancels: a key not pending, an unknown key, another tenant's key, another
        // tenant's path.
        let active = create_aes_key(&mut acme).await.expect("a key");
        let (status, body) = alice.post(&format!("{}/cancel-destroy", key_path(&active)), json!({})).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("key not pending destruction")), "{body}");
        let (status, _) = alice.post(&format!("{}/cancel-destroy", key_path("no-such-key")), json!({})).await;
        assert_eq!(status, 404);
        let mut globex = server.client("globex").expect("globex").connect().await.expect("globex connects");
        let theirs = create_aes_key(&mut globex).await.expect("a globex key");
        let (status, body) = alice.post(&format!("{}/cancel-destroy", key_path(&theirs)), json!({})).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("no such key")), "{body}");
        let (status, _) = alice.post(&format!("/v1/tenants/globex/keys/{theirs}/cancel-destroy"), json!({})).await;
        assert_eq!(status, 404, "another tenant is answered as missing");

        // The tenant admin cancels one: back to Deactivated, the same material served again.
        let (status, key) = alice.post(&format!("{}/cancel-destroy", key_path(&keep_me)), json!({})).await;
        assert_eq!((status, key["state"].as_str()), (200, Some("Deactivated")), "{key}");
        assert!(key.get("erase_at").is_none(), "{key}");
        assert_eq!(key_bytes(&mut acme, &keep_me).await, bytes, "the material was kept");

        // The other is erased by the node once its grace ends; then nothing is left to cancel.
        let key = erased(&ops, &erase_me, std::time::Duration::from_secs(30))
            .await
            .expect("the material is erased after the grace");
        assert_eq!(key["state"], "Destroyed", "{key}");
        let (status, body) = alice.post(&format!("{}/cancel-destroy", key_path(&erase_me)), json!({})).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("key not pending destruction")), "{body}");
        // The cancelled key stays: past the grace, it still has its material.
        let (_, kept) = alice.get(&key_path(&keep_me)).await;
        assert!(kept["domain_key_version"].is_u64(), "{kept}");

        // Grace back to 0: a destroy erases at once, as before.
        alice.call("PUT", GRACE, Some(json!({ "destroy_grace_secs": 0 }))).await;
        let at_once = create_aes_key(&mut acme).await.expect("a key");
        acme.destroy(&at_once).await.expect("a Pre-Active key is destroyed");
        let (_, key) = alice.get(&key_path(&at_once)).await;
        assert!(key["domain_key_version"].is_null() && key.get("erase_at").is_none(), "{key}");

        // The feed tells each step.
        let (_, feed) = alice.get("/v1/tenants/acme/events").await;
        let steps: Vec<(String, String)> = feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("key_destroy") || k == "key_erased"))
            .map(|e| (e["kind"].as_str().unwrap_or_default().to_owned(), e["object"].as_str().unwrap_or_default().to_owned()))
            .collect();
        let step = |k: &str, o: &str| (k.to_owned(), o.to_owned());
        assert_eq!(
            steps,
            [
                step("key_destroy_pending", &erase_me),
                step("key_destroy_pending", &keep_me),
                step("key_destroy_cancelled", &keep_me),
                step("key_erased", &erase_me),
                step("key_destroyed", &at_once),
            ],
            "{feed}"
        );

        // The erase is an audited state change in acme's chain, by the node's task.
        let records = all_records(server);
        let erase = records
            .iter()
            .find(|r| r.event.operation == server::platform::steward::ERASE_OPERATION)
            .expect("the erase's record");
        assert_eq!(erase.event.object.as_deref(), Some(erase_me.as_str()));
        assert_eq!(erase.event.tenant.as_deref(), Some("acme"));
        assert!(erase.event.change.is_some(), "carried by its change");
        assert!(records.iter().any(|r| r.event.operation == "POST /v1/tenants/{tenant}/keys/{uid}/{action}"
            && r.event.object.as_deref() == Some(keep_me.as_str())
            && r.event.change.is_some()), "the cancel's record");
    }
}

kms_tests::server_test! {
    async fn a_hold_past_its_retention_is_told_once_by_the_node(server) {
        let ops = operator(server).await;
        let mut acme = server.client("acme").expect("acme").connect().await.expect("acme connects");
        let uid = create_aes_key(&mut acme).await.expect("a key");
        // A retention two seconds away (whole seconds: RFC 3339 without fractions).
        let until = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
        let until = time::OffsetDateTime::from_unix_timestamp(until)
            .expect("a time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
        let (status, body) = ops
            .post("/v1/tenants/acme/holds", json!({ "backup_set": "bs-short", "keys": [uid], "retention_until": until }))
            .await;
        assert_eq!(status, 201, "{body}");
        // The node's task notices the expiry once; the long poll hears of it.
        let mut after = 0;
        let mut expired = Vec::new();
        let started = std::time::Instant::now();
        while expired.is_empty() && started.elapsed() < std::time::Duration::from_secs(30) {
            let (_, feed) = ops.get(&format!("/v1/tenants/acme/events?after={after}&wait=5")).await;
            after = feed["next"].as_u64().expect("next");
            expired.extend(
                feed["events"]
                    .as_array()
                    .expect("events")
                    .iter()
                    .filter(|e| e["kind"] == "hold_expired")
                    .cloned(),
            );
        }
        assert_eq!(expired.len(), 1, "one hold_expired event");
        assert_eq!(expired[0]["object"], "bs-short");
        // Told once: a few more passes of the task make no second event.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let (_, later) = ops.get(&format!("/v1/tenants/acme/events?after={after}")).await;
        assert!(
            !later["events"].as_array().expect("events").iter().any(|e| e["kind"] == "hold_expired"),
            "{later}"
        );
        let (_, hold) = ops.get("/v1/tenants/acme/holds/bs-short").await;
        assert_eq!(hold["hold"]["expired"], true, "{hold}");
        // The notice is an audited state change by the node's task, in acme's chain.
        let notice = all_records(server)
            .into_iter()
            .find(|r| r.event.operation == server::platform::steward::NOTICE_OPERATION)
            .expect("the notice's record");
        assert_eq!(notice.event.object.as_deref(), Some("bs-short"));
        assert_eq!(notice.event.tenant.as_deref(), Some("acme"));
        assert!(notice.event.change.is_some());
    }
}
