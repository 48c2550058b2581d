//! The VM-encryption eligibility rule: the facts the console owns about a VM, the facts the
//! KMS knows about its tenant, and the verdict with one stable code per failed prerequisite
//! (the seed's list: key provider configured, VM powered off, no Global Mirror replication, no
//! snapshots, advanced-protection subscription). Pure: no I/O, so the rule is tested alone.

use serde::{Deserialize, Serialize};

/// Longest VM identifier, VM name, vCenter (key provider) name or backup policy accepted.
pub const MAX_FACT_LEN: usize = 256;
/// Most snapshots a VM may report (a larger count is not a real VM's).
pub const MAX_SNAPSHOTS: u32 = 100_000;

/// A VM's power state as vCenter reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    /// Shut down.
    PoweredOff,
    /// Running.
    PoweredOn,
    /// Suspended (memory saved to disk: not shut down).
    Suspended,
}

/// How a VM (or the LUN under it) is replicated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationMode {
    /// Not replicated.
    None,
    /// Application-level VM replication.
    VmReplication,
    /// Synchronous SAN replication (Metro Mirror).
    MetroMirror,
    /// Asynchronous SAN replication (Global Mirror): incompatible with encrypted VMs.
    GlobalMirror,
}

/// The facts the console sends about a VM before encrypting it. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmFacts {
    /// vCenter's VM identifier (the `x-Identifier` vCenter sets on the VM's KEK).
    pub vm_id: String,
    /// The VM's name.
    pub vm_name: String,
    /// The enrolled name of the vCenter (key provider) that manages the VM.
    pub vcenter: String,
    /// Power state.
    pub power_state: PowerState,
    /// Number of snapshots.
    pub snapshot_count: u32,
    /// Replication mode.
    pub replication_mode: ReplicationMode,
    /// The backup policy, if the VM is backed up.
    #[serde(default)]
    pub backup_policy: Option<String>,
}

impl VmFacts {
    /// Refuses facts no real VM has: empty or oversized identifiers, a control character in
    /// a text, an impossible snapshot count. The text says which (fixed, never the input).
    pub fn validate(&self) -> Result<(), &'static str> {
        for (text, what) in [
            (
                self.vm_id.as_str(),
                "vm_id must be 1 to 256 printable characters",
            ),
            (
                self.vm_name.as_str(),
                "vm_name must be 1 to 256 printable characters",
            ),
            (
                self.vcenter.as_str(),
                "vcenter must be 1 to 256 printable characters",
            ),
        ] {
            if !printable(text) {
                return Err(what);
            }
        }
        if self.backup_policy.as_deref().is_some_and(|b| !printable(b)) {
            return Err("backup_policy must be 1 to 256 printable characters");
        }
        if self.snapshot_count > MAX_SNAPSHOTS {
            return Err("snapshot_count is out of range");
        }
        Ok(())
    }
}

/// 1 to [`MAX_FACT_LEN`] bytes, no control character.
pub fn printable(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_FACT_LEN && !text.chars().any(char::is_control)
}

/// What the KMS itself knows about the VM's tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantFacts {
    /// The tenant has the advanced-protection subscription.
    pub subscribed: bool,
    /// The vCenter the facts name is an enrolled, enabled KMIP client of the tenant with a
    /// bound identity (a key provider configured on the vStack).
    pub key_provider: bool,
}

/// A failed prerequisite, with its stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prerequisite {
    /// No key provider (the vCenter is not an enrolled, enabled client of the tenant).
    KeyProviderNotConfigured,
    /// The VM is not powered off.
    VmPoweredOn,
    /// The VM is on Global Mirror replication.
    GlobalMirrorReplication,
    /// The VM has snapshots.
    SnapshotsPresent,
    /// The tenant has no advanced-protection subscription.
    SubscriptionMissing,
}

impl Prerequisite {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Prerequisite::KeyProviderNotConfigured => "key_provider_not_configured",
            Prerequisite::VmPoweredOn => "vm_powered_on",
            Prerequisite::GlobalMirrorReplication => "global_mirror_replication",
            Prerequisite::SnapshotsPresent => "snapshots_present",
            Prerequisite::SubscriptionMissing => "subscription_missing",
        }
    }

    /// The message a human reads.
    pub fn message(self) -> &'static str {
        match self {
            Prerequisite::KeyProviderNotConfigured => {
                "a key provider (KMS) must be enabled on the vStack: the vCenter is not an enrolled, enabled client of the tenant"
            }
            Prerequisite::VmPoweredOn => "the VM must be powered off before encryption",
            Prerequisite::GlobalMirrorReplication => {
                "the VM is replicated with Global Mirror, which encrypted VMs do not support"
            }
            Prerequisite::SnapshotsPresent => "the VM must have no snapshots",
            Prerequisite::SubscriptionMissing => {
                "the tenant has not subscribed to the advanced protection service"
            }
        }
    }
}

/// The failed prerequisites, in a fixed order; empty: eligible.
pub fn assess(vm: &VmFacts, tenant: TenantFacts) -> Vec<Prerequisite> {
    let mut failed = Vec::new();
    if !tenant.key_provider {
        failed.push(Prerequisite::KeyProviderNotConfigured);
    }
    if vm.power_state != PowerState::PoweredOff {
        failed.push(Prerequisite::VmPoweredOn);
    }
    if vm.replication_mode == ReplicationMode::GlobalMirror {
        failed.push(Prerequisite::GlobalMirrorReplication);
    }
    if vm.snapshot_count > 0 {
        failed.push(Prerequisite::SnapshotsPresent);
    }
    if !tenant.subscribed {
        failed.push(Prerequisite::SubscriptionMissing);
    }
    failed
}

/// The verdict as the audit record keeps it: `eligible`, or `not eligible:` and the codes.
pub fn verdict_text(failed: &[Prerequisite]) -> String {
    if failed.is_empty() {
        return "eligible".to_owned();
    }
    let codes: Vec<_> = failed.iter().map(|p| p.code()).collect();
    format!("not eligible: {}", codes.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> VmFacts {
        VmFacts {
            vm_id: "vm-42".to_owned(),
            vm_name: "db-1".to_owned(),
            vcenter: "vc1".to_owned(),
            power_state: PowerState::PoweredOff,
            snapshot_count: 0,
            replication_mode: ReplicationMode::None,
            backup_policy: None,
        }
    }

    const OK: TenantFacts = TenantFacts {
        subscribed: true,
        key_provider: true,
    };

    #[test]
    fn a_ready_vm_of_a_subscribed_tenant_with_a_key_provider_is_eligible() {
        assert!(assess(&ready(), OK).is_empty());
        assert_eq!(verdict_text(&[]), "eligible");
    }

    #[test]
    fn each_prerequisite_fails_alone_with_its_code() {
        let mut on = ready();
        on.power_state = PowerState::PoweredOn;
        assert_eq!(assess(&on, OK), [Prerequisite::VmPoweredOn]);
        let mut suspended = ready();
        suspended.power_state = PowerState::Suspended;
        assert_eq!(assess(&suspended, OK), [Prerequisite::VmPoweredOn]);
        let mut gm = ready();
        gm.replication_mode = ReplicationMode::GlobalMirror;
        assert_eq!(assess(&gm, OK), [Prerequisite::GlobalMirrorReplication]);
        for allowed in [ReplicationMode::VmReplication, ReplicationMode::MetroMirror] {
            let mut vm = ready();
            vm.replication_mode = allowed;
            assert!(assess(&vm, OK).is_empty(), "{allowed:?}");
        }
        let mut snap = ready();
        snap.snapshot_count = 1;
        assert_eq!(assess(&snap, OK), [Prerequisite::SnapshotsPresent]);
        let unsubscribed = TenantFacts {
            subscribed: false,
            ..OK
        };
        assert_eq!(
            assess(&ready(), unsubscribed),
            [Prerequisite::SubscriptionMissing]
        );
        let no_provider = TenantFacts {
            key_provider: false,
            ..OK
        };
        assert_eq!(
            assess(&ready(), no_provider),
            [Prerequisite::KeyProviderNotConfigured]
        );
    }

    #[test]
    fn every_failure_is_listed_in_a_fixed_order() {
        let vm = VmFacts {
            power_state: PowerState::PoweredOn,
            snapshot_count: 3,
            replication_mode: ReplicationMode::GlobalMirror,
            ..ready()
        };
        let none = TenantFacts {
            subscribed: false,
            key_provider: false,
        };
        let failed = assess(&vm, none);
        assert_eq!(failed.len(), 5);
        assert!(failed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            verdict_text(&failed),
            "not eligible: key_provider_not_configured,vm_powered_on,global_mirror_replication,snapshots_present,subscription_missing"
        );
    }

    #[test]
    fn facts_no_vm_has_are_refused() {
        assert!(ready().validate().is_ok());
        let empty = VmFacts {
            vm_id: String::new(),
            ..ready()
        };
        assert!(empty.validate().is_err());
        let long = VmFacts {
            vm_name: "x".repeat(MAX_FACT_LEN + 1),
            ..ready()
        };
        assert!(long.validate().is_err());
        let control = VmFacts {
            vcenter: "vc\n1".to_owned(),
            ..ready()
        };
        assert!(control.validate().is_err());
        let snaps = VmFacts {
            snapshot_count: MAX_SNAPSHOTS + 1,
            ..ready()
        };
        assert!(snaps.validate().is_err());
        let unknown = serde_json::from_str::<VmFacts>(
            r#"{"vm_id":"a","vm_name":"b","vcenter":"c","power_state":"powered_off","snapshot_count":0,"replication_mode":"none","colour":"red"}"#,
        );
        assert!(unknown.is_err(), "unknown facts are refused");
        let bad_state = serde_json::from_str::<VmFacts>(
            r#"{"vm_id":"a","vm_name":"b","vcenter":"c","power_state":"warm","snapshot_count":0,"replication_mode":"none"}"#,
        );
        assert!(bad_state.is_err());
    }
}
