//! `ecsfleet-lab demo`: the main job end to end on the twin (up, install of
//! the real ecs-appliance, envs, push-env, activate, the first user, status),
//! each phase shown as it runs; every host ends running.
//!
//! Twin hosts 140 and 141 (127.0.0.150, 127.0.0.151) belong to this module.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::lab::{ecsfleet, show};
use crate::support::twin::lab_binary;

/// `ecsfleet-lab down --dir DIR` when dropped, even when the test panics.
struct Down(PathBuf);

impl Down {
    fn run(&self) -> Output {
        Command::new(lab_binary())
            .arg("down")
            .arg("--dir")
            .arg(&self.0)
            .stdin(Stdio::null())
            .output()
            .expect("running ecsfleet-lab down")
    }
}

impl Drop for Down {
    fn drop(&mut self) {
        if self.0.join("hosts").exists() {
            let output = self.run();
            if !output.status.success() {
                eprintln!("ecsfleet-lab down in Drop failed: {}", show(&output));
            }
        }
    }
}

/// The phases the demo announces (lab/src/demo.rs), in order.
fn phases(lab: &Path, inventory: &str) -> Vec<String> {
    let dir = lab.display();
    vec![
        format!(
            "==> bring up the twin hosts (real systemd, sshd, PostgreSQL)\n    \
             $ ecsfleet-lab up --hosts 2 --first 140 --dir {dir}\n"
        ),
        format!(
            "==> install the real ecs-appliance on every host (preflight, packages, appliance tree, salt, highstate)\n    \
             $ ecsfleet -i {inventory} install --all --yes --appliance-source {dir}/ecs-appliance\n"
        ),
        format!(
            "==> make an env with fresh secrets for lab140.ecs.test\n    \
             $ ecsfleet -i {inventory} env new lab140.ecs.test --out {dir}/env/lab140.ecs.test/env.yml\n"
        ),
        format!(
            "==> make an env with fresh secrets for lab141.ecs.test\n    \
             $ ecsfleet -i {inventory} env new lab141.ecs.test --out {dir}/env/lab141.ecs.test/env.yml\n"
        ),
        format!(
            "==> upload every env (checked, atomic, 0600)\n    \
             $ ecsfleet -i {inventory} push-env --all --yes\n"
        ),
        format!(
            "==> activate: create the database, activate the env, reboot, wait until running\n    \
             $ ecsfleet -i {inventory} activate --all --yes\n"
        ),
        format!(
            "==> create the first internal user on lab140 (passphrase into a 0600 file)\n    \
             $ ecsfleet -i {inventory} user create lab140 admin@ecs.test Ada Admin f \
             --passphrase-file {dir}/lab140.admin.passphrase\n"
        ),
        format!(
            "==> the fleet's status\n    \
             $ ecsfleet -i {inventory} status --all\n"
        ),
    ]
}

#[test]
fn lab_demo_takes_empty_hosts_to_running_appliances() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let down = Down(lab.clone());
    let output = Command::new(lab_binary())
        .args(["demo", "--hosts", "2", "--first", "140", "--dir"])
        .arg(&lab)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "demo failed: {}",
        show(&output)
    );

    // Every phase ran, in order, each announced with its command.
    let inventory = lab.join("inventory/hosts.yml");
    let mut rest = stderr.as_str();
    for phase in phases(&lab, &inventory.display().to_string()) {
        let at = rest
            .find(&phase)
            .unwrap_or_else(|| panic!("phase {phase:?} not shown (in order) in:\n{stderr}"));
        rest = &rest[at + phase.len()..];
    }
    assert!(
        rest.contains("The twin stays up: try `ecsfleet -i "),
        "{stderr}"
    );
    // The last phase's table: both hosts.
    for host in ["lab140", "lab141"] {
        assert!(stdout.contains(host), "{stdout}");
    }

    let status = ecsfleet()
        .arg("-i")
        .arg(&inventory)
        .args(["--no-ssh-config", "status", "--all", "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", show(&status));
    let hosts: Vec<serde_json::Value> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    for host in &hosts {
        assert_eq!(host["state"], "running", "{host}");
    }

    let passphrase = lab.join("lab140.admin.passphrase");
    let mode = std::fs::metadata(&passphrase).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let secret = std::fs::read_to_string(&passphrase).unwrap();
    assert!(!secret.trim().is_empty());
    assert!(
        !stderr.contains(secret.trim()),
        "the passphrase reached the screen"
    );
    assert!(!stdout.contains(secret.trim()));

    let output = down.run();
    assert!(output.status.success(), "{}", show(&output));
    assert!(!lab.join("hosts").exists(), "down left hosts behind");
}
