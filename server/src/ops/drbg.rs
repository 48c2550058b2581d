//! The random generator `kms-crypto` takes for key generation, RSA blinding and PSS salts: a
//! ChaCha20 DRBG seeded with 32 bytes of the HSM's RNG, made for one operation and dropped with
//! it (never shared between threads, never reseeded inside a call), as the crate's contract asks.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zeroize::Zeroize;

use super::{Ctx, OpError};

/// Bytes of HSM randomness that seed one DRBG.
const SEED_LEN: usize = 32;

/// A fresh DRBG seeded from the HSM.
pub(super) async fn from_hsm(ctx: &Ctx<'_>) -> Result<ChaCha20Rng, OpError> {
    let drawn = ctx.kms.keys.random(SEED_LEN).await?;
    let mut seed = [0u8; SEED_LEN];
    if drawn.len() != SEED_LEN {
        return Err(OpError::CryptographicFailure);
    }
    seed.copy_from_slice(drawn.expose());
    let rng = ChaCha20Rng::from_seed(seed);
    seed.zeroize();
    Ok(rng)
}
