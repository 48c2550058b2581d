//! Inbound migration (`kmsctl tenant pull`) from a real foreign KMIP server: PyKMIP's server,
//! started by the test on a free port with its own PKI (`tests/pykmip/foreign_server.py`),
//! into a real kmsd on SoftHSM2. Keys and secret data registered on PyKMIP with names come
//! here under the same UIDs with the same bytes, names and origin; the ones PyKMIP can wrap
//! travel wrapped under a transfer key (destroyed on both sides afterwards), the one it cannot
//! (a secret whose length NIST key wrap refuses) travels plain with a warning, or fails with
//! `--require-wrapping`; a second run reports everything as already present; a UID another
//! tenant holds here is refused without naming that tenant.
//!
//! The interpreter is `KMS_PYTHON`, else `python3` (see `pykmip.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use client::cli::Exit;
use client::{ClientConfig, Connection, Connector};
use kmip_codec::enums::{
    CryptographicAlgorithm, KeyFormatType, NameType, ObjectType, ResultReason, SecretDataType,
    State,
};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, ImportRequest, KeyBlock, KeyMaterial, KeyValue,
    ManagedObject, Name, ResponsePayload, SecretData, SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

use crate::pykmip::python;
use crate::wrapped_keys::connect_as;

/// How long PyKMIP may take to start.
const START_LIMIT: Duration = Duration::from_secs(60);

/// How long PyKMIP may take to stop once its standard input is closed.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// PyKMIP's server in a child process, stopped on drop: closing its standard input makes it
/// stop cleanly, with the Manager process PyKMIP starts (a kill would leave that behind).
struct ForeignServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    dir: PathBuf,
}

impl Drop for ForeignServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let start = Instant::now();
        while start.elapsed() < STOP_LIMIT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ForeignServer {
    fn start(dir: &Path) -> ForeignServer {
        std::fs::create_dir_all(dir).expect("foreign dir");
        let out = dir.join("stdout");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pykmip/foreign_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python()));
        let mut server = ForeignServer {
            stdin: child.stdin.take(),
            child,
            port: 0,
            dir: dir.to_owned(),
        };
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find_map(|l| l.strip_prefix("listening "))
                .and_then(|p| p.trim().parse().ok())
            {
                server.port = port;
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "PyKMIP's server exited ({status}): {}",
                    std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < START_LIMIT,
                "PyKMIP's server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A KMIP 1.2 connection of the foreign server's client (PyKMIP's default version).
    async fn connect(&self) -> Connection {
        let config = ClientConfig::new(self.addr(), "127.0.0.1")
            .with_ca_file(self.dir.join("ca.pem"))
            .with_identity(self.dir.join("client.pem"), self.dir.join("client.key"))
            .with_protocol_version(ProtocolVersion::V1_2);
        Connector::new(config)
            .expect("connector")
            .connect()
            .await
            .expect("connect to PyKMIP")
    }

    /// `kmsctl tenant pull` from this server into `tenant` of `server`.
    async fn pull(
        &self,
        server: &TestServer,
        tenant: &str,
        extra: &[&str],
    ) -> (Exit, String, String) {
        let files = server.client_files(tenant).expect("client files");
        let mut args: Vec<String> = [
            "tenant",
            "pull",
            "--from",
            &self.addr(),
            "--from-server-name",
            "127.0.0.1",
            "--from-ca",
            &self.file("ca.pem"),
            "--from-cert",
            &self.file("client.pem"),
            "--from-key",
            &self.file("client.key"),
            "--addr",
            &server.addr().to_string(),
            "--server-name",
            "127.0.0.1",
            "--ca",
            &server.ca_path().display().to_string(),
            "--cert",
            &files.cert.display().to_string(),
            "--key",
            &files.key.display().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let (exit, out, err) = kms_tests::kmsctl::run(args).await;
        println!("--- kmsctl tenant pull {extra:?}: {exit:?}\n{out}--- stderr\n{err}");
        (exit, out, err)
    }
}

fn named(name: &str) -> Attributes {
    Attributes::new().with(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: name.to_owned(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

async fn register_key(conn: &mut Connection, name: &str, bytes: &[u8]) -> String {
    let bits = i32::try_from(bytes.len() * 8).expect("length");
    let object = ManagedObject::SymmetricKey(SymmetricKey {
        key_block: KeyBlock::raw(Bytes::from(bytes), CryptographicAlgorithm::AES, bits),
    });
    let mut attributes = named(name);
    attributes.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeValue::Integer(0x0C),
    ));
    conn.register(object, attributes)
        .await
        .expect("register a key on PyKMIP")
}

/// A Secret Data (a password) of `bytes`.
pub(crate) fn secret(bytes: &[u8]) -> ManagedObject {
    ManagedObject::SecretData(SecretData {
        secret_data_type: SecretDataType::PASSWORD,
        key_block: KeyBlock {
            key_format_type: KeyFormatType::OPAQUE,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(Bytes::from(bytes)),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: None,
            cryptographic_length: None,
            key_wrapping_data: None,
        },
    })
}

async fn register_secret(conn: &mut Connection, name: &str, bytes: &[u8]) -> String {
    let mut attributes = named(name);
    attributes.push(Attribute::new(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeValue::Integer(0x0C),
    ));
    conn.register(secret(bytes), attributes)
        .await
        .expect("register a secret on PyKMIP")
}

/// The plain bytes and type of a key or secret as Get serves them.
async fn material(conn: &mut Connection, uid: &str) -> (ObjectType, Vec<u8>) {
    let got = conn
        .get(uid, None)
        .await
        .unwrap_or_else(|e| panic!("get {uid}: {e}"));
    let block = match &got.object {
        ManagedObject::SymmetricKey(k) => &k.key_block,
        ManagedObject::SecretData(s) => &s.key_block,
        other => panic!("unexpected object {:?}", other.object_type()),
    };
    match &block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(b),
            ..
        }) => (got.object_type, b.as_slice().to_vec()),
        other => panic!("unexpected key value {other:?}"),
    }
}

fn text_attribute(attributes: &Attributes, name: &str) -> Option<String> {
    attributes
        .iter()
        .find(|a| a.name.to_1x().as_deref() == Some(name))
        .and_then(|a| match &a.value {
            AttributeValue::TextString(t) => Some(t.clone()),
            AttributeValue::Name(n) => Some(n.value.clone()),
            _ => None,
        })
}

/// The stdout line of `uid`.
fn line_of<'a>(out: &'a str, uid: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{uid} -> ")))
        .unwrap_or_else(|| panic!("no line for {uid} in\n{out}"))
}

kms_tests::server_test! {
    async fn tenant_pull_brings_a_foreign_kmip_servers_keys_wrapped_under_their_uids(server) {
        let foreign = ForeignServer::start(&server.layout().dir.join("foreign-pykmip"));
        let mut there = foreign.connect().await;
        let payroll = register_key(&mut there, "payroll", &[0x11; 32]).await;
        let archive = register_key(&mut there, "archive", &[0x22; 16]).await;
        let token = register_secret(&mut there, "api-token", &[0x33; 32]).await;
        // 20 bytes: NIST key wrap (RFC 3394) takes multiples of 8 only, so PyKMIP cannot wrap it.
        let password = register_secret(&mut there, "db-password", b"correct horse batter").await;
        let taken = register_key(&mut there, "taken", &[0x44; 32]).await;
        let listed = there.locate(Attributes::new(), None, None).await.expect("locate").unique_identifiers;
        assert_eq!(listed.len(), 5, "{listed:?}");

        // Another tenant here already holds the UID of `taken`.
        server.add_tenant("rival").await.expect("tenant");
        let mut rival = connect_as(server, "rival").await;
        let import = ImportRequest {
            unique_identifier: taken.clone(),
            object_type: Some(ObjectType::SYMMETRIC_KEY),
            replace_existing: None,
            key_wrap_type: None,
            attributes: Attributes::new(),
            object: ManagedObject::SymmetricKey(SymmetricKey {
                key_block: KeyBlock::raw(Bytes::from(&[0x55; 32][..]), CryptographicAlgorithm::AES, 256),
            }),
        };
        rival
            .call(import, |p| match p { ResponsePayload::Import(r) => Some(r), _ => None })
            .await
            .expect("the rival tenant takes the UID first");

        let (exit, out, err) = foreign.pull(server, "acme", &[]).await;
        assert_eq!(exit, Exit::Failure, "one object failed, so the pull fails");
        for uid in [&payroll, &archive, &token] {
            assert!(line_of(&out, uid).ends_with("wrapped"), "{out}");
        }
        assert!(line_of(&out, &archive).contains("SymmetricKey"), "{out}");
        assert!(line_of(&out, &token).contains("SecretData"), "{out}");
        assert!(line_of(&out, &password).ends_with("plain"), "{out}");
        assert!(
            err.lines().any(|l| l.contains("warning") && l.contains(&format!("{password}: fetched PLAIN"))),
            "a warning names the object that travelled plain: {err}"
        );
        let refused = line_of(&out, &taken);
        assert!(refused.contains("failed: the UID is already in use on this server"), "{out}");
        assert!(!out.contains("rival") && !err.contains("rival"), "the holder is never named");
        assert!(out.contains("5 objects on") && out.contains("4 pulled (3 wrapped, 1 plain), 0 already present, 1 failed"), "{out}");

        // Each object here: same UID, same bytes as PyKMIP serves, its name and its origin.
        let mut here = connect_as(server, "acme").await;
        for (uid, name) in [(&payroll, "payroll"), (&archive, "archive"), (&token, "api-token"), (&password, "db-password")] {
            let (there_type, there_bytes) = material(&mut there, uid).await;
            let (here_type, here_bytes) = material(&mut here, uid).await;
            assert_eq!(here_type, there_type, "{uid}");
            assert_eq!(here_bytes, there_bytes, "{uid}: the bytes differ");
            let attributes = here.get_attributes(uid, Vec::new()).await.expect("attributes here");
            assert_eq!(text_attribute(&attributes, "Name").as_deref(), Some(name), "{uid}");
            assert_eq!(
                text_attribute(&attributes, "x-kms-migrated-from"),
                Some(format!("{} {uid}", foreign.addr())),
                "{uid}"
            );
        }
        // The rival's object is untouched, and acme does not see it.
        let (_, rival_bytes) = material(&mut rival, &taken).await;
        assert_eq!(rival_bytes, [0x55; 32]);
        let e = here.get(&taken, None).await.expect_err("not acme's");
        assert!(matches!(e.result_reason(), Some(ResultReason::ITEM_NOT_FOUND | ResultReason::OBJECT_NOT_FOUND)), "{e}");

        // The transfer key is gone on both sides.
        let listed = there.locate(Attributes::new(), None, None).await.expect("locate").unique_identifiers;
        assert_eq!(listed.len(), 5, "the transfer key is destroyed on PyKMIP: {listed:?}");
        let mut mark = Attributes::new();
        mark.push(Attribute::custom(client::migrate::MARK_ATTRIBUTE, AttributeValue::TextString(foreign.addr())));
        let live = here.locate(mark.clone(), None, None).await.expect("locate here");
        assert_eq!(live.unique_identifiers, Vec::<String>::new(), "no live transfer key here");
        mark.push(Attribute::new(Tag::STATE, AttributeValue::Enumeration(State::DESTROYED.0)));
        let destroyed = here.locate(mark, None, None).await.expect("locate destroyed here");
        assert_eq!(destroyed.unique_identifiers.len(), 1, "one transfer key was made here, now destroyed");

        // Idempotent: a second run fetches nothing and reports what is already here.
        let (exit, again, again_err) = foreign.pull(server, "acme", &[]).await;
        assert_eq!(exit, Exit::Failure, "the taken UID still fails");
        for uid in [&payroll, &archive, &token, &password] {
            assert!(line_of(&again, uid).ends_with("already present"), "{again}");
        }
        assert!(line_of(&again, &taken).contains("already in use on this server"), "{again}");
        assert!(again.contains("0 pulled (0 wrapped, 0 plain), 4 already present, 1 failed"), "{again}");
        assert!(!again_err.contains("transfer key"), "a second pull sets up its own transfer key: {again_err}");
    }
}

kms_tests::server_test! {
    async fn tenant_pull_with_require_wrapping_refuses_what_would_travel_plain(server) {
        // Also: a UID this tenant already uses for an object of its own, a transfer key an
        // interrupted pull left on the foreign server, and --json.
        let foreign = ForeignServer::start(&server.layout().dir.join("foreign-pykmip"));
        let mut there = foreign.connect().await;
        let key = register_key(&mut there, "payroll", &[0x66; 32]).await;
        let password = register_secret(&mut there, "db-password", b"correct horse batter").await;
        let mine = register_key(&mut there, "mine", &[0x77; 32]).await;
        let leftover = register_key(&mut there, "kms-pull transfer key 1700000000", &[0x99; 32]).await;
        // acme itself already has an object of its own under that UID.
        let mut here = connect_as(server, "acme").await;
        let import = ImportRequest {
            unique_identifier: mine.clone(),
            object_type: Some(ObjectType::SYMMETRIC_KEY),
            replace_existing: None,
            key_wrap_type: None,
            attributes: Attributes::new(),
            object: ManagedObject::SymmetricKey(SymmetricKey {
                key_block: KeyBlock::raw(Bytes::from(&[0x88; 32][..]), CryptographicAlgorithm::AES, 256),
            }),
        };
        here.call(import, |p| match p { ResponsePayload::Import(r) => Some(r), _ => None })
            .await
            .expect("acme's own object under that UID");

        let (exit, out, err) = foreign.pull(server, "acme", &["--require-wrapping"]).await;
        assert_eq!(exit, Exit::Failure, "{out}{err}");
        assert!(line_of(&out, &key).ends_with("wrapped"), "{out}");
        assert!(line_of(&out, &password).contains("failed: the foreign server would not wrap it"), "{out}");
        assert!(!err.contains("fetched PLAIN"), "nothing travelled plain: {err}");
        assert!(line_of(&out, &mine).contains("failed: the UID is already in use here by an object not pulled from there"), "{out}");
        assert_eq!(material(&mut here, &mine).await.1, [0x88; 32], "acme's own object is untouched");
        assert!(line_of(&out, &leftover).contains("failed: a transfer key an interrupted pull left on the foreign server"), "{out}");
        assert!(here.get(&leftover, None).await.is_err(), "a leftover transfer key is never pulled");
        assert_eq!(material(&mut here, &key).await.1, [0x66; 32]);
        let e = here.get(&password, None).await.expect_err("not pulled");
        assert!(matches!(e.result_reason(), Some(ResultReason::ITEM_NOT_FOUND | ResultReason::OBJECT_NOT_FOUND)), "{e}");

        // Without the option the same object comes, plain; acme's own UID still fails. In JSON.
        let (exit, out, err) = foreign.pull(server, "acme", &["--json"]).await;
        assert_eq!(exit, Exit::Failure, "{out}{err}");
        let report: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let result_of = |uid: &str| {
            report["objects"]
                .as_array()
                .expect("objects")
                .iter()
                .find(|o| o["foreign_uid"] == uid)
                .map(|o| o["result"].as_str().unwrap_or_default().to_owned())
        };
        assert_eq!(result_of(&key).as_deref(), Some("already present"), "{out}");
        assert_eq!(result_of(&password).as_deref(), Some("plain"), "{out}");
        assert_eq!(result_of(&mine).as_deref(), Some("failed"), "{out}");
        assert_eq!(report["summary"]["plain"], 1, "{out}");
        assert_eq!(report["summary"]["already_present"], 1, "{out}");
        assert_eq!(report["summary"]["failed"], 2, "{out}");
        assert!(err.contains(&format!("{password}: fetched PLAIN")), "the warning still goes to stderr: {err}");
        assert!(!err.contains("transfer key"), "{err}");
        assert_eq!(material(&mut here, &password).await.1, b"correct horse batter");
    }
}
