//! What `lab up` needs from the machine, checked before anything starts:
//! root, the programs, PostgreSQL's server binaries, the locales.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

const INSTALL_HINT: &str = "install them with `scripts/lab-deps.sh` (as root, on Debian)";

/// The empty directories a host's bind mounts cover; they must exist on the
/// machine. They are left in place by `lab down`: removing one that another
/// lab's host has mounted over would detach that mount.
pub const MOUNT_POINTS: &[&str] = &[
    "/app",
    "/data",
    "/volatile",
    "/etc/salt",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/local/share/appliance",
    "/var/www/html",
    "/var/lib/ecs-lab",
];

/// PostgreSQL's server binaries, e.g. /usr/lib/postgresql/15/bin.
#[derive(Debug, Clone)]
pub struct Postgres {
    pub bin: PathBuf,
    pub version: String,
}

pub fn require_root(what: &str) -> Result<()> {
    if crate::lab::process::is_root() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} needs root (namespaces, bind mounts, port 22 on 127.0.0.x): run it with sudo"
        )))
    }
}

/// Checks programs, PostgreSQL and locales; one error naming everything missing.
pub fn check_machine() -> Result<Postgres> {
    let mut missing = Vec::new();
    for program in [
        "/usr/sbin/sshd",
        "ssh-keygen",
        "unshare",
        "setsid",
        "runuser",
        "setpriv",
        "flock",
        "mount",
        "ps",
        "sudo",
        "gzip",
    ] {
        if !program_exists(program) {
            missing.push(program.to_string());
        }
    }
    for user in ["postgres", "sshd", "app"] {
        if !user_exists(user) {
            missing.push(format!("user {user}"));
        }
    }
    let postgres = find_postgres();
    if postgres.is_none() {
        missing.push("PostgreSQL server (/usr/lib/postgresql/VERSION/bin/initdb)".to_string());
    }
    let locales = Command::new("locale")
        .arg("-a")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).to_lowercase())
        .unwrap_or_default();
    for locale in ["de_de.utf8", "en_us.utf8"] {
        if !locales.lines().any(|line| line.trim() == locale) {
            missing.push(format!("locale {locale}"));
        }
    }
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "the lab needs {} which this machine lacks; {INSTALL_HINT}",
            missing.join(", ")
        )));
    }
    postgres.ok_or_else(|| Error::usage(INSTALL_HINT))
}

pub fn ensure_mount_points() -> Result<()> {
    for dir in MOUNT_POINTS {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {dir}"), e))?;
    }
    Ok(())
}

/// Lab hosts share the machine's users: the appliance's `app` must exist.
fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .is_ok_and(|passwd| passwd.lines().any(|l| l.split(':').next() == Some(name)))
}

fn program_exists(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(program).is_file())
}

/// The newest /usr/lib/postgresql/N/bin holding initdb, pg_ctl and postgres.
fn find_postgres() -> Option<Postgres> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "postgres", "psql"]
                .iter()
                .all(|p| bin.join(p).is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    let (version, bin) = found.pop()?;
    Some(Postgres {
        bin,
        version: version.to_string(),
    })
}
