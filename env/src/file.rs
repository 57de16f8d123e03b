//! Writing an env file so that it is never readable by anyone but its
//! owner, not even for a moment: created 0600 from birth, never chmodded
//! after the fact, and replaced only on request by an atomic rename.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `path` with `bytes`, mode 0600 from `open(O_CREAT|O_EXCL)` on.
/// An existing file is an [`Error::Exists`] unless `force`; then the bytes go
/// to a fresh 0600 temporary file in the same directory, renamed over it.
pub fn write_new_file_0600(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    match create_0600(path, bytes) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            if !force {
                return Err(Error::Exists {
                    path: path.to_path_buf(),
                });
            }
            replace(path, bytes)
        }
        other => other,
    }
}

fn create_0600(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    for attempt in 0..100u32 {
        let suffix: u32 = rand::random();
        let tmp = dir.join(format!(".{name}.{suffix:08x}.{attempt}.tmp"));
        match create_0600(&tmp, bytes) {
            Ok(()) => {
                return std::fs::rename(&tmp, path).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    io(path)(e)
                });
            }
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    }
    Err(io(path)(std::io::Error::other(
        "no free temporary file name",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_0600_and_not_overwritten_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.yml");
        write_new_file_0600(&path, b"one", false).unwrap();
        assert_eq!(mode(&path), 0o600);
        let e = write_new_file_0600(&path, b"two", false).unwrap_err();
        assert!(matches!(e, Error::Exists { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_new_file_0600(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn mode_is_0600_even_with_a_permissive_umask() {
        // The mode comes from open(2); with umask 0 a create-then-chmod
        // writer would have been 0666 for a moment. We check the inode as
        // created, before anything else touches it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.yml");
        create_0600(&path, b"").unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
