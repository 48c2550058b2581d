//! The policy on its own: its tables cover exactly what the server dispatches and routes, and
//! each rule answers every role as the matrix in `docs/ARCHITECTURE.md` says.

use std::collections::BTreeSet;
use std::sync::Arc;

use kmip_codec::enums::Operation;

use super::admin::{self, PathTenant, Rule};
use super::platform::Call;
use super::{Denial, admit, kmip};
use crate::identity::{CertificateFacts, Principal};
use crate::store::records::{
    ClientIdentity, ClientRecord, ObjectRecord, Role, StoredAttributes, TenantRecord,
};

fn principal(role: Role, tenant: Option<&str>) -> Principal {
    Principal {
        tenant: tenant.map(str::to_owned),
        client: "someone".to_owned(),
        role,
        certificate: CertificateFacts {
            fingerprint: "00".repeat(32),
            subject: "CN=someone".to_owned(),
            issuer: "CN=ca".to_owned(),
            not_after: None,
        },
    }
}

/// A principal of `role`, in tenant `acme` unless it is an operator.
fn of(role: Role) -> Principal {
    principal(role, role.has_tenant().then_some("acme"))
}

fn object_of(tenant: &str) -> ObjectRecord {
    ObjectRecord {
        uid: "uid-1".to_owned(),
        tenant: tenant.to_owned(),
        revision: 1,
        object_type: 2,
        state: 1,
        material: None,
        attributes: StoredAttributes::default(),
    }
}

fn tenant(suspended: bool) -> TenantRecord {
    TenantRecord {
        id: "acme".to_owned(),
        suspended,
        created_at: 0,
        domain_keys: Vec::new(),
    }
}

fn client(tenant: Option<&str>, enabled: bool) -> ClientRecord {
    ClientRecord {
        tenant: tenant.map(str::to_owned),
        name: "vcenter".to_owned(),
        role: Role::KmipClient,
        identity: ClientIdentity::CaIssued,
        enabled,
        password_hash: None,
        created_at: 0,
    }
}

#[test]
fn the_kmip_table_has_one_row_for_each_dispatched_operation() {
    let dispatched: BTreeSet<u32> = crate::ops::OPERATIONS.iter().map(|o| o.0).collect();
    let rows: Vec<u32> = kmip::TABLE.iter().map(|(o, _)| o.0).collect();
    let unique: BTreeSet<u32> = rows.iter().copied().collect();
    assert_eq!(rows.len(), unique.len(), "an operation has two rows");
    assert_eq!(dispatched, unique);
}

#[test]
fn the_admin_table_has_one_row_for_each_route() {
    let routed: BTreeSet<_> = crate::admin::route_table().into_iter().collect();
    let rows: Vec<_> = admin::TABLE.iter().map(|(m, r, _)| (*m, *r)).collect();
    let unique: BTreeSet<_> = rows.iter().copied().collect();
    assert_eq!(rows.len(), unique.len(), "a route has two rows");
    assert_eq!(routed, unique);
}

#[test]
fn kmip_roles_by_operation() {
    let allowed = |role: Role, op: Operation| kmip::authorize(&of(role), op).is_ok();
    for op in crate::ops::OPERATIONS {
        let reads_server = [Operation::DISCOVER_VERSIONS, Operation::QUERY].contains(&op);
        let reads_tenant = [
            Operation::LOCATE,
            Operation::GET_ATTRIBUTES,
            Operation::GET_ATTRIBUTE_LIST,
        ]
        .contains(&op);
        let seed = op == Operation::RNG_SEED;
        assert_eq!(allowed(Role::KmipClient, op), !seed, "kmip-client {op:?}");
        assert_eq!(allowed(Role::TenantAdmin, op), !seed, "tenant-admin {op:?}");
        assert_eq!(
            allowed(Role::Auditor, op),
            reads_server || reads_tenant,
            "auditor {op:?}"
        );
        assert_eq!(allowed(Role::Operator, op), reads_server, "operator {op:?}");
    }
    // An operation without a row is nobody's.
    for role in Role::ALL {
        assert_eq!(
            kmip::authorize(&of(role), Operation::RE_KEY_KEY_PAIR),
            Err(Denial::Forbidden)
        );
    }
}

#[test]
fn another_tenants_object_is_missing_whatever_the_role() {
    for role in Role::ALL {
        let p = of(role);
        assert_eq!(
            kmip::authorize_object(&p, Operation::GET_ATTRIBUTES, &object_of("globex")),
            Err(Denial::NotFound),
            "{role}"
        );
    }
    let own = object_of("acme");
    assert_eq!(
        kmip::authorize_object(&of(Role::KmipClient), Operation::DESTROY, &own),
        Ok(())
    );
    assert_eq!(
        kmip::authorize_object(&of(Role::Auditor), Operation::GET_ATTRIBUTES, &own),
        Ok(())
    );
    assert_eq!(
        kmip::authorize_object(&of(Role::Auditor), Operation::GET, &own),
        Err(Denial::Forbidden)
    );
}

#[test]
fn a_suspended_or_missing_tenant_is_not_acted_in() {
    assert!(kmip::tenant_in_service(Some(Arc::new(tenant(false)))).is_ok());
    assert_eq!(
        kmip::tenant_in_service(Some(Arc::new(tenant(true)))).err(),
        Some(Denial::TenantUnavailable)
    );
    assert_eq!(
        kmip::tenant_in_service(None).err(),
        Some(Denial::TenantUnavailable)
    );
    assert_eq!(
        kmip::tenant_of(&of(Role::Operator)),
        Err(Denial::TenantUnavailable)
    );
    assert_eq!(kmip::tenant_of(&of(Role::Auditor)), Ok("acme"));
}

#[test]
fn admission_needs_an_enabled_client_and_a_tenant_in_service() {
    let active = tenant(false);
    let suspended = tenant(true);
    assert_eq!(admit(&client(Some("acme"), true), Some(&active)), Ok(()));
    assert_eq!(
        admit(&client(Some("acme"), false), Some(&active)),
        Err(Denial::ClientDisabled)
    );
    assert_eq!(
        admit(&client(Some("acme"), true), Some(&suspended)),
        Err(Denial::TenantUnavailable)
    );
    assert_eq!(
        admit(&client(Some("acme"), true), None),
        Err(Denial::TenantUnavailable)
    );
    // An operator belongs to no tenant.
    assert_eq!(admit(&client(None, true), None), Ok(()));
}

/// The admin decision for `role` (`None`: nobody identified) on `rule` for tenant `id`
/// (`exists`: whether it is stored).
fn decide(role: Option<Role>, rule: Rule, id: &str, exists: bool) -> Result<(), Denial> {
    let p = role.map(of);
    admin::authorize(
        p.as_ref(),
        rule,
        PathTenant::Named {
            id,
            exists,
            subscribed: false,
        },
    )
    .map(drop)
}

#[test]
fn admin_refusals_in_their_order() {
    use Denial::{Forbidden, NotFound, Unauthenticated, UnnamedTenant};
    use Role::{Auditor, KmipClient, Operator, TenantAdmin};
    let ok = Ok(());
    // Open routes need nobody; every other route a principal, and never a KMIP client.
    assert_eq!(decide(None, Rule::Open, "acme", true), ok);
    assert_eq!(decide(Some(KmipClient), Rule::Open, "acme", true), ok);
    for rule in [
        Rule::Operator,
        Rule::TenantRead,
        Rule::TenantChange,
        Rule::TenantChangeByOperator,
        Rule::AuditTrail,
    ] {
        assert_eq!(decide(None, rule, "acme", true), Err(Unauthenticated));
        assert_eq!(decide(Some(KmipClient), rule, "acme", true), Err(Forbidden));
    }
    for (role, read, change, bind, operator) in [
        (TenantAdmin, ok, ok, Err(Forbidden), Err(Forbidden)),
        (Auditor, ok, Err(Forbidden), Err(Forbidden), Err(Forbidden)),
        (Operator, ok, ok, ok, ok),
    ] {
        let r = Some(role);
        assert_eq!(decide(r, Rule::TenantRead, "acme", true), read, "{role}");
        assert_eq!(
            decide(r, Rule::TenantChange, "acme", true),
            change,
            "{role}"
        );
        assert_eq!(
            decide(r, Rule::TenantChangeByOperator, "acme", true),
            bind,
            "{role}"
        );
        assert_eq!(decide(r, Rule::Operator, "acme", true), operator, "{role}");
        assert_eq!(decide(r, Rule::AuditTrail, "acme", true), ok, "{role}");
        // A missing tenant, and for a tenant's own principals another tenant, are answered
        // alike, before an auditor's change is refused.
        for rule in [
            Rule::TenantRead,
            Rule::TenantChange,
            Rule::TenantChangeByOperator,
        ] {
            assert_eq!(decide(r, rule, "acme", false), Err(NotFound), "{role}");
            let other = if role == Operator { ok } else { Err(NotFound) };
            assert_eq!(decide(r, rule, "globex", true), other, "{role} {rule:?}");
            let p = of(role);
            assert_eq!(
                admin::authorize(Some(&p), rule, PathTenant::Unreadable).map(drop),
                Err(UnnamedTenant)
            );
        }
    }
}

#[test]
fn the_audit_trail_is_confined_to_the_callers_tenant() {
    let confined = |role| {
        admin::authorize(Some(&of(role)), Rule::AuditTrail, PathTenant::NotNamed)
            .ok()
            .flatten()
            .map(|g| g.confined)
    };
    assert_eq!(confined(Role::Operator), Some(None));
    assert_eq!(confined(Role::TenantAdmin), Some(Some("acme".to_owned())));
    assert_eq!(confined(Role::Auditor), Some(Some("acme".to_owned())));
    assert_eq!(confined(Role::KmipClient), None);
    // A tenant role without a tenant is confined to nothing: refused.
    assert_eq!(
        admin::authorize(
            Some(&principal(Role::Auditor, None)),
            Rule::AuditTrail,
            PathTenant::NotNamed
        )
        .map(drop),
        Err(Denial::Forbidden)
    );
}

#[test]
fn only_operators_take_reserved_admin_slots() {
    for role in Role::ALL {
        assert_eq!(
            admin::may_take_reserved_slot(Some(&of(role))),
            role == Role::Operator
        );
    }
    assert!(!admin::may_take_reserved_slot(None));
}

/// A platform service principal named `name`.
fn service(name: &str) -> Principal {
    Principal {
        client: name.to_owned(),
        ..principal(Role::PlatformService, None)
    }
}

/// The platform decision for `p` on `call` for tenant `acme` (existing, `subscribed` or not).
fn platform_decision(p: &Principal, call: Call, subscribed: bool) -> Result<(), Denial> {
    admin::authorize(
        Some(p),
        Rule::Platform(call),
        PathTenant::Named {
            id: "acme",
            exists: true,
            subscribed,
        },
    )
    .map(drop)
}

#[test]
fn platform_calls_follow_the_matrix_of_policy_platform() {
    use Call::*;
    const CALLS: [Call; 7] = [
        Read,
        Eligibility,
        Replication,
        Holds,
        Subscription,
        RotationPolicy,
        DestroyPolicy,
    ];
    // (principal, allowed calls) on a subscribed tenant of its own (tenant roles: acme).
    let rows: [(Principal, &[Call]); 8] = [
        (of(Role::Operator), &CALLS),
        (
            of(Role::TenantAdmin),
            &[
                Read,
                Eligibility,
                Replication,
                RotationPolicy,
                DestroyPolicy,
            ],
        ),
        (of(Role::Auditor), &[Read]),
        (of(Role::KmipClient), &[]),
        (service("console"), &[Read, Eligibility, Subscription]),
        (service("backup"), &[Read, Holds]),
        (service("replication"), &[Read, Replication]),
        // A platform-service principal that names no service may do nothing.
        (service("billing"), &[]),
    ];
    for (p, allowed) in &rows {
        for call in CALLS {
            let expected = if allowed.contains(&call) {
                Ok(())
            } else {
                Err(Denial::Forbidden)
            };
            assert_eq!(platform_decision(p, call, true), expected, "{p:?} {call:?}");
        }
    }
}

#[test]
fn platform_services_need_the_subscription_but_to_subscribe_and_check_eligibility() {
    let console = service("console");
    assert_eq!(
        platform_decision(&console, Call::Eligibility, false),
        Ok(())
    );
    assert_eq!(
        platform_decision(&console, Call::Subscription, false),
        Ok(())
    );
    assert_eq!(
        platform_decision(&console, Call::Read, false),
        Err(Denial::NotSubscribed)
    );
    assert_eq!(
        platform_decision(&service("backup"), Call::Holds, false),
        Err(Denial::NotSubscribed)
    );
    // Tenant roles and operators do not depend on the subscription.
    assert_eq!(
        platform_decision(&of(Role::TenantAdmin), Call::Read, false),
        Ok(())
    );
    assert_eq!(
        platform_decision(&of(Role::Operator), Call::Holds, false),
        Ok(())
    );
}

#[test]
fn platform_calls_on_another_or_a_missing_tenant_are_answered_as_missing() {
    let other = PathTenant::Named {
        id: "globex",
        exists: true,
        subscribed: true,
    };
    for role in [Role::TenantAdmin, Role::Auditor] {
        assert_eq!(
            admin::authorize(Some(&of(role)), Rule::Platform(Call::Read), other).map(drop),
            Err(Denial::NotFound),
            "{role:?}"
        );
    }
    let missing = PathTenant::Named {
        id: "nobody",
        exists: false,
        subscribed: false,
    };
    for p in [
        of(Role::Operator),
        service("console"),
        of(Role::TenantAdmin),
    ] {
        assert_eq!(
            admin::authorize(Some(&p), Rule::Platform(Call::Read), missing).map(drop),
            Err(Denial::NotFound),
            "{p:?}"
        );
    }
}

#[test]
fn platform_services_have_no_other_admin_route_and_no_kmip_operation() {
    let console = service("console");
    for (method, route, rule) in admin::TABLE {
        if matches!(rule, Rule::Open | Rule::Platform(_)) {
            continue;
        }
        let decided = admin::authorize(
            Some(&console),
            *rule,
            PathTenant::Named {
                id: "acme",
                exists: true,
                subscribed: true,
            },
        );
        assert_eq!(
            decided.map(drop),
            Err(Denial::Forbidden),
            "{method} {route}"
        );
    }
    for (op, _) in kmip::TABLE {
        assert_eq!(
            kmip::authorize(&console, *op),
            Err(Denial::Forbidden),
            "{op:?}"
        );
    }
}
