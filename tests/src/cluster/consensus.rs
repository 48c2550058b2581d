//! What the nodes say about the cluster, through the admin API: bootstrap, the leader a
//! majority agrees on, a restarted node catching up, and every node's state converging.

use std::time::{Duration, Instant};

use client::admin::{ClusterStatus, StateDigest};

use super::{Cluster, NODES};
use crate::error::Error;

/// Time allowed to one admin call made while polling.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Time allowed for an election.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for bootstrap (init plus two nodes added).
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);

/// Time allowed for a restarted node to catch up, or for every node to converge.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between two polls.
const POLL: Duration = Duration::from_millis(100);

/// Votes that make a majority of the cluster.
const MAJORITY: usize = (NODES as usize) / 2 + 1;

impl Cluster {
    /// Makes the cluster: `cluster_init` on node 1, then node 1 (the leader) adds nodes 2 and
    /// 3 by their Raft proxy addresses; returns once every node names the same leader
    /// and it lists three voters.
    pub async fn bootstrap(&self) -> Result<(), Error> {
        self.admin(1)?.cluster_init().await?;
        wait_for(
            "node 1 to lead its one-voter cluster",
            LEADER_TIMEOUT,
            async || {
                let s = self.status(1).await.map_err(|e| e.to_string())?;
                if s.role == "leader" {
                    Ok(())
                } else {
                    Err(format!("{s:?}"))
                }
            },
        )
        .await?;
        for id in 2..=NODES {
            self.admin(1)?
                .cluster_add_node(&self.raft_addr(id).to_string())
                .await?;
        }
        // Node 1 normally still leads here, but on a loaded machine leadership may have moved
        // on: any leader the whole cluster agrees on will do.
        wait_for(
            "three voters agreeing on one leader",
            BOOTSTRAP_TIMEOUT,
            async || {
                let mut seen = Vec::new();
                for id in 1..=NODES {
                    seen.push(self.status(id).await.map_err(|e| e.to_string())?);
                }
                let leader = majority_leader(&seen, None)?;
                let voters = seen
                    .iter()
                    .filter(|s| s.node_id == leader)
                    .flat_map(|s| &s.members)
                    .filter(|m| m.voter)
                    .count();
                if voters == NODES as usize && seen.iter().all(|s| s.leader == Some(leader)) {
                    Ok(())
                } else {
                    Err(format!("{seen:?}"))
                }
            },
        )
        .await
    }

    /// Node `id`'s `GET /v1/cluster`, bounded in time.
    pub async fn status(&self, id: u64) -> Result<ClusterStatus, Error> {
        let admin = self.admin(id)?;
        tokio::time::timeout(PROBE_TIMEOUT, admin.cluster_status())
            .await
            .map_err(|_| Error::Timeout {
                what: format!("node {id}'s cluster status"),
                secs: PROBE_TIMEOUT.as_secs(),
            })?
            .map_err(Error::from)
    }

    /// Node `id`'s `GET /v1/cluster/digest`, bounded in time.
    pub async fn digest(&self, id: u64) -> Result<StateDigest, Error> {
        let admin = self.admin(id)?;
        tokio::time::timeout(PROBE_TIMEOUT, admin.cluster_digest())
            .await
            .map_err(|_| Error::Timeout {
                what: format!("node {id}'s state digest"),
                secs: PROBE_TIMEOUT.as_secs(),
            })?
            .map_err(Error::from)
    }

    /// The leader: a node that says it leads and that a majority of the cluster (itself
    /// included) names as leader. Polls the running nodes until there is one (bounded).
    pub async fn leader(&self) -> Result<u64, Error> {
        self.agreed_leader(None).await
    }

    /// As [`Cluster::leader`], for a leader other than `old` (after `old` was killed or
    /// isolated).
    pub async fn new_leader(&self, old: u64) -> Result<u64, Error> {
        self.agreed_leader(Some(old)).await
    }

    async fn agreed_leader(&self, not: Option<u64>) -> Result<u64, Error> {
        wait_for(
            "a leader a majority agrees on",
            LEADER_TIMEOUT,
            async || {
                let mut seen = Vec::new();
                for id in self.running() {
                    if let Ok(s) = self.status(id).await {
                        seen.push(s);
                    }
                }
                majority_leader(&seen, not)
            },
        )
        .await
    }

    /// Waits until node `id` follows a leader and has applied everything the leader had
    /// committed when the wait began.
    pub async fn wait_rejoined(&self, id: u64) -> Result<(), Error> {
        let leader = self.leader().await?;
        let target = self.status(leader).await?.committed.unwrap_or(0);
        let what = format!("node {id} to follow a leader and apply index {target}");
        wait_for(&what, CATCH_UP_TIMEOUT, async || {
            let s = self.status(id).await.map_err(|e| e.to_string())?;
            let follows = s.leader.is_some() && (s.role == "follower" || s.role == "leader");
            if follows && s.applied.unwrap_or(0) >= target {
                Ok(())
            } else {
                Err(format!("{s:?}"))
            }
        })
        .await
    }

    /// Waits until every running node reports the same applied index and the same state
    /// digest, and returns it.
    pub async fn wait_converged(&self) -> Result<StateDigest, Error> {
        wait_for(
            "equal state digests on every running node",
            CATCH_UP_TIMEOUT,
            async || {
                let mut digests = Vec::new();
                for id in self.running() {
                    let d = self
                        .digest(id)
                        .await
                        .map_err(|e| format!("node {id}: {e}"))?;
                    digests.push((id, d));
                }
                match digests.split_first() {
                    Some(((_, first), rest)) if rest.iter().all(|(_, d)| d == first) => {
                        Ok(first.clone())
                    }
                    _ => Err(format!("{digests:?}")),
                }
            },
        )
        .await
    }
}

/// The node a majority names as leader and that says it leads, other than `not`.
fn majority_leader(seen: &[ClusterStatus], not: Option<u64>) -> Result<u64, String> {
    for s in seen {
        if s.role != "leader" || Some(s.node_id) == not {
            continue;
        }
        let votes = seen
            .iter()
            .filter(|o| o.leader == Some(s.node_id) && o.term == s.term)
            .count();
        if votes >= MAJORITY {
            return Ok(s.node_id);
        }
    }
    Err(format!("{seen:?}"))
}

/// Polls `probe` until it succeeds or `limit` passed; the timeout names `what` and the last
/// failure.
pub(super) async fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, Error> {
    let deadline = Instant::now() + limit;
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(last) if Instant::now() >= deadline => {
                return Err(Error::Timeout {
                    what: format!("{what}; last seen: {last}"),
                    secs: limit.as_secs(),
                });
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use client::admin::ClusterStatus;

    use super::majority_leader;

    fn status(node_id: u64, role: &str, leader: Option<u64>, term: u64) -> ClusterStatus {
        ClusterStatus {
            node_id,
            role: role.to_owned(),
            leader,
            term,
            last_log: None,
            committed: None,
            applied: None,
            incarnation: None,
            members: Vec::new(),
            view: None,
        }
    }

    #[test]
    fn a_leader_needs_a_majority_of_the_same_term() {
        let agreed = [
            status(1, "leader", Some(1), 3),
            status(2, "follower", Some(1), 3),
            status(3, "follower", None, 3),
        ];
        assert_eq!(majority_leader(&agreed, None), Ok(1));
        assert!(majority_leader(&agreed, Some(1)).is_err(), "excluded");
        // An isolated old leader still claims its term; the majority moved on.
        let split = [
            status(1, "leader", Some(1), 3),
            status(2, "leader", Some(2), 4),
            status(3, "follower", Some(2), 4),
        ];
        assert_eq!(majority_leader(&split, None), Ok(2));
        let alone = [
            status(1, "leader", Some(1), 3),
            status(2, "candidate", None, 4),
        ];
        assert!(majority_leader(&alone, None).is_err());
    }
}
