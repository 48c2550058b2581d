//! The key ceremony that puts one Root of Trust into every AZ's HSM without it ever being in
//! plaintext outside an HSM, and the M-of-N disaster-recovery backup.
//!
//! Each public function is one step, run by `kmsd ceremony <step>` on the machine attached
//! to the HSM concerned; inputs and outputs are file-friendly (PEM, serde records, share
//! text). See `docs/KEY-CEREMONY.md` for who runs which step and what each protects against.
//!
//! | step | function | HSM | logins |
//! |---|---|---|---|
//! | `init-root` | [`generate_root`] | source | user |
//! | `status` | [`root_status`] | any | user |
//! | `transport-keygen` | [`generate_transport_key`] | target | user |
//! | `export-root` | [`export_root`] | source | SO, then user |
//! | `import-root` | [`import_root`] | target | user |
//! | `backup-create` | [`create_backup`] | source | SO, then user |
//! | `backup-restore` | [`restore_backup`] | new HSM | user |
//!
//! Steps that log in as the Security Officer must not run in a process that has an [`Hsm`]
//! open on the same token: PKCS#11 login state is per application, and the SO cannot log in
//! while the user is (CKR_USER_ANOTHER_ALREADY_LOGGED_IN).
//!
//! [`Hsm`]: crate::Hsm

mod backup;
mod records;
mod transport;

use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::config::{HsmConfig, Settings};
use crate::error::{Error, Result};
use crate::root::{self, Kcv, RootAttributes, RootExport};
use crate::token::Token;

pub use backup::{create_backup, restore_backup};
pub use records::{
    Backup, CustodianShare, RootWrapMechanism, TransportPublicKey, WRAPPED_ROOT_FORMAT, WrappedRoot,
};
pub use transport::{export_root, generate_transport_key, import_root};

/// One token as a ceremony step sees it: the server's `[hsm]` configuration (module, token
/// label, root label, mechanisms), with no session open. PINs are passed to each step.
#[derive(Debug, Clone)]
pub struct CeremonyToken {
    token: Token,
    settings: Settings,
}

impl CeremonyToken {
    /// Loads the module and finds the token; logs nothing in.
    pub fn open(config: &HsmConfig) -> Result<CeremonyToken> {
        let settings = config.validate()?;
        let token = Token::open(&settings.module, &settings.token_label)?;
        Ok(CeremonyToken { token, settings })
    }

    /// Reads the user PIN from the configured source (`pin_env` / `pin_file`).
    pub fn user_pin(&self) -> Result<SecretString> {
        Ok(self.settings.pin_source.read()?)
    }

    fn user_session(&self, user_pin: &SecretString) -> Result<Session> {
        self.token.user_session(user_pin)
    }

    /// Runs `as_so` logged in as the Security Officer, then logs out and runs `as_user` on
    /// the same session logged in as the user. Public session objects made by the SO (a
    /// trusted wrapping key) survive the logout and vanish when the session closes.
    fn so_then_user<T, U>(
        &self,
        so_pin: &SecretString,
        user_pin: &SecretString,
        as_so: impl FnOnce(&Session) -> Result<T>,
        as_user: impl FnOnce(&Session, T) -> Result<U>,
    ) -> Result<U> {
        let session = self.token.open_session()?;
        self.token.login(&session, UserType::So, so_pin)?;
        let made = as_so(&session);
        session.logout()?;
        let made = made?;
        self.token.login(&session, UserType::User, user_pin)?;
        let result = as_user(&session, made);
        session.logout()?;
        result
    }

    fn root(&self, session: &Session) -> Result<ObjectHandle> {
        root::find(session, &self.settings.root_label)
    }

    fn kcv(&self, session: &Session, key: ObjectHandle) -> Result<Kcv> {
        root::kcv(session, key, self.settings.kcv)
    }

    /// Fails with [`Error::RootExists`] if the token already has a root.
    fn require_no_root(&self, session: &Session) -> Result<()> {
        match self.root(session) {
            Ok(_) => Err(Error::RootExists {
                label: self.settings.root_label.clone(),
            }),
            Err(Error::RootNotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Checks an imported key's KCV; destroys it on mismatch.
    fn verify_imported(&self, session: &Session, key: ObjectHandle, expected: Kcv) -> Result<Kcv> {
        let actual = match self.kcv(session, key) {
            Ok(kcv) => kcv,
            Err(err) => {
                let _ = session.destroy_object(key);
                return Err(err);
            }
        };
        if actual != expected {
            let _ = session.destroy_object(key);
            return Err(Error::KcvMismatch { expected, actual });
        }
        Ok(actual)
    }
}

/// The root as the token reports it (step `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootStatus {
    /// The token label.
    pub token_label: String,
    /// The root's KCV.
    pub kcv: Kcv,
    /// The root's security attributes.
    pub attributes: RootAttributes,
}

/// Step `init-root`, on the first (source) HSM only: generates the Root of Trust.
/// `export` is [`RootExport::WrappedUnderTrustedOnly`] when other AZs will receive it by the
/// ceremony, [`RootExport::Never`] for a single HSM or vendor cloning.
pub fn generate_root(
    token: &CeremonyToken,
    user_pin: &SecretString,
    export: RootExport,
) -> Result<Kcv> {
    let session = token.user_session(user_pin)?;
    let root = root::generate(&session, &token.settings.root_label, export)?;
    let kcv = token.kcv(&session, root)?;
    tracing::info!(token = token.token.label(), %kcv, ?export, "Root of Trust generated");
    Ok(kcv)
}

/// Step `status`: the root's KCV and attributes, to compare across AZs.
pub fn root_status(token: &CeremonyToken, user_pin: &SecretString) -> Result<RootStatus> {
    let session = token.user_session(user_pin)?;
    let root = token.root(&session)?;
    Ok(RootStatus {
        token_label: token.token.label().to_owned(),
        kcv: token.kcv(&session, root)?,
        attributes: root::attributes(&session, root)?,
    })
}
