//! The twin's base image: one Debian 12 root file system per recipe, built
//! by twin/build-base.sh with debootstrap and cached under
//! /var/lib/ecsfleet-lab/base-HASH, where HASH covers the script and the
//! package list, so a changed recipe builds a new base. Every host is an
//! overlay with this base as its lower layer; the base is never written.
//! Builds are serialised by a lock file, so parallel `up`s build it once.

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::command;
use crate::error::{Error, Result};

const BUILD_SCRIPT: &str = include_str!("../twin/build-base.sh");
const PACKAGES: &str = include_str!("../twin/base-packages");
pub const CACHE: &str = "/var/lib/ecsfleet-lab";

pub fn recipe_hash() -> String {
    let mut hash = Sha256::new();
    hash.update(BUILD_SCRIPT.as_bytes());
    hash.update([0]);
    hash.update(PACKAGES.as_bytes());
    let digest = hash.finalize();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn path() -> PathBuf {
    PathBuf::from(CACHE).join(format!("base-{}", recipe_hash()))
}

/// The base of the current recipe, built first when missing.
pub fn ensure(quiet: bool) -> Result<PathBuf> {
    let base = path();
    let cache = PathBuf::from(CACHE);
    fs::create_dir_all(&cache).map_err(|e| Error::io(format!("creating {CACHE}"), e))?;
    let lock_path = cache.join("base.lock");
    let lock = fs::File::create(&lock_path)
        .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
    // SAFETY: flock on a descriptor we own; released when `lock` drops.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::io(
            format!("locking {}", lock_path.display()),
            std::io::Error::last_os_error(),
        ));
    }
    if base.join("usr/bin/systemctl").exists() {
        return Ok(base);
    }
    if !quiet {
        eprintln!(
            "ecsfleet-lab: building the twin's base image at {} (debootstrap, once per recipe; a few minutes)",
            base.display()
        );
    }
    let script = cache.join("build-base.sh");
    let packages = cache.join("base-packages");
    fs::write(&script, BUILD_SCRIPT).map_err(|e| Error::io("writing build-base.sh", e))?;
    fs::write(&packages, PACKAGES).map_err(|e| Error::io("writing base-packages", e))?;
    let base_arg = base.display().to_string();
    command::run(
        "building the base image",
        "bash",
        &[
            &script.display().to_string(),
            &base_arg,
            &packages.display().to_string(),
        ],
    )?;
    Ok(base)
}
