//! The node's files are its own. The store holds Argon2 hashes of client passwords and the
//! wrapped key material; the audit trail names every client and operation; the Raft log and
//! snapshots carry both. So every directory the node makes is created mode 0700 and every file
//! 0600 (whatever the umask), and at start the node refuses a data or audit directory, or
//! anything in them, that the group or others may read, write or enter: a looser mode means
//! someone else set it, and the node says where instead of serving from it.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of every directory the node creates.
pub const DIR_MODE: u32 = 0o700;

/// Mode of every file the node creates.
pub const FILE_MODE: u32 = 0o600;

/// Permission bits of the group and others: none may be set.
const GROUP_AND_OTHERS: u32 = 0o077;

/// Why a directory tree is not private.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// The group or others have access.
    #[error(
        "{path} has mode {mode:04o}: the group and others must have no access (chmod go-rwx {path})"
    )]
    Loose {
        /// The directory or file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The tree could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Creates `dir` and any missing parent, each new one mode 0700; existing ones are left as
/// they are (and checked by [`check_private_tree`]).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Options that create a file mode 0600 (an existing file keeps its mode).
pub fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(FILE_MODE);
    options
}

/// Creates `path` empty, mode 0600, unless it exists: for files another library opens by
/// name (redb), so that they are born private.
pub fn touch_private(path: &Path) -> io::Result<()> {
    private_file()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
}

/// Refuses `root` when it, or any directory or file below it, gives the group or others any
/// access. Symbolic links are judged by what they point to and not followed into
/// directories. A missing `root` passes (the node creates it).
pub fn check_private_tree(root: &Path) -> Result<(), PermissionError> {
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PermissionError::Io {
                path: root.to_owned(),
                source,
            });
        }
    };
    check_mode(root, meta.permissions().mode())?;
    if meta.is_dir() {
        check_entries(root)?;
    }
    Ok(())
}

fn check_entries(dir: &Path) -> Result<(), PermissionError> {
    let io = |source| PermissionError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        let mode = if kind.is_symlink() {
            match fs::metadata(&path) {
                Ok(target) => target.permissions().mode(),
                // A dangling link gives no access to anything.
                Err(_) => continue,
            }
        } else {
            entry.metadata().map_err(io)?.permissions().mode()
        };
        check_mode(&path, mode)?;
        if kind.is_dir() {
            check_entries(&path)?;
        }
    }
    Ok(())
}

fn check_mode(path: &Path, mode: u32) -> Result<(), PermissionError> {
    if mode & GROUP_AND_OTHERS != 0 {
        return Err(PermissionError::Loose {
            path: path.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::{PermissionError, check_private_tree, create_private_dir, touch_private};

    fn mode(path: &std::path::Path) -> u32 {
        fs::metadata(path).expect("stat").permissions().mode() & 0o7777
    }

    fn chmod(path: &std::path::Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn created_private_and_a_loose_entry_anywhere_is_named_with_its_mode() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("data");
        assert!(check_private_tree(&root).is_ok(), "a missing root passes");
        let nested = root.join("audit").join("deeper");
        create_private_dir(&nested).expect("mkdir");
        let file = root.join("audit").join("segment");
        touch_private(&file).expect("touch");
        assert_eq!(
            (mode(&root), mode(&nested), mode(&file)),
            (0o700, 0o700, 0o600)
        );
        check_private_tree(&root).expect("private");

        for (path, loose, back) in [
            (&root, 0o755, 0o700),
            (&nested, 0o710, 0o700),
            (&file, 0o644, 0o600),
            (&file, 0o602, 0o600),
        ] {
            chmod(path, loose);
            match check_private_tree(&root) {
                Err(PermissionError::Loose { path: named, mode }) => {
                    assert_eq!((&named, mode), (path, loose));
                }
                other => panic!("{} at {loose:o} passed: {other:?}", path.display()),
            }
            chmod(path, back);
        }
        // An existing file keeps its mode: touching does not tighten (or loosen) it.
        chmod(&file, 0o640);
        touch_private(&file).expect("touch");
        assert_eq!(mode(&file), 0o640);
    }

    #[test]
    fn a_link_is_judged_by_its_target_and_not_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("data");
        create_private_dir(&root).expect("mkdir");
        let outside = tmp.path().join("outside");
        fs::write(&outside, b"x").expect("write");
        chmod(&outside, 0o644);
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
        assert!(matches!(
            check_private_tree(&root),
            Err(PermissionError::Loose { mode: 0o644, .. })
        ));
        chmod(&outside, 0o600);
        check_private_tree(&root).expect("a private target passes");
        std::os::unix::fs::symlink(tmp.path().join("gone"), root.join("dangling"))
            .expect("symlink");
        check_private_tree(&root).expect("a dangling link passes");
    }
}
