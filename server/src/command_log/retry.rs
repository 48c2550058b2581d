//! The one optimistic-retry loop: a write computed from a read names the revision it read;
//! when another writer got there first ([`Rejection::StaleRevision`]) it is computed again.

use crate::store::Rejection;

/// Attempts at a read-modify-write before giving up with [`Rejection::StaleRevision`].
pub const MAX_ATTEMPTS: usize = 8;

/// Runs `attempt` (read, compute, commit) until its commit is not refused as stale, at most
/// [`MAX_ATTEMPTS`] times. Errors and other rejections end the loop at once.
pub async fn retry_stale<T, E, Attempt>(
    mut attempt: impl FnMut() -> Attempt,
) -> Result<Result<T, Rejection>, E>
where
    Attempt: Future<Output = Result<Result<T, Rejection>, E>>,
{
    for _ in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Err(Rejection::StaleRevision) => continue,
            outcome => return Ok(outcome),
        }
    }
    Ok(Err(Rejection::StaleRevision))
}
