//! `kmsctl cluster`: status, bootstrap, adding and removing nodes, the state digest
//! (operators; `docs/OPERATIONS.md`, Cluster).

use clap::Subcommand;

use super::admin::connect;
use super::output::{self, Table};
use super::settings::Global;
use super::{Console, Exit};
use crate::admin::ClusterStatus;
use crate::error::Result;

/// `kmsctl cluster`.
#[derive(Debug, clap::Args)]
pub(super) struct ClusterArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: ClusterCmd,
}

#[derive(Debug, Subcommand)]
enum ClusterCmd {
    /// Role, leader, term, log indexes and members with their replication lag.
    Status,
    /// Makes the admin API's node a one-voter cluster with a fresh incarnation ID (once, on the
    /// first node).
    Init,
    /// Adds the node whose Raft listener is at RAFT_ADDR (learner, then voter once caught up).
    /// Its ID comes from its certificate; its Root of Trust must match the cluster's.
    AddNode {
        /// `host:port` of the new node's `[cluster] listen` (as peers reach it).
        raft_addr: String,
    },
    /// Removes a node; its ID is never accepted again.
    RemoveNode {
        /// The node ID.
        id: u64,
    },
    /// Rebuilds a member whose data was lost and which was restarted empty: it takes no part
    /// in the cluster until then; afterwards it gets a snapshot from the leader.
    RebuildNode {
        /// The node ID.
        id: u64,
    },
    /// SHA-256 of the node's replicated state and the log index it was taken at.
    Digest,
}

pub(super) async fn run(args: ClusterArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let status = match args.command {
        ClusterCmd::Status => api.cluster_status().await?,
        ClusterCmd::Init => api.cluster_init().await?,
        ClusterCmd::RemoveNode { id } => api.cluster_remove_node(id).await?,
        ClusterCmd::RebuildNode { id } => api.cluster_rebuild_node(id).await?,
        ClusterCmd::AddNode { raft_addr } => {
            let member = api.cluster_add_node(&raft_addr).await?;
            if settings.json {
                output::json(console.out, &member)?;
            } else {
                let mut table = Table::new(&["ADDED", "RAFT", "KMIP"]);
                table.row(vec![
                    Some(member.id.to_string()),
                    Some(member.raft_addr),
                    Some(member.kmip_addr),
                ]);
                table.write(console.out)?;
            }
            return Ok(Exit::Success);
        }
        ClusterCmd::Digest => {
            let d = api.cluster_digest().await?;
            if settings.json {
                output::json(console.out, &d)?;
            } else {
                let mut table = Table::new(&["APPLIED", "DIGEST"]);
                table.row(vec![d.applied.map(|a| a.to_string()), Some(d.digest)]);
                table.write(console.out)?;
            }
            return Ok(Exit::Success);
        }
    };
    if settings.json {
        output::json(console.out, &status)?;
    } else {
        status_table(&status).write(console.out)?;
    }
    Ok(Exit::Success)
}

fn status_table(s: &ClusterStatus) -> Table {
    let opt = |v: Option<u64>| v.map(|v| v.to_string());
    let mut table = Table::new(&["NODE", "ROLE", "VOTER", "RAFT", "KMIP", "MATCHED", "LAG"]);
    for m in &s.members {
        let role = if m.id == s.node_id {
            format!("{} (this node)", s.role)
        } else if Some(m.id) == s.leader {
            "leader".to_owned()
        } else {
            String::new()
        };
        table.row(vec![
            Some(m.id.to_string()),
            Some(role),
            Some(m.voter.to_string()),
            Some(m.raft_addr.clone()),
            Some(m.kmip_addr.clone()),
            opt(m.matched),
            opt(m.lag),
        ]);
    }
    table.row(vec![
        Some(format!("term {}", s.term)),
        Some(format!(
            "leader {}",
            opt(s.leader).unwrap_or_else(|| "-".into())
        )),
        None,
        Some(format!(
            "committed {}",
            opt(s.committed).unwrap_or_else(|| "-".into())
        )),
        Some(format!(
            "applied {}",
            opt(s.applied).unwrap_or_else(|| "-".into())
        )),
        None,
        None,
    ]);
    table
}
