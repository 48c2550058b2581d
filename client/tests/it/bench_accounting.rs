//! `kmsctl bench` machinery against an in-test KMIP server that keeps the keys it made:
//! every workload runs and is counted, failures are counted by kind, `--requests` is exact.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::bench::workload::op;
use client::bench::{self, Plan, Report, Stop, VersionChoice, Workload};
use client::{ClientConfig, SessionResumption};
use kmip_codec::enums::{ObjectType, Operation, ResultReason};
use kmip_codec::model::{
    ActivateResponse, AttributeValue, Attributes, CreateResponse, DestroyResponse,
    DiscoverVersionsResponse, GetAttributesResponse, GetResponse, KeyBlock, LocateResponse,
    ManagedObject, RequestBatchItem, RequestMessage, RequestPayload, ResponseBatchItem,
    ResponsePayload, RevokeResponse, SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::scripted_server::{Reply, TestServer, answer, settings, start};

/// The keys the server made: uid -> Object Group.
type Keys = Arc<Mutex<BTreeMap<String, String>>>;

fn group_of(attributes: &Attributes) -> String {
    attributes
        .get(Tag::OBJECT_GROUP)
        .and_then(AttributeValue::as_text)
        .unwrap_or_default()
        .to_owned()
}

/// Answers the operations the workloads send; unknown keys get Item Not Found, and Get too
/// when `fail_get`; the `refused` operation gets Operation Not Supported.
fn respond(
    keys: &Keys,
    item: &RequestBatchItem,
    fail_get: bool,
    refused: Option<Operation>,
) -> ResponseBatchItem {
    if refused == Some(item.operation) {
        return ResponseBatchItem::failure(item, ResultReason::OPERATION_NOT_SUPPORTED, None);
    }
    let mut keys = keys.lock().expect("lock");
    let not_found = |item| ResponseBatchItem::failure(item, ResultReason::ITEM_NOT_FOUND, None);
    let known = |uid: &Option<String>| {
        uid.as_ref()
            .filter(|u| keys.contains_key(*u))
            .cloned()
            .ok_or(())
    };
    let payload: ResponsePayload = match &item.payload {
        RequestPayload::Create(c) => {
            let uid = format!("k-{}", keys.len());
            keys.insert(uid.clone(), group_of(&c.attributes));
            CreateResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: uid,
                template_attribute: None,
            }
            .into()
        }
        RequestPayload::Get(g) if !fail_get => match known(&g.unique_identifier) {
            Ok(uid) => GetResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: uid,
                object: ManagedObject::SymmetricKey(SymmetricKey {
                    key_block: KeyBlock::raw(
                        Bytes::from(&[7u8; 32][..]),
                        kmip_codec::enums::CryptographicAlgorithm::AES,
                        256,
                    ),
                }),
            }
            .into(),
            Err(()) => return not_found(item),
        },
        RequestPayload::Get(_) => return not_found(item),
        RequestPayload::Activate(a) => match known(&a.unique_identifier) {
            Ok(unique_identifier) => ActivateResponse { unique_identifier }.into(),
            Err(()) => return not_found(item),
        },
        RequestPayload::GetAttributes(a) => match known(&a.unique_identifier) {
            Ok(unique_identifier) => GetAttributesResponse {
                unique_identifier,
                attributes: Attributes::new(),
            }
            .into(),
            Err(()) => return not_found(item),
        },
        RequestPayload::Revoke(r) => match known(&r.unique_identifier) {
            Ok(unique_identifier) => RevokeResponse { unique_identifier }.into(),
            Err(()) => return not_found(item),
        },
        RequestPayload::Destroy(d) => match known(&d.unique_identifier) {
            Ok(unique_identifier) => {
                keys.remove(&unique_identifier);
                DestroyResponse { unique_identifier }.into()
            }
            Err(()) => return not_found(item),
        },
        RequestPayload::Locate(l) => {
            let want = group_of(&l.attributes);
            let max = usize::try_from(l.maximum_items.unwrap_or(1000)).unwrap_or(0);
            LocateResponse {
                located_items: None,
                unique_identifiers: keys
                    .iter()
                    .filter(|(_, g)| **g == want)
                    .map(|(u, _)| u.clone())
                    .take(max)
                    .collect(),
            }
            .into()
        }
        RequestPayload::DiscoverVersions(_) => DiscoverVersionsResponse {
            protocol_versions: vec![ProtocolVersion::V1_4, ProtocolVersion::V1_1],
        }
        .into(),
        _ => return ResponseBatchItem::failure(item, ResultReason::OPERATION_NOT_SUPPORTED, None),
    };
    ResponseBatchItem::success(item, payload)
}

async fn key_server(fail_get: bool) -> (TestServer, Keys) {
    refusing_server(fail_get, None).await
}

async fn refusing_server(fail_get: bool, refused: Option<Operation>) -> (TestServer, Keys) {
    let keys: Keys = Arc::default();
    let server = start({
        let keys = Arc::clone(&keys);
        move |request: &RequestMessage| -> Reply {
            answer(request, |item| respond(&keys, item, fail_get, refused))
        }
    })
    .await;
    (server, keys)
}

fn plan(settings: ClientConfig, workload: Workload, stop: Stop) -> Plan {
    Plan {
        settings: settings.with_protocol_version(workload.default_protocol()),
        version: VersionChoice::Fixed(workload.default_protocol()),
        workload,
        connections: 4,
        stop,
        warmup: Duration::from_millis(100),
        keys: 20,
        progress: false,
        server_pid: None,
    }
}

async fn run(plan: Plan) -> Report {
    bench::run(plan, std::future::pending()).await.expect("run")
}

fn ops_of(report: &Report, name: &str) -> u64 {
    report
        .operations
        .iter()
        .filter(|o| o.name == name)
        .map(|o| o.ok)
        .sum()
}

#[tokio::test]
async fn every_workload_counts_successes_and_no_errors() {
    let (server, keys) = key_server(false).await;
    let mut created = 0;
    for (workload, length) in [
        (Workload::Get, Duration::from_secs(1)),
        (Workload::Create, Duration::from_millis(300)),
        (Workload::Mixed, Duration::from_millis(300)),
        (Workload::Locate, Duration::from_millis(300)),
        (Workload::Vcenter, Duration::from_millis(300)),
    ] {
        let report = run(plan(settings(&server), workload, Stop::After(length))).await;
        assert!(report.ok > 0, "{workload:?}: {report}");
        assert_eq!(report.errors, 0, "{workload:?}: {report}");
        assert_eq!(report.warmup_errors, 0, "{workload:?}: {report}");
        assert!(report.error_kinds.is_empty(), "{workload:?}: {report}");
        assert!(report.ops_per_sec > 0.0, "{workload:?}: {report}");
        assert!(
            report.measured_secs >= length.as_secs_f64(),
            "{workload:?}: {report}"
        );
        assert!(report.latency_us.p50 <= report.latency_us.p99);
        assert!(report.latency_us.p99 <= report.latency_us.max);
        // Where the CPU went: the load tool's own share is always measured (the scripted
        // server runs in this process, so it is not reported apart).
        let cpu = report.cpu.as_ref().expect("CPU figures on Linux");
        assert!(cpu.cores >= 1, "{report}");
        assert!((0.0..=1.0).contains(&cpu.machine_idle_share), "{report}");
        assert!(cpu.tool_us_per_op > 0.0, "{report}");
        assert_eq!(cpu.server_us_per_op, None, "{report}");
        assert!(report.to_string().contains("cpu: "), "{report}");
        let expected_keys = if workload.needs_keys() { 20 } else { 0 };
        assert_eq!(report.setup_keys, expected_keys, "{workload:?}");
        match workload {
            Workload::Mixed => {
                assert_eq!(report.operations.len(), 6, "{report}");
                assert_eq!(
                    ops_of(&report, op::DESTROY),
                    ops_of(&report, op::CREATE),
                    "{report}"
                );
            }
            Workload::Create => {
                created = report.ok + report.warmup_ok;
                assert_eq!(ops_of(&report, op::CREATE), report.ok);
            }
            Workload::Vcenter => {
                let h = report.handshakes.expect("handshakes");
                assert_eq!(h.full + h.resumed, report.ok, "{report}");
                assert!(h.resumed > 0, "{report}");
            }
            // `locate-name` and `locate-attr` need a server that keeps Names and custom
            // attributes: they run against kmsd (`scripts/bench-locate.sh`), not this script.
            Workload::Get | Workload::Locate | Workload::LocateName | Workload::LocateAttr => {
                assert_eq!(report.operations.len(), 1, "{report}");
            }
        }
    }
    // Left on the server: the three setups' keys and the created ones; every key a `mixed`
    // lifecycle made was destroyed again. Each is in its run's Object Group.
    let keys = keys.lock().expect("lock");
    assert_eq!(keys.len() as u64, 3 * 20 + created);
    assert!(keys.values().all(|g| g.starts_with("kmsctl-bench-")));
    // The Gets and Locates went to the keys the setup made.
    let gets = server
        .requests()
        .iter()
        .filter(|r| r.batch_items[0].operation == Operation::GET)
        .count();
    assert!(gets > 0);
}

#[tokio::test]
async fn vcenter_without_resumption_makes_full_handshakes_only() {
    let (server, _keys) = key_server(false).await;
    let settings = settings(&server).with_resumption(SessionResumption::Disabled);
    let report = run(plan(
        settings,
        Workload::Vcenter,
        Stop::After(Duration::from_millis(300)),
    ))
    .await;
    assert!(report.ok > 0, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    let h = report.handshakes.expect("handshakes");
    assert_eq!((h.full, h.resumed), (report.ok, 0), "{report}");
    // Each iteration's requests spoke 1.1, vCenter's version.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.version() == ProtocolVersion::V1_1)
    );
}

#[tokio::test]
async fn failed_operations_are_counted_by_kind() {
    let (server, _keys) = key_server(true).await;
    let report = run(plan(
        settings(&server),
        Workload::Get,
        Stop::After(Duration::from_millis(300)),
    ))
    .await;
    assert_eq!(report.ok, 0, "{report}");
    assert!(report.errors > 0, "{report}");
    assert_eq!(
        report.error_kinds.get("kmip: Get: ItemNotFound"),
        Some(&report.errors),
        "{report}"
    );
    assert!(report.to_string().contains("error kmip: Get: ItemNotFound"));
}

#[tokio::test]
async fn a_request_count_measures_exactly_that_many_iterations() {
    let (server, _keys) = key_server(false).await;
    let mut plan = plan(settings(&server), Workload::Create, Stop::Requests(57));
    plan.warmup = Duration::ZERO;
    let report = run(plan).await;
    assert_eq!((report.ok, report.errors), (57, 0), "{report}");
    let creates = server
        .requests()
        .iter()
        .filter(|r| r.batch_items[0].operation == Operation::CREATE)
        .count();
    assert_eq!(creates, 57);
}

#[tokio::test]
async fn setup_failure_is_an_error_not_a_report() {
    // Nothing listens on the port of a server that was dropped.
    let addr = {
        let (server, _keys) = key_server(false).await;
        settings(&server)
    };
    let result = bench::run(
        plan(addr, Workload::Get, Stop::Requests(1)),
        std::future::pending(),
    )
    .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn a_refused_workload_is_reported_unsupported() {
    // Locate refused on every request: the setup works, the measurement does not.
    let (server, _keys) = refusing_server(false, Some(Operation::LOCATE)).await;
    let report = run(plan(
        settings(&server),
        Workload::Locate,
        Stop::After(Duration::from_millis(200)),
    ))
    .await;
    assert_eq!(report.ok, 0, "{report}");
    assert_eq!(
        report.unsupported.as_deref(),
        Some("kmip: Locate: OperationNotSupported"),
        "{report}"
    );
    // Activate refused: the setup of `get` fails, and says so.
    let (server, _keys) = refusing_server(false, Some(Operation::ACTIVATE)).await;
    let report = run(plan(settings(&server), Workload::Get, Stop::Requests(1))).await;
    assert_eq!((report.ok, report.errors), (0, 0), "{report}");
    assert_eq!(
        report.unsupported.as_deref(),
        Some("setup: kmip: Activate: OperationNotSupported"),
        "{report}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["server_versions"][0], "1.4");
    // Every measured request refused, whatever the reason: reported with that reason.
    let (server, _keys) = key_server(true).await;
    let report = run(plan(settings(&server), Workload::Get, Stop::Requests(5))).await;
    assert!(report.errors > 0, "{report}");
    assert_eq!(
        report.unsupported.as_deref(),
        Some("kmip: Get: ItemNotFound"),
        "{report}"
    );
}

#[tokio::test]
async fn a_version_the_server_does_not_speak_is_unsupported_and_auto_negotiates() {
    let (server, _keys) = key_server(false).await;
    let mut asked = plan(settings(&server), Workload::Create, Stop::Requests(3));
    asked.version = VersionChoice::Fixed(ProtocolVersion::V2_1);
    let report = run(asked).await;
    assert_eq!(report.ok, 0, "{report}");
    assert_eq!(
        report.unsupported.as_deref(),
        Some("server does not speak KMIP 2.1 (it speaks 1.4, 1.1)"),
        "{report}"
    );
    // No Create was sent.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.batch_items[0].operation != Operation::CREATE)
    );
    let mut auto = plan(settings(&server), Workload::Create, Stop::Requests(3));
    auto.version = VersionChoice::Negotiate;
    let report = run(auto).await;
    assert_eq!((report.ok, report.errors), (3, 0), "{report}");
    assert_eq!(report.protocol, "1.4");
    assert!(report.unsupported.is_none());
}
