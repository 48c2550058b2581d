//! The server as a client sees it on the wire: mutual TLS with the dev PKI, one KMIP answer per
//! request, and certificates of a foreign CA refused.

use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Value, decode::decode, encode::encode};
use kms_tests::testbed::{CLIENT_NAME, DEV_TENANTS};

/// A KMIP 1.4 Discover Versions request: the smallest request every server must answer.
const DISCOVER_VERSIONS: &str = r#"<RequestMessage>
  <RequestHeader>
    <ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="1"/>
      <ProtocolVersionMinor type="Integer" value="4"/>
    </ProtocolVersion>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
  <BatchItem>
    <Operation type="Enumeration" value="DiscoverVersions"/>
    <RequestPayload/>
  </BatchItem>
</RequestMessage>"#;

kms_tests::server_test! {
    async fn every_dev_tenant_gets_a_kmip_answer(server) {
        let request = encode(&kmip_codec::xml::from_xml(DISCOVER_VERSIONS).expect("request"));
        for tenant in DEV_TENANTS {
            let connector = server.client(tenant).expect("connector");
            let mut connection = connector.connect().await.expect("mutual TLS handshake");
            let answer = connection.send_raw(&request).await.expect("answer");
            let response = decode(&answer, &Limits::DEFAULT).expect("TTLV");
            assert_eq!(response.tag, Tag::RESPONSE_MESSAGE, "{tenant}");
            let item = response.child(Tag::BATCH_ITEM).expect("batch item");
            assert!(
                matches!(item.child(Tag::RESULT_STATUS).map(|s| &s.value), Some(Value::Enumeration(_))),
                "{tenant}: no Result Status"
            );
        }
    }
}

kms_tests::server_test! {
    async fn client_of_a_foreign_ca_is_refused(server) {
        let foreign = certs::CertificateAuthority::generate(&certs::CaParams {
            common_name: "Not The KMS CA".to_owned(),
            ..certs::CaParams::default()
        })
        .expect("foreign CA");
        let principal = certs::identity::PrincipalUri::kmip_client(
            certs::identity::TenantId::new("acme").expect("tenant"),
            CLIENT_NAME,
        )
        .expect("principal");
        let pair = foreign
            .issue_client(&certs::ClientRequest {
                principal,
                algorithm: certs::KeyAlgorithm::EcdsaP256,
                days: 1,
            })
            .expect("client certificate");
        let dir = server.layout().dir.join("foreign");
        certs::files::create_private_dir(&dir).expect("dir");
        let paths = certs::files::PemPaths::in_dir(&dir, "impostor");
        certs::files::write_certified_key(&paths, &pair, false).expect("write");
        let config = server
            .client_config("acme")
            .expect("config")
            .with_identity(paths.cert, paths.key);
        let connector = client::Connector::new(config).expect("connector");
        let request = encode(&kmip_codec::xml::from_xml(DISCOVER_VERSIONS).expect("request"));
        // With TLS 1.3 the server's verdict on the client certificate arrives after the
        // client's handshake finished, so the refusal may surface at connect or at the exchange.
        let refused = match connector.connect().await {
            Err(_) => true,
            Ok(mut c) => c.send_raw(&request).await.is_err(),
        };
        assert!(refused, "a certificate of another CA was accepted");
    }
}
