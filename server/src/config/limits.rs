//! `[limits]`: what one message, one client and one tenant may cost the node (answers'
//! size, memory held by requests in flight, objects stored, requests per second, password
//! checks). Why each exists: `docs/SECURITY.md`.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// Upper bound for `limits.max_response_size`, as for `server.max_message_size`.
const MAX_RESPONSE_SIZE_CEILING: usize = 64 << 20;

/// `[limits]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    /// Largest KMIP response in bytes (a client's smaller Maximum Response Size wins).
    pub max_response_size: usize,
    /// Most Unique Identifiers one Locate returns, whatever Maximum Items asks.
    pub max_locate_items: usize,
    /// Most object records one Locate reads and checks (its candidates from the Locate
    /// index, or the tenant's objects newest first when no filter is indexed).
    pub max_locate_scan: u64,
    /// Bytes of requests and responses all connections together may hold at once.
    pub max_inflight_bytes: usize,
    /// Most objects one tenant may store (0: no limit).
    pub max_objects_per_tenant: u64,
    /// Batch items one client may send per second, on average (0: no limit).
    pub client_requests_per_second: u32,
    /// Batch items one client may send at once above that average.
    pub client_request_burst: u32,
    /// Argon2 password verifications running at once.
    pub password_checks: usize,
    /// Wrong passwords of one client before it is locked out.
    pub password_failures_per_client: u32,
    /// Wrong passwords from one source address before it is locked out.
    pub password_failures_per_address: u32,
    /// Seconds a lockout lasts (and that failures are remembered).
    pub password_lockout_secs: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            max_response_size: 4 << 20,
            max_locate_items: 1000,
            max_locate_scan: 100_000,
            max_inflight_bytes: 256 << 20,
            max_objects_per_tenant: 1_000_000,
            client_requests_per_second: 10_000,
            client_request_burst: 20_000,
            password_checks: 2,
            password_failures_per_client: 5,
            password_failures_per_address: 20,
            password_lockout_secs: 300,
        }
    }
}

/// Validated `[limits]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceLimits {
    /// Largest KMIP response, in bytes.
    pub max_response_size: usize,
    /// Most Unique Identifiers one Locate returns.
    pub max_locate_items: usize,
    /// Most object records one Locate reads and checks.
    pub max_locate_scan: u64,
    /// Bytes of requests and responses all connections together may hold at once.
    pub max_inflight_bytes: usize,
    /// Most objects one tenant may store; `None`: no limit.
    pub max_objects_per_tenant: Option<u64>,
    /// Per-client request rate; `None`: no limit.
    pub client_rate: Option<RequestRate>,
    /// Argon2 password verifications running at once.
    pub password_checks: usize,
    /// Wrong passwords of one client before it is locked out.
    pub password_failures_per_client: u32,
    /// Wrong passwords from one source address before it is locked out.
    pub password_failures_per_address: u32,
    /// How long a lockout lasts, and how long failures are remembered.
    pub password_lockout: Duration,
}

/// A token bucket's shape: `per_second` batch items on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate {
    /// Sustained batch items per second.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

impl Default for ServiceLimits {
    /// The defaults of [`RawLimits`] (valid: a unit test checks them).
    fn default() -> Self {
        RawLimits::default().typed()
    }
}

impl RawLimits {
    /// Validates; `max_message_size` is `server.max_message_size` (a request and its answer
    /// must fit in the in-flight budget together).
    pub(super) fn validate(&self, max_message_size: usize) -> Result<ServiceLimits, ConfigError> {
        let invalid = |option, reason| Err(ConfigError::Invalid { option, reason });
        if !(4096..=MAX_RESPONSE_SIZE_CEILING).contains(&self.max_response_size) {
            return invalid(
                "limits.max_response_size",
                "must be between 4 KiB and 64 MiB",
            );
        }
        // A Locate answer holds its identifiers in one structure; the codec (ours and every
        // client's built on it) reads at most this many items in one.
        if !(1..=kmip_codec::limits::MAX_ITEMS_PER_STRUCTURE).contains(&self.max_locate_items) {
            return invalid("limits.max_locate_items", "must be between 1 and 4096");
        }
        if self.max_locate_scan == 0 {
            return invalid("limits.max_locate_scan", "must be at least 1");
        }
        if self.max_inflight_bytes < max_message_size.saturating_add(self.max_response_size)
            || self.max_inflight_bytes > 1 << 40
        {
            return invalid(
                "limits.max_inflight_bytes",
                "must hold one largest request and one largest answer, and be at most 1 TiB",
            );
        }
        if self.client_requests_per_second > 0 && self.client_request_burst == 0 {
            return invalid("limits.client_request_burst", "must be at least 1");
        }
        if !(1..=64).contains(&self.password_checks) {
            return invalid("limits.password_checks", "must be between 1 and 64");
        }
        if self.password_failures_per_client == 0 {
            return invalid("limits.password_failures_per_client", "must be at least 1");
        }
        if self.password_failures_per_address == 0 {
            return invalid("limits.password_failures_per_address", "must be at least 1");
        }
        if !(1..=86_400).contains(&self.password_lockout_secs) {
            return invalid(
                "limits.password_lockout_secs",
                "must be between 1 and 86400 seconds",
            );
        }
        Ok(self.typed())
    }

    /// The typed form, unchecked.
    fn typed(&self) -> ServiceLimits {
        ServiceLimits {
            max_response_size: self.max_response_size,
            max_locate_items: self.max_locate_items,
            max_locate_scan: self.max_locate_scan,
            max_inflight_bytes: self.max_inflight_bytes,
            max_objects_per_tenant: (self.max_objects_per_tenant > 0)
                .then_some(self.max_objects_per_tenant),
            client_rate: (self.client_requests_per_second > 0).then_some(RequestRate {
                per_second: self.client_requests_per_second,
                burst: self.client_request_burst,
            }),
            password_checks: self.password_checks,
            password_failures_per_client: self.password_failures_per_client,
            password_failures_per_address: self.password_failures_per_address,
            password_lockout: Duration::from_secs(self.password_lockout_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RawLimits, ServiceLimits};

    const MIB: usize = 1 << 20;

    #[test]
    fn defaults_are_valid_and_bounded() {
        let d = ServiceLimits::default();
        assert_eq!(RawLimits::default().validate(MIB).unwrap(), d);
        assert_eq!(d.max_response_size, 4 * MIB);
        assert_eq!(d.max_locate_items, 1000);
        assert_eq!(d.max_objects_per_tenant, Some(1_000_000));
        assert!(d.client_rate.is_some());
        assert!(d.max_inflight_bytes >= MIB + d.max_response_size);
    }

    #[test]
    fn out_of_range_values_name_their_option() {
        let bad = |raw: RawLimits| raw.validate(MIB).unwrap_err().to_string();
        let d = RawLimits::default;
        assert!(
            bad(RawLimits {
                max_response_size: 100,
                ..d()
            })
            .contains("max_response_size")
        );
        assert!(
            bad(RawLimits {
                max_locate_items: 5000,
                ..d()
            })
            .contains("max_locate_items")
        );
        assert!(
            bad(RawLimits {
                max_locate_scan: 0,
                ..d()
            })
            .contains("max_locate_scan")
        );
        assert!(
            bad(RawLimits {
                max_inflight_bytes: 4 * MIB,
                ..d()
            })
            .contains("max_inflight_bytes"),
            "a request and an answer must fit"
        );
        assert!(
            bad(RawLimits {
                client_request_burst: 0,
                ..d()
            })
            .contains("burst")
        );
        assert!(
            bad(RawLimits {
                password_checks: 0,
                ..d()
            })
            .contains("password_checks")
        );
        assert!(
            bad(RawLimits {
                password_lockout_secs: 0,
                ..d()
            })
            .contains("lockout")
        );
    }

    #[test]
    fn zero_turns_the_quotas_off() {
        let raw = RawLimits {
            max_objects_per_tenant: 0,
            client_requests_per_second: 0,
            client_request_burst: 0,
            ..RawLimits::default()
        };
        let s = raw.validate(MIB).unwrap();
        assert_eq!(s.max_objects_per_tenant, None);
        assert_eq!(s.client_rate, None);
    }
}
