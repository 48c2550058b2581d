//! What `kmsd dev` hands a newcomer: a `kmsctl` settings file per demo identity (each tenant's
//! KMIP client, and the operator), rewritten at every start with the addresses the node
//! listens on, and a banner with commands to paste, so that the first key is one command.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::{DEMO_CLIENTS, DevError, DevLayout, client_files};

/// The operator `kmsd dev` enrolls for the admin API.
pub const OPERATOR: &str = "admin";

/// A `kmsctl` settings file and whose identity it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsctlSettings {
    /// `acme/vcenter`, or `operator admin`.
    pub who: String,
    /// The file.
    pub path: PathBuf,
}

/// The address a client on this machine reaches a listener at: the loopback address when the
/// listener is bound to every address.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Writes (again) `<dir>/kmsctl/<tenant>-<client>.toml` for each demo KMIP client and
/// `<dir>/kmsctl/operator-admin.toml`, mode 0600, naming the node's addresses, the dev CA
/// and the identity's certificate and key. The server name is `localhost`, which the dev
/// server certificate names whatever address the node listens on.
pub fn write_kmsctl_settings(
    layout: &DevLayout,
    kmip: SocketAddr,
    admin: Option<SocketAddr>,
) -> Result<Vec<KmsctlSettings>, DevError> {
    let dir = layout.kmsctl();
    super::mkdir(&dir)?;
    let mut written = Vec::new();
    let mut identities: Vec<(String, String, PathBuf, PathBuf)> = client_files(layout)
        .into_iter()
        .map(|(who, cert, key)| (who.replace('/', "-"), who, cert, key))
        .collect();
    let operator = layout.pki().join("admins");
    identities.push((
        format!("operator-{OPERATOR}"),
        format!("operator {OPERATOR}"),
        operator.join(format!("operator-{OPERATOR}.pem")),
        operator.join(format!("operator-{OPERATOR}.key")),
    ));
    for (stem, who, cert, key) in identities {
        let mut table = toml::Table::new();
        let mut put = |k: &str, v: String| table.insert(k.to_owned(), toml::Value::String(v));
        put("addr", reachable(kmip).to_string());
        if let Some(admin) = admin {
            put("admin_addr", reachable(admin).to_string());
        }
        put("server_name", "localhost".to_owned());
        put("ca", layout.pki().join("ca.pem").display().to_string());
        put("cert", cert.display().to_string());
        put("key", key.display().to_string());
        let text = format!(
            "# kmsctl settings for {who}, rewritten by `kmsd dev` at every start.\n{}",
            toml::to_string(&table).map_err(|e| DevError::Io {
                what: "writing",
                path: dir.clone(),
                source: std::io::Error::other(e),
            })?
        );
        let path = dir.join(format!("{stem}.toml"));
        rewrite_private(&path, text.as_bytes())?;
        written.push(KmsctlSettings { who, path });
    }
    Ok(written)
}

/// What `kmsd dev` prints once it serves: where everything is, and commands to paste.
pub fn banner(
    layout: &DevLayout,
    kmip: SocketAddr,
    admin: Option<SocketAddr>,
    settings: &[KmsctlSettings],
    kmsctl: &Path,
) -> String {
    let pki = layout.pki();
    let mut out = format!("kmsd dev server listening on {kmip} (KMIP over mutual TLS)\n");
    out += &format!("  CA certificate:      {}\n", pki.join("ca.pem").display());
    for (who, cert, key) in client_files(layout) {
        out += &format!(
            "  client {who}: cert {} key {}\n",
            cert.display(),
            key.display()
        );
    }
    out += &format!("  data, token and PINs: {}\n", layout.dir.display());
    if let Some(admin) = admin {
        out += &format!(
            "  admin API: https://{admin} (operator cert {} key {})\n",
            pki.join("admins")
                .join(format!("operator-{OPERATOR}.pem"))
                .display(),
            pki.join("admins")
                .join(format!("operator-{OPERATOR}.key"))
                .display(),
        );
    }
    out += &format!(
        "kmsctl settings per identity in {}; try:\n",
        layout.kmsctl().display()
    );
    let kmsctl = kmsctl.display();
    let tenant = DEMO_CLIENTS[0].0;
    let file_of = |who: &str| {
        settings
            .iter()
            .find(|s| s.who == who)
            .map(|s| s.path.display())
    };
    if let Some(file) = file_of(&format!("{}/{}", DEMO_CLIENTS[0].0, DEMO_CLIENTS[0].1)) {
        out += &format!(
            "  {kmsctl} key create --config {file} --name demo-1 --activate   # a key of tenant {tenant}\n"
        );
        out += &format!("  {kmsctl} key locate --config {file}\n");
    }
    if admin.is_some()
        && let Some(file) = file_of(&format!("operator {OPERATOR}"))
    {
        out += &format!(
            "  {kmsctl} tenant list --config {file}   # the operator, over the admin API\n"
        );
        out += &format!("  {kmsctl} health --config {file}\n");
    }
    out
}

/// Replaces `path` with `bytes`, mode 0600 (a new file; an existing one keeps its mode).
fn rewrite_private(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    let io = |source| DevError::Io {
        what: "writing",
        path: path.to_owned(),
        source,
    };
    let mut f = crate::permissions::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;

    use super::{banner, reachable, write_kmsctl_settings};
    use crate::dev::DevLayout;

    #[test]
    fn a_listener_on_every_address_is_reached_on_loopback() {
        let r = |a: &str| reachable(a.parse::<SocketAddr>().expect("addr")).to_string();
        assert_eq!(r("0.0.0.0:5696"), "127.0.0.1:5696");
        assert_eq!(r("[::]:5696"), "[::1]:5696");
        assert_eq!(r("192.0.2.7:5696"), "192.0.2.7:5696");
    }

    /// The file as TOML (kmsctl's reading of it is tested end to end in `kms-tests`).
    fn read(path: &Path) -> toml::Table {
        toml::from_str(&std::fs::read_to_string(path).expect("read")).expect("TOML")
    }

    fn text<'a>(t: &'a toml::Table, key: &str) -> Option<&'a str> {
        t.get(key).and_then(toml::Value::as_str)
    }

    #[test]
    fn each_identity_gets_a_private_settings_file_that_the_banner_uses() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = DevLayout::new(&tmp.path().join("dev \"quoted\"")).expect("layout");
        let kmip: SocketAddr = "0.0.0.0:5696".parse().expect("addr");
        let admin: SocketAddr = "127.0.0.1:5697".parse().expect("addr");
        let written = write_kmsctl_settings(&layout, kmip, Some(admin)).expect("written");
        assert_eq!(written.len(), 3, "{written:?}");
        for s in &written {
            let mode = std::fs::metadata(&s.path)
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", s.path.display());
            let file = read(&s.path);
            assert_eq!(text(&file, "addr"), Some("127.0.0.1:5696"));
            assert_eq!(text(&file, "admin_addr"), Some("127.0.0.1:5697"));
            assert_eq!(text(&file, "server_name"), Some("localhost"));
            let ca = layout.pki().join("ca.pem").display().to_string();
            assert_eq!(text(&file, "ca"), Some(ca.as_str()));
        }
        let acme = read(&layout.kmsctl().join("acme-vcenter.toml"));
        let cert = layout
            .pki()
            .join("clients/acme/vcenter.pem")
            .display()
            .to_string();
        assert_eq!(text(&acme, "cert"), Some(cert.as_str()));
        // Rewritten with the addresses of a later start.
        let moved: SocketAddr = "127.0.0.1:6000".parse().expect("addr");
        write_kmsctl_settings(&layout, moved, None).expect("rewritten");
        let acme = read(&layout.kmsctl().join("acme-vcenter.toml"));
        assert_eq!(text(&acme, "addr"), Some("127.0.0.1:6000"));
        assert_eq!(text(&acme, "admin_addr"), None);

        let text = banner(
            &layout,
            kmip,
            Some(admin),
            &written,
            Path::new("/opt/kmsctl"),
        );
        let acme_file = layout.kmsctl().join("acme-vcenter.toml");
        assert!(
            text.contains(&format!(
                "/opt/kmsctl key create --config {} --name demo-1",
                acme_file.display()
            )),
            "{text}"
        );
        assert!(text.contains("tenant list --config"), "{text}");
        assert!(!text.contains("openssl"), "{text}");
    }
}
