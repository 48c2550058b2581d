//! The access policy as a matrix (issue 16): every role (kmip-client, tenant-admin, auditor,
//! operator, platform-service: the console) against every KMIP operation the server dispatches, over real KMIP with mutual
//! TLS, and against every admin route, over real HTTPS with client certificates, on a real
//! server on SoftHSM2.
//!
//! The rows come from the server's own tables: `server::ops::OPERATIONS` (the dispatch table)
//! and `server::admin::route_table()` (the admin router). The expected answers are written
//! here, once per row; an operation or route the server gains without a row here fails the
//! test, and so does one that answers a role otherwise than written.

use std::collections::BTreeSet;

use client::{CipherOptions, ClientConfig, Connection, Connector, IdentityFiles};
use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DigitalSignatureAlgorithm, HashingAlgorithm,
    ObjectType, OpaqueDataType, Operation, QueryFunction, ResultReason, ResultStatus,
    RevocationReasonCode,
};
use kmip_codec::model::{
    ActivateRequest, AddAttributeRequest, Attribute, AttributeName, AttributeValue, Attributes,
    CheckFields, CheckRequest, CreateRequest, CryptographicParameters, DecryptRequest,
    DeleteAttributeRequest, DestroyRequest, DiscoverVersionsRequest, EncryptRequest,
    GetAttributeListRequest, GetAttributesRequest, GetRequest, HashRequest, LocateRequest,
    LogRequest, MacRequest, MacVerifyRequest, ManagedObject, ModifyAttributeRequest, OpaqueObject,
    QueryRequest, ReKeyRequest, RegisterRequest, RequestPayload, RevocationReason, RevokeRequest,
    RngRetrieveRequest, RngSeedRequest, SetAttributeRequest, SignRequest, SignatureVerifyRequest,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{TestServer, create_aes_key};
use serde_json::{Value, json};
use server::store::platform::PolicyChange;
use server::store::records::Role;

use crate::admin::Api;
use crate::asymmetric::{self as asym, create_pair};
use crate::tenancy::{IV, answer, cbc, note};

/// The roles, in the order of the matrix columns.
const ROLES: [Role; 5] = [
    Role::KmipClient,
    Role::TenantAdmin,
    Role::Auditor,
    Role::Operator,
    Role::PlatformService,
];

/// Allowed (`Y`) or refused (`N`), per role in [`ROLES`] order.
const Y: bool = true;
const N: bool = false;

/// Every KMIP operation the server dispatches, and which roles may run it.
const KMIP_MATRIX: &[(Operation, [bool; 5])] = &[
    (Operation::DISCOVER_VERSIONS, [Y, Y, Y, Y, N]),
    (Operation::QUERY, [Y, Y, Y, Y, N]),
    (Operation::LOCATE, [Y, Y, Y, N, N]),
    (Operation::GET_ATTRIBUTES, [Y, Y, Y, N, N]),
    (Operation::GET_ATTRIBUTE_LIST, [Y, Y, Y, N, N]),
    (Operation::CREATE, [Y, Y, N, N, N]),
    (Operation::CREATE_KEY_PAIR, [Y, Y, N, N, N]),
    (Operation::REGISTER, [Y, Y, N, N, N]),
    (Operation::RE_KEY, [Y, Y, N, N, N]),
    (Operation::GET, [Y, Y, N, N, N]),
    (Operation::ADD_ATTRIBUTE, [Y, Y, N, N, N]),
    (Operation::MODIFY_ATTRIBUTE, [Y, Y, N, N, N]),
    (Operation::DELETE_ATTRIBUTE, [Y, Y, N, N, N]),
    (Operation::SET_ATTRIBUTE, [Y, Y, N, N, N]),
    (Operation::ACTIVATE, [Y, Y, N, N, N]),
    (Operation::REVOKE, [Y, Y, N, N, N]),
    (Operation::DESTROY, [Y, Y, N, N, N]),
    (Operation::ENCRYPT, [Y, Y, N, N, N]),
    (Operation::DECRYPT, [Y, Y, N, N, N]),
    (Operation::SIGN, [Y, Y, N, N, N]),
    (Operation::SIGNATURE_VERIFY, [Y, Y, N, N, N]),
    (Operation::MAC, [Y, Y, N, N, N]),
    (Operation::MAC_VERIFY, [Y, Y, N, N, N]),
    (Operation::HASH, [Y, Y, N, N, N]),
    (Operation::RNG_RETRIEVE, [Y, Y, N, N, N]),
    (Operation::CHECK, [Y, Y, N, N, N]),
    (Operation::LOG, [Y, Y, N, N, N]),
    (Operation::EXPORT, [Y, Y, N, N, N]),
    (Operation::IMPORT, [Y, Y, N, N, N]),
    (Operation::DERIVE_KEY, [Y, Y, N, N, N]),
    (Operation::OBTAIN_LEASE, [Y, Y, N, N, N]),
    (Operation::GET_USAGE_ALLOCATION, [Y, Y, N, N, N]),
    (Operation::ARCHIVE, [Y, Y, N, N, N]),
    (Operation::RECOVER, [Y, Y, N, N, N]),
    (Operation::RNG_SEED, [N, N, N, N, N]),
];

/// How a route answers a role: `A` allowed (the handler ran), `F` 403 forbidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    A,
    F,
}
use Answer::{A, F};

/// Every admin route, which roles may call it for their own tenant (`acme`), and whether the
/// route is decided for the tenant its path names (`true`: a tenant admin or auditor of
/// `acme` asking about `globex` is answered 404 "no such tenant", exactly like for a missing
/// tenant).
const ADMIN_MATRIX: &[(&str, &str, [Answer; 5], bool)] = &[
    ("GET", "/healthz", [A, A, A, A, A], false),
    ("GET", "/readyz", [A, A, A, A, A], false),
    ("GET", "/metrics", [F, F, F, A, F], false),
    ("GET", "/v1/node/status", [F, F, F, A, F], false),
    (
        "POST",
        "/v1/node/reload-certificates",
        [F, F, F, A, F],
        false,
    ),
    ("GET", "/v1/cluster", [F, F, F, A, F], false),
    ("POST", "/v1/cluster/init", [F, F, F, A, F], false),
    ("POST", "/v1/cluster/nodes", [F, F, F, A, F], false),
    ("DELETE", "/v1/cluster/nodes/{id}", [F, F, F, A, F], false),
    (
        "POST",
        "/v1/cluster/nodes/{id}/rebuild",
        [F, F, F, A, F],
        false,
    ),
    ("GET", "/v1/cluster/digest", [F, F, F, A, F], false),
    ("POST", "/v1/backups", [F, F, F, A, F], false),
    ("GET", "/v1/audit/records", [F, A, A, A, F], false),
    ("GET", "/v1/audit/checkpoints", [F, A, A, A, F], false),
    ("GET", "/v1/audit/public-key", [F, A, A, A, F], false),
    ("GET", "/v1/tenants", [F, F, F, A, F], false),
    ("POST", "/v1/tenants", [F, F, F, A, F], false),
    ("GET", "/v1/tenants/{tenant}", [F, A, A, A, F], true),
    (
        "POST",
        "/v1/tenants/{tenant}/suspend",
        [F, F, F, A, F],
        false,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/resume",
        [F, F, F, A, F],
        false,
    ),
    ("GET", "/v1/tenants/{tenant}/clients", [F, A, A, A, F], true),
    (
        "POST",
        "/v1/tenants/{tenant}/clients",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/disable",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/enable",
        [F, A, F, A, F],
        true,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/clients/{name}/password",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/claim-token",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/bind",
        [F, F, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/csr",
        [F, A, F, A, F],
        true,
    ),
    ("GET", "/v1/tenants/{tenant}/keys", [F, A, A, A, F], true),
    (
        "GET",
        "/v1/tenants/{tenant}/keys/{uid}",
        [F, A, A, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/keys/{uid}/{action}",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/rotate-domain-key",
        [F, A, F, A, F],
        true,
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/jobs/{job}",
        [F, A, A, A, F],
        true,
    ),
    ("GET", "/v1/platform/services", [F, F, F, A, F], false),
    ("POST", "/v1/platform/services", [F, F, F, A, F], false),
    (
        "POST",
        "/v1/platform/services/{name}/disable",
        [F, F, F, A, F],
        false,
    ),
    (
        "POST",
        "/v1/platform/services/{name}/enable",
        [F, F, F, A, F],
        false,
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/platform",
        [F, A, A, A, A],
        true,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/subscription",
        [F, F, F, A, A],
        true,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/rotation",
        [F, A, F, A, F],
        true,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/destroy-grace",
        [F, A, F, A, F],
        true,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/domain-key-rotation",
        [F, A, F, A, F],
        true,
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/key-providers",
        [F, A, A, A, A],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/vms/eligibility",
        [F, A, F, A, A],
        true,
    ),
    ("GET", "/v1/tenants/{tenant}/vms", [F, A, A, A, A], true),
    (
        "GET",
        "/v1/tenants/{tenant}/vms/{vm}",
        [F, A, A, A, A],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/replication/check",
        [F, A, F, A, F],
        true,
    ),
    ("GET", "/v1/tenants/{tenant}/holds", [F, A, A, A, A], true),
    ("POST", "/v1/tenants/{tenant}/holds", [F, F, F, A, F], true),
    (
        "GET",
        "/v1/tenants/{tenant}/holds/{set}",
        [F, A, A, A, A],
        true,
    ),
    (
        "DELETE",
        "/v1/tenants/{tenant}/holds/{set}",
        [F, F, F, A, F],
        true,
    ),
    ("GET", "/v1/tenants/{tenant}/events", [F, A, A, A, A], true),
    ("GET", "/v1/tenants/{tenant}/exports", [F, A, A, A, F], true),
    (
        "POST",
        "/v1/tenants/{tenant}/exports",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/exports/{job}/approve",
        [F, A, F, F, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/exports/{job}/bundle",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/imports",
        [F, A, F, A, F],
        true,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/import-key",
        [F, A, F, A, F],
        true,
    ),
];

/// The client the admin routes' `{name}` names (enrolled by the test, never used).
const SPARE_CLIENT: &str = "matrix-spare";

/// A KMIP 2.1 connection presenting `files` (2.1: Set Attribute and Log exist in it).
async fn kmip_as(server: &TestServer, files: &IdentityFiles) -> Connection {
    let settings = ClientConfig::new(server.addr().to_string(), "127.0.0.1")
        .with_ca_file(server.ca_path())
        .with_identity(files.cert.clone(), files.key.clone())
        .with_protocol_version(ProtocolVersion::V2_1);
    Connector::new(settings)
        .expect("connector")
        .connect()
        .await
        .expect("the handshake completes")
}

/// The certificate of each role's principal in `acme` (the operator in no tenant), each
/// enrolled.
async fn identities(server: &TestServer) -> Vec<(Role, IdentityFiles)> {
    let mut out = Vec::new();
    for role in ROLES {
        let files = match role {
            Role::KmipClient => server.client_files("acme").expect("acme's KMIP client"),
            Role::Operator => server
                .admin_identity(role, None, "matrix-operator")
                .await
                .expect("operator enrolled"),
            // The console stands for the platform services (each service's calls: the
            // policy's own tests and tests/it/platform.rs).
            Role::PlatformService => server
                .admin_identity(role, None, "console")
                .await
                .expect("console enrolled"),
            _ => server
                .admin_identity(role, Some("acme"), &format!("matrix-{role}"))
                .await
                .expect("admin enrolled"),
        };
        out.push((role, files));
    }
    out
}

/// A fresh AES-256 key of acme with an `x-Note`, made by acme's KMIP client; active if
/// `active`.
async fn acme_key(acme: &mut Connection, active: bool) -> String {
    let uid = create_aes_key(acme).await.expect("acme creates a key");
    acme.add_attribute(&uid, note("acme's"))
        .await
        .expect("acme adds a note");
    if active {
        acme.activate(&uid).await.expect("acme activates the key");
    }
    uid
}

/// A fresh active EC P-256 key pair of acme (Sign / Verify): its private and public UIDs.
async fn acme_pair(acme: &mut Connection) -> (String, String) {
    let pair = create_pair(
        acme,
        asym::request(
            asym::Spec::Ec(kmip_codec::enums::RecommendedCurve::P_256),
            asym::SIGN,
            asym::VERIFY,
            Attributes::new(),
            Attributes::new(),
        ),
    )
    .await
    .expect("acme creates a key pair");
    for uid in [
        &pair.private_key_unique_identifier,
        &pair.public_key_unique_identifier,
    ] {
        acme.activate(uid).await.expect("acme activates the key");
    }
    (
        pair.private_key_unique_identifier,
        pair.public_key_unique_identifier,
    )
}

fn ecdsa() -> CryptographicParameters {
    CryptographicParameters {
        digital_signature_algorithm: Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA256),
        ..CryptographicParameters::default()
    }
}

/// A fresh active HMAC-SHA256 key of acme (MAC Generate and MAC Verify).
async fn acme_hmac_key(acme: &mut Connection) -> String {
    let uid = acme
        .create_symmetric_key(
            CryptographicAlgorithm::HMAC_SHA256,
            256,
            CryptographicUsageMask::MAC_GENERATE | CryptographicUsageMask::MAC_VERIFY,
            Attributes::new(),
        )
        .await
        .expect("acme creates an HMAC key");
    acme.activate(&uid).await.expect("acme activates the key");
    uid
}

/// A request for `op` that succeeds for a role allowed to run it, on fresh objects of acme
/// made by acme's KMIP client.
async fn request_for(op: Operation, acme: &mut Connection) -> RequestPayload {
    let fresh = |uid: String| Some(uid);
    match op {
        Operation::DISCOVER_VERSIONS => DiscoverVersionsRequest::default().into(),
        Operation::QUERY => QueryRequest {
            query_functions: vec![QueryFunction::QUERY_OPERATIONS],
            ..QueryRequest::default()
        }
        .into(),
        Operation::LOCATE => LocateRequest::default().into(),
        Operation::CREATE => CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new()
                .with(
                    Tag::CRYPTOGRAPHIC_ALGORITHM,
                    AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
                )
                .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256)),
            template_names: Vec::new(),
            protection_storage_masks: None,
        }
        .into(),
        Operation::CREATE_KEY_PAIR => asym::request(
            asym::Spec::Ec(kmip_codec::enums::RecommendedCurve::P_256),
            asym::SIGN,
            asym::VERIFY,
            Attributes::new(),
            Attributes::new(),
        )
        .into(),
        Operation::SIGN => SignRequest {
            unique_identifier: Some(acme_pair(acme).await.0),
            cryptographic_parameters: Some(ecdsa()),
            data: Some(Bytes::new(asym::MESSAGE.to_vec())),
            ..SignRequest::default()
        }
        .into(),
        Operation::SIGNATURE_VERIFY => {
            let (private, public) = acme_pair(acme).await;
            let signature = asym::sign(acme, &private, &ecdsa(), asym::MESSAGE)
                .await
                .expect("acme signs");
            SignatureVerifyRequest {
                unique_identifier: Some(public),
                cryptographic_parameters: Some(ecdsa()),
                data: Some(Bytes::new(asym::MESSAGE.to_vec())),
                signature_data: Some(Bytes::new(signature)),
                ..SignatureVerifyRequest::default()
            }
            .into()
        }
        Operation::DERIVE_KEY => {
            let base = acme
                .create_symmetric_key(
                    kmip_codec::enums::CryptographicAlgorithm::AES,
                    256,
                    kmip_codec::enums::CryptographicUsageMask::DERIVE_KEY,
                    Attributes::new(),
                )
                .await
                .expect("acme creates a derivation key");
            acme.activate(&base).await.expect("acme activates it");
            kmip_codec::model::DeriveKeyRequest {
                object_type: ObjectType::SECRET_DATA,
                unique_identifiers: vec![base],
                derivation_method: kmip_codec::enums::DerivationMethod::HKDF,
                derivation_parameters: kmip_codec::model::DerivationParameters::default(),
                attributes: Attributes::new().with(
                    kmip_codec::tags::Tag::CRYPTOGRAPHIC_LENGTH,
                    AttributeValue::Integer(256),
                ),
                template_names: Vec::new(),
            }
            .into()
        }
        Operation::MAC => MacRequest {
            unique_identifier: Some(acme_hmac_key(acme).await),
            data: Some(Bytes::new(b"matrix MAC".to_vec())),
            ..MacRequest::default()
        }
        .into(),
        Operation::MAC_VERIFY => {
            let uid = acme_hmac_key(acme).await;
            let mac = acme
                .call(
                    RequestPayload::Mac(MacRequest {
                        unique_identifier: Some(uid.clone()),
                        data: Some(Bytes::new(b"matrix MAC".to_vec())),
                        ..MacRequest::default()
                    }),
                    |p| match p {
                        kmip_codec::model::ResponsePayload::Mac(r) => r.mac_data,
                        _ => None,
                    },
                )
                .await
                .expect("acme MACs");
            MacVerifyRequest {
                unique_identifier: Some(uid),
                data: Some(Bytes::new(b"matrix MAC".to_vec())),
                mac_data: Some(mac),
                ..MacVerifyRequest::default()
            }
            .into()
        }
        Operation::HASH => HashRequest {
            cryptographic_parameters: CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..CryptographicParameters::default()
            },
            data: Some(Bytes::new(b"matrix hash".to_vec())),
            ..HashRequest::default()
        }
        .into(),
        Operation::REGISTER => {
            let object = ManagedObject::OpaqueObject(OpaqueObject {
                opaque_data_type: OpaqueDataType(0x8000_0001),
                opaque_data_value: Bytes::new(b"matrix opaque".to_vec()),
            });
            RegisterRequest {
                object_type: object.object_type(),
                attributes: Attributes::new(),
                template_names: Vec::new(),
                object,
                protection_storage_masks: None,
            }
            .into()
        }
        Operation::RE_KEY => ReKeyRequest {
            unique_identifier: fresh(acme_key(acme, true).await),
            ..ReKeyRequest::default()
        }
        .into(),
        Operation::GET => GetRequest {
            unique_identifier: fresh(acme_key(acme, true).await),
            ..GetRequest::default()
        }
        .into(),
        Operation::GET_ATTRIBUTES => GetAttributesRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
            ..GetAttributesRequest::default()
        }
        .into(),
        Operation::GET_ATTRIBUTE_LIST => GetAttributeListRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
        }
        .into(),
        Operation::ADD_ATTRIBUTE => AddAttributeRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
            attribute: Attribute::custom("x-Other", AttributeValue::TextString("v".into())),
        }
        .into(),
        Operation::MODIFY_ATTRIBUTE => ModifyAttributeRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
            current_attribute: None,
            attribute: note("changed"),
        }
        .into(),
        Operation::DELETE_ATTRIBUTE => DeleteAttributeRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
            current_attribute: None,
            attribute_name: Some(AttributeName::from_1x("x-Note")),
            attribute_index: None,
        }
        .into(),
        Operation::SET_ATTRIBUTE => SetAttributeRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
            // Set Attribute takes single-valued attributes only (custom ones may repeat).
            attribute: Attribute::new(
                Tag::CONTACT_INFORMATION,
                AttributeValue::TextString("key custodians".into()),
            ),
        }
        .into(),
        Operation::ACTIVATE => ActivateRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
        }
        .into(),
        Operation::REVOKE => RevokeRequest {
            unique_identifier: fresh(acme_key(acme, true).await),
            revocation_reason: RevocationReason {
                code: RevocationReasonCode::CESSATION_OF_OPERATION,
                message: None,
            },
            compromise_occurrence_date: None,
        }
        .into(),
        Operation::DESTROY => DestroyRequest {
            unique_identifier: fresh(acme_key(acme, false).await),
        }
        .into(),
        Operation::ENCRYPT => EncryptRequest {
            unique_identifier: fresh(acme_key(acme, true).await),
            cryptographic_parameters: Some(cbc()),
            data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
            iv_counter_nonce: Some(IV.to_vec()),
            ..EncryptRequest::default()
        }
        .into(),
        Operation::DECRYPT => {
            let uid = acme_key(acme, true).await;
            let options = CipherOptions {
                parameters: Some(cbc()),
                iv: Some(IV.to_vec()),
                ..CipherOptions::default()
            };
            let sealed = acme
                .encrypt(&uid, Bytes::new(b"sixteen byte msg".to_vec()), options)
                .await
                .expect("acme encrypts")
                .data
                .expect("ciphertext");
            DecryptRequest {
                unique_identifier: Some(uid),
                cryptographic_parameters: Some(cbc()),
                data: Some(sealed),
                iv_counter_nonce: Some(IV.to_vec()),
                ..DecryptRequest::default()
            }
            .into()
        }
        Operation::RNG_RETRIEVE => RngRetrieveRequest { data_length: 16 }.into(),
        Operation::OBTAIN_LEASE => kmip_codec::model::ObtainLeaseRequest {
            unique_identifier: Some(acme_key(acme, true).await),
        }
        .into(),
        Operation::GET_USAGE_ALLOCATION => {
            let uid = acme_key(acme, true).await;
            acme.add_attribute(
                &uid,
                kmip_codec::model::Attribute::new(
                    kmip_codec::tags::Tag::USAGE_LIMITS,
                    AttributeValue::UsageLimits(kmip_codec::model::UsageLimits {
                        total: 1000,
                        count: None,
                        unit: kmip_codec::enums::UsageLimitsUnit::BYTE,
                    }),
                ),
            )
            .await
            .expect("acme sets usage limits");
            kmip_codec::model::GetUsageAllocationRequest {
                unique_identifier: Some(uid),
                usage_limits_count: 10,
            }
            .into()
        }
        Operation::ARCHIVE => kmip_codec::model::ArchiveRequest {
            unique_identifier: Some(acme_key(acme, true).await),
        }
        .into(),
        Operation::RECOVER => kmip_codec::model::RecoverRequest {
            unique_identifier: Some(acme_key(acme, true).await),
        }
        .into(),
        Operation::RNG_SEED => RngSeedRequest {
            data: Bytes::new(vec![1; 16]),
        }
        .into(),
        Operation::CHECK => CheckRequest(CheckFields {
            unique_identifier: fresh(acme_key(acme, true).await),
            cryptographic_usage_mask: Some(CryptographicUsageMask::ENCRYPT.0 as i32),
            ..CheckFields::default()
        })
        .into(),
        Operation::LOG => LogRequest {
            log_message: "policy matrix".to_owned(),
        }
        .into(),
        Operation::EXPORT => kmip_codec::model::ExportRequest {
            unique_identifier: fresh(acme_key(acme, true).await),
            ..kmip_codec::model::ExportRequest::default()
        }
        .into(),
        Operation::IMPORT => {
            // A new UID each time: every allowed import succeeds.
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            kmip_codec::model::ImportRequest {
                unique_identifier: format!("matrix-import-{n}"),
                object_type: None,
                replace_existing: None,
                key_wrap_type: None,
                attributes: Attributes::new(),
                object: ManagedObject::OpaqueObject(OpaqueObject {
                    opaque_data_type: OpaqueDataType(0x8000_0001),
                    opaque_data_value: Bytes::new(b"matrix import".to_vec()),
                }),
            }
            .into()
        }
        other => panic!("no request for {other:?}: add a row and a request for it"),
    }
}

kms_tests::server_test! {
    async fn every_role_against_every_kmip_operation(server) {
        let rows: BTreeSet<u32> = KMIP_MATRIX.iter().map(|(op, _)| op.0).collect();
        let dispatched: BTreeSet<u32> = server::ops::OPERATIONS.iter().map(|op| op.0).collect();
        assert_eq!(rows.len(), KMIP_MATRIX.len(), "an operation has two rows");
        assert_eq!(rows, dispatched, "the matrix must have one row per dispatched operation");

        let acme_files = server.client_files("acme").expect("acme's KMIP client");
        let mut acme = kmip_as(server, &acme_files).await;
        let mut checked = 0;
        for (role, files) in identities(server).await {
            let column = ROLES.iter().position(|r| *r == role).expect("a column");
            let mut conn = kmip_as(server, &files).await;
            for (op, allowed) in KMIP_MATRIX {
                let payload = request_for(*op, &mut acme).await;
                let got = answer(&mut conn, payload).await;
                let outcome = (got.result_status, got.result_reason);
                if allowed[column] {
                    assert_eq!(
                        outcome,
                        (ResultStatus::SUCCESS, None),
                        "{role} may run {op:?}: {:?}",
                        got.result_message
                    );
                } else {
                    assert_eq!(
                        outcome,
                        (ResultStatus::OPERATION_FAILED, Some(ResultReason::PERMISSION_DENIED)),
                        "{role} may not run {op:?}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, ROLES.len() * KMIP_MATRIX.len());
    }
}

/// `route` with its parameters filled in: `tenant`, the spare client, `uid`.
fn path_of(route: &str, tenant: &str, uid: &str) -> String {
    route
        .replace("{tenant}", tenant)
        .replace("{name}", SPARE_CLIENT)
        .replace("{uid}", uid)
        .replace("{action}", "activate")
        .replace("{job}", "no-such-job")
        .replace("{id}", "7")
        .replace("{vm}", "no-such-vm")
        .replace("{set}", "no-such-set")
}

/// A body the route's handler can read (routes that read none ignore it).
fn body_for(method: &str, route: &str, role: Role) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    Some(match route {
        "/v1/tenants" => json!({ "id": format!("matrix-{}", role.as_str()) }),
        "/v1/tenants/{tenant}/clients" => {
            json!({ "name": format!("matrix-new-{}", role.as_str()) })
        }
        "/v1/tenants/{tenant}/clients/{name}/password" => json!({ "password": "matrix password" }),
        // Keeps acme's default: a destroy erases at once, for the rows that follow.
        "/v1/tenants/{tenant}/platform/destroy-grace" => json!({ "destroy_grace_secs": 0 }),
        "/v1/tenants/{tenant}/platform/domain-key-rotation" => json!({ "every_days": null }),
        _ => json!({}),
    })
}

/// Puts acme back in service should a call have suspended it (the operator's may).
async fn keep_acme_in_service(server: &TestServer) {
    let suspended = server
        .kms()
        .store()
        .tenant("acme")
        .expect("store")
        .is_some_and(|t| t.suspended);
    if suspended {
        server
            .kms()
            .tenancy()
            .set_tenant_suspended(&server.setup(), "acme", false)
            .await
            .expect("acme resumed");
    }
}

kms_tests::server_test! {
    async fn every_role_against_every_admin_route(server) {
        let rows: BTreeSet<(&str, &str)> = ADMIN_MATRIX.iter().map(|(m, r, _, _)| (*m, *r)).collect();
        let routed: BTreeSet<(&str, &str)> = server::admin::route_table().into_iter().collect();
        assert_eq!(rows.len(), ADMIN_MATRIX.len(), "a route has two rows");
        assert_eq!(rows, routed, "the matrix must have one row per admin route");

        let acme_files = server.client_files("acme").expect("acme's KMIP client");
        let mut acme = kmip_as(server, &acme_files).await;
        server
            .kms()
            .tenancy()
            .enroll_ca_issued(&server.setup(), "acme", SPARE_CLIENT, Role::KmipClient, 0)
            .await
            .expect("spare client enrolled");
        // Subscribed, so that the platform services' calls are decided by their role alone.
        server
            .kms()
            .platform()
            .change_policy(&server.setup(), "acme", PolicyChange::Subscription(true), 0)
            .await
            .expect("acme subscribes");
        let mut checked = 0;
        for (role, files) in identities(server).await {
            let column = ROLES.iter().position(|r| *r == role).expect("a column");
            let api = Api::new(server, &files);
            for (method, route, answers, scoped) in ADMIN_MATRIX {
                let uid = acme_key(&mut acme, false).await;
                let body = body_for(method, route, role);
                let (status, reply) = api
                    .call(method, &path_of(route, "acme", &uid), body.clone())
                    .await;
                keep_acme_in_service(server).await;
                let error = reply["error"].as_str().unwrap_or_default().to_owned();
                match answers[column] {
                    A => assert!(
                        !matches!(status, 401 | 403) && error != "no such tenant",
                        "{role} may call {method} {route}: {status} {reply}"
                    ),
                    F => assert_eq!(
                        (status, error.as_str()),
                        (403, "forbidden"),
                        "{role} may not call {method} {route}"
                    ),
                }
                // Another tenant, for a route decided for the tenant it names, is answered
                // exactly like a missing one to a principal of acme.
                if *scoped && matches!(role, Role::TenantAdmin | Role::Auditor) {
                    let (status, reply) = api
                        .call(method, &path_of(route, "globex", &uid), body)
                        .await;
                    assert_eq!(
                        (status, reply["error"].as_str()),
                        (404, Some("no such tenant")),
                        "{role} on globex: {method} {route}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, ROLES.len() * ADMIN_MATRIX.len());

        // A certificate that identifies nobody (issued, never enrolled) reaches the probes
        // only.
        let nobody = Api::new(
            server,
            &server
                .issue_identity(Role::TenantAdmin, Some("acme"), "matrix-nobody")
                .expect("certificate"),
        );
        for (method, route, answers, _) in ADMIN_MATRIX {
            let uid = "no-such-key";
            let (status, reply) = nobody
                .call(method, &path_of(route, "acme", uid), body_for(method, route, Role::TenantAdmin))
                .await;
            let open = answers.iter().all(|a| *a == A);
            if open {
                assert!(!matches!(status, 401 | 403), "{route} is open: {status} {reply}");
            } else {
                assert_eq!(status, 401, "nobody on {method} {route}: {reply}");
            }
        }
    }
}
