//! `kms-certs`: the KMS PKI on the command line. See `docs/PKI.md`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use certs::files::{self, PemPaths};
use certs::{
    CA_DEFAULT_DAYS, CaParams, Certificate, CertificateAuthority, CertifiedKey, ClientRequest,
    Host, KeyAlgorithm, LEAF_DEFAULT_DAYS, NodeRequest, PrincipalUri, Role, TenantId,
};
use clap::{Args, Parser, Subcommand};

/// Root CA, node and client certificates, and CSR signing for the KMS.
///
/// Every command prints the paths it wrote and the SHA-256 fingerprints of the certificates.
/// Private keys are written as PKCS#8 PEM files created with mode 0600. Existing files are
/// never overwritten unless --force is given.
#[derive(Debug, Parser)]
#[command(name = "kms-certs", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new self-signed root CA (ECDSA P-256 by default, path length 0,
    /// key usage keyCertSign + cRLSign).
    InitCa(InitCa),
    /// Issue server certificates for a cluster node (SAN URI urn:kms:node:<id>, the hosts as
    /// DNS/IP SANs, EKU serverAuth + clientAuth), one per --algorithm.
    Node(Node),
    /// Issue a client certificate with a new key for a principal
    /// (SAN URI urn:kms:principal:<role>:<tenant>:<name>, EKU clientAuth).
    Client(Client),
    /// Sign a PEM CSR (e.g. vCenter's "KMS-signed CSR") for a principal. Only the CSR's public
    /// key and subject CN are used; the SANs and extensions it asks for are ignored.
    SignCsr(SignCsr),
    /// Print the SHA-256 fingerprint, subject, issuer and KMS identity of every certificate in
    /// PEM files.
    Fingerprint(Fingerprint),
    /// Create (first run) or load the development PKI in a directory: CA, node 1 server
    /// certificates (ECDSA and RSA) for localhost/127.0.0.1/::1, and client certificates.
    Dev(Dev),
}

/// Where the CA certificate and key are.
#[derive(Debug, Args)]
struct CaFiles {
    /// The CA certificate (PEM).
    #[arg(long, value_name = "PATH", default_value = "ca.pem")]
    ca_cert: PathBuf,
    /// The CA private key (PEM PKCS#8).
    #[arg(long, value_name = "PATH", default_value = "ca.key")]
    ca_key: PathBuf,
}

impl CaFiles {
    fn paths(&self) -> PemPaths {
        PemPaths {
            cert: self.ca_cert.clone(),
            key: self.ca_key.clone(),
        }
    }

    fn load(&self) -> Result<CertificateAuthority> {
        files::load_ca(&self.paths()).with_context(|| {
            format!(
                "cannot load the CA from {} and {}",
                self.ca_cert.display(),
                self.ca_key.display()
            )
        })
    }
}

/// Who a client certificate names.
#[derive(Debug, Args)]
struct PrincipalArgs {
    /// Role: kmip-client, tenant-admin, auditor, operator or platform-service.
    #[arg(long, default_value = "kmip-client", value_parser = parse_role)]
    role: Role,
    /// Tenant ([a-z0-9][a-z0-9-_.]{0,62}); required for every role except operator and
    /// platform-service, which must not have one.
    #[arg(long, value_parser = parse_tenant)]
    tenant: Option<TenantId>,
    /// Principal name ([a-z0-9][a-z0-9-_.]{0,62}); also the subject CN, for humans only.
    #[arg(long)]
    name: String,
}

impl PrincipalArgs {
    fn principal(&self) -> Result<PrincipalUri> {
        match (self.role.has_tenant(), &self.tenant) {
            (true, None) => bail!("--tenant is required for role {}", self.role),
            (false, Some(_)) => bail!("role {} belongs to no tenant: drop --tenant", self.role),
            _ => {}
        }
        Ok(PrincipalUri::new(
            self.role,
            self.tenant.clone(),
            self.name.clone(),
        )?)
    }

    /// File stem: `<role>-<tenant>-<name>` (or `<role>-<name>` for a role of no tenant).
    fn stem(&self) -> String {
        match &self.tenant {
            Some(t) => format!("{}-{t}-{}", self.role, self.name),
            None => format!("{}-{}", self.role, self.name),
        }
    }
}

#[derive(Debug, Args)]
struct InitCa {
    /// Where to write the CA certificate and key.
    #[command(flatten)]
    out: CaFiles,
    /// Subject common name of the CA.
    #[arg(long, default_value = "KMS Root CA")]
    cn: String,
    /// Validity in days.
    #[arg(long, default_value_t = CA_DEFAULT_DAYS)]
    days: u32,
    /// Key algorithm: ecdsa-p256, rsa-2048 or rsa-3072.
    #[arg(long, default_value = "ecdsa-p256")]
    algorithm: KeyAlgorithm,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct Node {
    #[command(flatten)]
    ca: CaFiles,
    /// The node's Raft node ID (never reused).
    #[arg(long)]
    node_id: u64,
    /// A DNS name or IP address of the node; repeat for several (at least one).
    #[arg(long = "host", value_name = "HOST", required = true, value_parser = parse_host)]
    hosts: Vec<Host>,
    /// Key algorithm; repeat to issue several certificates (the server picks per client).
    #[arg(long = "algorithm", value_name = "ALG", default_values = ["ecdsa-p256", "rsa-2048"])]
    algorithms: Vec<KeyAlgorithm>,
    /// Directory for node-<id>-<alg>.pem / .key.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    /// Validity in days.
    #[arg(long, default_value_t = LEAF_DEFAULT_DAYS)]
    days: u32,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct Client {
    #[command(flatten)]
    ca: CaFiles,
    #[command(flatten)]
    principal: PrincipalArgs,
    /// Key algorithm: ecdsa-p256, rsa-2048 or rsa-3072.
    #[arg(long, default_value = "ecdsa-p256")]
    algorithm: KeyAlgorithm,
    /// Directory for <role>-<tenant>-<name>.pem / .key.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    /// Validity in days.
    #[arg(long, default_value_t = LEAF_DEFAULT_DAYS)]
    days: u32,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct SignCsr {
    #[command(flatten)]
    ca: CaFiles,
    #[command(flatten)]
    principal: PrincipalArgs,
    /// The PEM certificate signing request.
    #[arg(long, value_name = "PATH")]
    csr: PathBuf,
    /// Where to write the signed certificate (PEM).
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Validity in days.
    #[arg(long, default_value_t = LEAF_DEFAULT_DAYS)]
    days: u32,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct Fingerprint {
    /// PEM files holding one or more certificates.
    #[arg(required = true, value_name = "PATH")]
    files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct Dev {
    /// The dev PKI directory (created 0700 if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// A kmip-client certificate to have, as <tenant>/<name>; repeat for several.
    #[arg(long = "client", value_name = "TENANT/NAME", value_parser = parse_tenant_client)]
    clients: Vec<(TenantId, String)>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: certs::Error| e.to_string())
}

fn parse_tenant(s: &str) -> Result<TenantId, String> {
    s.parse().map_err(|e: certs::Error| e.to_string())
}

fn parse_host(s: &str) -> Result<Host, String> {
    s.parse().map_err(|e: certs::Error| e.to_string())
}

fn parse_tenant_client(s: &str) -> Result<(TenantId, String), String> {
    let (tenant, name) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not <tenant>/<name>"))?;
    let tenant = parse_tenant(tenant)?;
    certs::identity::validate_label(certs::LabelKind::Name, name).map_err(|e| e.to_string())?;
    Ok((tenant, name.to_owned()))
}

fn print_cert(label: &str, path: &Path, cert: &Certificate) {
    let fp = cert.fingerprint();
    println!("{label}: {}", path.display());
    println!("  sha256: {}", fp.hex());
    println!("          {}", fp.colon_hex());
}

fn print_key(path: &Path) {
    println!("private key: {} (mode 0600)", path.display());
}

fn write_pair(paths: &PemPaths, pair: &CertifiedKey, force: bool, label: &str) -> Result<()> {
    files::write_certified_key(paths, pair, force)?;
    print_cert(label, &paths.cert, &pair.certificate);
    print_key(&paths.key);
    Ok(())
}

fn init_ca(args: &InitCa) -> Result<()> {
    let ca = CertificateAuthority::generate(&CaParams {
        common_name: args.cn.clone(),
        days: args.days,
        algorithm: args.algorithm,
    })?;
    let paths = args.out.paths();
    files::write_ca(&paths, &ca, args.force)?;
    print_cert("CA certificate", &paths.cert, ca.certificate());
    print_key(&paths.key);
    Ok(())
}

fn node(args: &Node) -> Result<()> {
    let ca = args.ca.load()?;
    files::create_private_dir(&args.out_dir)?;
    let paths_for = |alg: &KeyAlgorithm| {
        PemPaths::in_dir(&args.out_dir, &format!("node-{}-{alg}", args.node_id))
    };
    if !args.force {
        // Refuse before writing anything, so a second algorithm cannot fail half-way.
        for path in args
            .algorithms
            .iter()
            .map(paths_for)
            .flat_map(|p| [p.cert, p.key])
        {
            if path.exists() {
                return Err(certs::Error::AlreadyExists(path).into());
            }
        }
    }
    for algorithm in &args.algorithms {
        let pair = ca.issue_node(&NodeRequest {
            node_id: args.node_id,
            hosts: args.hosts.clone(),
            algorithm: *algorithm,
            days: args.days,
        })?;
        let paths = paths_for(algorithm);
        write_pair(&paths, &pair, args.force, "node certificate")?;
    }
    Ok(())
}

fn client(args: &Client) -> Result<()> {
    let principal = args.principal.principal()?;
    let ca = args.ca.load()?;
    let pair = ca.issue_client(&ClientRequest {
        principal: principal.clone(),
        algorithm: args.algorithm,
        days: args.days,
    })?;
    files::create_private_dir(&args.out_dir)?;
    let paths = PemPaths::in_dir(&args.out_dir, &args.principal.stem());
    write_pair(&paths, &pair, args.force, "client certificate")?;
    println!("principal: {principal}");
    Ok(())
}

fn sign_csr(args: &SignCsr) -> Result<()> {
    let principal = args.principal.principal()?;
    let ca = args.ca.load()?;
    let csr = files::read_pem_file(&args.csr)?;
    let cert = ca
        .sign_csr(&csr, &principal, args.days)
        .with_context(|| format!("cannot sign {}", args.csr.display()))?;
    files::write_certificate(&args.out, &cert, args.force)?;
    print_cert("signed certificate", &args.out, &cert);
    println!("principal: {principal}");
    Ok(())
}

fn fingerprint(args: &Fingerprint) -> Result<()> {
    for path in &args.files {
        let pem = files::read_pem_file(path)?;
        let all = Certificate::all_from_pem(&pem)
            .with_context(|| format!("no certificate in {}", path.display()))?;
        for cert in all {
            print_cert("certificate", path, &cert);
            let info = certs::identity::cert_info(cert.der())?;
            println!("  subject: {}", info.subject);
            println!("  issuer: {}", info.issuer);
            match certs::identity_from_cert_der(cert.der()) {
                Ok(id) => println!("  identity: {}", id.identity),
                Err(e) => println!("  identity: none ({e})"),
            }
        }
    }
    Ok(())
}

fn dev(args: &Dev) -> Result<()> {
    let pki = certs::dev::ensure_dev_pki(&args.dir, &args.clients)?;
    let show = |label: &str, paths: &PemPaths| -> Result<()> {
        let cert = Certificate::from_pem(&files::read_pem_file(&paths.cert)?)?;
        print_cert(label, &paths.cert, &cert);
        print_key(&paths.key);
        Ok(())
    };
    show("CA certificate", &pki.ca)?;
    show("node 1 ECDSA certificate", &pki.server_ecdsa)?;
    show("node 1 RSA certificate", &pki.server_rsa)?;
    for client in &pki.clients {
        show(&format!("client {}", client.principal), &client.paths)?;
    }
    println!("created {} file(s)", pki.created.len());
    Ok(())
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::InitCa(args) => init_ca(args),
        Command::Node(args) => node(args),
        Command::Client(args) => client(args),
        Command::SignCsr(args) => sign_csr(args),
        Command::Fingerprint(args) => fingerprint(args),
        Command::Dev(args) => dev(args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the context chain joined, no backtrace.
            eprintln!("kms-certs: {err:#}");
            ExitCode::FAILURE
        }
    }
}
