//! push-env runs outside the playbook executor (its own fan-out in
//! cli/cmd/push_env.rs), so the executor's lock and signal handling do not
//! cover it. These tests hold it to the same rules: a host another run has
//! locked is refused, and SIGINT/SIGTERM while it waits for an activation
//! ends it with 130 and leaves a whole env. Lab hosts 189..=191.

use std::process::Stdio;

use super::rig::{LONG, Ran, Rig, signal};
use crate::support::lab::wait_for;

#[test]
fn push_env_refuses_a_host_another_run_has_locked() {
    let rig = Rig::up(189, 1);
    let host = rig.names().remove(0);
    rig.new_env(&host);
    rig.write_playbook(
        "hold",
        "name: hold\nsteps:\n- name: hold\n  run: sleep 30\n",
    );
    let mut holder = rig
        .command(&["run", "hold", &host, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the lock", LONG, || {
        rig.lab.host_file_exists(&host, "/run/ecsfleet.lock")
    });
    let ran = rig.run(&["push-env", &host, "--yes"]);
    signal(&holder, libc::SIGINT);
    let _ = holder.wait();
    assert_ne!(ran.code, Some(0), "{ran:#?}");
    assert!(ran.all().contains("locked by"), "{ran:#?}");
    assert!(!rig.lab.host_file_exists(&host, "/app/env.yml"));
}

#[test]
fn push_env_activate_interrupted_by_sigterm_exits_130() {
    // --activate restarts the appliance, which takes an hour to start here,
    // so push-env is left waiting for it.
    let rig = Rig::up_with(190, 1, &["--start-delay", "3600"]);
    let host = rig.names().remove(0);
    rig.install_by_hand(&host);
    rig.lab.ssh_ok(
        &host,
        "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8",
    );
    let env = rig.new_env(&host);
    let child = rig.spawn(&["push-env", &host, "--yes", "--activate"]);
    wait_for("the restart", LONG, || {
        rig.lab
            .calls(&host)
            .iter()
            .any(|c| c.len() > 2 && c[0] == "systemctl" && c.iter().any(|a| a == "restart"))
    });
    signal(&child, libc::SIGTERM);
    let ran = Ran::from(child.wait_with_output().unwrap());
    rig.wait_answers(&host);
    assert_eq!(ran.code, Some(130), "{ran:#?}");
    rig.assert_file(&host, "/app/env.yml", env.as_bytes(), 0o600);
    rig.assert_no_partial_files(&host);
}
