//! The platform layer end to end on one node (issue 17): real TLS with client certificates on
//! the admin port, real SoftHSM2, real KMIP clients making the keys. An operator enrolls the
//! platform services; the console finds acme not eligible for each missing prerequisite, then
//! eligible; vCenter's KMIP flow binds a KEK to a VM; the registry shows it; the replication
//! service is refused Global Mirror for it; the backup service holds the key; Destroy is
//! refused over KMIP and the admin API while Revoke goes through; the hold is released and the
//! destroy goes through; the audit trail keeps every verdict.

use client::IdentityFiles;
use kmip_codec::enums::{ResultReason, RevocationReasonCode};
use kms_tests::testbed::{CLIENT_NAME, TestServer};
use serde_json::{Value, json};
use server::store::records::Role;

use crate::admin::{Api, kmip, operator, vm_key};
use crate::audit_trail::all_records;

/// The VM of the story.
const VM: &str = "vm-finance-01";

/// A platform service's certificate (enrolled by the operator over the API first).
pub(crate) fn service(server: &TestServer, name: &str) -> Api {
    let files: IdentityFiles = server
        .issue_identity(Role::PlatformService, None, name)
        .expect("a platform service certificate");
    Api::new(server, &files)
}

/// The console's facts about [`VM`], ready for encryption, with `change` applied.
fn facts(change: impl FnOnce(&mut Value)) -> Value {
    let mut v = json!({
        "vm_id": format!("uuid-{VM}"),
        "vm_name": VM,
        "vcenter": CLIENT_NAME,
        "power_state": "powered_off",
        "snapshot_count": 0,
        "replication_mode": "none",
        "backup_policy": "daily-30d",
    });
    change(&mut v);
    v
}

/// The failed codes of an eligibility answer.
fn codes(answer: &Value) -> Vec<String> {
    answer["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect()
}

const ELIGIBILITY: &str = "/v1/tenants/acme/vms/eligibility";

kms_tests::server_test! {
    async fn the_platform_story_on_one_node(server) {
        let ops = operator(server).await;
        for name in ["console", "backup", "replication"] {
            let (status, body) = ops.post("/v1/platform/services", json!({ "name": name })).await;
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["role"], "platform-service");
        }
        let (status, _) = ops.post("/v1/platform/services", json!({ "name": "billing" })).await;
        assert_eq!(status, 400, "only the three services exist");
        let (_, listed) = ops.get("/v1/platform/services").await;
        assert_eq!(listed["services"].as_array().map(Vec::len), Some(3));
        let console = service(server, "console");
        let backup = service(server, "backup");
        let replication = service(server, "replication");

        // Not subscribed: the console may check (and is told so) but not read the registry.
        let (status, answer) = console.post(ELIGIBILITY, facts(|_| {})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["eligible"], false);
        assert_eq!(codes(&answer), ["subscription_missing"]);
        let (status, body) = console.get("/v1/tenants/acme/vms").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("tenant has no advanced protection subscription"))
        );
        let (status, body) = console
            .call("PUT", "/v1/tenants/acme/platform/subscription", Some(json!({ "advanced_protection": true })))
            .await;
        assert_eq!((status, &body["advanced_protection"]), (200, &json!(true)), "{body}");

        // Each prerequisite fails alone with its code, then the VM is eligible.
        for (change, code) in [
            (json!({ "vcenter": "vc-unknown" }), "key_provider_not_configured"),
            (json!({ "power_state": "powered_on" }), "vm_powered_on"),
            (json!({ "replication_mode": "global_mirror" }), "global_mirror_replication"),
            (json!({ "snapshot_count": 2 }), "snapshots_present"),
        ] {
            let body = facts(|v| {
                for (k, x) in change.as_object().expect("an object") {
                    v[k] = x.clone();
                }
            });
            let (status, answer) = console.post(ELIGIBILITY, body).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(codes(&answer), [code], "{change}");
            assert!(answer["failed"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let (_, answer) = console.post(ELIGIBILITY, facts(|_| {})).await;
        assert_eq!((&answer["eligible"], codes(&answer).len()), (&json!(true), 0), "{answer}");
        // Unknown or impossible facts are refused, not judged.
        for bad in [
            facts(|v| v["colour"] = json!("red")),
            facts(|v| v["power_state"] = json!("warm")),
            facts(|v| v["snapshot_count"] = json!(-1)),
            facts(|v| v["vm_id"] = json!("")),
        ] {
            assert_eq!(console.post(ELIGIBILITY, bad.clone()).await.0, 400, "{bad}");
        }

        // vCenter's flow binds a KEK to the VM; the registry shows it.
        let mut vcenter = kmip(server, &server.client_files("acme").expect("acme's vCenter"))
            .connect()
            .await
            .expect("vCenter connects");
        let kek = vm_key(&mut vcenter, VM, "Virtual Machine").await;
        vcenter.activate(&kek).await.expect("vCenter activates the KEK");
        let (status, vms) = console.get("/v1/tenants/acme/vms").await;
        assert_eq!(status, 200, "{vms}");
        let vm = &vms["vms"][0];
        assert_eq!((vm["vm_id"].as_str(), vm["kek_uid"].as_str()), (Some(&*format!("uuid-{VM}")), Some(&*kek)), "{vms}");
        assert_eq!(vm["vm_name"], VM);
        let (status, one) = console.get(&format!("/v1/tenants/acme/vms/uuid-{VM}")).await;
        assert_eq!((status, one["state"].as_str()), (200, Some("Active")), "{one}");
        assert_eq!(console.get("/v1/tenants/acme/vms/uuid-nope").await.0, 404);
        // The key provider is configured, and this node saw its requests.
        let (_, providers) = console.get("/v1/tenants/acme/key-providers").await;
        let vc = providers["key_providers"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == CLIENT_NAME))
            .expect("acme's vCenter is a key provider");
        assert_eq!(vc["configured"], true, "{providers}");
        assert!(vc["last_successful_request"].is_string(), "{providers}");
        assert!(vc["certificate_days_left"].as_i64().is_some_and(|d| d > 0), "{providers}");

        // Global Mirror is refused for the encrypted VM (and an override too); Metro Mirror is not.
        let check = |mode: &str, over: bool| {
            json!({ "mode": mode, "vm_ids": [format!("uuid-{VM}"), "uuid-plain"], "lun": "lun-7", "override": over })
        };
        let (status, answer) = replication.post("/v1/tenants/acme/replication/check", check("global_mirror", false)).await;
        assert_eq!((status, &answer["allowed"]), (200, &json!(false)), "{answer}");
        assert_eq!(answer["refused"][0]["code"], "encrypted_vm_global_mirror");
        assert_eq!(answer["refused"].as_array().map(Vec::len), Some(1), "the plain VM may");
        let (_, answer) = replication.post("/v1/tenants/acme/replication/check", check("global_mirror", true)).await;
        assert_eq!(answer["override_refused"], true, "{answer}");
        let (_, answer) = replication.post("/v1/tenants/acme/replication/check", check("metro_mirror", false)).await;
        assert_eq!(answer["allowed"], true, "{answer}");
        // Each service only its own calls.
        assert_eq!(replication.post("/v1/tenants/acme/holds", json!({})).await.0, 403);
        assert_eq!(console.post("/v1/tenants/acme/replication/check", check("none", false)).await.0, 403);

        // The backup service holds the KEK; another tenant's key is answered as missing.
        let until = "2100-01-01T00:00:00Z";
        let globex_key = kms_tests::testbed::create_aes_key(
            &mut server.client("globex").expect("globex").connect().await.expect("globex connects"),
        )
        .await
        .expect("a globex key");
        let hold = |keys: Vec<&str>, until: &str| json!({ "backup_set": "bs-1", "keys": keys, "retention_until": until });
        let (status, body) = backup.post("/v1/tenants/acme/holds", hold(vec![&kek, &globex_key], until)).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("no such key")), "{body}");
        let (status, body) = backup.post("/v1/tenants/acme/holds", hold(vec![&kek], "2001-01-01T00:00:00Z")).await;
        assert_eq!(status, 400, "a retention in the past: {body}");
        let (status, body) = backup.post("/v1/tenants/acme/holds", hold(vec![&kek], until)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(backup.post("/v1/tenants/acme/holds", hold(vec![&kek], until)).await.0, 409);
        let (_, shown) = backup.get("/v1/tenants/acme/holds/bs-1").await;
        assert_eq!(shown["restorable"], true, "{shown}");
        let (_, one) = console.get(&format!("/v1/tenants/acme/vms/uuid-{VM}")).await;
        assert_eq!(one["held_by"], json!(["bs-1"]), "{one}");

        // Destroy refused (KMIP and admin API), revoke allowed, the key still restorable.
        vcenter
            .revoke(&kek, RevocationReasonCode::CESSATION_OF_OPERATION, None)
            .await
            .expect("revoke stays possible under a hold");
        let refused = vcenter.destroy(&kek).await.expect_err("a held key is not destroyed");
        assert_eq!(refused.result_reason(), Some(ResultReason::PERMISSION_DENIED), "{refused}");
        let (status, body) = ops.post(&format!("/v1/tenants/acme/keys/{kek}/destroy"), json!({})).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("backup hold")), "{body}");
        let (_, shown) = backup.get("/v1/tenants/acme/holds/bs-1").await;
        assert_eq!(shown["restorable"], true, "{shown}");

        // Released: the destroy goes through; a second release finds nothing.
        let (status, body) = backup.call("DELETE", "/v1/tenants/acme/holds/bs-1", None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(backup.call("DELETE", "/v1/tenants/acme/holds/bs-1", None).await.0, 404);
        vcenter.destroy(&kek).await.expect("destroyed once released");

        // The event feed tells the platform what changed, in order, resumable by its cursor.
        let (status, feed) = backup.get("/v1/tenants/acme/events").await;
        assert_eq!(status, 200, "{feed}");
        let events = feed["events"].as_array().expect("events").clone();
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(
            kinds,
            ["policy_changed", "hold_placed", "key_revoked", "hold_released", "key_destroyed"],
            "{feed}"
        );
        assert_eq!(events[2]["object"], kek.as_str());
        let first = events[0]["change"].as_u64().expect("a cursor");
        let (_, rest) = backup.get(&format!("/v1/tenants/acme/events?after={first}")).await;
        assert_eq!(rest["events"].as_array().map(Vec::len), Some(4), "{rest}");
        let last = feed["next"].as_u64().expect("next");
        let started = std::time::Instant::now();
        let (_, none) = backup.get(&format!("/v1/tenants/acme/events?after={last}&wait=1")).await;
        assert_eq!(none["events"], json!([]), "{none}");
        assert_eq!(none["next"].as_u64(), Some(last));
        assert!(started.elapsed() >= std::time::Duration::from_millis(900), "the long poll waited");
        assert_eq!(backup.get("/v1/tenants/acme/events?wait=31").await.0, 400);

        // The trail holds every verdict, with the VM it was about.
        let records = all_records(server);
        let verdicts: Vec<_> = records
            .iter()
            .filter(|r| r.event.operation == "POST /v1/tenants/{tenant}/vms/eligibility")
            .map(|r| (r.event.object.clone(), r.event.reason.clone()))
            .collect();
        // Filed in acme's chain (an acme auditor sees them), naming the console by role and name.
        for r in records
            .iter()
            .filter(|r| r.event.operation == "POST /v1/tenants/{tenant}/vms/eligibility")
        {
            assert_eq!(r.event.tenant.as_deref(), Some("acme"), "{r:?}");
            let by = r.event.principal.as_ref().and_then(|p| p.client.clone());
            assert_eq!(by.as_deref(), Some("platform-service/console"), "{r:?}");
        }
        let vm_object = Some(format!("vm:uuid-{VM}"));
        assert!(verdicts.contains(&(vm_object.clone(), Some("eligible".to_owned()))), "{verdicts:?}");
        assert!(
            verdicts.contains(&(vm_object.clone(), Some("not eligible: vm_powered_on".to_owned()))),
            "{verdicts:?}"
        );
        assert!(records.iter().any(|r| r.event.reason.as_deref()
            == Some("override refused: encrypted_vm_global_mirror x1")
            && r.event.object.as_deref() == Some("lun:lun-7")));
        for op in [
            "POST /v1/tenants/{tenant}/holds",
            "DELETE /v1/tenants/{tenant}/holds/{set}",
            "PUT /v1/tenants/{tenant}/platform/subscription",
        ] {
            assert!(
                records.iter().any(|r| r.event.operation == op && r.event.change.is_some()),
                "{op}: a state change with its record"
            );
        }
    }
}
