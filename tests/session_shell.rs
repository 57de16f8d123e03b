//! Playbook runs send a host's commands to one session shell (one channel)
//! instead of a channel each; `--channel-per-command` goes back to a
//! channel each. Proven on real sshd: `$$` names the shell a command runs
//! in, the same one for every step of a host's run, or a new one per
//! channel.

use std::fs;

use crate::support::lab::{LabFleet, run, run_ok, show};

fn write_playbook(fleet: &LabFleet, name: &str, yaml: &str) {
    let dir = fleet.dir().join("playbooks");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("{name}.yml")), yaml).unwrap();
}

/// The `$$` each of three steps saw.
fn shells_of_steps(fleet: &LabFleet, host: &str, extra: &[&str]) -> Vec<String> {
    fleet.ssh_ok(host, "rm -f /root/parents");
    let mut args = extra.to_vec();
    args.extend(["run", "parents", host, "--yes"]);
    run_ok(fleet, &args);
    let text = String::from_utf8(fleet.read_host_file(host, "/root/parents").unwrap()).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn a_run_sends_every_command_to_one_shell_unless_told_otherwise() {
    let fleet = LabFleet::up(215, 1);
    let host = fleet.name(0);
    let step = "- name: parent\n  run: echo $$ >> /root/parents\n";
    write_playbook(
        &fleet,
        "parents",
        &format!(
            "name: parents\nsteps:\n{}- name: exact output\n  run: printf 'no newline' | tee /root/printed\n",
            step.repeat(3)
        ),
    );

    let shared = shells_of_steps(&fleet, &host, &[]);
    assert_eq!(shared.len(), 3, "{shared:?}");
    assert!(shared.iter().all(|p| *p == shared[0]), "{shared:?}");
    assert_eq!(
        fleet.read_host_file(&host, "/root/printed").unwrap(),
        b"no newline"
    );

    let separate = shells_of_steps(&fleet, &host, &["--channel-per-command"]);
    assert_eq!(separate.len(), 3, "{separate:?}");
    assert!(
        separate[0] != separate[1] && separate[1] != separate[2],
        "{separate:?}"
    );
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
}

/// A step that times out leaves its shell busy: the lock is still
/// released, through a new one, and the next run works.
#[test]
fn a_timed_out_step_does_not_hold_up_the_lock_release_or_the_next_run() {
    let fleet = LabFleet::up(216, 1);
    let host = fleet.name(0);
    write_playbook(
        &fleet,
        "stuck",
        "name: stuck\nsteps:\n- name: hangs\n  run: sleep 30\n  timeout: 1s\n\
         - name: never\n  run: touch /root/never\n",
    );
    write_playbook(
        &fleet,
        "after",
        "name: after\nsteps:\n- name: one\n  run: echo one > /root/after\n\
         - name: two\n  run: echo two >> /root/after\n",
    );

    let out = run(&fleet, &["run", "stuck", &host, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 1/2 \"hangs\"") && stderr.contains("timed out after 1 s"),
        "{stderr}"
    );
    assert!(!fleet.host_file_exists(&host, "/root/never"));
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));

    run_ok(&fleet, &["run", "after", &host, "--yes"]);
    assert_eq!(
        fleet.read_host_file(&host, "/root/after").unwrap(),
        b"one\ntwo\n"
    );
}
