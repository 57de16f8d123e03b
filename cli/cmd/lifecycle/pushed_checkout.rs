//! The pushed appliance tree must survive the appliance's own update.
//!
//! appliance-update.sh compares `git config --get remote.origin.url` in
//! /app/appliance with APPLIANCE_GIT_SOURCE (the env's `appliance.git.source`,
//! default `https://github.com/ecs-org/ecs-appliance.git`, appliance.include:8-9)
//! and, when they differ (always so for a tree without `.git`), deletes the
//! tree and clones upstream (appliance-update.sh:116-137,182-189); it then
//! checks out `appliance.git.branch` (default master) with a hard reset
//! (193-214). So install pushes a real git checkout, and refuses one whose
//! origin or branch disagrees with the env of a host it goes to.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

pub const DEFAULT_SOURCE: &str = "https://github.com/ecs-org/ecs-appliance.git";
pub const DEFAULT_BRANCH: &str = "master";

/// What the local checkout is: its origin URL and current branch.
#[derive(Debug, PartialEq, Eq)]
pub struct Checkout {
    pub origin: String,
    pub branch: String,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Reads the checkout at `dir`, or says why it cannot be pushed.
pub fn read(dir: &Path) -> Result<Checkout> {
    if !dir.join(".git").exists() {
        return Err(Error::usage(format!(
            "--appliance-source {}: not a git checkout (no .git). The appliance's own update \
deletes a tree whose origin differs from appliance.git.source and clones upstream \
(appliance-update.sh:116-137,182-189); push a clone instead: \
git clone {DEFAULT_SOURCE} {}",
            dir.display(),
            dir.display()
        )));
    }
    let origin = git(dir, &["config", "--get", "remote.origin.url"]).unwrap_or_default();
    let branch = git(dir, &["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_default();
    Ok(Checkout { origin, branch })
}

/// The env's wish for one host: (source, branch), defaults filled in.
pub fn wanted(env_text: Option<&str>) -> (String, String) {
    let doc = env_text.and_then(|t| ecsfleet_env::load(t).ok());
    let get = |path: &str, default: &str| {
        doc.as_ref()
            .and_then(|d| d.at(path))
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| default.to_string())
    };
    (
        get("appliance.git.source", DEFAULT_SOURCE),
        get("appliance.git.branch", DEFAULT_BRANCH),
    )
}

/// None when the checkout agrees with what the host's env asks for; else
/// the reason, naming both sides and the fix.
pub fn disagreement(checkout: &Checkout, source: &str, branch: &str) -> Option<String> {
    if checkout.origin != source {
        return Some(format!(
            "the checkout's origin is {:?} but the env's appliance.git.source is {source:?}: \
the appliance's first update would delete the pushed tree and clone {source} \
(appliance-update.sh:182-189). Fix: git -C SOURCE remote set-url origin {source}, \
or set appliance.git.source in the env",
            checkout.origin
        ));
    }
    if checkout.branch != branch {
        return Some(format!(
            "the checkout is on branch {:?} but the env's appliance.git.branch is {branch:?}: \
the appliance's first update would check out {branch} (appliance-update.sh:193-214). \
Fix: git -C SOURCE checkout {branch}, or set appliance.git.branch in the env",
            checkout.branch
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_the_env_says_nothing() {
        assert_eq!(
            wanted(Some("appliance:\n  domain: a.example\n")),
            (DEFAULT_SOURCE.to_string(), "master".to_string())
        );
        assert_eq!(
            wanted(None),
            (DEFAULT_SOURCE.to_string(), "master".to_string())
        );
        assert_eq!(
            wanted(Some(
                "appliance:\n  git:\n    source: https://example.org/a.git\n    branch: stable\n"
            )),
            (
                "https://example.org/a.git".to_string(),
                "stable".to_string()
            )
        );
    }

    #[test]
    fn a_clone_without_dot_git_suffix_disagrees() {
        // bootstrap-appliance.sh:42 clones the URL without `.git`: even a stock
        // install is re-cloned at its first update.
        let checkout = Checkout {
            origin: "https://github.com/ecs-org/ecs-appliance".into(),
            branch: "master".into(),
        };
        let why = disagreement(&checkout, DEFAULT_SOURCE, "master").unwrap();
        assert!(
            why.starts_with(
                "the checkout's origin is \"https://github.com/ecs-org/ecs-appliance\" but"
            ),
            "{why}"
        );
        let same = Checkout {
            origin: DEFAULT_SOURCE.into(),
            branch: "master".into(),
        };
        assert_eq!(disagreement(&same, DEFAULT_SOURCE, "master"), None);
        let other_branch = Checkout {
            origin: DEFAULT_SOURCE.into(),
            branch: "dev".into(),
        };
        assert!(
            disagreement(&other_branch, DEFAULT_SOURCE, "master")
                .unwrap()
                .contains("branch \"dev\"")
        );
    }

    #[test]
    fn a_tree_without_git_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a git checkout (no .git)"), "{err}");
        assert!(
            err.contains("git clone https://github.com/ecs-org/ecs-appliance.git"),
            "{err}"
        );
    }
}
