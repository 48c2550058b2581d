//! The only crate that talks PKCS#11 (through `cryptoki`). It knows keys and mechanisms, not
//! KMIP: the Root of Trust, per-tenant Domain Keys wrapped under it, sealing of KEKs under a
//! Domain Key, random bytes, and the key ceremony that puts one Root of Trust into every AZ's HSM.
//!
//! ```no_run
//! # fn main() -> Result<(), hsm::Error> {
//! use hsm::{Hsm, HsmConfig, PinSource, SealContext};
//! let config = HsmConfig::new(
//!     "/usr/lib/softhsm/libsofthsm2.so",
//!     "kms-az1",
//!     PinSource::Env("KMS_HSM_PIN".into()),
//! );
//! let hsm = Hsm::open(&config)?;
//! println!("root KCV {}", hsm.root_kcv());
//! let dk = hsm.create_domain_key(1)?;
//! let kek = hsm.random(32)?;
//! let context = SealContext { tenant: "acme", object_id: "kek-1", version: 0 };
//! let sealed = hsm.seal(&dk, &context, kek.expose())?;
//! assert_eq!(hsm.unseal(&dk, &context, &sealed)?, kek);
//! # Ok(()) }
//! ```
//!
//! See `docs/HSM.md` (configuration, pool, recovery, formats) and `docs/KEY-CEREMONY.md`.
#![forbid(unsafe_code)]

mod audit;
pub mod ceremony;
mod config;
mod domain_key;
mod error;
mod hsm;
mod nonblocking;
mod pool;
mod root;
mod seal;
mod secret;
mod token;

pub use crate::config::{HsmConfig, KcvSource, KeyWrapMechanism, OaepHash, PinSource, Settings};
pub use crate::domain_key::{DOMAIN_KEY_FORMAT, WrappedDomainKey};
pub use crate::error::{ConfigError, Error, PinError, Result};
pub use crate::hsm::{Hsm, MAX_RANDOM_LEN};
pub use crate::root::{Kcv, RootAttributes, RootExport};
pub use crate::seal::{MAX_ID_LEN, MAX_SEAL_LEN, SEAL_FORMAT, SealContext, SealedBlob};
pub use crate::secret::KeyBytes;
pub use crate::token::Token;
pub use cryptoki::context::Function;
pub use cryptoki::error::RvError;
