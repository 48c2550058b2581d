//! Identity binding (issue 14, C1, L2, L3), against a real server on real SoftHSM2 with real
//! TLS: a certificate is one principal, decided by one rule and never by enrollment order.
//!
//! - A certificate issued by the KMS CA is identified by its SAN URI only, must carry the
//!   clientAuth EKU, and can never be pinned: a tenant admin of `globex` pinning the
//!   operator's certificate or `acme`'s vCenter certificate takes over nothing.

use client::{Connector, IdentityFiles};
use kms_tests::testbed::{TestServer, create_aes_key};
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, Issuer, KeyPair, SanType};
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
        .enroll_client(ClientRecord {
            tenant: Some(tenant.to_owned()),
            name: name.to_owned(),
            role: Role::KmipClient,
            identity: ClientIdentity::Pinned {
                fingerprint: fingerprint.to_owned(),
            },
            enabled: true,
            password_hash: None,
            created_at: 0,
        })
        .await
        .expect("pin written");
}

/// A Create over a fresh connection: the new key's UID, or `None` when refused.
async fn try_create(connector: &Connector) -> Option<String> {
    let mut conn = connector.connect().await.ok()?;
    create_aes_key(&mut conn).await.ok()
}

kms_tests::server_test! {
    async fn a_kms_ca_certificate_without_the_client_auth_eku_is_refused(server) {
        for name in ["no-eku", "with-eku"] {
            server
                .kms()
                .enroll_ca_issued("acme", name, Role::KmipClient, 0)
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
        let globex = server
            .admin_identity(Role::TenantAdmin, Some("globex"), "mallory")
            .await
            .expect("globex admin");
        let mallory = Api::new(server, &globex);

        // Whatever made the pin, the operator's certificate still names the operator...
        pin_directly(server, "globex", "op-pin", &op_fingerprint).await;
        let (status, body) = ops.get("/v1/tenants").await;
        assert_eq!(status, 200, "the operator lost its role: {body}");
        // ... and disabling globex's pinned client locks nobody out.
        let (status, body) = mallory.post("/v1/tenants/globex/clients/op-pin/disable", serde_json::json!({})).await;
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
