//! Seal/unseal latency and throughput through the pool, and SoftHSM's raw unwrap cost.
//!
//! `cargo bench -p hsm --bench seal` — needs SoftHSM2 (`KMS_PKCS11_MODULE`, else the usual
//! places: `softhsm_support::module`). Like the tests, the benchmark re-runs itself with a
//! private `SOFTHSM2_CONF` (setting it in-process would need `unsafe`):
//! `softhsm_support::harness::rerun_binary`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use hsm::ceremony::{self, CeremonyToken};
use hsm::{Hsm, HsmConfig, PinSource, RootExport, SealContext};
use secrecy::SecretString;
use softhsm_support::harness::{self, TokenDir};

const LABEL: &str = "bench";
const USER_PIN: &str = "bench-user-pin";
const POOL: usize = 8;

fn module() -> PathBuf {
    softhsm_support::module().expect("a SoftHSM2 module")
}

/// Parent: make a SoftHSM directory with one token, re-run this binary inside it.
fn rerun_in_token_dir() -> ! {
    let dir = TokenDir::new("kms-bench-").expect("token directory");
    std::fs::write(dir.env().dir().join("user.pin"), USER_PIN).expect("pin");
    softhsm_support::init_token(&dir.env().softhsm_conf(), LABEL, USER_PIN, "bench-so-pin")
        .expect("init token");
    let status = harness::rerun_binary(&dir).expect("re-run bench");
    drop(dir);
    std::process::exit(status.code().unwrap_or(1));
}

fn open(dir: &Path) -> Hsm {
    let mut config = HsmConfig::new(module(), LABEL, PinSource::File(dir.join("user.pin")));
    config.pool_size = POOL;
    let token = CeremonyToken::open(&config).expect("token");
    let pin = SecretString::from(USER_PIN);
    match ceremony::generate_root(&token, &pin, RootExport::Never) {
        Ok(_) | Err(hsm::Error::RootExists { .. }) => {}
        Err(err) => panic!("root: {err}"),
    }
    Hsm::open(&config).expect("open")
}

fn single(c: &mut Criterion, hsm: &Hsm) {
    let dk = hsm.create_domain_key(1).expect("dk");
    let context = SealContext {
        tenant: "bench",
        object_id: "kek",
        version: 0,
    };
    let kek = hsm.random(32).expect("kek");
    let sealed = hsm.seal(&dk, &context, kek.expose()).expect("seal");
    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal_32B", |b| {
        b.iter(|| hsm.seal(&dk, &context, kek.expose()).expect("seal"))
    });
    group.bench_function("unseal_32B", |b| {
        b.iter(|| hsm.unseal(&dk, &context, &sealed).expect("unseal"))
    });
    group.bench_function("unseal_cold_32B", |b| {
        b.iter(|| {
            hsm.drop_domain_key("bench").expect("drop");
            hsm.unseal(&dk, &context, &sealed).expect("unseal")
        })
    });
    group.finish();
}

fn concurrent(c: &mut Criterion, hsm: &Hsm) {
    let dks: Vec<_> = (0..8)
        .map(|_| hsm.create_domain_key(1).expect("dk"))
        .collect();
    let kek = hsm.random(32).expect("kek");
    let mut group = c.benchmark_group("concurrent_seal_unseal");
    for threads in [1usize, 2, 4, 8, 16] {
        group.throughput(Throughput::Elements(2));
        group.bench_with_input(
            BenchmarkId::from_parameter(threads),
            &threads,
            |b, &threads| {
                b.iter_custom(|iters| {
                    let per_thread = iters.div_ceil(threads as u64);
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for t in 0..threads {
                            let (dk, kek) = (&dks[t % dks.len()], &kek);
                            scope.spawn(move || {
                                let tenant = format!("tenant-{}", t % 8);
                                let context = SealContext {
                                    tenant: &tenant,
                                    object_id: "kek",
                                    version: 0,
                                };
                                for _ in 0..per_thread {
                                    let sealed =
                                        hsm.seal(dk, &context, kek.expose()).expect("seal");
                                    hsm.unseal(dk, &context, &sealed).expect("unseal");
                                }
                            });
                        }
                    });
                    // Normalise to `iters` round trips.
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
                })
            },
        );
    }
    group.finish();
}

/// SoftHSM's own C_UnwrapKey + C_DestroyObject cost, beside the crate.
fn raw_unwrap(c: &mut Criterion, hsm: &Hsm) {
    let dk = hsm.create_domain_key(1).expect("dk");
    let pkcs11 = Pkcs11::new(module()).expect("module");
    let _ = pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .expect("slots")
        .into_iter()
        .find(|s| {
            pkcs11
                .get_token_info(*s)
                .map(|i| i.label().trim_end() == LABEL)
                .unwrap_or(false)
        })
        .expect("slot");
    let session = pkcs11.open_rw_session(slot).expect("session"); // logged in via the pool
    let root = session
        .find_objects(&[Attribute::Label(b"kms-root-of-trust".to_vec())])
        .expect("find")[0];
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    c.bench_function("raw/C_UnwrapKey+C_DestroyObject", |b| {
        b.iter(|| {
            let key = session
                .unwrap_key(&Mechanism::AesKeyWrapPad, root, &dk.wrapped, &template)
                .expect("unwrap");
            session.destroy_object(key).expect("destroy");
        })
    });
}

fn main() {
    let Some(env) = harness::child_env() else {
        rerun_in_token_dir()
    };
    let hsm = open(env.dir());
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    single(&mut c, &hsm);
    concurrent(&mut c, &hsm);
    raw_unwrap(&mut c, &hsm);
    c.final_summary();
}
