//! The writer's view of a log: the heads of its global chain and of every tenant chain, from
//! which the next record is made. The server keeps one [`ChainState`] per log; replaying records
//! through [`ChainState::advance`] checks every link.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::record::{Aggregate, AuditEvent, AuditRecord};

/// The head of one tenant chain (`tenant: None` is the chain of records without a tenant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantHead {
    /// The tenant.
    pub tenant: Option<String>,
    /// The tenant sequence number of its last record.
    pub tenant_seq: u64,
    /// The hash of its last record.
    pub head: Hash,
}

/// A tenant chain's head as a sequence number and a record hash.
type Head = (u64, Hash);

/// The heads of a log's chains as they were at [`ChainState::rewind_point`], and the tenant
/// heads replaced since (`None`: the tenant had no chain yet).
#[derive(Debug)]
pub struct Rewind {
    seq: u64,
    head: Hash,
    tenants: Vec<(Option<String>, Option<Head>)>,
}

/// The heads of a log's chains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainState {
    log: String,
    seq: u64,
    head: Hash,
    tenants: BTreeMap<Option<String>, (u64, Hash)>,
}

impl ChainState {
    /// An empty log.
    pub fn genesis(log: impl Into<String>) -> Self {
        Self {
            log: log.into(),
            seq: 0,
            head: Hash::GENESIS,
            tenants: BTreeMap::new(),
        }
    }

    /// The state a checkpoint signed. Needs the checkpoint's full list of tenant heads.
    pub fn from_checkpoint(cp: &Checkpoint) -> Result<Self, Error> {
        if !cp.has_full_tenants() {
            return Err(Error::NotFullCheckpoint);
        }
        Ok(Self {
            log: cp.log.clone(),
            seq: cp.seq,
            head: cp.head,
            tenants: cp
                .tenants
                .iter()
                .map(|t| (t.tenant.clone(), (t.tenant_seq, t.head)))
                .collect(),
        })
    }

    /// The log's name.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// Sequence number of the last record (0 for an empty log).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Hash of the last record ([`Hash::GENESIS`] for an empty log).
    pub fn head(&self) -> Hash {
        self.head
    }

    /// The head of every tenant chain, in tenant order (no tenant first).
    pub fn tenant_heads(&self) -> Vec<TenantHead> {
        self.tenants
            .iter()
            .map(|(tenant, (tenant_seq, head))| TenantHead {
                tenant: tenant.clone(),
                tenant_seq: *tenant_seq,
                head: *head,
            })
            .collect()
    }

    /// The record that `event` becomes if it is appended next. Does not change the state:
    /// call [`ChainState::advance`] once the record is durable.
    pub fn next(&self, event: AuditEvent) -> AuditRecord {
        self.next_aggregate(event, None)
    }

    /// As [`ChainState::next`], for a record standing for `aggregate.count` events like
    /// `event` (see [`AuditRecord::aggregate`]).
    pub fn next_aggregate(&self, event: AuditEvent, aggregate: Option<Aggregate>) -> AuditRecord {
        let event = event.clamped();
        let aggregate = aggregate.map(|a| Aggregate {
            first: a.first.to_offset(time::UtcOffset::UTC),
            last: a.last.to_offset(time::UtcOffset::UTC),
            ..a
        });
        let (tenant_seq, tenant_prev) = self
            .tenants
            .get(&event.tenant)
            .copied()
            .unwrap_or((0, Hash::GENESIS));
        AuditRecord {
            log: self.log.clone(),
            seq: self.seq.saturating_add(1),
            tenant_seq: tenant_seq.saturating_add(1),
            event,
            aggregate,
            prev: self.head,
            tenant_prev,
        }
    }

    /// Moves the heads past `record` after checking that it continues both chains; returns
    /// its hash.
    pub fn advance(&mut self, record: &AuditRecord) -> Result<Hash, Error> {
        let broken = |what| Error::Chain {
            log: record.log.clone(),
            seq: record.seq,
            what,
        };
        if record.log != self.log {
            return Err(broken("another log"));
        }
        if Some(record.seq) != self.seq.checked_add(1) || record.prev != self.head {
            return Err(broken("global chain"));
        }
        let (tenant_seq, tenant_prev) = self
            .tenants
            .get(&record.event.tenant)
            .copied()
            .unwrap_or((0, Hash::GENESIS));
        if Some(record.tenant_seq) != tenant_seq.checked_add(1) || record.tenant_prev != tenant_prev
        {
            return Err(broken("tenant chain"));
        }
        let hash = record.hash();
        self.seq = record.seq;
        self.head = hash;
        match self.tenants.get_mut(&record.event.tenant) {
            Some(entry) => *entry = (record.tenant_seq, hash),
            None => {
                self.tenants
                    .insert(record.event.tenant.clone(), (record.tenant_seq, hash));
            }
        }
        Ok(hash)
    }

    /// Where the chains stand now, to come back to with [`ChainState::rewind`] after
    /// [`ChainState::advance_undoable`] calls whose records could not be written. Cheaper than
    /// a clone of the state, which copies every tenant's head.
    pub fn rewind_point(&self) -> Rewind {
        Rewind {
            seq: self.seq,
            head: self.head,
            tenants: Vec::new(),
        }
    }

    /// [`ChainState::advance`], noting in `rewind` the tenant head it replaces.
    pub fn advance_undoable(
        &mut self,
        record: &AuditRecord,
        rewind: &mut Rewind,
    ) -> Result<Hash, Error> {
        let before = self.tenants.get(&record.event.tenant).copied();
        let hash = self.advance(record)?;
        rewind.tenants.push((record.event.tenant.clone(), before));
        Ok(hash)
    }

    /// Takes back every advance noted in `rewind` since [`ChainState::rewind_point`].
    pub fn rewind(&mut self, rewind: Rewind) {
        self.seq = rewind.seq;
        self.head = rewind.head;
        // newest first, so a tenant advanced twice ends at its oldest saved head
        for (tenant, before) in rewind.tenants.into_iter().rev() {
            match before {
                Some(entry) => {
                    self.tenants.insert(tenant, entry);
                }
                None => {
                    self.tenants.remove(&tenant);
                }
            }
        }
    }
}
