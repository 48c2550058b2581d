//! When each enrolled client last made a KMIP request that succeeded on this node, and until
//! when the certificate it used is valid: the facts behind a tenant's key providers
//! (`docs/PLATFORM.md`). Kept in memory per node: a restarted node knows again after the
//! client's next request, and in a cluster each node answers for the requests it served.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::Principal;

/// Clients remembered at most (every one is an enrolled, admitted client; the cap only
/// bounds memory if enrollments grow past it).
const MAX_CLIENTS: usize = 100_000;

/// What this node saw of one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Its last KMIP request with at least one successful item, Unix seconds.
    pub last_request: i64,
    /// The notAfter of the certificate it presented then, Unix seconds.
    pub certificate_not_after: Option<i64>,
}

/// Per tenant (`-` for principals of no tenant), per client name.
#[derive(Default)]
pub struct ClientActivity {
    seen: Mutex<HashMap<String, HashMap<String, Seen>>>,
}

impl fmt::Debug for ClientActivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientActivity").finish_non_exhaustive()
    }
}

impl ClientActivity {
    /// Notes a successful request of `principal` at `now`. Costs a map lookup; allocates only
    /// the first time a client is seen.
    pub fn record(&self, principal: &Principal, now: i64) {
        let seen = Seen {
            last_request: now,
            certificate_not_after: principal.certificate.not_after,
        };
        let tenant = principal.tenant.as_deref().unwrap_or("-");
        let Ok(mut map) = self.seen.lock() else {
            return;
        };
        if let Some(clients) = map.get_mut(tenant)
            && let Some(entry) = clients.get_mut(principal.client.as_str())
        {
            *entry = seen;
            return;
        }
        if map.values().map(HashMap::len).sum::<usize>() >= MAX_CLIENTS {
            map.clear();
        }
        map.entry(tenant.to_owned())
            .or_default()
            .insert(principal.client.clone(), seen);
    }

    /// What this node saw of `tenant`'s clients, by name.
    pub fn of_tenant(&self, tenant: &str) -> HashMap<String, Seen> {
        self.seen
            .lock()
            .ok()
            .and_then(|m| m.get(tenant).cloned())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::CertificateFacts;
    use crate::store::records::Role;

    fn principal(tenant: &str, client: &str, not_after: Option<i64>) -> Principal {
        Principal {
            tenant: Some(tenant.to_owned()),
            client: client.to_owned(),
            role: Role::KmipClient,
            certificate: CertificateFacts {
                fingerprint: "00".repeat(32),
                subject: "CN=vc".to_owned(),
                issuer: "CN=vc".to_owned(),
                not_after,
            },
        }
    }

    #[test]
    fn the_last_request_of_each_client_is_kept_per_tenant() {
        let activity = ClientActivity::default();
        activity.record(&principal("acme", "vc1", Some(100)), 10);
        activity.record(&principal("acme", "vc1", Some(200)), 20);
        activity.record(&principal("globex", "vc1", None), 30);
        let acme = activity.of_tenant("acme");
        assert_eq!(
            acme.get("vc1"),
            Some(&Seen {
                last_request: 20,
                certificate_not_after: Some(200)
            })
        );
        assert_eq!(acme.len(), 1);
        assert_eq!(activity.of_tenant("globex")["vc1"].last_request, 30);
        assert!(activity.of_tenant("initech").is_empty());
    }
}
