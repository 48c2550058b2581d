//! The enumerated option values of `kmsctl` (`--alg`, `--state`, `--reason`, `--format`),
//! their KMIP counterparts, and the parser of `--attr x-Name=value`.

use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, KeyFormatType, RevocationReasonCode, State,
};

/// `--alg`: Cryptographic Algorithm (KMIP 1.4 section 9.1.3.2.13) of a symmetric key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Alg {
    /// AES (128, 192 or 256 bits).
    Aes,
    /// Triple DES (168 bits).
    #[value(name = "3des")]
    TripleDes,
    /// HMAC with SHA-256.
    HmacSha256,
    /// HMAC with SHA-384.
    HmacSha384,
    /// HMAC with SHA-512.
    HmacSha512,
}

impl Alg {
    /// The KMIP value.
    pub fn kmip(self) -> CryptographicAlgorithm {
        match self {
            Self::Aes => CryptographicAlgorithm::AES,
            Self::TripleDes => CryptographicAlgorithm::_3DES,
            Self::HmacSha256 => CryptographicAlgorithm::HMAC_SHA256,
            Self::HmacSha384 => CryptographicAlgorithm::HMAC_SHA384,
            Self::HmacSha512 => CryptographicAlgorithm::HMAC_SHA512,
        }
    }

    /// The usage mask a new key of this algorithm gets: Encrypt and Decrypt for ciphers,
    /// MAC Generate and MAC Verify for HMAC.
    pub fn usage(self) -> CryptographicUsageMask {
        match self {
            Self::Aes | Self::TripleDes => {
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT
            }
            Self::HmacSha256 | Self::HmacSha384 | Self::HmacSha512 => {
                CryptographicUsageMask::MAC_GENERATE | CryptographicUsageMask::MAC_VERIFY
            }
        }
    }
}

/// `--state`: KMIP State (KMIP 1.4 section 3.22).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    /// Pre-Active.
    PreActive,
    /// Active.
    Active,
    /// Deactivated.
    Deactivated,
    /// Compromised.
    Compromised,
    /// Destroyed.
    Destroyed,
    /// Destroyed Compromised.
    DestroyedCompromised,
}

impl StateArg {
    /// The KMIP value.
    pub fn kmip(self) -> State {
        match self {
            Self::PreActive => State::PRE_ACTIVE,
            Self::Active => State::ACTIVE,
            Self::Deactivated => State::DEACTIVATED,
            Self::Compromised => State::COMPROMISED,
            Self::Destroyed => State::DESTROYED,
            Self::DestroyedCompromised => State::DESTROYED_COMPROMISED,
        }
    }

    /// The KMIP XML name the admin API takes (`PreActive`).
    pub fn xml(self) -> &'static str {
        match self {
            Self::PreActive => "PreActive",
            Self::Active => "Active",
            Self::Deactivated => "Deactivated",
            Self::Compromised => "Compromised",
            Self::Destroyed => "Destroyed",
            Self::DestroyedCompromised => "DestroyedCompromised",
        }
    }
}

/// `--reason`: Revocation Reason Code (KMIP 1.4 section 9.1.3.2.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Reason {
    /// Unspecified: Active or Pre-Active keys become Deactivated.
    Unspecified,
    /// Key Compromise: the key becomes Compromised (from any state).
    Compromise,
    /// CA Compromise: the key becomes Compromised.
    CaCompromise,
    /// Affiliation Changed.
    AffiliationChanged,
    /// Superseded (replaced by a new key).
    Superseded,
    /// Cessation of Operation.
    CessationOfOperation,
    /// Privilege Withdrawn.
    PrivilegeWithdrawn,
}

impl Reason {
    /// The KMIP value.
    pub fn kmip(self) -> RevocationReasonCode {
        match self {
            Self::Unspecified => RevocationReasonCode::UNSPECIFIED,
            Self::Compromise => RevocationReasonCode::KEY_COMPROMISE,
            Self::CaCompromise => RevocationReasonCode::CA_COMPROMISE,
            Self::AffiliationChanged => RevocationReasonCode::AFFILIATION_CHANGED,
            Self::Superseded => RevocationReasonCode::SUPERSEDED,
            Self::CessationOfOperation => RevocationReasonCode::CESSATION_OF_OPERATION,
            Self::PrivilegeWithdrawn => RevocationReasonCode::PRIVILEGE_WITHDRAWN,
        }
    }

    /// The KMIP XML name the admin API takes (`KeyCompromise`).
    pub fn xml(self) -> &'static str {
        self.kmip().name().unwrap_or("Unspecified")
    }
}

/// `--format` of `key get`: Key Format Type (KMIP 1.4 section 9.1.3.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Raw: the key bytes.
    Raw,
    /// Transparent Symmetric Key: the same bytes in a structure.
    Transparent,
}

impl Format {
    /// The KMIP value.
    pub fn kmip(self) -> KeyFormatType {
        match self {
            Self::Raw => KeyFormatType::RAW,
            Self::Transparent => KeyFormatType::TRANSPARENT_SYMMETRIC_KEY,
        }
    }
}

/// `x-Name=value` or `y-Name=value`: a custom text attribute (KMIP 1.4 section 3.1 naming
/// rules for client-defined attributes).
pub fn parse_attr(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected x-Name=value".to_owned())?;
    let custom = name.strip_prefix("x-").or_else(|| name.strip_prefix("y-"));
    match custom {
        Some(rest) if !rest.is_empty() && !rest.chars().any(char::is_control) => {
            Ok((name.to_owned(), value.to_owned()))
        }
        _ => Err("the attribute name must start with x- or y- (x-Component=...)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_attributes_need_a_prefix_and_an_equals_sign() {
        assert_eq!(
            parse_attr("x-Name=vm web=1"),
            Ok(("x-Name".to_owned(), "vm web=1".to_owned()))
        );
        assert_eq!(
            parse_attr("y-Owner="),
            Ok(("y-Owner".to_owned(), String::new()))
        );
        assert!(parse_attr("Name=foo").is_err());
        assert!(parse_attr("x-=foo").is_err());
        assert!(parse_attr("x-Foo").is_err());
    }

    #[test]
    fn reasons_map_to_the_admin_api_names() {
        assert_eq!(Reason::Compromise.xml(), "KeyCompromise");
        assert_eq!(Reason::Superseded.xml(), "Superseded");
        assert_eq!(
            StateArg::PreActive.kmip().name(),
            Some(StateArg::PreActive.xml())
        );
    }
}
