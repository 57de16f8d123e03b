//! `ecsfleet vagrant provision|inventory` through a `vagrant` stand-in that
//! points at lab hosts, and `vagrant validate` of vagrant/Vagrantfile.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{json_lines, show, text};
use crate::support::lab::{LabFleet, ecsfleet};

/// A `vagrant` stand-in: prints `ssh_config` for `ssh-config [NAME]`,
/// `status` for `status --machine-readable`, fails `ssh-config` without a
/// name when `fail_all` (as Vagrant does when a machine is not running),
/// and logs its arguments.
fn stand_in(dir: &Path, ssh_config: &str, status: &str, fail_all: bool) -> PathBuf {
    fs::write(dir.join("ssh-config.txt"), ssh_config).unwrap();
    fs::write(dir.join("status.txt"), status).unwrap();
    let script = dir.join("vagrant");
    let d = dir.display();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$*\" >> '{d}/calls.log'\n\
             case \"$1\" in\n\
             ssh-config)\n\
               if [ -z \"$2\" ] && [ {fail_all} = true ]; then echo 'The provider for this Vagrant-managed machine is reporting that it is not yet ready for SSH.' >&2; exit 1; fi\n\
               if [ -n \"$2\" ]; then awk -v m=\"$2\" '/^Host /{{p=($2==m)}} p' '{d}/ssh-config.txt'; else cat '{d}/ssh-config.txt'; fi ;;\n\
             status) cat '{d}/status.txt' ;;\n\
             *) echo \"stand-in: unexpected $*\" >&2; exit 1 ;;\n\
             esac\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A login user with passwordless sudo, as a Vagrant box has.
fn box_user() -> &'static str {
    let user = "ecsfleet-vagrant";
    let exists = Command::new("id")
        .arg(user)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let status = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", user])
            .status()
            .unwrap();
        assert!(status.success(), "useradd needs root");
    }
    // With UsePAM no, sshd refuses a locked account even for keys.
    assert!(
        Command::new("usermod")
            .args(["-p", "*", user])
            .status()
            .unwrap()
            .success()
    );
    let sudoers = format!("/etc/sudoers.d/{user}");
    fs::write(&sudoers, format!("{user} ALL=(ALL) NOPASSWD:ALL\n")).unwrap();
    fs::set_permissions(&sudoers, fs::Permissions::from_mode(0o440)).unwrap();
    user
}

/// A minimal ecs-appliance checkout.
fn appliance_tree(dir: &Path) {
    crate::support::appliance_checkout(dir);
}

fn has_highstate(fleet: &LabFleet, host: &str) -> bool {
    fleet
        .calls(host)
        .iter()
        .any(|c| c.len() > 1 && c[0] == "salt-call" && c[1] == "state.highstate")
}

#[test]
fn vagrant_provision_installs_the_box_and_pins_its_key() {
    let fleet = LabFleet::up(95, 1);
    let host = fleet.name(0);
    let address = fleet.address(&host);
    let user = box_user();
    let work = tempfile::Builder::new()
        .prefix("ecsfleet-vagrant-")
        .tempdir()
        .unwrap();
    // The box's key under a path with a space, as Vagrant quotes it.
    let keys = work.path().join("my boxes");
    fs::create_dir_all(&keys).unwrap();
    let key = keys.join("private_key");
    fs::copy(fleet.client_key(), &key).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let ssh_config = format!(
        "Host ecs\n  HostName {address}\n  User {user}\n  Port 22\n  UserKnownHostsFile /dev/null\n  \
         StrictHostKeyChecking no\n  PasswordAuthentication no\n  IdentityFile \"{}\"\n  \
         IdentitiesOnly yes\n  LogLevel FATAL\n\n",
        key.display()
    );
    let bin = work.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let vagrant = stand_in(&bin, &ssh_config, "", false);
    let source = work.path().join("ecs-appliance");
    appliance_tree(&source);
    let inventory = work.path().join("vagrant/inventory/hosts.yml");
    let provision = || {
        ecsfleet()
            .current_dir(work.path())
            .env("ECSFLEET_VAGRANT", &vagrant)
            .env("ECSFLEET_APPLIANCE_SOURCE", &source)
            .arg("-i")
            .arg(&inventory)
            .args(["vagrant", "provision", "ecs"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let output = provision();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert!(has_highstate(&fleet, &host), "{:?}", fleet.calls(&host));
    let calls = fs::read_to_string(bin.join("calls.log")).unwrap();
    assert_eq!(calls, "ssh-config ecs\n");
    let written = fs::read_to_string(&inventory).unwrap();
    for line in [
        format!("    address: {address}"),
        format!("    user: {user}"),
        "    become: true".to_owned(),
        format!("    identity: \"{}\"", key.display()),
    ] {
        assert!(written.contains(&line), "{line:?} in\n{written}");
    }
    // The key is pinned for this box's address only.
    let pins = fs::read_to_string(work.path().join("vagrant/inventory/known_hosts")).unwrap();
    let lab_key = fs::read_to_string(fleet.known_hosts()).unwrap();
    let lab_key = lab_key
        .split_whitespace()
        .skip(1)
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(pins.trim(), format!("{address} {lab_key}"));
    assert!(text(&output.stdout).contains("no env in its inventory entry"));

    // The operator names an env; provision keeps it, pushes it, activates.
    let env = work.path().join("vagrant/env/lab.ecs.test/env.yml");
    let made = ecsfleet()
        .arg("-i")
        .arg(&inventory)
        .args(["env", "new", &format!("{host}.ecs.test"), "--out"])
        .arg(&env)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", show(&made));
    fs::write(
        &inventory,
        written.replace(
            "    become: true\n",
            &format!("    become: true\n    env: {}\n", env.display()),
        ),
    )
    .unwrap();
    let output = provision();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("already pinned"), "{stdout}");
    assert_eq!(
        fleet.read_host_file(&host, "/app/env.yml"),
        Some(fs::read(&env).unwrap())
    );
    assert!(
        fleet
            .calls(&host)
            .iter()
            .any(|c| c.first().is_some_and(|p| p == "reboot")),
        "{:?}",
        fleet.calls(&host)
    );
    assert!(
        fs::read_to_string(&inventory)
            .unwrap()
            .contains(&format!("env: {}", env.display()))
    );

    // Recreated box, new key: refused, the fix named, nothing run.
    let before = fleet.calls(&host).len();
    fs::write(
        work.path().join("vagrant/inventory/known_hosts"),
        format!("{address} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9NoRmG8Nu7cTm5whJ7ZQppdovfK24dYwf2QGYEDoK3\n"),
    )
    .unwrap();
    let output = provision();
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error: ecs: step: pin the host key."),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("ssh-keygen -R '{address}'")),
        "{stderr}"
    );
    assert_eq!(fleet.calls(&host).len(), before);
}

#[test]
fn vagrant_provision_without_a_name_installs_every_box() {
    let fleet = LabFleet::up(97, 2);
    let work = tempfile::tempdir().unwrap();
    let key = fleet.client_key();
    let ssh_config: String = fleet
        .names()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            format!(
                "Host box{i}\n  HostName {}\n  User root\n  Port 22\n  IdentityFile {}\n  LogLevel FATAL\n\n",
                fleet.address(host),
                key.display()
            )
        })
        .collect();
    let bin = work.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let vagrant = stand_in(&bin, &ssh_config, "", false);
    let source = work.path().join("ecs-appliance");
    appliance_tree(&source);
    let inventory = work.path().join("boxes.yml");
    let output = ecsfleet()
        .env("ECSFLEET_VAGRANT", &vagrant)
        .arg("-i")
        .arg(&inventory)
        .args(["--json", "vagrant", "provision", "--appliance-source"])
        .arg(&source)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert_eq!(
        fs::read_to_string(bin.join("calls.log")).unwrap(),
        "ssh-config\n"
    );
    for host in fleet.names() {
        assert!(
            has_highstate(&fleet, &host),
            "{host}: {:?}",
            fleet.calls(&host)
        );
    }
    let lines = json_lines(&output);
    let pinned: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "host_key" && l["result"] == "pinned")
        .collect();
    assert_eq!(pinned.len(), 2, "{lines:?}");
    let finished = lines
        .iter()
        .find(|l| l["event"] == "run_finished")
        .expect("install's events");
    assert_eq!(finished["ok"], 2);
    let pins = fs::read_to_string(work.path().join("known_hosts")).unwrap();
    assert_eq!(pins.lines().count(), 2, "{pins}");
}

#[test]
fn vagrant_inventory_lists_only_running_machines() {
    let work = tempfile::tempdir().unwrap();
    let ssh_config = "Host ecs1\n  HostName 127.0.0.1\n  User vagrant\n  Port 2222\n  \
                      IdentityFile /home/ops/.vagrant.d/insecure_private_key\n\n\
                      Host ecs2\n  HostName 127.0.0.1\n  User vagrant\n  Port 2200\n\n";
    let status = "1764057600,ecs1,state,running\n1764057600,ecs2,state,poweroff\n";
    let vagrant = stand_in(work.path(), ssh_config, status, true);
    let output = ecsfleet()
        .current_dir(work.path())
        .env("ECSFLEET_VAGRANT", &vagrant)
        .args(["vagrant", "inventory"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    assert_eq!(
        text(&output.stdout),
        "hosts:\n  ecs1:\n    address: 127.0.0.1\n    port: 2222\n    user: vagrant\n    \
         identity: /home/ops/.vagrant.d/insecure_private_key\n    become: true\n"
    );
    assert_eq!(
        fs::read_to_string(work.path().join("calls.log")).unwrap(),
        "ssh-config\nstatus --machine-readable\nssh-config ecs1\n"
    );

    // No vagrant at all: a usage error that says what to do.
    let output = ecsfleet()
        .env("ECSFLEET_VAGRANT", work.path().join("nowhere"))
        .args(["vagrant", "inventory"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("point ECSFLEET_VAGRANT at it"));
}

#[test]
fn vagrant_validate_accepts_the_vagrantfile() {
    let vagrantfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("vagrant/Vagrantfile");
    let original = fs::read_to_string(&vagrantfile).unwrap();
    assert!(original.contains("ECSFLEET_MEMORY\", \"4096\""));
    assert!(original.contains("\"vagrant\", \"provision\", name]"));
    // A copy: validate writes .vagrant/ beside the file and uses VAGRANT_HOME.
    let validate = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Vagrantfile"), text).unwrap();
        Command::new("vagrant")
            .arg("validate")
            .current_dir(dir.path())
            .env("VAGRANT_HOME", dir.path().join("home"))
            .env("VAGRANT_CHECKPOINT_DISABLE", "1")
            .output()
            .expect("Debian's vagrant package (/usr/bin/vagrant)")
    };
    let output = validate(&original);
    assert!(output.status.success(), "{}", show(&output));
    assert!(text(&output.stdout).contains("Vagrantfile validated successfully."));
    // validate really reads the triggers: a bad one is refused.
    let broken = original.replace("trigger.on_error = :halt", "trigger.on_error = :later");
    let output = validate(&broken);
    assert!(!output.status.success(), "{}", show(&output));
    assert!(
        text(&output.stderr).contains("`on_error` can\nonly be `:halt` (default) or `:continue`"),
        "{}",
        show(&output)
    );
}
