//! placeholder
#![forbid(unsafe_code)]

pub mod asymmetric;
pub mod certificate;
pub mod error;
pub mod hash;
pub mod kdf;
pub mod limits;
pub mod mac;
#[cfg(test)]
mod oasis;
pub mod rsa_oaep;
mod secret;
pub mod signature;
pub mod symmetric_more;
pub mod wrap;

pub use crate::error::{Error, Input, KeyError, Parameter};
pub use crate::secret::SecretBytes;

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The outcome of a signature or MAC verification (KMIP Validity Indicator). A well-formed but
/// wrong signature or MAC is [`Validity::Invalid`], never an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// The signature or MAC is right.
    Valid,
    /// It is not.
    Invalid,
}

impl Validity {
    fn from_bool(valid: bool) -> Self {
        if valid { Self::Valid } else { Self::Invalid }
    }

    /// The KMIP Validity Indicator.
    pub fn to_kmip(self) -> kmip_codec::enums::ValidityIndicator {
        match self {
            Self::Valid => kmip_codec::enums::ValidityIndicator::VALID,
            Self::Invalid => kmip_codec::enums::ValidityIndicator::INVALID,
        }
    }
}
