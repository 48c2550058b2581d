//! What one message, one client and one tenant may cost the node (`[limits]`,
//! `docs/SECURITY.md` "Amplification, memory and quotas"):
//!
//! - answers are built within a byte budget (`crate::ops::budget`), drawn from the node's
//!   pool of in-flight bytes ([`memory`]);
//! - each client's batch items per second ([`rate`]);
//! - each tenant's stored objects: every store command that makes objects is wrapped in
//!   [`Command::ObjectQuota`] here, in the one place KMIP writes pass
//!   (`Ctx::commit`), and the store refuses it in its deterministic apply, where the count
//!   is exact under concurrency and on every node of a cluster.

pub mod memory;
pub mod rate;

use crate::config::ServiceLimits;
use crate::store::Command;

/// The node's limits and the state enforcing them.
#[derive(Debug)]
pub struct Quotas {
    limits: ServiceLimits,
    rates: rate::RequestRates,
    memory: memory::MemoryPool,
}

impl Quotas {
    /// State for these limits.
    pub fn new(limits: ServiceLimits) -> Self {
        Self {
            rates: rate::RequestRates::new(limits.client_rate),
            memory: memory::MemoryPool::new(limits.max_inflight_bytes),
            limits,
        }
    }

    /// The limits.
    pub fn limits(&self) -> &ServiceLimits {
        &self.limits
    }

    /// The node's pool of in-flight bytes.
    pub fn memory(&self) -> &memory::MemoryPool {
        &self.memory
    }

    /// Takes one batch item's token from `client`'s bucket (its store key).
    pub fn admit_item(&self, client: &str) -> bool {
        self.rates.admit(client)
    }

    /// `command` wrapped so that the store refuses it if it would take a tenant past its
    /// object quota; unchanged when it makes no object or there is no quota.
    pub fn within_object_quota(&self, command: Command) -> Command {
        match self.limits.max_objects_per_tenant {
            Some(max_objects) if command.makes_objects() => Command::ObjectQuota {
                max_objects,
                command: Box::new(command),
            },
            _ => command,
        }
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Self::new(ServiceLimits::default())
    }
}
