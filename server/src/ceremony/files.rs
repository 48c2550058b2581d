//! Files the ceremony reads and writes: size-checked reads into zeroizing memory, and new
//! private (0600) files that are never silently overwritten.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use super::{Error, Result};

/// Reads a UTF-8 file of at most `max` bytes into zeroizing memory (shares are secret).
pub(super) fn read_text(path: &Path, max: u64, what: &'static str) -> Result<Zeroizing<String>> {
    let read_error = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let too_large = || Error::TooLarge {
        path: path.to_owned(),
        what,
        max,
    };
    let file = File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    if len > max {
        return Err(too_large());
    }
    // Room for the whole file up front, so the buffer is not reallocated (leaving copies).
    let capacity = usize::try_from(len).unwrap_or(0).saturating_add(64);
    let mut text = Zeroizing::new(String::with_capacity(capacity));
    file.take(max.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(read_error)?;
    if text.len() as u64 > max {
        return Err(too_large());
    }
    Ok(text)
}

/// Fails with [`Error::Exists`] if `path` exists (even as a dangling link) and not `force`.
pub(super) fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    if !force && path.symlink_metadata().is_ok() {
        return Err(Error::Exists {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Writes a new file with mode 0600. With `force` an existing file (or link) is removed
/// first, so the new one never inherits another file's permissions or target.
pub(super) fn write_new(path: &Path, contents: &[u8], force: bool) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if force {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(write_error(e)),
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Exists {
                path: path.to_owned(),
            }
        } else {
            write_error(e)
        }
    })?;
    if let Err(e) = file.write_all(contents).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(write_error(e));
    }
    Ok(())
}

/// Makes `dir` (mode 0700) if it does not exist.
pub(super) fn make_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest share file, as the ceremony reads it.
    const MAX_SHARE_LEN: u64 = super::super::MAX_SHARE_LEN;

    #[test]
    fn write_new_refuses_to_overwrite_and_force_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.json");
        write_new(&path, b"first", false).expect("first write");
        assert!(matches!(
            write_new(&path, b"second", false),
            Err(Error::Exists { .. })
        ));
        assert!(matches!(
            refuse_existing(&path, false),
            Err(Error::Exists { .. })
        ));
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        write_new(&path, b"second", true).expect("forced write");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_private_even_when_forced_over_a_public_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("share-1.txt");
        std::fs::write(&path, b"old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_new(&path, b"new", true).expect("forced write");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("share");
        std::fs::write(&path, vec![b'a'; 2048]).expect("write");
        assert!(matches!(
            read_text(&path, MAX_SHARE_LEN, "custodian share"),
            Err(Error::TooLarge { max: 1024, .. })
        ));
        std::fs::write(&path, b"kms-share-v1").expect("write");
        assert_eq!(
            read_text(&path, MAX_SHARE_LEN, "custodian share")
                .expect("small file")
                .as_str(),
            "kms-share-v1"
        );
    }
}
