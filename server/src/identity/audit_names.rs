//! How the audit trail names an identified peer or a certificate (the audit layer below knows
//! nothing of identities: it takes `audit_log::Principal`s).

use super::{CertificateFacts, Principal};

/// The audit principal of an identified peer.
pub fn audit_principal(p: &Principal) -> audit_log::Principal {
    audit_log::Principal {
        client: Some(p.client.clone()),
        ..audit_certificate(&p.certificate)
    }
}

/// The audit principal of a certificate not (yet) matched to an enrollment: refused
/// connections and failed identification.
pub fn audit_certificate(facts: &CertificateFacts) -> audit_log::Principal {
    audit_log::Principal {
        fingerprint: facts.fingerprint.clone(),
        subject: facts.subject.clone(),
        issuer: facts.issuer.clone(),
        client: None,
    }
}
