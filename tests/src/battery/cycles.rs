//! The faults and the end of a battery run on the cluster fixture: the leader killed with
//! SIGKILL and restarted, and the sweep that reads every acknowledged key on every node once
//! they converged.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use kmip_codec::model::Attributes;
use kmip_codec::version::ProtocolVersion;

use super::{KeyOp, Load, Recorder, requests};
use crate::cluster::{Cluster, NODES};
use crate::error::Error;
use crate::linearizability::{Answer, Call, Lifecycle, Op};

/// The protocol the battery speaks: 2.x names Object Destroyed and Wrong Key Lifecycle State
/// (1.x answers Item Not Found and Permission Denied for them).
pub const PROTOCOL: ProtocolVersion = ProtocolVersion::V2_1;

/// Request timeout of the battery's clients: past it the outcome is unknown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest wait for an acknowledged write after a kill.
const ACK_WAIT: Duration = Duration::from_secs(30);

/// Page size of the sweep's Locate (the server's default cap).
const LOCATE_PAGE: i32 = 1000;

/// Tries of one sweep read (a converged cluster answers at once; a reconnect is allowed).
const SWEEP_TRIES: usize = 3;

/// Starts `clients` clients, spread over the nodes in turn, recording into `recorder` until
/// `stop`.
pub fn start_clients(
    c: &Cluster,
    clients: u64,
    recorder: &Arc<Recorder>,
    stop: &Arc<AtomicBool>,
    load: Load,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Error> {
    let mut tasks = Vec::new();
    for n in 0..clients {
        let id = n % NODES + 1;
        let connector = c.connector_in(id, PROTOCOL, REQUEST_TIMEOUT)?;
        tasks.push(tokio::spawn(super::client(
            connector,
            id,
            recorder.clone(),
            stop.clone(),
            n + 1,
            load,
        )));
    }
    Ok(tasks)
}

/// One kill of the leader: when, which node, and how long until a write was acknowledged.
#[derive(Clone, Debug)]
pub struct Failover {
    /// The killed leader.
    pub killed: u64,
    /// The leader elected after it.
    pub new_leader: u64,
    /// When it was killed.
    pub at: Instant,
    /// From the kill to the first acknowledged write sent after it.
    pub first_write: Duration,
    /// When the killed node had restarted and caught up.
    pub rejoined: Instant,
}

/// Kills the leader with SIGKILL, waits for a new one and for a write sent after the kill to be
/// acknowledged, restarts the killed node and waits until it caught up.
pub async fn kill_leader(c: &mut Cluster, recorder: &Recorder) -> Result<Failover, Error> {
    let killed = c.leader().await?;
    let at = Instant::now();
    c.kill9(killed).await?;
    let new_leader = c.new_leader(killed).await?;
    let deadline = at + ACK_WAIT;
    let acknowledged = loop {
        if let Some(ack) = recorder.first_write_acknowledged_after(at) {
            break ack;
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("a write acknowledged after the kill of leader {killed}"),
                secs: ACK_WAIT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    c.start_node(killed).await?;
    c.wait_rejoined(killed).await?;
    Ok(Failover {
        killed,
        new_leader,
        at,
        first_write: acknowledged - at,
        rejoined: Instant::now(),
    })
}

/// What the sweep found besides the key reads it recorded.
#[derive(Debug)]
pub struct Sweep {
    /// Most keys a node's Locate found that no acknowledged Create named (from Creates of
    /// unknown outcome that were applied).
    pub unacknowledged_keys: usize,
    /// Acknowledged keys a node's Locate did not find although they are not destroyed (Locate
    /// leaves destroyed keys out), summed over the nodes.
    pub live_keys_not_located: usize,
}

/// After convergence: on every node, Locate every key of the tenant, and read the State of
/// every acknowledged key, recorded as sweep reads (so the checker sees them after
/// everything else).
pub async fn sweep(c: &Cluster, recorder: &Recorder) -> Result<Sweep, Error> {
    let created = recorder.created();
    let acknowledged: HashSet<&String> = created.iter().collect();
    let mut result = Sweep {
        unacknowledged_keys: 0,
        live_keys_not_located: 0,
    };
    for id in 1..=NODES {
        let connector = c.connector_in(id, PROTOCOL, REQUEST_TIMEOUT)?;
        let mut conn = connector.connect().await?;
        let located = locate_all(&mut conn).await?;
        let extra = located.iter().filter(|u| !acknowledged.contains(u)).count();
        result.unacknowledged_keys = result.unacknowledged_keys.max(extra);
        for uid in &created {
            let mut tries = 0;
            loop {
                tries += 1;
                let invoked = recorder.nanos(Instant::now());
                match requests::state(&mut conn, uid).await {
                    Ok(answer) => {
                        let at = recorder.nanos(Instant::now());
                        if !located.contains(uid) && answer != Answer::State(Lifecycle::Destroyed) {
                            result.live_keys_not_located += 1;
                        }
                        recorder.push(KeyOp {
                            uid: uid.clone(),
                            node: id,
                            sweep: true,
                            op: Op::answered(Call::GetState, invoked, at, answer),
                        });
                        break;
                    }
                    Err(e) if tries >= SWEEP_TRIES => {
                        return Err(Error::Node {
                            node: id,
                            detail: format!("the sweep's read of {uid} failed: {e}"),
                        });
                    }
                    Err(_) => conn = connector.connect().await?,
                }
            }
        }
    }
    Ok(result)
}

async fn locate_all(conn: &mut client::Connection) -> Result<HashSet<String>, Error> {
    let mut all = HashSet::new();
    let mut offset = 0;
    loop {
        let page = conn
            .locate(Attributes::new(), Some(LOCATE_PAGE), Some(offset))
            .await?;
        let n = page.unique_identifiers.len();
        all.extend(page.unique_identifiers);
        if n < usize::try_from(LOCATE_PAGE).unwrap_or(0) {
            return Ok(all);
        }
        offset += LOCATE_PAGE;
    }
}
