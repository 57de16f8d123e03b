//! `ecsfleet vagrant provision` through a `vagrant` stand-in whose
//! `ssh-config` points at twin hosts: the box is written into the inventory
//! with `become: true`, its host key pinned for its address only, the real
//! ecs-appliance installed (then push-env and activate when the entry names
//! an env); a recreated box with a new key is refused before anything runs.
//!
//! Twin hosts 134..=136 (127.0.0.144 ..= 127.0.0.146) belong to this module.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::support::lab::{ecsfleet, show};
use crate::support::twin::TwinFleet;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A `vagrant` stand-in: prints `ssh_config` for `ssh-config [NAME]` and
/// logs its arguments; anything else fails.
fn stand_in(dir: &Path, ssh_config: &str) -> PathBuf {
    fs::write(dir.join("ssh-config.txt"), ssh_config).unwrap();
    let script = dir.join("vagrant");
    let d = dir.display();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$*\" >> '{d}/calls.log'\n\
             case \"$1\" in\n\
             ssh-config)\n\
               if [ -n \"$2\" ]; then awk -v m=\"$2\" '/^Host /{{p=($2==m)}} p' '{d}/ssh-config.txt'; else cat '{d}/ssh-config.txt'; fi ;;\n\
             *) echo \"stand-in: unexpected $*\" >&2; exit 1 ;;\n\
             esac\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The box's login user: the twin's `vagrant` (passwordless sudo, the lab's
/// client key: lab/twin/root/usr/lib/ecs-lab/firstboot.d/20-vagrant-user),
/// as a Vagrant box has it. The old lab made one on this machine's /etc.
const BOX_USER: &str = "vagrant";

fn highstates(fleet: &TwinFleet, host: &str) -> usize {
    fleet
        .calls(host)
        .iter()
        .filter(|c| c.len() > 1 && c[0] == "salt-call" && c[1] == "state.highstate")
        .count()
}

fn boot_id(fleet: &TwinFleet, host: &str) -> String {
    fleet
        .inside_ok(host, "cat /proc/sys/kernel/random/boot_id")
        .trim()
        .to_owned()
}

/// Sessions sshd accepted so far (its journal since boot).
fn accepted_logins(fleet: &TwinFleet, host: &str) -> usize {
    fleet
        .inside_ok(host, "journalctl -b -q -o cat -u ssh.service || true")
        .lines()
        .filter(|l| l.starts_with("Accepted publickey"))
        .count()
}

#[test]
fn vagrant_provision_installs_the_box_and_pins_its_key() {
    let fleet = TwinFleet::up(134, 1);
    let host = fleet.name(0);
    let address = fleet.address(&host);
    let user = BOX_USER;
    assert_eq!(
        fleet.inside_ok(&host, "id -un vagrant; sudo -l -U vagrant | tail -1"),
        "vagrant\n    (ALL) NOPASSWD: ALL\n"
    );
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
    let vagrant = stand_in(&bin, &ssh_config);
    let source = fleet.appliance_checkout();
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
    assert_eq!(highstates(&fleet, &host), 1, "{:?}", fleet.calls(&host));
    // The real highstate ran (as root, through sudo): its units are placed
    // (salt/appliance/systemd/init.sls:29-39).
    assert!(fleet.host_file_exists(&host, "/etc/systemd/system/appliance.service"));
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
    let booted = boot_id(&fleet, &host);
    let output = provision();
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("already pinned"), "{stdout}");
    assert_eq!(
        fleet.read_host_file(&host, "/app/env.yml"),
        Some(fs::read(&env).unwrap())
    );
    // Activate rebooted the host: the twin's reboot is real (a new boot id),
    // where the old simulator logged a `reboot` call.
    assert_ne!(boot_id(&fleet, &host), booted, "activate did not reboot");
    assert!(
        fs::read_to_string(&inventory)
            .unwrap()
            .contains(&format!("env: {}", env.display()))
    );

    // Recreated box, new key: refused, the fix named, nothing run (no
    // session accepted by the box's sshd, no highstate).
    let (states, logins) = (highstates(&fleet, &host), accepted_logins(&fleet, &host));
    assert!(
        logins > 0,
        "the journal shows the sessions provision opened"
    );
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
    assert_eq!(highstates(&fleet, &host), states);
    assert_eq!(accepted_logins(&fleet, &host), logins);
}

#[test]
fn vagrant_provision_without_a_name_installs_every_box() {
    let fleet = TwinFleet::up(135, 2);
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
    let vagrant = stand_in(&bin, &ssh_config);
    let source = fleet.appliance_checkout();
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
        assert_eq!(
            highstates(&fleet, &host),
            1,
            "{host}: {:?}",
            fleet.calls(&host)
        );
        assert!(fleet.host_file_exists(&host, "/etc/systemd/system/appliance.service"));
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
