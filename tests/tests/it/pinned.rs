//! vCenter's self-signed client certificate (no clientAuth EKU, not issued by the KMS CA) is
//! admitted only while it is enrolled for a tenant by fingerprint, and then acts in that
//! tenant alone.

use client::{ClientConfig, Connector};
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::Attributes;
use server::store::records::{ClientIdentity, ClientRecord, Role};

/// Writes a self-signed certificate like the one vCenter generates and returns a client
/// configuration using it, plus its SHA-256 fingerprint.
fn self_signed(server: &kms_tests::testbed::TestServer, name: &str) -> (ClientConfig, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["vcenter.example".to_owned()]).expect("cert");
    let dir = server.layout().dir.join("vcenter-self-signed");
    std::fs::create_dir_all(&dir).expect("dir");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, generated.cert.pem()).expect("write cert");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key");
    let fingerprint = hex::encode(certs::identity::fingerprint_sha256(generated.cert.der()));
    let config = server
        .client_config("acme")
        .expect("config")
        .with_identity(cert, key);
    (config, fingerprint)
}

fn pinned(tenant: &str, name: &str, fingerprint: &str, enabled: bool) -> ClientRecord {
    ClientRecord {
        tenant: Some(tenant.to_owned()),
        name: name.to_owned(),
        role: Role::KmipClient,
        identity: ClientIdentity::Pinned {
            fingerprint: fingerprint.to_owned(),
        },
        enabled,
        password_hash: None,
        created_at: 0,
    }
}

/// True when a request over a fresh connection gets a successful answer.
async fn can_create(connector: &Connector) -> Option<String> {
    let mut c = connector.connect().await.ok()?;
    c.create_symmetric_key(
        CryptographicAlgorithm::AES,
        256,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        Attributes::new(),
    )
    .await
    .ok()
}

kms_tests::server_test! {
    async fn a_self_signed_certificate_works_only_while_pinned(server) {
        let (config, fingerprint) = self_signed(server, "vc1");
        let connector = Connector::new(config).expect("connector");
        assert!(can_create(&connector).await.is_none(), "unenrolled self-signed cert admitted");

        server
            .kms()
            .enroll_client(pinned("acme", "vc1", &fingerprint, true))
            .await
            .expect("enroll");
        let uid = can_create(&connector).await.expect("pinned certificate refused");
        // The key belongs to acme: acme's CA-issued client sees it, globex's does not.
        let mut acme = server.client("acme").expect("acme").connect().await.expect("acme");
        assert!(acme.get(&uid, None).await.is_ok(), "acme cannot read its own key");
        let mut globex = server.client("globex").expect("globex").connect().await.expect("globex");
        assert!(globex.get(&uid, None).await.is_err(), "globex read acme's key");

        // Disabled: refused at once, even though TLS may resume the old session.
        server
            .kms()
            .enroll_client(pinned("acme", "vc1", &fingerprint, false))
            .await
            .expect("disable");
        assert!(can_create(&connector).await.is_none(), "disabled client still admitted");
    }
}
