//! Identity binding (issue 14, C1, L2, L3), against a real server on real SoftHSM2 with real
//! TLS: a certificate is one principal, decided by one rule and never by enrollment order.
//!
//! - A certificate issued by the KMS CA is identified by its SAN URI only, must carry the
//!   clientAuth EKU, and can never be pinned: a tenant admin of `globex` pinning the
//!   operator's certificate or `acme`'s vCenter certificate takes over nothing, and is
//!   answered exactly like for any invalid certificate.
//! - A certificate the KMS CA did not issue (vCenter's self-signed one) is claimed by
//!   uploading it; the claim binds only with its one-time token sent by the certificate's
//!   holder, or by an operator. Another tenant's claim of the same certificate is answered
//!   like any claim and never binds.
//! - vCenter's "New CSR": the tenant admin has the KMS CA sign vCenter's CSR for the tenant's
//!   principal, whatever the CSR asks for.

use client::{ClientConfig, ClientError, Connector, IdentityFiles};
use kmip_codec::enums::ResultReason;
use kmip_codec::model::Password;
use kms_tests::testbed::{TestServer, create_aes_key};
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType};
use serde_json::{Value, json};
use server::store::records::{ClientIdentity, ClientRecord, Role};

use crate::admin::{Api, kmip, operator};

/// Issues a certificate from the dev CA (the server's client CA) for `uri`, with exactly the
/// EKUs given (none: no EKU extension at all), and writes it under the test's directory.
fn issue_from_dev_ca(
    server: &TestServer,
    uri: &str,
    ekus: Vec<ExtendedKeyUsagePurpose>,
    file: &str,
) -> IdentityFiles {
    let pki = server.layout().pki();
    let ca_pem = std::fs::read_to_string(pki.join("ca.pem")).expect("dev CA certificate");
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(pki.join("ca.key")).expect("CA key"))
        .expect("dev CA key");
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).expect("issuer");
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![SanType::URI(uri.try_into().expect("URI"))];
    params.extended_key_usages = ekus;
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &issuer).expect("issued");
    write_pair(server, file, &cert.pem(), &key.serialize_pem())
}

fn write_pair(server: &TestServer, file: &str, cert: &str, key: &str) -> IdentityFiles {
    let dir = server.layout().dir.join("identity-tests");
    std::fs::create_dir_all(&dir).expect("dir");
    let files = IdentityFiles {
        cert: dir.join(format!("{file}.pem")),
        key: dir.join(format!("{file}.key")),
    };
    std::fs::write(&files.cert, cert).expect("write certificate");
    std::fs::write(&files.key, key).expect("write key");
    files
}

/// The SHA-256 fingerprint (hex) of the certificate in a PEM file.
fn fingerprint_of(files: &IdentityFiles) -> String {
    client::cli::fingerprint_of(&files.cert).expect("fingerprint")
}

/// A pin of `fingerprint` for `name` in `tenant`, written straight into the store: what the
/// admin API's fingerprint enrollment used to make, and what a store written before the
/// identity rule may still hold.
async fn pin_directly(server: &TestServer, tenant: &str, name: &str, fingerprint: &str) {
    server
        .kms()
        .tenancy()
        .enroll_client(
            &server.setup(),
            ClientRecord {
                tenant: Some(tenant.to_owned()),
                name: name.to_owned(),
                role: Role::KmipClient,
                identity: ClientIdentity::Pinned {
                    fingerprint: fingerprint.to_owned(),
                },
                enabled: true,
                password_hash: None,
                created_at: 0,
            },
        )
        .await
        .expect("pin written");
}

/// A Create over a fresh connection: the new key's UID, or `None` when refused.
async fn try_create(connector: &Connector) -> Option<String> {
    let mut conn = connector.connect().await.ok()?;
    create_aes_key(&mut conn).await.ok()
}

/// The Result Reason of a Create over a fresh connection (`None`: it succeeded).
async fn create_refusal(connector: &Connector) -> Option<ResultReason> {
    let mut conn = connector.connect().await.expect("the handshake completes");
    match create_aes_key(&mut conn).await {
        Ok(_) => None,
        Err(ClientError::Kmip { reason, .. }) => reason,
        Err(e) => panic!("not a KMIP answer: {e}"),
    }
}

/// A self-signed certificate like the one vCenter makes (no EKU, not from the KMS CA).
fn vcenter_self_signed(server: &TestServer, file: &str) -> IdentityFiles {
    let generated =
        rcgen::generate_simple_self_signed(vec!["vcenter.example".to_owned()]).expect("cert");
    write_pair(
        server,
        file,
        &generated.cert.pem(),
        &generated.signing_key.serialize_pem(),
    )
}

/// A KMIP connector presenting `files`, sending `credential` (Username, Password) if given.
fn kmip_as(
    server: &TestServer,
    files: &IdentityFiles,
    credential: Option<(&str, &str)>,
) -> Connector {
    let mut settings = ClientConfig::new(server.addr().to_string(), "127.0.0.1")
        .with_ca_file(server.ca_path())
        .with_identity(files.cert.clone(), files.key.clone());
    if let Some((username, password)) = credential {
        settings = settings.with_username_password(username, Password::new(password.to_owned()));
    }
    Connector::new(settings).expect("KMIP connector")
}

fn pem(files: &IdentityFiles) -> String {
    std::fs::read_to_string(&files.cert).expect("certificate file")
}

/// The fields and shape of a pin claim's answer, with the values that differ per claim
/// (name, fingerprint, token, times) blanked: what another tenant's state could change.
fn claim_shape(body: &Value) -> Value {
    let mut shape = body.clone();
    for field in [
        "name",
        "fingerprint",
        "claim_token",
        "claim_expires_at",
        "created_at",
    ] {
        if let Some(v) = shape.get_mut(field) {
            *v = json!(v.is_string());
        }
    }
    shape
}

/// A tenant admin of `tenant` named `name` (certificate issued and enrolled).
async fn tenant_admin(server: &TestServer, tenant: &str, name: &str) -> Api {
    let files = server
        .admin_identity(Role::TenantAdmin, Some(tenant), name)
        .await
        .expect("tenant admin");
    Api::new(server, &files)
}

/// The answer to pinning a certificate that cannot be pinned.
const REFUSED_CERTIFICATE: &str =
    "certificate refused: pin one current X.509 certificate (PEM) that the KMS CA did not issue";

kms_tests::server_test! {
    async fn a_kms_ca_certificate_without_the_client_auth_eku_is_refused(server) {
        for name in ["no-eku", "with-eku"] {
            server
                .kms()
                .tenancy().enroll_ca_issued(&server.setup(), "acme", name, Role::KmipClient, 0)
                .await
                .expect("enrolled");
        }
        let without = issue_from_dev_ca(
            server,
            "urn:kms:principal:kmip-client:acme:no-eku",
            Vec::new(),
            "no-eku",
        );
        let with = issue_from_dev_ca(
            server,
            "urn:kms:principal:kmip-client:acme:with-eku",
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            "with-eku",
        );
        assert!(try_create(&kmip(server, &with)).await.is_some(), "the control certificate is refused");
        assert!(
            try_create(&kmip(server, &without)).await.is_none(),
            "a KMS CA certificate without the clientAuth EKU was admitted"
        );
        // Nor can it be pinned and come in that way.
        let alice = tenant_admin(server, "acme", "alice").await;
        let (status, body) = alice
            .post("/v1/tenants/acme/clients", json!({ "name": "no-eku-pin", "certificate": pem(&without) }))
            .await;
        assert_eq!((status, body["error"].as_str()), (400, Some(REFUSED_CERTIFICATE)), "{body}");
        pin_directly(server, "acme", "no-eku-pin", &fingerprint_of(&without)).await;
        assert!(try_create(&kmip(server, &without)).await.is_none(), "admitted through a pin");
    }
}

kms_tests::server_test! {
    async fn pinning_the_operators_certificate_takes_nothing_over(server) {
        let ops = operator(server).await;
        let (op_name, op_cert, op_key) =
            server::dev::operator_identity(server.layout()).expect("operator files");
        let op_files = IdentityFiles { cert: op_cert, key: op_key };
        let op_fingerprint = fingerprint_of(&op_files);
        let mallory = tenant_admin(server, "globex", "mallory").await;

        // The admin API refuses both ways of pinning it, exactly as it refuses garbage.
        let (status, body) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "op-pin", "fingerprint": op_fingerprint }))
            .await;
        assert_eq!(status, 400, "a bare fingerprint was enrolled: {body}");
        let (status, body) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "op-pin", "certificate": pem(&op_files) }))
            .await;
        let garbage = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "op-pin", "certificate": "garbage" }))
            .await;
        assert_eq!((status, &body), (garbage.0, &garbage.1));
        assert_eq!((status, body["error"].as_str()), (400, Some(REFUSED_CERTIFICATE)), "{body}");

        // Whatever made the pin, the operator's certificate still names the operator...
        pin_directly(server, "globex", "op-pin", &op_fingerprint).await;
        let (status, body) = ops.get("/v1/tenants").await;
        assert_eq!(status, 200, "the operator lost its role: {body}");
        // ... and disabling globex's pinned client locks nobody out.
        let (status, body) = mallory.post("/v1/tenants/globex/clients/op-pin/disable", json!({})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = ops.get("/v1/tenants").await;
        assert_eq!(status, 200, "the operator is locked out: {body}");
        let principal = server
            .kms()
            .inspect_peer(&[certs::Certificate::from_pem(&std::fs::read_to_string(&op_files.cert).unwrap())
                .unwrap()
                .der()
                .clone()])
            .and_then(|c| server::identity::principal_of(&c, server.kms().store()))
            .expect("operator admitted");
        assert_eq!((principal.tenant, principal.client, principal.role), (None, op_name, Role::Operator));
    }
}

kms_tests::server_test! {
    async fn pinning_another_tenants_vcenter_certificate_takes_nothing_over(server) {
        let acme_files = server.client_files("acme").expect("acme vCenter files");
        let acme = kmip(server, &acme_files);
        let before = try_create(&acme).await.expect("acme creates");

        let mallory = tenant_admin(server, "globex", "mallory").await;
        let (status, body) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "stolen", "fingerprint": fingerprint_of(&acme_files) }))
            .await;
        assert_eq!(status, 400, "a bare fingerprint was enrolled: {body}");
        let (status, body) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "stolen", "certificate": pem(&acme_files) }))
            .await;
        assert_eq!((status, body["error"].as_str()), (400, Some(REFUSED_CERTIFICATE)), "{body}");
        pin_directly(server, "globex", "stolen", &fingerprint_of(&acme_files)).await;

        // acme's vCenter still sees its keys, and its next key lands in acme ...
        let mut conn = acme.connect().await.expect("acme connects");
        conn.get(&before, None).await.expect("acme's key vanished for acme's vCenter");
        let after = create_aes_key(&mut conn).await.expect("acme creates after the pin");
        // ... where globex's own vCenter cannot read it.
        let mut globex = server.client("globex").unwrap().connect().await.unwrap();
        assert!(globex.get(&after, None).await.is_err(), "acme's new key is readable by globex");
        assert!(globex.get(&before, None).await.is_err(), "acme's old key is readable by globex");
        let owner = server.kms().store().object(&after).unwrap().expect("stored");
        assert_eq!(owner.tenant, "acme");
    }
}

kms_tests::server_test! {
    async fn a_pin_claim_binds_only_with_its_token_and_tells_other_tenants_nothing(server) {
        let vcenter = vcenter_self_signed(server, "vcenter-self-signed");
        let alice = tenant_admin(server, "acme", "alice").await;
        let mallory = tenant_admin(server, "globex", "mallory").await;

        // globex claims acme's vCenter certificate first: a claim like any other.
        let (status, squat) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "vc-self", "certificate": pem(&vcenter) }))
            .await;
        assert_eq!(status, 201, "{squat}");
        assert_eq!((squat["identity"].as_str(), squat["pin"].as_str()), (Some("pinned"), Some("pending")));
        let squat_token = squat["claim_token"].as_str().expect("token").to_owned();
        // acme claims it too: not refused, nothing said about globex's claim.
        let (status, claim) = alice
            .post("/v1/tenants/acme/clients", json!({ "name": "vc-self", "certificate": pem(&vcenter) }))
            .await;
        assert_eq!(status, 201, "{claim}");
        assert_eq!(claim_shape(&claim)["tenant"], json!("acme"));
        let token = claim["claim_token"].as_str().expect("token").to_owned();
        assert_ne!(token, squat_token);
        assert_eq!(claim["fingerprint"].as_str(), Some(fingerprint_of(&vcenter).as_str()));
        // The token is shown once: the client list never carries it.
        let (_, listed) = alice.get("/v1/tenants/acme/clients").await;
        assert!(!listed.to_string().contains(&token), "the token is listed: {listed}");

        // A claim identifies nobody: no credential, a wrong token, a token under another name.
        // (Only vCenter's administrator, acme's, chooses the token vCenter sends: globex's
        // never reaches it.)
        let denied = Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL);
        assert_eq!(create_refusal(&kmip_as(server, &vcenter, None)).await, denied);
        assert_eq!(create_refusal(&kmip_as(server, &vcenter, Some(("vc-self", "0000")))).await, denied);
        assert_eq!(
            create_refusal(&kmip_as(server, &vcenter, Some(("vcenter", token.as_str())))).await,
            denied
        );
        // Without the certificate, the token is nothing either.
        let acme_vc = server.client_files("acme").expect("acme files");
        assert_eq!(
            create_refusal(&kmip_as(server, &acme_vc, Some(("vc-self", token.as_str())))).await,
            None,
            "acme's CA-issued client is itself, whatever it sends"
        );
        let claimed = server.kms().store().client("acme/vc-self").unwrap().expect("enrolled");
        assert!(
            matches!(claimed.identity, ClientIdentity::PendingPin { .. }),
            "bound without the certificate: {claimed:?}"
        );

        // vCenter sends acme's token: the claim binds to acme, and the key lands in acme.
        let bound = kmip_as(server, &vcenter, Some(("vc-self", token.as_str())));
        let uid = try_create(&bound).await.expect("the token did not bind the claim");
        assert_eq!(server.kms().store().object(&uid).unwrap().expect("stored").tenant, "acme");
        // The binding is a change with its own audit record, in acme's trail.
        let dir = server.kms().audit().dir().to_owned();
        let page = server::audit::query::read_page(&dir, 0, 10_000, &Default::default())
            .expect("audit trail");
        let bindings: Vec<_> = page.records.iter().filter(|r| r.event.operation == "ClaimPin").collect();
        assert_eq!(bindings.len(), 1, "{bindings:?}");
        let event = &bindings[0].event;
        assert_eq!(event.tenant.as_deref(), Some("acme"));
        assert_eq!(event.principal.as_ref().and_then(|p| p.client.as_deref()), Some("vc-self"));
        assert!(event.change.is_some() && event.client_addr.is_some(), "{event:?}");
        // Bound: the credential no longer matters, and globex's token changes nothing.
        let later = try_create(&kmip_as(server, &vcenter, None)).await.expect("bound pin admitted");
        let also = try_create(&kmip_as(server, &vcenter, Some(("vc-self", squat_token.as_str()))))
            .await
            .expect("bound pin admitted");
        for key in [&later, &also] {
            assert_eq!(server.kms().store().object(key).unwrap().expect("stored").tenant, "acme");
        }
        let (_, acme_clients) = alice.get("/v1/tenants/acme/clients").await;
        let mine = acme_clients["clients"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "vc-self").cloned())
            .expect("listed");
        assert_eq!(mine["pin"], "bound");

        // What globex sees of its claim and of a new claim of the (now bound) certificate is
        // exactly what it sees for a certificate nobody else knows.
        let (_, globex_clients) = mallory.get("/v1/tenants/globex/clients").await;
        let theirs = globex_clients["clients"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "vc-self").cloned())
            .expect("listed");
        assert_eq!(theirs["pin"], "pending");
        let fresh = vcenter_self_signed(server, "unknown-to-anyone");
        let (status_bound, again) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "again", "certificate": pem(&vcenter) }))
            .await;
        let (status_fresh, other) = mallory
            .post("/v1/tenants/globex/clients", json!({ "name": "other", "certificate": pem(&fresh) }))
            .await;
        assert_eq!((status_bound, claim_shape(&again)), (status_fresh, claim_shape(&other)));
        assert_eq!(status_bound, 201);
    }
}

kms_tests::server_test! {
    async fn an_expired_or_renewed_token_binds_nothing(server) {
        let vcenter = vcenter_self_signed(server, "vcenter-expiring");
        let fingerprint = fingerprint_of(&vcenter);
        let alice = tenant_admin(server, "acme", "alice").await;
        // A claim whose token expired a second ago.
        let token = server::identity::claim::EnrollmentToken::generate();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        server
            .kms()
            .tenancy().enroll_client(&server.setup(), ClientRecord {
                tenant: Some("acme".to_owned()),
                name: "vc-late".to_owned(),
                role: Role::KmipClient,
                identity: ClientIdentity::PendingPin {
                    token_digest: token.digest(&fingerprint),
                    fingerprint: fingerprint.clone(),
                    expires_at: now - 1,
                },
                enabled: true,
                password_hash: None,
                created_at: now,
            })
            .await
            .expect("claim written");
        let late = kmip_as(server, &vcenter, Some(("vc-late", token.expose())));
        assert_eq!(
            create_refusal(&late).await,
            Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL),
            "an expired token bound the claim"
        );
        // A renewed token binds; the old one does not.
        let (status, renewed) = alice.post("/v1/tenants/acme/clients/vc-late/claim-token", json!({})).await;
        assert_eq!(status, 200, "{renewed}");
        let fresh = renewed["claim_token"].as_str().expect("new token").to_owned();
        assert_eq!(create_refusal(&late).await, Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL));
        assert!(try_create(&kmip_as(server, &vcenter, Some(("vc-late", fresh.as_str())))).await.is_some());
        // A bound pin has no claim to renew.
        let (status, body) = alice.post("/v1/tenants/acme/clients/vc-late/claim-token", json!({})).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("no pending pin claim")));
    }
}

kms_tests::server_test! {
    async fn an_operator_binds_a_claim_after_checking_its_fingerprint(server) {
        let ops = operator(server).await;
        let alice = tenant_admin(server, "acme", "alice").await;
        let mallory = tenant_admin(server, "globex", "mallory").await;
        let vcenter = vcenter_self_signed(server, "vcenter-approved");
        let fingerprint = fingerprint_of(&vcenter);
        for (api, tenant) in [(&alice, "acme"), (&mallory, "globex")] {
            let (status, body) = api
                .post(&format!("/v1/tenants/{tenant}/clients"), json!({ "name": "vc", "certificate": pem(&vcenter) }))
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let approve = json!({ "fingerprint": fingerprint });
        // Tenant admins cannot bind: their own tenant is forbidden, another is missing.
        assert_eq!(alice.post("/v1/tenants/acme/clients/vc/bind", approve.clone()).await.0, 403);
        assert_eq!(mallory.post("/v1/tenants/acme/clients/vc/bind", approve.clone()).await.0, 404);
        // The operator approves exactly the certificate it checked.
        let other = json!({ "fingerprint": "ab".repeat(32) });
        let (status, body) = ops.post("/v1/tenants/acme/clients/vc/bind", other).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("no pending pin claim")));
        assert_eq!(try_create(&kmip_as(server, &vcenter, None)).await, None);
        let (status, body) = ops.post("/v1/tenants/acme/clients/vc/bind", approve.clone()).await;
        assert_eq!((status, body["pin"].as_str()), (200, Some("bound")), "{body}");
        let uid = try_create(&kmip_as(server, &vcenter, None)).await.expect("bound pin admitted");
        assert_eq!(server.kms().store().object(&uid).unwrap().expect("stored").tenant, "acme");
        // One certificate, one principal: globex's claim cannot be bound as well.
        let (status, body) = ops.post("/v1/tenants/globex/clients/vc/bind", approve).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("certificate already pinned for another client"))
        );
    }
}

/// A PEM CSR for `key`, asking for far more than it gets: another tenant's and the
/// operator's identities, serverAuth.
fn greedy_csr(key: &KeyPair) -> String {
    let mut params = CertificateParams::new(vec!["vcenter.example".to_owned()]).expect("params");
    params.subject_alt_names.extend([
        SanType::URI(
            "urn:kms:principal:operator:-:admin"
                .try_into()
                .expect("URI"),
        ),
        SanType::URI(
            "urn:kms:principal:kmip-client:globex:vcenter"
                .try_into()
                .expect("URI"),
        ),
    ]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
        .serialize_request(key)
        .expect("CSR")
        .pem()
        .expect("PEM")
}

kms_tests::server_test! {
    async fn a_tenant_admin_has_vcenters_csr_signed_for_its_tenant(server) {
        let alice = tenant_admin(server, "acme", "alice").await;
        let mallory = tenant_admin(server, "globex", "mallory").await;
        let (status, body) = alice.post("/v1/tenants/acme/clients", json!({ "name": "vc-csr" })).await;
        assert_eq!(status, 201, "{body}");
        let key = KeyPair::generate().expect("vCenter's key");
        let csr = json!({ "csr": greedy_csr(&key) });

        let (status, signed) = alice.post("/v1/tenants/acme/clients/vc-csr/csr", csr.clone()).await;
        assert_eq!(status, 200, "{signed}");
        assert_eq!(signed["principal"], "urn:kms:principal:kmip-client:acme:vc-csr");
        let ca = std::fs::read_to_string(server.ca_path()).expect("CA file");
        assert_eq!(signed["ca"].as_str().map(str::trim), Some(ca.trim()));
        let certificate = signed["certificate"].as_str().expect("certificate").to_owned();
        let der = certs::Certificate::from_pem(&certificate).expect("PEM").der().clone();
        let identity = certs::identity_from_cert_der(&der).expect("one identity");
        assert_eq!(identity.identity.to_string(), "urn:kms:principal:kmip-client:acme:vc-csr");
        assert_eq!(signed["fingerprint"].as_str(), Some(identity.info.fingerprint.hex().as_str()));

        // vCenter, with its own key and the signed certificate, is acme's client.
        let files = write_pair(server, "vc-csr", &certificate, &key.serialize_pem());
        let uid = try_create(&kmip(server, &files)).await.expect("the signed certificate works");
        assert_eq!(server.kms().store().object(&uid).unwrap().expect("stored").tenant, "acme");

        // Refusals: another tenant (missing), an auditor (forbidden), a name not enrolled, a
        // client that is not CA-issued, a key type the CA does not sign, a broken request.
        assert_eq!(mallory.post("/v1/tenants/acme/clients/vc-csr/csr", csr.clone()).await.0, 404);
        let auditor = server
            .admin_identity(Role::Auditor, Some("acme"), "audrey")
            .await
            .expect("auditor");
        assert_eq!(Api::new(server, &auditor).post("/v1/tenants/acme/clients/vc-csr/csr", csr.clone()).await.0, 403);
        let (status, body) = alice.post("/v1/tenants/acme/clients/nobody/csr", csr.clone()).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("no such client")));
        let (status, body) = alice.post("/v1/tenants/acme/clients/alice/csr", csr.clone()).await;
        assert_eq!((status, body["error"].as_str()), (409, Some("client is not a CA-issued kmip-client")));
        let ed25519 = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        let (status, body) = alice
            .post("/v1/tenants/acme/clients/vc-csr/csr", json!({ "csr": greedy_csr(&ed25519) }))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("certificate request key must be RSA 2048-4096 or ECDSA P-256/P-384"))
        );
        let (status, body) = alice.post("/v1/tenants/acme/clients/vc-csr/csr", json!({ "csr": "garbage" })).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("csr must be one PEM certificate request")));
    }
}

kms_tests::server_test! {
    async fn csr_signing_without_the_ca_key_is_refused_plainly(server, &[("KMSD_TLS__CLIENT_CA_KEY", "")]) {
        let alice = tenant_admin(server, "acme", "alice").await;
        let key = KeyPair::generate().expect("key");
        let (status, body) = alice
            .post("/v1/tenants/acme/clients/vcenter/csr", json!({ "csr": greedy_csr(&key) }))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (501, Some("CSR signing is not configured on this node"))
        );
    }
}
