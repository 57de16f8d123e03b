//! `ecsfleet vagrant inventory` through a `vagrant` stand-in, and `vagrant
//! validate` of vagrant/Vagrantfile. `vagrant provision` runs install, so its
//! tests run on the twin (tests/twin/vagrant.rs).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{show, text};
use crate::support::lab::ecsfleet;

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
