//! Where the SoftHSM2 PKCS#11 module is: `KMS_PKCS11_MODULE`, else the first of the places
//! Debian and a source build put it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable that names the module and overrides the search.
pub const MODULE_VAR: &str = "KMS_PKCS11_MODULE";

/// Where the module is looked for, in this order (Debian's package, its multiarch directories,
/// a build from source). `scripts/softhsm-module.sh` holds the same list.
pub const MODULE_CANDIDATES: [&str; 4] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// No module was named and none was found in [`MODULE_CANDIDATES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no SoftHSM2 module found in the usual places; install softhsm2 or set {MODULE_VAR}")]
pub struct NoModule;

/// The SoftHSM2 module: `KMS_PKCS11_MODULE` when set and not empty (taken as it is: a wrong
/// path fails when the module is loaded, naming it), else the first file of
/// [`MODULE_CANDIDATES`] that exists.
pub fn module() -> Result<PathBuf, NoModule> {
    find_module(
        std::env::var_os(MODULE_VAR),
        &MODULE_CANDIDATES.map(Path::new),
    )
}

/// [`module`]'s rule, with the variable's value and the places given.
pub fn find_module(named: Option<OsString>, candidates: &[&Path]) -> Result<PathBuf, NoModule> {
    match named {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => candidates
            .iter()
            .find(|path| path.is_file())
            .map(|path| path.to_path_buf())
            .ok_or(NoModule),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(dir: &Path) -> [PathBuf; 3] {
        ["a.so", "b.so", "c.so"].map(|name| dir.join(name))
    }

    #[test]
    fn the_variable_wins_even_over_existing_places() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b, _] = places(dir.path());
        std::fs::write(&a, b"").unwrap();
        let found = find_module(Some(b.clone().into_os_string()), &[&a]);
        assert_eq!(found, Ok(b), "named, even though it does not exist");
    }

    #[test]
    fn an_empty_variable_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        let [a, _, _] = places(dir.path());
        std::fs::write(&a, b"").unwrap();
        assert_eq!(find_module(Some(OsString::new()), &[&a]), Ok(a));
    }

    #[test]
    fn the_first_existing_place_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b, c] = places(dir.path());
        std::fs::write(&b, b"").unwrap();
        std::fs::write(&c, b"").unwrap();
        assert_eq!(find_module(None, &[&a, &b, &c]), Ok(b.clone()));
        assert_eq!(find_module(None, &[&c, &b]), Ok(c));
    }

    #[test]
    fn a_directory_is_not_a_module() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_module(None, &[dir.path()]), Err(NoModule));
    }

    #[test]
    fn nothing_found_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b, _] = places(dir.path());
        let err = find_module(None, &[&a, &b]).unwrap_err();
        assert!(err.to_string().contains(MODULE_VAR), "{err}");
    }
}
