//! `kmsd ceremony <step>` end to end: the real binary, run as separate processes, on real
//! SoftHSM2 tokens in a private token directory (`SOFTHSM2_CONF` set on each child).
//!
//! Token A is the source, B a target, C a new HSM restored from the backup.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use softhsm_support::SOFTHSM2_CONF;
use softhsm_support::harness::{TokenDir, skip};

const USER_PIN: &str = "user-pin-8642";
const SO_PIN: &str = "so-pin-7531";

/// A private SoftHSM2 directory with its configuration, PIN files and per-token configs.
struct Lab {
    dir: TokenDir,
}

impl Lab {
    fn new() -> Lab {
        let dir = TokenDir::new("kms-ceremony-").expect("token directory");
        let lab = Lab { dir };
        std::fs::write(lab.path("user.pin"), format!("{USER_PIN}\n")).expect("pin");
        std::fs::write(lab.path("so.pin"), format!("{SO_PIN}\n")).expect("so pin");
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.env().dir().join(name)
    }

    fn conf(&self) -> PathBuf {
        self.dir.env().softhsm_conf()
    }

    /// Initialises token `label` and writes `<label>.toml`: a full kmsd.toml for the source
    /// (the ceremony reads only its [hsm] table), a bare [hsm] file for the others.
    fn token(&self, label: &str, full_server_config: bool) -> PathBuf {
        softhsm_support::init_token(&self.conf(), label, USER_PIN, SO_PIN).expect("init token");
        let server = if full_server_config {
            "[server]\nnode_id = 1\n\n[tls]\nclient_ca = \"ca.pem\"\necdsa_cert = \"c.pem\"\n\
             ecdsa_key = \"k.pem\"\n\n"
        } else {
            ""
        };
        let config = self.path(&format!("{label}.toml"));
        std::fs::write(
            &config,
            format!(
                "{server}[hsm]\nmodule = {:?}\ntoken_label = {label:?}\npin_file = {:?}\n\
                 transport_oaep_hash = \"sha1\"\n",
                softhsm_support::module().expect("SoftHSM2 module"),
                self.path("user.pin")
            ),
        )
        .expect("config");
        config
    }

    /// Runs `kmsd ceremony <args>` with `--config <config>`.
    fn kmsd(&self, config: &Path, args: &[&str]) -> Output {
        self.kmsd_env(config, args, None)
    }

    fn kmsd_env(&self, config: &Path, args: &[&str], so_pin_env: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kmsd"));
        command
            .arg("ceremony")
            .args(args)
            .arg("--config")
            .arg(config)
            .env(SOFTHSM2_CONF, self.conf())
            .env("RUST_LOG", "warn")
            .env_remove("KMSD_CONFIG")
            .env_remove("KMSD_SO_PIN");
        if let Some(pin) = so_pin_env {
            command.env("KMSD_SO_PIN", pin);
        }
        command.output().expect("run kmsd")
    }
}

/// The step's stdout; fails the test with its stderr when it did not succeed.
fn ok(step: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{step} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// The stderr of a step that must fail; asserts it failed with one line.
fn refused(step: &str, output: Output) -> String {
    assert!(!output.status.success(), "{step} succeeded: {output:?}");
    assert_eq!(output.status.code(), Some(1), "{step}: {output:?}");
    let stderr = String::from_utf8(output.stderr).expect("utf-8 stderr");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{step}: {stderr}");
    stderr
}

/// The value after `<key>: ` on a line of the output.
fn field(text: &str, key: &str) -> String {
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key:?} in {text}"))
        .trim()
        .to_owned()
}

fn status_json(lab: &Lab, config: &Path) -> serde_json::Value {
    let out = ok("status", lab.kmsd(config, &["status", "--json"]));
    serde_json::from_str(&out).expect("status JSON")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn ceremony_moves_and_restores_one_root_across_tokens() {
    let lab = Lab::new();
    let (a, b, c) = (
        lab.token("az1", true),
        lab.token("az2", false),
        lab.token("dr", false),
    );
    let so_pin_file = lab.path("so.pin");
    let so_pin_file = so_pin_file.to_str().expect("utf-8 path");

    // 1. Source root, exportable only under SO-trusted keys.
    let init = ok("init-root", lab.kmsd(&a, &["init-root", "--exportable"]));
    let kcv = field(&init, "KCV");
    assert_eq!(kcv.len(), 6, "{init}");
    let again = refused("second init-root", lab.kmsd(&a, &["init-root"]));
    assert!(again.contains("already exists"), "{again}");

    // 2. Transport key on the target; its fingerprint is the SHA-256 of the SPKI DER.
    let transport = lab.path("transport.pem");
    let transport_arg = transport.to_str().expect("utf-8 path");
    let keygen = ok(
        "transport-keygen",
        lab.kmsd(&b, &["transport-keygen", "--out", transport_arg]),
    );
    let fingerprint = field(&keygen, "fingerprint");
    assert_eq!(fingerprint.len(), 64, "{keygen}");
    let pem = std::fs::read_to_string(&transport).expect("transport.pem");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let clobber = refused(
        "transport-keygen over an existing file",
        lab.kmsd(&b, &["transport-keygen", "--out", transport_arg]),
    );
    assert!(clobber.contains("--force"), "{clobber}");
    assert_eq!(std::fs::read_to_string(&transport).expect("pem"), pem);

    // 4. Export: a wrong fingerprint is refused and writes nothing; the right one works.
    let wrapped = lab.path("wrapped-root.json");
    let wrapped_arg = wrapped.to_str().expect("utf-8 path");
    let mut wrong = fingerprint.clone();
    let last = wrong.pop();
    wrong.push(if last == Some('0') { '1' } else { '0' });
    let mismatch = refused(
        "export-root with a wrong fingerprint",
        lab.kmsd(
            &a,
            &[
                "export-root",
                "--so-pin-file",
                so_pin_file,
                "--transport",
                transport_arg,
                "--expect-fingerprint",
                &wrong,
                "--out",
                wrapped_arg,
            ],
        ),
    );
    assert!(mismatch.contains("fingerprint"), "{mismatch}");
    assert!(!wrapped.exists());
    let export = ok(
        "export-root",
        lab.kmsd(
            &a,
            &[
                "export-root",
                "--so-pin-file",
                so_pin_file,
                "--transport",
                transport_arg,
                "--expect-fingerprint",
                &fingerprint.to_uppercase(),
                "--out",
                wrapped_arg,
            ],
        ),
    );
    assert_eq!(field(&export, "KCV"), kcv);
    #[cfg(unix)]
    assert_eq!(mode(&wrapped), 0o600);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&wrapped).expect("record")).expect("json");
    assert_eq!(record["kcv"], kcv.as_str());
    assert_eq!(record["transport_fingerprint"], fingerprint.as_str());

    // 5. Import on the target.
    let import = ok(
        "import-root",
        lab.kmsd(&b, &["import-root", "--in", wrapped_arg]),
    );
    assert_eq!(field(&import, "KCV"), kcv);

    // 6. Both tokens report the same root; only the source's can leave.
    let (status_a, status_b) = (status_json(&lab, &a), status_json(&lab, &b));
    assert_eq!(status_a["token_label"], "az1");
    assert_eq!(status_b["token_label"], "az2");
    assert_eq!(status_a["kcv"], kcv.as_str());
    assert_eq!(status_b["kcv"], kcv.as_str());
    assert_eq!(status_a["attributes"]["extractable"], true);
    assert_eq!(status_a["attributes"]["wrap_with_trusted"], true);
    assert_eq!(status_b["attributes"]["extractable"], false);
    let text = ok("status", lab.kmsd(&b, &["status"]));
    assert_eq!(field(&text, "KCV"), kcv);

    // 7. Backup 2-of-3 from the source, SO PIN from the environment this time.
    let backup_dir = lab.path("backup");
    let backup_arg = backup_dir.to_str().expect("utf-8 path");
    let create = [
        "backup-create",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--out-dir",
        backup_arg,
    ];
    let no_so_pin = refused("backup-create without an SO PIN", lab.kmsd(&a, &create));
    assert!(no_so_pin.contains("Security Officer PIN"), "{no_so_pin}");
    let backup = ok("backup-create", lab.kmsd_env(&a, &create, Some(SO_PIN)));
    assert_eq!(field(&backup, "KCV"), kcv);
    let share = |n: u8| backup_dir.join(format!("share-{n}.txt"));
    for n in 1..=3 {
        let text = std::fs::read_to_string(share(n)).expect("share file");
        assert!(
            text.starts_with(&format!("kms-share-v1:{kcv}:2:")),
            "share {n}"
        );
        #[cfg(unix)]
        assert_eq!(mode(&share(n)), 0o600);
    }
    assert_ne!(
        std::fs::read(share(1)).expect("share 1"),
        std::fs::read(share(2)).expect("share 2")
    );
    let twice = refused(
        "backup-create over an existing backup",
        lab.kmsd_env(&a, &create, Some(SO_PIN)),
    );
    assert!(twice.contains("--force"), "{twice}");

    // 8. Restore on a new token: one share is refused and leaves no root; two restore it.
    let record = backup_dir.join("backup.json");
    let record_arg = record.to_str().expect("utf-8 path");
    let (s1, s3) = (share(1), share(3));
    let (s1, s3) = (s1.to_str().expect("path"), s3.to_str().expect("path"));
    let one = refused(
        "backup-restore with one share",
        lab.kmsd(
            &c,
            &["backup-restore", "--backup", record_arg, "--share", s1],
        ),
    );
    assert!(one.contains("needs 2 custodian shares, 1 given"), "{one}");
    let none = refused("status before restore", lab.kmsd(&c, &["status"]));
    assert!(none.contains("no Root of Trust"), "{none}");
    let restore = ok(
        "backup-restore",
        lab.kmsd(
            &c,
            &[
                "backup-restore",
                "--backup",
                record_arg,
                "--share",
                s1,
                "--share",
                s3,
            ],
        ),
    );
    assert_eq!(field(&restore, "KCV"), kcv);
    let status_c = status_json(&lab, &c);
    assert_eq!(status_c["kcv"], kcv.as_str());
    assert_eq!(status_c["attributes"]["extractable"], false);
}

#[test]
fn transport_fingerprint_matches_an_independent_computation() {
    let lab = Lab::new();
    let b = lab.token("az2", false);
    let transport = lab.path("transport.pem");
    let keygen = ok(
        "transport-keygen",
        lab.kmsd(
            &b,
            &[
                "transport-keygen",
                "--out",
                transport.to_str().expect("path"),
            ],
        ),
    );
    // What a witness can run on the source machine: openssl's DER of the same PEM, hashed.
    let Ok(der) = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(&transport)
        .output()
    else {
        skip("openssl is not installed: the fingerprint is not cross-checked");
        return;
    };
    assert!(der.status.success(), "openssl: {der:?}");
    let expected = hex::encode(Sha256::digest(&der.stdout));
    assert_eq!(field(&keygen, "fingerprint"), expected);
}
