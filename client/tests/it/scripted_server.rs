//! Test fixtures: a dev PKI made once per test binary and a small KMIP-over-TLS server that
//! decodes each request with kmip-codec and answers what the test's handler says.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use certs::dev::DevPki;
use certs::identity::TenantId;
use client::{ClientConfig, Connector, TlsVersions};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    RequestMessage, ResponseBatchItem, ResponseHeader, ResponseMessage, decode_request,
    encode_response,
};
use rustls::HandshakeKind;
use rustls::server::WebPkiClientVerifier;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The dev PKI (CA, node-1 server certificates, client `acme/vcenter-01`), made once.
pub fn pki() -> &'static DevPki {
    static PKI: OnceLock<(tempfile::TempDir, DevPki)> = OnceLock::new();
    &PKI.get_or_init(|| make_pki("acme")).1
}

/// A second, unrelated dev PKI (another CA).
pub fn other_pki() -> &'static DevPki {
    static PKI: OnceLock<(tempfile::TempDir, DevPki)> = OnceLock::new();
    &PKI.get_or_init(|| make_pki("other")).1
}

fn make_pki(tenant: &str) -> (tempfile::TempDir, DevPki) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = TenantId::new(tenant).expect("tenant");
    let pki = certs::dev::ensure_dev_pki(dir.path(), &[(tenant, "vcenter-01".to_owned())])
        .expect("dev PKI");
    (dir, pki)
}

/// Client settings for `server`, trusting `pki()`'s CA, with its client certificate.
pub fn settings(server: &TestServer) -> ClientConfig {
    let pki = pki();
    let client = pki.clients.first().expect("one client");
    ClientConfig::new(server.addr.to_string(), "localhost")
        .with_ca_file(&pki.ca.cert)
        .with_identity(&client.paths.cert, &client.paths.key)
}

/// A connector for `settings`.
pub fn connector(settings: ClientConfig) -> Connector {
    Connector::new(settings).expect("connector")
}

/// What the server does with one request.
pub enum Reply {
    /// Answers this message (encoded in its header's version).
    Message(ResponseMessage),
    /// Writes these bytes.
    Raw(Vec<u8>),
    /// Never answers (keeps the connection open).
    Silence,
    /// Closes the connection without answering.
    Close,
}

/// The handler: request in, reply out.
pub type Handler = Arc<dyn Fn(&RequestMessage) -> Reply + Send + Sync>;

/// A response to `request` in its version, one item per request item made by `item`.
pub fn answer(
    request: &RequestMessage,
    item: impl FnMut(&kmip_codec::model::RequestBatchItem) -> ResponseBatchItem,
) -> Reply {
    Reply::Message(ResponseMessage::new(
        ResponseHeader::new(request.version(), 1_700_000_000),
        request.batch_items.iter().map(item).collect(),
    ))
}

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    /// One entry per completed handshake.
    pub handshakes: Vec<(Option<HandshakeKind>, Option<rustls::ProtocolVersion>)>,
    /// Every decoded request.
    pub requests: Vec<RequestMessage>,
}

/// A running test server on 127.0.0.1; stopped when dropped.
pub struct TestServer {
    /// Its address.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// The requests seen so far.
    pub fn requests(&self) -> Vec<RequestMessage> {
        self.seen.lock().expect("lock").requests.clone()
    }

    /// The handshakes seen so far.
    pub fn handshakes(&self) -> Vec<(Option<HandshakeKind>, Option<rustls::ProtocolVersion>)> {
        self.seen.lock().expect("lock").handshakes.clone()
    }
}

/// Server TLS settings: versions and which certificate (ECDSA or RSA).
pub fn server_tls(versions: TlsVersions, rsa: bool) -> Arc<rustls::ServerConfig> {
    let pki = pki();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(&pki.ca.cert) {
        roots.add(cert).expect("CA");
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("verifier");
    let versions: &[&rustls::SupportedProtocolVersion] = match versions {
        TlsVersions::Tls12And13 => rustls::ALL_VERSIONS,
        TlsVersions::Tls12Only => &[&rustls::version::TLS12],
        TlsVersions::Tls13Only => &[&rustls::version::TLS13],
    };
    let paths = if rsa {
        &pki.server_rsa
    } else {
        &pki.server_ecdsa
    };
    let key = rustls_pemfile::private_key(&mut std::fs::read(&paths.key).expect("key").as_slice())
        .expect("key PEM")
        .expect("a key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs(&paths.cert), key)
        .expect("server config");
    Arc::new(config)
}

fn read_certs(path: &Path) -> Vec<rustls_pki_types::CertificateDer<'static>> {
    rustls_pemfile::certs(&mut std::fs::read(path).expect("cert").as_slice())
        .collect::<Result<_, _>>()
        .expect("cert PEM")
}

/// Starts a server with both TLS versions and the ECDSA certificate.
pub async fn start(
    handler: impl Fn(&RequestMessage) -> Reply + Send + Sync + 'static,
) -> TestServer {
    start_with(server_tls(TlsVersions::Tls12And13, false), handler).await
}

/// Starts a server with this TLS configuration.
pub async fn start_with(
    tls: Arc<rustls::ServerConfig>,
    handler: impl Fn(&RequestMessage) -> Reply + Send + Sync + 'static,
) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let handler: Handler = Arc::new(handler);
    let acceptor = TlsAcceptor::from(tls);
    let task = tokio::spawn({
        let seen = Arc::clone(&seen);
        async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen, handler) =
                    (acceptor.clone(), Arc::clone(&seen), Arc::clone(&handler));
                tokio::spawn(async move {
                    // Without it, Nagle holds the response behind the TLS 1.3 tickets for
                    // a delayed ACK (~40 ms).
                    let _ = tcp.set_nodelay(true);
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        serve(stream, &seen, &handler).await;
                    }
                });
            }
        }
    });
    TestServer { addr, seen, task }
}

/// Answers requests on one connection until the client goes or the handler says stop.
async fn serve(
    mut stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    seen: &Mutex<Seen>,
    handler: &Handler,
) {
    {
        let conn = stream.get_ref().1;
        let entry = (conn.handshake_kind(), conn.protocol_version());
        seen.lock().expect("lock").handshakes.push(entry);
    }
    let limits = Limits::default();
    while let Ok(bytes) = client::frame::read_message(&mut stream, &limits).await {
        let request = decode_request(&bytes, &limits).expect("test server: bad request");
        seen.lock().expect("lock").requests.push(request.clone());
        let out = match handler(&request) {
            Reply::Message(m) => encode_response(&m),
            Reply::Raw(b) => b,
            Reply::Silence => {
                std::future::pending::<()>().await;
                return;
            }
            Reply::Close => return,
        };
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
