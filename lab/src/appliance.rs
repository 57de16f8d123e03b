//! The real ecs-appliance repository, which the twin installs like any host:
//! from ../shared/third_party/ecs-appliance.bundle beside this repository
//! (or $ECSFLEET_APPLIANCE_BUNDLE), else cloned from the public repository;
//! always checked out at the pinned commit.
//!
//! The checkout's origin is the URL the appliance's own update compares with
//! (APPLIANCE_GIT_SOURCE, appliance.include:8-9) and its branch `master`, so
//! the real appliance-update.sh finds the pushed tree as its own
//! (appliance-update.sh:116-137) instead of deleting it.

use std::path::{Path, PathBuf};

use crate::command;
use crate::error::Result;

pub const PINNED_COMMIT: &str = "1aaa4d9828b37855e6e01e6250597e81f14c997b";
pub const UPSTREAM: &str = "https://github.com/ecs-org/ecs-appliance.git";

/// Where the bundle is, when it is there.
pub fn bundle() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ECSFLEET_APPLIANCE_BUNDLE") {
        return Some(PathBuf::from(path));
    }
    let beside =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/third_party/ecs-appliance.bundle");
    beside.exists().then_some(beside)
}

/// A clone at `dir` (made once): bare for a host's mirror, or a work tree
/// at the pinned commit on branch master with origin = UPSTREAM.
pub fn clone(dir: &Path, bare: bool) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let from = bundle()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| UPSTREAM.to_string());
    let target = dir.display().to_string();
    let mut args = vec!["clone", "-q"];
    if bare {
        args.push("--bare");
    }
    args.extend([from.as_str(), target.as_str()]);
    command::run("cloning the ecs-appliance repository", "git", &args)?;
    let git = |args: &[&str]| -> Result<()> {
        let mut all = vec!["-C", target.as_str()];
        all.extend_from_slice(args);
        command::run("preparing the ecs-appliance checkout", "git", &all).map(|_| ())
    };
    if bare {
        git(&["update-ref", "refs/heads/master", PINNED_COMMIT])?;
    } else {
        git(&["checkout", "-q", "-B", "master", PINNED_COMMIT])?;
        git(&["remote", "set-url", "origin", UPSTREAM])?;
        git(&["update-ref", "refs/remotes/origin/master", PINNED_COMMIT])?;
        git(&["branch", "-q", "--set-upstream-to=origin/master", "master"])?;
    }
    Ok(())
}
