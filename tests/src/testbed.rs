//! A real server started in-process on `127.0.0.1:0`, on a real SoftHSM2 token and a real dev
//! PKI, with KMIP clients of the tenants `acme` and `globex` enrolled.
//!
//! Must run in a [`crate::softhsm`] child (SoftHSM2 reads its configuration from the
//! environment once per process): use [`crate::server_test!`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use certs::files::PemPaths;
use certs::identity::{PrincipalUri, Role, TenantId};
use certs::{ClientRequest, KeyAlgorithm};
use client::{ClientConfig, Connector, IdentityFiles};
use server::command_log::AuditScope;
use server::dev::{self, DevLayout};
use server::kms::Kms;
use server::node::Node;
use server::tenancy::AdminError;

use crate::error::Error;
use crate::softhsm::Env;
use crate::vectors::unix_now;

/// The tenants the dev PKI has client certificates for.
pub const DEV_TENANTS: [&str; 2] = ["acme", "globex"];

/// The client name every tenant's KMIP client gets.
pub const CLIENT_NAME: &str = "vcenter";

/// Days of validity of the client certificates made for extra tenants.
const CLIENT_DAYS: u32 = 2;

/// A running server and the files a client needs to talk to it.
#[derive(Debug)]
pub struct TestServer {
    node: Node,
    layout: DevLayout,
    ca: PathBuf,
    clients: Mutex<HashMap<String, IdentityFiles>>,
}

impl TestServer {
    /// Prepares the dev environment in the test's directory (token, Root of Trust, PKI,
    /// `kmsd.toml`), starts the node on `127.0.0.1:0`, and creates the tenants `acme` and
    /// `globex` with their KMIP client `vcenter` enrolled.
    pub async fn start(env: &Env) -> Result<TestServer, Error> {
        Self::start_with(env, &[]).await
    }

    /// As [`TestServer::start`], with configuration overrides in the form of the server's
    /// environment overrides (`("KMSD_SERVER__READ_TIMEOUT_SECS", "1")`), e.g. short timeouts
    /// or a small connection cap for tests of hostile clients.
    pub async fn start_with(env: &Env, overrides: &[(&str, &str)]) -> Result<TestServer, Error> {
        let server = Self::open(env, overrides).await?;
        for tenant in DEV_TENANTS {
            server.enroll(tenant).await?;
        }
        Ok(server)
    }

    /// As [`TestServer::start_with`] without creating the dev tenants: a node whose state is
    /// already there (restored from a backup into the data directory the overrides name).
    pub async fn start_restored(
        env: &Env,
        overrides: &[(&str, &str)],
    ) -> Result<TestServer, Error> {
        Self::open(env, overrides).await
    }

    async fn open(env: &Env, overrides: &[(&str, &str)]) -> Result<TestServer, Error> {
        let layout = DevLayout::new(env.dir())?;
        let prepared = {
            let layout = layout.clone();
            tokio::task::spawn_blocking(move || dev::prepare(&layout, "127.0.0.1:0"))
                .await
                .map_err(|e| Error::Io {
                    what: "preparing the dev environment",
                    source: std::io::Error::other(e),
                })??
        };
        // The admin API listens on a free loopback port unless a test says otherwise (its
        // default, 127.0.0.1:5697, would collide between tests running in parallel).
        let admin = ("KMSD_ADMIN__LISTEN", "127.0.0.1:0");
        let overrides = std::iter::once(&admin)
            .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
            .chain(overrides)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let settings = server::config::Settings::load(&prepared, overrides)?;
        let node = Node::start(settings).await?;
        let ca = layout.pki().join("ca.pem");
        let mut clients = HashMap::new();
        for (tenant, cert, key) in dev::client_files(&layout) {
            let tenant = tenant
                .split_once('/')
                .map_or(tenant.as_str(), |(t, _)| t)
                .to_owned();
            clients.insert(tenant, IdentityFiles { cert, key });
        }
        Ok(TestServer {
            node,
            layout,
            ca,
            clients: Mutex::new(clients),
        })
    }

    /// The audit scope of a write the test bed makes itself (tenants, enrollments), as
    /// `kmsd dev` seeding makes them: each leaves one record.
    pub fn setup(&self) -> AuditScope {
        AuditScope::offline(self.kms().log_name(), "test setup")
    }

    /// Creates `tenant` (a fresh Domain Key) and enrolls its CA-issued KMIP client.
    async fn enroll(&self, tenant: &str) -> Result<(), Error> {
        let now = unix_now();
        self.kms()
            .tenancy()
            .create_tenant(&self.setup(), tenant, now)
            .await?;
        self.kms()
            .tenancy()
            .enroll_ca_issued(&self.setup(), tenant, CLIENT_NAME, Role::KmipClient, now)
            .await?;
        Ok(())
    }

    /// Adds a tenant with a KMIP client whose certificate the dev CA issues now (ECDSA P-256),
    /// and returns a connector for it.
    pub async fn add_tenant(&self, tenant: &str) -> Result<Connector, Error> {
        let ca = certs::files::load_ca(&PemPaths::in_dir(&self.layout.pki(), "ca"))?;
        let principal = PrincipalUri::kmip_client(TenantId::new(tenant)?, CLIENT_NAME)?;
        let pair = ca.issue_client(&ClientRequest {
            principal,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: CLIENT_DAYS,
        })?;
        let dir = self.layout.dir.join("extra-clients").join(tenant);
        certs::files::create_private_dir(&dir)?;
        let paths = PemPaths::in_dir(&dir, CLIENT_NAME);
        certs::files::write_certified_key(&paths, &pair, false)?;
        self.enroll(tenant).await?;
        self.clients.lock().map_err(|_| Error::Poisoned)?.insert(
            tenant.to_owned(),
            IdentityFiles {
                cert: paths.cert,
                key: paths.key,
            },
        );
        self.client(tenant)
    }

    /// The KMIP listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.node.addr()
    }

    /// The admin API listener's address (HTTPS with client certificates); `None` when a
    /// test turned the admin API off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.node.admin_addr()
    }

    /// Issues a certificate for an admin principal from the dev CA (`role` operator, tenant
    /// admin, auditor or platform service; `tenant` `None` exactly for operators and platform
    /// services, whose `name` is the service's) and enrolls it, as the bootstrap and the
    /// admin API would.
    pub async fn admin_identity(
        &self,
        role: Role,
        tenant: Option<&str>,
        name: &str,
    ) -> Result<IdentityFiles, Error> {
        let files = self.issue_identity(role, tenant, name)?;
        let now = unix_now();
        let tenancy = self.kms().tenancy();
        let service = server::policy::platform::Service::of_name(name);
        let enrolled = match (tenant, service) {
            (None, Some(s)) if role == Role::PlatformService => self
                .kms()
                .platform()
                .enroll_service(&self.setup(), s, now)
                .await
                .map(drop),
            (None, _) => tenancy.enroll_operator(&self.setup(), name, now).await,
            (Some(t), _) => {
                tenancy
                    .enroll_ca_issued(&self.setup(), t, name, role, now)
                    .await
            }
        };
        match enrolled {
            // Applied; its record waits in the outbox while the audit trail cannot take it
            // (the tests of a full audit disk enroll then).
            Err(AdminError::Commit(e)) if e.applied() => {}
            other => other?,
        }
        Ok(files)
    }

    /// Issues a certificate naming `urn:kms:principal:<role>:<tenant>:<name>` from the dev CA,
    /// without enrolling it (the admin API enrolls it in the tests that use this).
    pub fn issue_identity(
        &self,
        role: Role,
        tenant: Option<&str>,
        name: &str,
    ) -> Result<IdentityFiles, Error> {
        let ca = certs::files::load_ca(&PemPaths::in_dir(&self.layout.pki(), "ca"))?;
        let tenant_id = tenant.map(TenantId::new).transpose()?;
        let principal = PrincipalUri::new(role, tenant_id, name)?;
        let pair = ca.issue_client(&ClientRequest {
            principal,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: CLIENT_DAYS,
        })?;
        let dir = self.layout.dir.join("admins").join(tenant.unwrap_or("-"));
        certs::files::create_private_dir(&dir)?;
        let paths = PemPaths::in_dir(&dir, &format!("{}-{name}", role.as_str()));
        certs::files::write_certified_key(&paths, &pair, false)?;
        Ok(IdentityFiles {
            cert: paths.cert,
            key: paths.key,
        })
    }

    /// The CA certificate (PEM) that issued the server and client certificates.
    pub fn ca_path(&self) -> &Path {
        &self.ca
    }

    /// The certificate and key files of `tenant`'s KMIP client.
    pub fn client_files(&self, tenant: &str) -> Result<IdentityFiles, Error> {
        self.clients
            .lock()
            .map_err(|_| Error::Poisoned)?
            .get(tenant)
            .cloned()
            .ok_or_else(|| Error::UnknownTenant(tenant.to_owned()))
    }

    /// Client settings for `tenant`'s KMIP client (KMIP 1.4 by default; change with
    /// [`ClientConfig::with_protocol_version`]).
    pub fn client_config(&self, tenant: &str) -> Result<ClientConfig, Error> {
        let files = self.client_files(tenant)?;
        Ok(ClientConfig::new(self.addr().to_string(), "127.0.0.1")
            .with_ca_file(&self.ca)
            .with_identity(files.cert, files.key))
    }

    /// A connector for `tenant`'s KMIP client.
    pub fn client(&self, tenant: &str) -> Result<Connector, Error> {
        Ok(Connector::new(self.client_config(tenant)?)?)
    }

    /// The service behind the listener (admin actions, store).
    pub fn kms(&self) -> &Arc<Kms> {
        self.node.kms()
    }

    /// The dev layout (config, PKI, token files).
    pub fn layout(&self) -> &DevLayout {
        &self.layout
    }

    /// Stops the node: no new connections, open ones drained, queued writes committed.
    pub async fn shutdown(self) {
        self.node.shutdown().await;
    }
}

/// Creates an AES-256 Encrypt/Decrypt key over `conn` and returns its UID.
pub async fn create_aes_key(conn: &mut client::Connection) -> Result<String, client::ClientError> {
    use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
    conn.create_symmetric_key(
        CryptographicAlgorithm::AES,
        256,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        kmip_codec::model::Attributes::new(),
    )
    .await
}

/// The plain bytes of a symmetric key as a KMIP client reads them with Get.
pub async fn key_bytes(conn: &mut client::Connection, uid: &str) -> Vec<u8> {
    use kmip_codec::model::{KeyMaterial, KeyValue, ManagedObject};
    let got = conn.get(uid, None).await.expect("get");
    let ManagedObject::SymmetricKey(key) = got.object else {
        panic!("not a symmetric key");
    };
    match key.key_block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => b.as_slice().to_vec(),
        other => panic!("unexpected key value {other:?}"),
    }
}

/// A multi-threaded runtime for a test body.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts a [`TestServer`] in `env`, runs `test` against it, and shuts it down.
pub fn with_server(env: &Env, test: impl AsyncFnOnce(&TestServer)) {
    with_server_config(env, &[], test);
}

/// As [`with_server`], with configuration overrides (see [`TestServer::start_with`]).
pub fn with_server_config(
    env: &Env,
    overrides: &[(&str, &str)],
    test: impl AsyncFnOnce(&TestServer),
) {
    runtime().block_on(async {
        let server = match TestServer::start_with(env, overrides).await {
            Ok(s) => s,
            Err(e) => panic!("the test server did not start: {e}"),
        };
        test(&server).await;
        server.shutdown().await;
    });
}

/// A test against a real server in its own process with its own SoftHSM2 token:
///
/// ```ignore
/// kms_tests::server_test! {
///     async fn answers(server) {
///         let mut c = server.client("acme").unwrap().connect().await.unwrap();
///         // ...
///     }
/// }
/// ```
///
/// With configuration overrides (server environment-override names and values):
///
/// ```ignore
/// kms_tests::server_test! {
///     async fn slow_clients_are_dropped(server, &[("KMSD_SERVER__READ_TIMEOUT_SECS", "1")]) {
///         // ...
///     }
/// }
/// ```
#[macro_export]
macro_rules! server_test {
    ($(#[$meta:meta])* async fn $name:ident($server:ident, $overrides:expr) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::softhsm::run(
                concat!(module_path!(), "::", stringify!($name)),
                |env: &$crate::softhsm::Env| {
                    $crate::testbed::with_server_config(
                        env,
                        $overrides,
                        async |$server: &$crate::testbed::TestServer| $body,
                    )
                },
            );
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($server:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::softhsm::run(
                concat!(module_path!(), "::", stringify!($name)),
                |env: &$crate::softhsm::Env| {
                    $crate::testbed::with_server(env, async |$server: &$crate::testbed::TestServer| $body)
                },
            );
        }
    };
}
