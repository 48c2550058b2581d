//! Node-to-node TLS follows a certificate reload: over real rustls handshakes (in memory), a
//! node presents its rotated node certificate in both directions (as the Raft listener and as
//! a caller) once reloaded, and trusts a peer of a new CA once the bundle holds it.

use std::path::Path;

use certs::files::PemPaths;
use certs::{CaParams, CertificateAuthority, Host, KeyAlgorithm, NodeRequest};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::cluster::peer_tls::PeerTls;
use crate::config::TlsFiles;
use crate::tls::Certificates;

fn ca(name: &str) -> CertificateAuthority {
    CertificateAuthority::generate(&CaParams {
        common_name: name.to_owned(),
        ..CaParams::default()
    })
    .unwrap()
}

/// Writes node `id`'s certificate from `ca` over `paths`; returns its SHA-256 (hex).
fn issue(ca: &CertificateAuthority, id: u64, paths: &PemPaths) -> String {
    let pair = ca
        .issue_node(&NodeRequest {
            node_id: id,
            hosts: vec!["127.0.0.1".parse::<Host>().unwrap()],
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 30,
        })
        .unwrap();
    certs::files::write_certified_key(paths, &pair, true).unwrap();
    pair.certificate.fingerprint().hex()
}

fn files(node: &PemPaths, ca_file: &Path) -> TlsFiles {
    TlsFiles {
        client_ca: ca_file.to_owned(),
        ecdsa_cert: node.cert.clone(),
        ecdsa_key: node.key.clone(),
        rsa_cert: None,
        rsa_key: None,
        session_cache_entries: 16,
    }
}

/// One handshake from `caller` to `listener`: the fingerprints each side was shown
/// (listener's as the caller saw it, caller's as the listener saw it), or `None` if refused.
async fn handshake(caller: &PeerTls, listener: &PeerTls) -> Option<(String, String)> {
    let (a, b) = tokio::io::duplex(64 << 10);
    let acceptor = TlsAcceptor::from(listener.server.clone());
    let connector = TlsConnector::from(caller.client.clone());
    let (client, server) = tokio::join!(
        connector.connect(PeerTls::server_name(), a),
        acceptor.accept(b)
    );
    let (mut client, mut server) = (client.ok()?, server.ok()?);
    // A byte each way, as a call and its reply: the caller takes in whatever the listener
    // sends after the handshake (session tickets, if it sent any: it must not).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut byte = [0u8; 1];
    client.write_all(b"c").await.ok()?;
    client.flush().await.ok()?;
    server.read_exact(&mut byte).await.ok()?;
    server.write_all(b"s").await.ok()?;
    server.flush().await.ok()?;
    client.read_exact(&mut byte).await.ok()?;
    let seen = |certs: Option<&[rustls_pki_types::CertificateDer<'_>]>| {
        hex::encode(certs::fingerprint_sha256(&certs.unwrap()[0]))
    };
    Some((
        seen(client.get_ref().1.peer_certificates()),
        seen(server.get_ref().1.peer_certificates()),
    ))
}

#[tokio::test]
async fn node_tls_presents_and_trusts_what_the_last_reload_installed() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (ca("old"), ca("new"));
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, old_ca.certificate().pem()).unwrap();
    let one = PemPaths::in_dir(dir.path(), "node-1");
    let two = PemPaths::in_dir(dir.path(), "node-2");
    let one_first = issue(&old_ca, 1, &one);
    let two_first = issue(&old_ca, 2, &two);
    let one_certs = Certificates::load(&files(&one, &ca_file)).unwrap();
    let node_one = PeerTls::from_certificates(&one_certs).unwrap();
    let node_two = PeerTls::new(&files(&two, &ca_file)).unwrap();
    assert_eq!(
        handshake(&node_one, &node_two).await,
        Some((two_first.clone(), one_first.clone()))
    );

    // Node 1's certificate is renewed from a new CA, which both bundles now hold; until node 1
    // reloads it shows its old certificate, then the new one, as listener and as caller.
    let one_renewed = issue(&new_ca, 1, &one);
    std::fs::write(
        &ca_file,
        format!(
            "{}{}",
            old_ca.certificate().pem(),
            new_ca.certificate().pem()
        ),
    )
    .unwrap();
    let node_two = PeerTls::new(&files(&two, &ca_file)).unwrap();
    assert_eq!(
        handshake(&node_two, &node_one).await,
        Some((one_first.clone(), two_first.clone()))
    );
    one_certs.reload().unwrap();
    assert_eq!(
        handshake(&node_two, &node_one).await,
        Some((one_renewed.clone(), two_first.clone()))
    );
    assert_eq!(
        handshake(&node_one, &node_two).await,
        Some((two_first.clone(), one_renewed.clone()))
    );

    // Node 1 drops the old CA: node 2's certificate of the old CA is refused both ways, also
    // by a caller that talked to node 1 before (no session to resume: every handshake checks
    // the certificate against the CAs in use).
    std::fs::write(&ca_file, new_ca.certificate().pem()).unwrap();
    one_certs.reload().unwrap();
    assert_eq!(handshake(&node_two, &node_one).await, None);
    assert_eq!(handshake(&node_one, &node_two).await, None);
}
