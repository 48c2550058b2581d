//! Whole-tenant export and import on one installation (issue 18), through `kmsctl` against a
//! real server on a real SoftHSM token: the two-person rule (the requester cannot approve, a
//! bundle is taken once), a bundle opened and checked with the `openssl` binary alone, every
//! exported key recorded; and every bad bundle refused with a clear message while nothing of it
//! is imported (a bad signature, a foreign signer, a digest mismatch, a missing file, a bundle
//! for another recipient, a wrong unwrapping key, an RSA key under 2048 bits, a suspended
//! tenant, UIDs in use that never name the tenant holding them). The move between two
//! installations is `cluster::migration`.

use std::path::{Path, PathBuf};

use client::IdentityFiles;
use client::cli::Exit;
use kmip_codec::enums::{CryptographicUsageMask, KeyFormatType};
use kmip_codec::model::{AttributeValue, Attributes, Name};
use kmip_codec::tags::Tag;
use kms_tests::testbed::TestServer;
use serde_json::Value;
use server::store::records::Role;

use crate::asymmetric::{Spec, create_pair, request};
use crate::wrapped_keys::connect_as;

const KEY: [u8; 32] = [0x6b; 32];

/// `kmsctl` as one admin of one server.
pub(crate) struct Kmsctl {
    pub(crate) admin_addr: String,
    pub(crate) server_name: String,
    pub(crate) ca: PathBuf,
    pub(crate) files: IdentityFiles,
}

impl Kmsctl {
    pub(crate) fn of(server: &TestServer, files: IdentityFiles) -> Self {
        Self {
            admin_addr: server.admin_addr().expect("admin API").to_string(),
            server_name: "127.0.0.1".into(),
            ca: server.ca_path().to_owned(),
            files,
        }
    }

    /// `kmsctl <args> --admin-addr ... --json`: exit, stdout, stderr.
    pub(crate) async fn run(&self, args: &[&str]) -> (Exit, String, String) {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        for (flag, value) in [
            ("--admin-addr", self.admin_addr.clone()),
            ("--server-name", self.server_name.clone()),
            ("--ca", self.ca.display().to_string()),
            ("--cert", self.files.cert.display().to_string()),
            ("--key", self.files.key.display().to_string()),
        ] {
            all.push(flag.into());
            all.push(value);
        }
        all.push("--json".into());
        kms_tests::kmsctl::run(all).await
    }

    /// As [`Kmsctl::run`], which must succeed; its JSON output.
    pub(crate) async fn ok(&self, args: &[&str]) -> Value {
        let (exit, out, err) = self.run(args).await;
        assert_eq!(exit, Exit::Success, "kmsctl {args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("kmsctl {args:?}: not JSON: {out}"))
    }

    /// As [`Kmsctl::run`], which must fail; its error line.
    pub(crate) async fn refused(&self, args: &[&str]) -> String {
        let (exit, out, err) = self.run(args).await;
        assert_ne!(exit, Exit::Success, "kmsctl {args:?} succeeded: {out}");
        err
    }
}

/// Runs `openssl` with `args` in `dir`; panics unless it succeeds.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&crate::asymmetric::openssl_in(Some(dir), args)).into_owned()
}

/// An RSA key pair made by `openssl` (the customer's): private and public PEM paths.
pub(crate) fn customer_key(dir: &Path, name: &str, bits: u32) -> (PathBuf, PathBuf) {
    let (private, public) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &format!("rsa_keygen_bits:{bits}"),
            "-out",
            &private,
        ],
    );
    openssl(dir, &["pkey", "-in", &private, "-pubout", "-out", &public]);
    (dir.join(private), dir.join(public))
}

/// Opens every key of the bundle in `bundle` with OpenSSL alone, the transfer key under the
/// customer's RSA key `private`: each key's plaintext by UID.
pub(crate) fn open_with_openssl(bundle: &Path, private: &Path) -> Vec<(String, Vec<u8>)> {
    openssl(
        bundle,
        &[
            "dgst",
            "-sha256",
            "-verify",
            "signer.pem",
            "-signature",
            "manifest.sig",
            "manifest.json",
        ],
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let private = private.display().to_string();
    openssl(
        bundle,
        &[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            &private,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
            "-in",
            "transfer-key.bin",
            "-out",
            "transfer.key",
        ],
    );
    let transfer = std::fs::read(bundle.join("transfer.key")).unwrap();
    assert_eq!(transfer.len(), 32, "an AES-256 transfer key");
    let hex_key = hex::encode(&transfer);
    let mut out = Vec::new();
    for key in manifest["keys"].as_array().expect("keys") {
        let file = key["file"].as_str().unwrap();
        let digest = openssl(bundle, &["dgst", "-sha256", "-r", file]);
        assert!(
            digest.starts_with(key["sha256"].as_str().unwrap()),
            "{file}: {digest}"
        );
        openssl(
            bundle,
            &[
                "enc",
                "-d",
                "-id-aes256-wrap-pad",
                "-K",
                &hex_key,
                "-iv",
                "A65959A6",
                "-in",
                file,
                "-out",
                "plain.bin",
            ],
        );
        let plain = std::fs::read(bundle.join("plain.bin")).unwrap();
        out.push((key["uid"].as_str().unwrap().to_owned(), plain));
    }
    std::fs::remove_file(bundle.join("plain.bin")).unwrap();
    std::fs::remove_file(bundle.join("transfer.key")).unwrap();
    out
}

pub(crate) fn named(name: &str) -> Attributes {
    Attributes::new().with(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: name.to_owned(),
            name_type: kmip_codec::enums::NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

/// Registers an AES-256 key with a Name and a vCenter attribute; its UID.
async fn register_named(conn: &mut client::Connection, bytes: &[u8], name: &str) -> String {
    let mut extra = named(name);
    extra.push(kmip_codec::model::Attribute::custom(
        "x-Name",
        AttributeValue::TextString("vm-finance-01".into()),
    ));
    crate::export_import::register_key(conn, bytes, CryptographicUsageMask::ENCRYPT, extra).await
}

kms_tests::server_test! {
    async fn an_export_needs_a_second_admin_and_its_bundle_opens_with_openssl_alone(server) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = connect_as(server, "acme").await;
        let aes = register_named(&mut conn, &KEY, "disk-1").await;
        let pair = create_pair(
            &mut conn,
            request(Spec::Rsa(2048), CryptographicUsageMask::SIGN, CryptographicUsageMask::VERIFY, Attributes::new(), Attributes::new()),
        )
        .await
        .expect("key pair");
        let alice = Kmsctl::of(server, server.admin_identity(Role::TenantAdmin, Some("acme"), "alice").await.unwrap());
        let bob = Kmsctl::of(server, server.admin_identity(Role::TenantAdmin, Some("acme"), "bob").await.unwrap());
        let (customer_private, customer_public) = customer_key(dir.path(), "customer", 2048);
        let out = dir.path().join("bundle");
        let out_arg = out.display().to_string();
        let pem = customer_public.display().to_string();

        let asked = alice.ok(&["tenant", "export", "acme", "--wrap-with", &pem, "--out", &out_arg]).await;
        assert_eq!(asked["status"], "awaiting_approval", "{asked}");
        let job = asked["id"].as_str().expect("job id").to_owned();
        assert!(!out.exists(), "nothing written before the approval");
        let err = alice.refused(&["tenant", "approve-export", "acme", &job]).await;
        assert!(err.contains("second tenant admin"), "{err}");
        let err = alice.refused(&["tenant", "export", "acme", "--job", &job, "--out", &out_arg]).await;
        assert!(err.contains("not approved"), "{err}");
        let approved = bob.ok(&["tenant", "approve-export", "acme", &job]).await;
        assert_eq!(approved["status"], "ready", "{approved}");
        assert_eq!(approved["approved_by"], "tenant-admin/bob");
        bob.refused(&["tenant", "approve-export", "acme", &job]).await;
        alice.ok(&["tenant", "export", "acme", "--job", &job, "--out", &out_arg]).await;
        let again = dir.path().join("again").display().to_string();
        let err = alice.refused(&["tenant", "export", "acme", "--job", &job, "--out", &again]).await;
        assert!(err.contains("taken already"), "{err}");

        // The signer is this node's HSM audit key.
        let operator = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let (_, key) = crate::admin::Api::new(server, &operator).call("GET", "/v1/audit/public-key", None).await;
        assert_eq!(std::fs::read_to_string(out.join("signer.pem")).unwrap(), key["public_key_pem"].as_str().unwrap());

        let opened = open_with_openssl(&out, &customer_private);
        let by_uid = |uid: &str| opened.iter().find(|(u, _)| u == uid).map(|(_, b)| b.clone());
        assert_eq!(by_uid(&aes), Some(KEY.to_vec()), "the AES key opens to its bytes");
        let private = crate::wrapped_keys::der(&mut conn, &pair.private_key_unique_identifier, KeyFormatType::PKCS8).await;
        assert_eq!(by_uid(&pair.private_key_unique_identifier), Some(private), "the private key opens to its PKCS#8");
        let public = crate::wrapped_keys::der(&mut conn, &pair.public_key_unique_identifier, KeyFormatType::X_509).await;
        assert_eq!(by_uid(&pair.public_key_unique_identifier), Some(public), "the public key opens to its SPKI");
        assert_eq!(opened.len(), 3, "every key of the tenant, no other tenant's");
        let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let entry = manifest["keys"].as_array().unwrap().iter().find(|k| k["uid"] == aes.as_str()).unwrap().clone();
        let attributes = entry["attributes"].to_string();
        assert!(attributes.contains("disk-1") && attributes.contains("vm-finance-01"), "{attributes}");

        // One record per exported key, in the trail of the node that made the bundle.
        let (_, records) = crate::admin::Api::new(server, &operator)
            .call("GET", "/v1/audit/records?limit=10000&operation=tenant%20export%20key", None)
            .await;
        let exported: Vec<&str> = records["records"].as_array().expect("records").iter()
            .filter(|r| r["event"]["operation"] == migration_operation() && r["event"]["tenant"] == "acme")
            .filter_map(|r| r["event"]["object"].as_str())
            .collect();
        for (uid, _) in &opened {
            assert!(exported.contains(&uid.as_str()), "no export record of {uid}: {exported:?}");
        }
    }
}

fn migration_operation() -> &'static str {
    "tenant export key"
}

/// The number of objects `tenant` holds (the operator's inventory).
async fn objects_of(server: &TestServer, operator: &IdentityFiles, tenant: &str) -> usize {
    let (status, page) = crate::admin::Api::new(server, operator)
        .call("GET", &format!("/v1/tenants/{tenant}/keys"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["keys"].as_array().expect("keys").len()
}

kms_tests::server_test! {
    async fn a_bundle_that_is_altered_incomplete_or_for_another_key_imports_nothing(server, &[("KMSD_ADMIN__TWO_PERSON_EXPORT", "false")]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut acme = connect_as(server, "acme").await;
        register_named(&mut acme, &KEY, "disk-1").await;
        register_named(&mut acme, &[0x11; 32], "disk-2").await;
        let alice = Kmsctl::of(server, server.admin_identity(Role::TenantAdmin, Some("acme"), "alice").await.unwrap());
        let carol = Kmsctl::of(server, server.admin_identity(Role::TenantAdmin, Some("globex"), "carol").await.unwrap());
        let operator_files = server.admin_identity(Role::Operator, None, "ops").await.unwrap();
        let operator = Kmsctl::of(server, operator_files.clone());
        let path = |name: &str| dir.path().join(name).display().to_string();

        // globex's import key; a bundle of acme wrapped for it, taken at once (no approval).
        let made = carol.ok(&["tenant", "import-key", "globex", "--out", &path("globex.pem")]).await;
        let unwrap_key = made["private_key"].as_str().unwrap().to_owned();
        let taken = alice.ok(&["tenant", "export", "acme", "--wrap-with", &path("globex.pem"), "--out", &path("good")]).await;
        assert_eq!(taken["tenant"], "acme", "{taken}");
        let (_, key) = crate::admin::Api::new(server, &operator_files).call("GET", "/v1/audit/public-key", None).await;
        std::fs::write(path("signer.hex"), key["public_key"].as_str().unwrap()).unwrap();
        let before = objects_of(server, &operator_files, "globex").await;
        assert_eq!(before, 2, "globex holds its import key pair");

        let copy = |name: &str| {
            let to = dir.path().join(name);
            std::fs::create_dir_all(to.join("keys")).unwrap();
            for entry in walk(&dir.path().join("good")) {
                let rel = entry.strip_prefix(dir.path().join("good")).unwrap();
                std::fs::copy(&entry, to.join(rel)).unwrap();
            }
            to
        };
        let signer = path("signer.hex");

        let altered = copy("altered");
        let text = std::fs::read_to_string(altered.join("manifest.json")).unwrap();
        std::fs::write(altered.join("manifest.json"), text.replace("disk-1", "disk-9")).unwrap();
        let err = import_refused(&carol, &altered, &unwrap_key, &signer).await;
        assert!(err.contains("signature does not verify"), "{err}");

        let flipped = copy("flipped");
        let mut bytes = std::fs::read(flipped.join("keys/00001.bin")).unwrap();
        bytes[3] ^= 1;
        std::fs::write(flipped.join("keys/00001.bin"), bytes).unwrap();
        let err = import_refused(&carol, &flipped, &unwrap_key, &signer).await;
        assert!(err.contains("digest of keys/00001.bin does not match"), "{err}");

        let truncated = copy("truncated");
        std::fs::remove_file(truncated.join("keys/00002.bin")).unwrap();
        let err = import_refused(&carol, &truncated, &unwrap_key, &signer).await;
        assert!(err.contains("truncated"), "{err}");

        let (_, other_signer) = customer_key(dir.path(), "stranger", 2048);
        let err = import_refused(&carol, &copy("foreign-signer"), &unwrap_key, &other_signer.display().to_string()).await;
        assert!(err.contains("signed by another key"), "{err}");

        let (_, customer) = customer_key(dir.path(), "customer", 2048);
        alice.ok(&["tenant", "export", "acme", "--wrap-with", &customer.display().to_string(), "--out", &path("for-customer")]).await;
        let err = import_refused(&carol, &dir.path().join("for-customer"), &unwrap_key, &signer).await;
        assert!(err.contains("wrapped for another recipient"), "{err}");

        let mut globex = connect_as(server, "globex").await;
        let aes = register_named(&mut globex, &[0x22; 32], "not-a-transfer-key").await;
        let err = import_refused(&carol, &copy("wrong-key"), &aes, &signer).await;
        assert!(err.contains("unwrapping key must be"), "{err}");

        let (_, weak) = customer_key(dir.path(), "weak", 1024);
        let err = alice.refused(&["tenant", "export", "acme", "--wrap-with", &weak.display().to_string(), "--out", &path("weak")]).await;
        assert!(err.contains("under 2048 bits"), "{err}");

        // Every check passes, but acme holds these UIDs: refused without naming acme.
        let err = import_refused(&carol, &copy("in-use"), &unwrap_key, &signer).await;
        assert!(err.contains("already in use on this installation"), "{err}");
        assert!(!err.contains("acme"), "the holder of the UID is named: {err}");

        operator.ok(&["tenant", "suspend", "globex"]).await;
        let err = operator.refused(&["tenant", "import", "globex", &copy("suspended").display().to_string(), "--unwrap-key", &unwrap_key, "--signer", &signer]).await;
        assert!(err.contains("suspended"), "{err}");
        operator.ok(&["tenant", "resume", "globex"]).await;

        assert_eq!(objects_of(server, &operator_files, "globex").await, before + 1, "nothing of any bundle was imported (the one new key is the test's own)");
    }
}

/// `kmsctl tenant import` of `bundle` into globex by `admin`, which must be refused: the error.
async fn import_refused(admin: &Kmsctl, bundle: &Path, key: &str, signer: &str) -> String {
    let bundle = bundle.display().to_string();
    admin
        .refused(&[
            "tenant",
            "import",
            "globex",
            &bundle,
            "--unwrap-key",
            key,
            "--signer",
            signer,
        ])
        .await
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
