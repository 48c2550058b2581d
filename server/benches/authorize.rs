//! The per-request authorization path: `identity::principal_of` (enrollment, disabled and
//! tenant lookups for a certificate already inspected once per connection) and
//! the policy's KMIP decision for a Get (`policy::kmip::authorize`, asked per batch item, and
//! `policy::kmip::authorize_object`, asked when the object is loaded), alone and together
//! (the bench IDs keep their first names, `policy::authorize/*`); plus, for
//! comparison, `PeerCertificate::inspect` (the per-connection chain check).
//!
//! `cargo bench -p server --bench authorize` — no HSM needed: the store is a real redb file
//! in a temporary directory holding one tenant with `TENANT_CLIENTS` enrolled clients (one
//! CA-issued, one pinned, the rest filler so that lookups do not hit a near-empty table).

use std::hint::black_box;
use std::sync::Arc;

use certs::identity::{PrincipalUri, Role, TenantId};
use certs::{CaParams, CertificateAuthority, ClientRequest, KeyAlgorithm, LEAF_DEFAULT_DAYS};
use criterion::Criterion;
use kmip_codec::enums::Operation;
use server::identity::{PeerCertificate, principal_of};
use server::kms::StorePins;
use server::policy::{Denial, kmip};
use server::store::Store;
use server::store::command::Command;
use server::store::records::{
    ClientIdentity, ClientRecord, ObjectRecord, StoredAttributes, TenantRecord,
};
use server::tls::ClientVerifier;
use server::tls::verifier::fingerprint_hex;

const TENANT: &str = "acme";
/// Clients enrolled in the bench tenant (besides the two measured ones).
const TENANT_CLIENTS: usize = 1000;

/// The store and the two inspected peers the benchmarks use.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    verifier: ClientVerifier,
    issued_chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    issued: PeerCertificate,
    pinned: PeerCertificate,
    object: ObjectRecord,
}

fn client(name: &str, identity: ClientIdentity) -> ClientRecord {
    ClientRecord {
        tenant: Some(TENANT.to_owned()),
        name: name.to_owned(),
        role: Role::KmipClient,
        identity,
        enabled: true,
        password_hash: None,
        created_at: 0,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store.redb")).expect("store");
    let ca = CertificateAuthority::generate(&CaParams::default()).expect("CA");
    let issued_pair = ca
        .issue_client(&ClientRequest {
            principal: PrincipalUri::kmip_client(TenantId::new(TENANT).expect("tenant"), "vc")
                .expect("principal"),
            algorithm: KeyAlgorithm::EcdsaP256,
            days: LEAF_DEFAULT_DAYS,
        })
        .expect("client certificate");
    // A self-signed certificate without a principal URI, as vCenter's: another CA's own.
    let self_signed = CertificateAuthority::generate(&CaParams::default()).expect("self-signed");
    let pinned_der = self_signed.certificate().der().clone();

    let mut commands = vec![
        Command::CreateTenant(TenantRecord {
            id: TENANT.to_owned(),
            suspended: false,
            created_at: 0,
            domain_keys: Vec::new(),
        }),
        Command::PutClient(client("vc", ClientIdentity::CaIssued)),
        Command::PutClient(client(
            "vcenter-pinned",
            ClientIdentity::Pinned {
                fingerprint: fingerprint_hex(&pinned_der),
            },
        )),
    ];
    commands.extend(
        (0..TENANT_CLIENTS)
            .map(|i| Command::PutClient(client(&format!("filler-{i}"), ClientIdentity::CaIssued))),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let committer = store.committer(()).expect("committer");
        for command in commands {
            committer
                .apply(command)
                .await
                .expect("store")
                .outcome
                .expect("accepted");
        }
        committer.shutdown().await;
    });

    let verifier = ClientVerifier::new(
        &[ca.certificate().der().clone()],
        Arc::new(StorePins(store.clone())),
        server::tls::provider(),
    )
    .expect("verifier");
    let issued_chain = vec![issued_pair.certificate.der().clone()];
    let issued = PeerCertificate::inspect(&issued_chain, &verifier).expect("inspect issued");
    let pinned = PeerCertificate::inspect(&[pinned_der], &verifier).expect("inspect pinned");
    let object = ObjectRecord {
        uid: "00000000-0000-0000-0000-000000000001".to_owned(),
        tenant: TENANT.to_owned(),
        revision: 1,
        object_type: 2,
        state: 2,
        material: None,
        attributes: StoredAttributes::default(),
    };
    Fixture {
        _dir: dir,
        store,
        verifier,
        issued_chain,
        issued,
        pinned,
        object,
    }
}

/// What the KMIP pipeline asks the policy for one Get: the operation, then the object.
fn authorize(
    p: &server::identity::Principal,
    op: Operation,
    object: &ObjectRecord,
) -> Result<(), Denial> {
    kmip::authorize(p, op)?;
    kmip::authorize_object(p, op, object)
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    // The fixture must authorize, or the benchmark measures an error path.
    let p = principal_of(&f.issued, &f.store).expect("CA-issued client admitted");
    authorize(&p, Operation::GET, &f.object).expect("Get allowed");
    principal_of(&f.pinned, &f.store).expect("pinned client admitted");

    let mut g = c.benchmark_group("authorize");
    g.bench_function("principal_of/ca_issued", |b| {
        b.iter(|| principal_of(black_box(&f.issued), &f.store))
    });
    g.bench_function("principal_of/pinned", |b| {
        b.iter(|| principal_of(black_box(&f.pinned), &f.store))
    });
    g.bench_function("policy::authorize/get", |b| {
        b.iter(|| authorize(black_box(&p), Operation::GET, black_box(&f.object)))
    });
    g.bench_function("per_request/ca_issued_get", |b| {
        b.iter(|| {
            let p = principal_of(black_box(&f.issued), &f.store)?;
            authorize(&p, Operation::GET, black_box(&f.object))
                .map_err(|_| server::identity::IdentityError::NotEnrolled)
        })
    });
    g.bench_function("per_connection/inspect_ca_issued", |b| {
        b.iter(|| PeerCertificate::inspect(black_box(&f.issued_chain), &f.verifier))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
