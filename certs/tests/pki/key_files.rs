//! Key files are 0600 from birth, nothing is overwritten without force, the dev PKI is
//! idempotent.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use certs::files::{self, PemPaths};
use certs::{Certificate, Error, Identity, KeyAlgorithm, PrivateKey, TenantId};

use crate::common::{self, ca};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_files_are_0600_and_certificates_not_writable_by_others() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PemPaths::in_dir(dir.path(), "c");
    let pair = common::client(ca(), &common::principal("acme", "a"));
    files::write_certified_key(&paths, &pair, false).unwrap();
    assert_eq!(mode(&paths.key), 0o600);
    assert_eq!(mode(&paths.cert) & 0o022, 0);
    // What is written loads back as the same key and certificate.
    let loaded = files::load_certified_key(&paths).unwrap();
    assert_eq!(loaded.certificate, pair.certificate);
    assert_eq!(
        loaded.key.public_key_info_der(),
        pair.key.public_key_info_der()
    );
}

#[test]
fn overwrite_is_refused_without_force_and_atomic_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PemPaths::in_dir(dir.path(), "c");
    let first = common::client(ca(), &common::principal("acme", "a"));
    let second = common::client(ca(), &common::principal("acme", "a"));
    files::write_certified_key(&paths, &first, false).unwrap();
    let before = (
        fs::read(&paths.cert).unwrap(),
        fs::read(&paths.key).unwrap(),
    );

    let err = files::write_certified_key(&paths, &second, false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
    let err = files::write_private_key(&paths.key, &second.key, false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(p) if p == paths.key));
    assert_eq!(
        (
            fs::read(&paths.cert).unwrap(),
            fs::read(&paths.key).unwrap()
        ),
        before,
        "a refused write changed the files"
    );

    files::write_certified_key(&paths, &second, true).unwrap();
    let loaded = files::load_certified_key(&paths).unwrap();
    assert_eq!(loaded.certificate, second.certificate);
    assert_eq!(mode(&paths.key), 0o600);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left behind: {names:?}");
}

#[test]
fn forced_key_write_replaces_a_world_readable_file_with_a_0600_one() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k.key");
    fs::write(&key_path, "old").unwrap();
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    files::write_private_key(&key_path, &key, true).unwrap();
    assert_eq!(mode(&key_path), 0o600);
    let back = PrivateKey::from_pem(&fs::read_to_string(&key_path).unwrap()).unwrap();
    assert_eq!(back.public_key_info_der(), key.public_key_info_der());
}

#[test]
fn half_present_pair_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let paths = PemPaths::in_dir(dir.path(), "c");
    fs::write(&paths.key, "someone's key").unwrap();
    let pair = common::client(ca(), &common::principal("acme", "a"));
    let err = files::write_certified_key(&paths, &pair, false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(p) if p == paths.key));
    assert!(!paths.cert.exists());
    assert_eq!(fs::read_to_string(&paths.key).unwrap(), "someone's key");
}

#[test]
fn key_debug_output_is_redacted() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let pem = key.to_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let debug = format!("{key:?} {:?}", ca());
    assert!(
        debug.contains("ecdsa") || debug.contains("Ecdsa"),
        "{debug}"
    );
    assert!(!debug.contains(&body[..16]), "key material in Debug");
}

#[test]
fn dev_pki_is_made_once_then_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pki");
    let clients = [
        (TenantId::new("acme").unwrap(), "vcenter".to_owned()),
        (TenantId::new("globex").unwrap(), "backup".to_owned()),
    ];
    let first = certs::dev::ensure_dev_pki(&root, &clients).unwrap();
    assert_eq!(first.created.len(), 2 * (1 + 2 + 2));
    assert_eq!(mode(&root), 0o700);
    let read = |p: &Path| Certificate::from_pem(&fs::read_to_string(p).unwrap()).unwrap();
    for paths in [&first.ca, &first.server_ecdsa, &first.server_rsa] {
        assert_eq!(mode(&paths.key), 0o600, "{}", paths.key.display());
    }
    for (paths, alg) in [
        (&first.server_ecdsa, KeyAlgorithm::EcdsaP256),
        (&first.server_rsa, KeyAlgorithm::Rsa2048),
    ] {
        let id = certs::identity_from_cert_der(read(&paths.cert).der()).unwrap();
        assert_eq!(id.identity.to_string(), "urn:kms:node:1");
        let key = PrivateKey::from_pem(&fs::read_to_string(&paths.key).unwrap()).unwrap();
        assert_eq!(key.algorithm(), alg);
    }
    assert_eq!(
        first.clients[1].paths.cert,
        root.join("clients/globex/backup.pem")
    );
    for (client, (tenant, name)) in first.clients.iter().zip(&clients) {
        let id = certs::identity_from_cert_der(read(&client.paths.cert).der()).unwrap();
        assert_eq!(
            id.identity,
            Identity::Principal(common::principal(tenant.as_str(), name))
        );
        assert_eq!(mode(&client.paths.key), 0o600);
    }
    let ca_fp = read(&first.ca.cert).fingerprint();

    // Second run: nothing new, same CA; a new client is issued by the SAME CA.
    let again = certs::dev::ensure_dev_pki(&root, &clients[..1]).unwrap();
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(read(&again.ca.cert).fingerprint(), ca_fp);
    let more = [(TenantId::new("initech").unwrap(), "svc".to_owned())];
    let third = certs::dev::ensure_dev_pki(&root, &more).unwrap();
    assert_eq!(third.created.len(), 2);
    let ca = files::load_ca(&third.ca).unwrap();
    let leaf = read(&third.clients[0].paths.cert);
    let leaf = crate::common::parse(leaf.der());
    let ca_cert = crate::common::parse(ca.certificate().der());
    leaf.verify_signature(Some(ca_cert.public_key())).unwrap();

    // A pair with one file missing is an error, not silently replaced.
    fs::remove_file(&first.server_rsa.key).unwrap();
    assert!(matches!(
        certs::dev::ensure_dev_pki(&root, &[]),
        Err(Error::IncompletePair { .. })
    ));
}
