//! The key hierarchy as the server uses it: tenants' Domain Keys (wrapped under the Root of
//! Trust, in the store), key material sealed under them by the HSM, and a bounded cache of
//! unsealed keys that keeps `Get` off the HSM. Nothing here holds plaintext outside
//! [`hsm::KeyBytes`] (zeroizing, redacted `Debug`).

use std::sync::Arc;
use std::time::Instant;

use hsm::{Hsm, KeyBytes, SealContext, SealedBlob, WrappedDomainKey};
use moka::sync::Cache;

use crate::metrics::Metrics;
use crate::store::records::{ObjectRecord, TenantRecord};

/// The sealing context version. The object ID and tenant are bound in; the version field is
/// reserved for material that changes under a stable UID (KMIP never does that: Re-Key makes a
/// new object).
const SEAL_VERSION: u64 = 1;

/// Errors of the key hierarchy.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The HSM failed (details in the source; never key bytes).
    #[error("HSM operation failed")]
    Hsm(#[from] hsm::Error),
    /// The tenant has no Domain Key of the version the material is sealed under.
    #[error("domain key version {0} missing")]
    MissingDomainKey(u32),
    /// The object has no key material (destroyed, or an object type without material).
    #[error("object has no key material")]
    NoMaterial,
}

/// Cached plaintext key with the blob it came from, so a changed blob is never served stale.
#[derive(Clone)]
struct CachedKey {
    sealed: SealedBlob,
    bytes: Arc<KeyBytes>,
}

/// Domain Key handling, sealing and the unsealed-key cache.
#[derive(Clone)]
pub struct Keys {
    hsm: Hsm,
    unsealed: Cache<String, CachedKey>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("cached_keys", &self.unsealed.entry_count())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Wraps an open HSM with a cache of at most `cache_entries` unsealed keys; HSM call
    /// latency and cache hits go to `metrics`.
    pub fn new(hsm: Hsm, cache_entries: u64, metrics: Arc<Metrics>) -> Self {
        Self {
            hsm,
            unsealed: Cache::new(cache_entries),
            metrics,
        }
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Times one HSM call into the metrics.
    async fn timed<T>(
        &self,
        call: &'static str,
        f: impl Future<Output = Result<T, hsm::Error>>,
    ) -> Result<T, KeyError> {
        let start = Instant::now();
        let out = f.await;
        self.metrics.hsm_call(call, out.is_ok(), start.elapsed());
        Ok(out?)
    }

    /// Checks that the HSM answers (a one-byte random draw), for readiness probes.
    pub async fn probe(&self) -> Result<(), KeyError> {
        self.timed("probe", self.hsm.random_async(1)).await?;
        Ok(())
    }

    /// The HSM.
    pub fn hsm(&self) -> &Hsm {
        &self.hsm
    }

    /// `n` random bytes from the HSM, for new key material.
    pub async fn random(&self, n: usize) -> Result<KeyBytes, KeyError> {
        self.timed("random", self.hsm.random_async(n)).await
    }

    /// A new Domain Key of the given version, generated in the HSM, wrapped under the root.
    pub async fn new_domain_key(&self, version: u32) -> Result<WrappedDomainKey, KeyError> {
        self.timed(
            "create_domain_key",
            self.hsm.create_domain_key_async(version),
        )
        .await
    }

    /// Seals `bytes` for object `uid` under the tenant's current Domain Key.
    pub async fn seal(
        &self,
        tenant: &TenantRecord,
        uid: &str,
        bytes: KeyBytes,
    ) -> Result<SealedBlob, KeyError> {
        let dk = tenant
            .current_domain_key()
            .ok_or(KeyError::MissingDomainKey(0))?;
        let seal = self.hsm.seal_async(
            dk.wrapped.clone(),
            tenant.id.clone(),
            uid.to_owned(),
            SEAL_VERSION,
            bytes,
        );
        self.timed("seal", seal).await
    }

    /// The plaintext material of `record`, from the cache or unsealed by the HSM.
    pub async fn material(
        &self,
        tenant: &TenantRecord,
        record: &ObjectRecord,
    ) -> Result<Arc<KeyBytes>, KeyError> {
        let material = record.material.as_ref().ok_or(KeyError::NoMaterial)?;
        if let Some(hit) = self.unsealed.get(&record.uid)
            && hit.sealed == material.sealed
        {
            self.metrics.key_cache_lookup(true);
            return Ok(hit.bytes);
        }
        self.metrics.key_cache_lookup(false);
        let version = material.sealed.dk_version();
        let dk = tenant
            .domain_key(version)
            .ok_or(KeyError::MissingDomainKey(version))?;
        let unseal = self.hsm.unseal_async(
            dk.wrapped.clone(),
            tenant.id.clone(),
            record.uid.clone(),
            SEAL_VERSION,
            material.sealed.clone(),
        );
        let bytes = self.timed("unseal", unseal).await?;
        let bytes = Arc::new(bytes);
        self.unsealed.insert(
            record.uid.clone(),
            CachedKey {
                sealed: material.sealed.clone(),
                bytes: bytes.clone(),
            },
        );
        Ok(bytes)
    }

    /// Re-seals `sealed` (of object `uid`) from its Domain Key version to the tenant's current
    /// one (Domain Key rotation).
    pub async fn reseal(
        &self,
        tenant: &TenantRecord,
        uid: &str,
        sealed: &SealedBlob,
    ) -> Result<SealedBlob, KeyError> {
        let from_version = sealed.dk_version();
        let from = tenant
            .domain_key(from_version)
            .ok_or(KeyError::MissingDomainKey(from_version))?
            .wrapped
            .clone();
        let to = tenant
            .current_domain_key()
            .ok_or(KeyError::MissingDomainKey(0))?
            .wrapped
            .clone();
        let (tenant_id, uid, blob) = (tenant.id.clone(), uid.to_owned(), sealed.clone());
        let reseal = self.hsm.blocking(move |hsm| {
            let context = SealContext {
                tenant: &tenant_id,
                object_id: &uid,
                version: SEAL_VERSION,
            };
            hsm.reseal(&from, &to, &context, &blob)
        });
        self.timed("reseal", reseal).await
    }

    /// Forgets the unsealed copy of an object (on revoke, destroy, or any change elsewhere).
    pub fn forget(&self, uid: &str) {
        self.unsealed.invalidate(uid);
    }

    /// Number of unsealed keys held (for metrics).
    pub fn cached(&self) -> u64 {
        self.unsealed.entry_count()
    }
}
