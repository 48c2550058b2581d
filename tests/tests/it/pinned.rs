//! vCenter's self-signed client certificate (no clientAuth EKU, not issued by the KMS CA) is
//! admitted only once a tenant admin's claim of it is bound (by its enrollment token, sent by
//! the certificate's holder), and then acts in that tenant alone, until disabled.

use client::{ClientConfig, Connector};
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::{Attributes, Password};
use serde_json::json;
use server::store::records::Role;

use crate::admin::Api;

/// Writes a self-signed certificate like the one vCenter generates and returns a client
/// configuration using it, plus the certificate's PEM.
fn self_signed(server: &kms_tests::testbed::TestServer, name: &str) -> (ClientConfig, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["vcenter.example".to_owned()]).expect("cert");
    let dir = server.layout().dir.join("vcenter-self-signed");
    std::fs::create_dir_all(&dir).expect("dir");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, generated.cert.pem()).expect("write cert");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key");
    let config = server
        .client_config("acme")
        .expect("config")
        .with_identity(cert, key);
    (config, generated.cert.pem())
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
        let (config, pem) = self_signed(server, "vc1");
        let connector = Connector::new(config.clone()).expect("connector");
        assert!(can_create(&connector).await.is_none(), "unenrolled self-signed cert admitted");

        let admin = server
            .admin_identity(Role::TenantAdmin, Some("acme"), "alice")
            .await
            .expect("acme admin");
        let alice = Api::new(server, &admin);
        let (status, claim) = alice
            .post("/v1/tenants/acme/clients", json!({ "name": "vc1", "certificate": pem }))
            .await;
        assert_eq!(status, 201, "{claim}");
        assert!(can_create(&connector).await.is_none(), "a pending claim admitted");
        let token = claim["claim_token"].as_str().expect("token").to_owned();
        let with_token = Connector::new(config.with_username_password("vc1", Password::new(token)))
            .expect("connector");
        can_create(&with_token).await.expect("the enrollment token did not bind the pin");
        let uid = can_create(&connector).await.expect("bound certificate refused");
        // The key belongs to acme: acme's CA-issued client sees it, globex's does not.
        let mut acme = server.client("acme").expect("acme").connect().await.expect("acme");
        assert!(acme.get(&uid, None).await.is_ok(), "acme cannot read its own key");
        let mut globex = server.client("globex").expect("globex").connect().await.expect("globex");
        assert!(globex.get(&uid, None).await.is_err(), "globex read acme's key");

        // Disabled: refused at once, even though TLS may resume the old session.
        let (status, body) = alice.post("/v1/tenants/acme/clients/vc1/disable", json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(can_create(&connector).await.is_none(), "disabled client still admitted");
    }
}
