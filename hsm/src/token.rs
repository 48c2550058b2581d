//! One token in one PKCS#11 module: loading the module, finding the slot by label, opening
//! sessions and logging in.
//!
//! A module is loaded and `C_Initialize`d once per process and shared (PKCS#11 allows one
//! initialisation per application; a second `C_Initialize` returns
//! CKR_CRYPTOKI_ALREADY_INITIALIZED). The slot is looked up again whenever a session is
//! opened after a failure, because slot IDs are not stable across token re-insertion.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;

use crate::error::{Error, Result};

/// Loaded modules, by path. Never unloaded: unloading a module under live sessions is
/// undefined behaviour in most HSM libraries.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// Loads (once per process) and initialises a PKCS#11 module.
fn load_module(path: &Path) -> Result<Pkcs11> {
    let modules = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut modules = modules.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(module) = modules.get(path) {
        return Ok(module.clone());
    }
    let module = Pkcs11::new(path).map_err(|source| Error::ModuleLoad {
        path: path.to_owned(),
        source,
    })?;
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        // Someone else in this process (another library) initialised it first.
        Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(err) => {
            return Err(Error::ModuleLoad {
                path: path.to_owned(),
                source: err,
            });
        }
    }
    modules.insert(path.to_owned(), module.clone());
    Ok(module)
}

/// A token: a loaded module plus the label of the token to use.
#[derive(Debug, Clone)]
pub struct Token {
    module: Pkcs11,
    module_path: PathBuf,
    label: Arc<str>,
}

impl Token {
    /// Loads the module and checks that exactly one slot holds a token with this label.
    pub fn open(module_path: &Path, label: &str) -> Result<Token> {
        let token = Token {
            module: load_module(module_path)?,
            module_path: module_path.to_owned(),
            label: Arc::from(label),
        };
        token.slot()?;
        Ok(token)
    }

    /// The token label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Finds the slot holding the token, by label.
    pub(crate) fn slot(&self) -> Result<Slot> {
        let mut found = Vec::new();
        for slot in self.module.get_slots_with_initialized_token()? {
            let info = self.module.get_token_info(slot)?;
            if info.label().trim_end() == &*self.label {
                found.push(slot);
            }
        }
        match found.as_slice() {
            [slot] => Ok(*slot),
            [] => Err(Error::TokenNotFound {
                label: self.label.to_string(),
                module: self.module_path.clone(),
            }),
            more => Err(Error::TokenAmbiguous {
                label: self.label.to_string(),
                count: more.len(),
            }),
        }
    }

    /// Opens a read/write session; does not log in.
    pub(crate) fn open_session(&self) -> Result<Session> {
        Ok(self.module.open_rw_session(self.slot()?)?)
    }

    /// Opens a read/write session and logs the user (Crypto Officer) in. Login state is
    /// per application and token, so "already logged in" counts as success.
    pub(crate) fn user_session(&self, pin: &SecretString) -> Result<Session> {
        let session = self.open_session()?;
        self.login(&session, UserType::User, pin)?;
        Ok(session)
    }

    /// Logs a session in as `user`, mapping a wrong or locked PIN to clear errors.
    pub(crate) fn login(
        &self,
        session: &Session,
        user: UserType,
        pin: &SecretString,
    ) -> Result<()> {
        match session.login(user, Some(pin)) {
            Ok(()) => Ok(()),
            Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(cryptoki::error::Error::Pkcs11(RvError::PinIncorrect, _)) => Err(Error::WrongPin {
                label: self.label.to_string(),
            }),
            Err(cryptoki::error::Error::Pkcs11(RvError::PinLocked, _)) => Err(Error::PinLocked {
                label: self.label.to_string(),
            }),
            Err(err) => Err(err.into()),
        }
    }
}
