//! The async facade: every HSM call runs on tokio's blocking thread pool
//! (`spawn_blocking`), never on the async executor's worker threads.

use crate::domain_key::WrappedDomainKey;
use crate::error::Result;
use crate::hsm::Hsm;
use crate::seal::{SealContext, SealedBlob};
use crate::secret::KeyBytes;

impl Hsm {
    /// Runs any blocking call on this `Hsm` on the blocking pool:
    /// `hsm.blocking(|hsm| hsm.root_attributes()).await`.
    pub async fn blocking<T, F>(&self, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Hsm) -> Result<T> + Send + 'static,
    {
        let hsm = self.clone();
        tokio::task::spawn_blocking(move || call(&hsm)).await?
    }

    /// Async [`Hsm::random`].
    pub async fn random_async(&self, n: usize) -> Result<KeyBytes> {
        self.blocking(move |hsm| hsm.random(n)).await
    }

    /// Async [`Hsm::create_domain_key`].
    pub async fn create_domain_key_async(&self, version: u32) -> Result<WrappedDomainKey> {
        self.blocking(move |hsm| hsm.create_domain_key(version))
            .await
    }

    /// Async [`Hsm::seal`]. Takes owned arguments because the call moves to another thread;
    /// the plaintext stays in zeroizing memory.
    pub async fn seal_async(
        &self,
        dk: WrappedDomainKey,
        tenant: String,
        object_id: String,
        version: u64,
        plaintext: KeyBytes,
    ) -> Result<SealedBlob> {
        self.blocking(move |hsm| {
            let context = SealContext {
                tenant: &tenant,
                object_id: &object_id,
                version,
            };
            hsm.seal(&dk, &context, plaintext.expose())
        })
        .await
    }

    /// Async [`Hsm::unseal`].
    pub async fn unseal_async(
        &self,
        dk: WrappedDomainKey,
        tenant: String,
        object_id: String,
        version: u64,
        blob: SealedBlob,
    ) -> Result<KeyBytes> {
        self.blocking(move |hsm| {
            let context = SealContext {
                tenant: &tenant,
                object_id: &object_id,
                version,
            };
            hsm.unseal(&dk, &context, &blob)
        })
        .await
    }

    /// Async [`Hsm::drop_domain_key`].
    pub async fn drop_domain_key_async(&self, tenant: String) -> Result<usize> {
        self.blocking(move |hsm| hsm.drop_domain_key(&tenant)).await
    }
}
