//! Faults on a fleet of lab hosts while a real operation runs (push-env,
//! update --all, a playbook; install with faults runs on the twin,
//! tests/twin/reliability.rs): the healthy hosts finish; the faulty
//! host is reported with host, step and cause; no host keeps a partial
//! file (content and mode checked); the remote lock is released; a rerun or
//! `--resume RUN_ID` completes the work. tests/lab.rs proves the switches
//! themselves and tests/fleet_ops.rs one dropped push-env on one host; here
//! the faults meet whole runs over several hosts at once.
//! Lab hosts 161..=172, 176..=179 (reboots.rs has 174..=175, 192).

use std::fs;

use serde_json::json;

use super::rig::{LONG, Rig, figure, kill_sshd};
use crate::support::lab::wait_for;

/// Temp files of ecsfleet or mktemp under /app and /root, seen from the host
/// (a disk-full host's /app is a tmpfs only its namespace sees).
fn partial_files_over_ssh(rig: &Rig, name: &str) -> String {
    rig.lab.ssh_ok(
        name,
        "find /app /root -maxdepth 3 \\( -name '.ecsfleet-*' ! -name .ecsfleet-tree.sha256 -o -name '*.part' -o -name 'tmp.*' \\) -print 2>/dev/null; true",
    )
}

fn file_over_ssh(rig: &Rig, name: &str, path: &str) -> (String, String) {
    let content = rig.lab.ssh_ok(name, &format!("cat {path}"));
    let mode = rig.lab.ssh_ok(name, &format!("stat -c %a {path}"));
    (content, mode.trim().to_owned())
}

#[test]
fn push_env_with_changed_key_full_disk_dropped_and_unreachable_hosts() {
    let rig = Rig::up(166, 5);
    let names = rig.names();
    for host in &names {
        rig.new_env(host);
    }
    rig.ok(&["push-env", "--all", "--yes"]);
    let old: Vec<Vec<u8>> = names
        .iter()
        .map(|h| fs::read(rig.env_path(h)).unwrap())
        .collect();
    // A changed env for each host (a new comment line: valid, different).
    let new: Vec<Vec<u8>> = names
        .iter()
        .map(|h| {
            let mut text = fs::read(rig.env_path(h)).unwrap();
            text.extend_from_slice(b"# second version\n");
            fs::write(rig.env_path(h), &text).unwrap();
            text
        })
        .collect();
    let [ok, changed, full, dropped, unreachable] = <[String; 5]>::try_from(names.clone()).unwrap();
    rig.lab.fault(&changed, "hostkey-change", true);
    rig.lab.fault(&full, "disk-full", true);
    rig.lab.fault(&dropped, "drop-mid-transfer", true);
    rig.lab.fault(&unreachable, "unreachable", true);

    let ran = rig.run(&["--json", "push-env", "--all", "--yes"]);
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    let result = |host: &str| {
        ran.events()
            .into_iter()
            .find(|e| e["host"] == host)
            .unwrap_or_else(|| panic!("no line for {host}: {ran:#?}"))
    };
    assert_eq!(result(&ok)["result"], "pushed", "{ran:#?}");
    let changed_line = result(&changed);
    assert_eq!(changed_line["result"], "unreachable", "{ran:#?}");
    assert!(
        changed_line["detail"]
            .as_str()
            .unwrap()
            .contains("HAS CHANGED"),
        "{changed_line}"
    );
    for host in [&full, &dropped] {
        assert_eq!(result(host)["result"], "failed", "{host}: {ran:#?}");
    }
    assert!(
        result(&full)["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("space"),
        "{ran:#?}"
    );
    assert_eq!(result(&unreachable)["result"], "unreachable");

    rig.assert_file(&ok, "/app/env.yml", &new[0], 0o600);
    for (i, host) in names.iter().enumerate().skip(1) {
        rig.lab.fault(
            host,
            [
                "",
                "hostkey-change",
                "disk-full",
                "drop-mid-transfer",
                "unreachable",
            ][i],
            false,
        );
        rig.wait_answers(host);
        // The old env, whole and 0600: nothing half-written.
        let (content, mode) = file_over_ssh(&rig, host, "/app/env.yml");
        assert!(content.as_bytes() == old[i], "{host}: env.yml changed");
        assert_eq!(mode, "600", "{host}");
        if *host != dropped {
            assert_eq!(partial_files_over_ssh(&rig, host), "", "{host}");
        }
    }

    let again = rig.run(&["--json", "push-env", "--all", "--yes"]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    for (host, env) in names.iter().zip(&new) {
        rig.assert_file(host, "/app/env.yml", env, 0o600);
        if *host != dropped {
            rig.assert_no_partial_files(host);
        }
    }
    for fault in [
        "hostkey-change",
        "disk-full",
        "drop-mid-transfer",
        "unreachable",
    ] {
        figure(json!({"fault": fault, "operation": "push-env", "trials": 1,
            "hosts": 5, "affected": 1, "data_lost": 0, "recovered": "rerun"}));
    }
}

/// sshd and its sessions killed while a step runs, three times, on one of
/// two hosts: the other finishes, the run names the step, the lock is gone
/// once sshd is back, and `--resume` finishes the work.
#[test]
fn sshd_killed_mid_step_then_resume() {
    let rig = Rig::up(171, 2);
    let [victim, other] = <[String; 2]>::try_from(rig.names()).unwrap();
    rig.write_playbook(
        "slowstep",
        "name: slowstep\nsteps:\n\
         - name: first\n  run: echo x >> /root/first\n\
         - name: long\n  run: sleep 4; touch /root/long\n\
         - name: last\n  run: touch /root/last\n",
    );
    let trials = 3;
    for trial in 0..trials {
        rig.lab
            .ssh_ok(&victim, "rm -f /root/first /root/long /root/last");
        rig.lab
            .ssh_ok(&other, "rm -f /root/first /root/long /root/last");
        let child = rig.spawn(&["--json", "run", "slowstep", "--all", "--yes"]);
        wait_for("step 1 on the victim", LONG, || {
            rig.lab.host_file_exists(&victim, "/root/first")
        });
        kill_sshd(&rig.lab, &victim);
        let ran = super::rig::Ran::from(child.wait_with_output().unwrap());
        assert_eq!(ran.code, Some(1), "trial {trial}: {ran:#?}");
        assert_eq!(ran.host_result(&other), "ok", "{ran:#?}");
        assert_eq!(ran.host_result(&victim), "failed", "{ran:#?}");
        assert_eq!(ran.failed_step(&victim).unwrap().1, "long", "{ran:#?}");
        let error = ran.host_finished(&victim)["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!error.is_empty(), "no cause: {ran:#?}");
        rig.wait_answers(&victim);
        rig.assert_unlocked(&victim);
        rig.assert_unlocked(&other);
        let run = ran.run_id();
        let again = rig.run(&[
            "--json", "run", "slowstep", "--all", "--yes", "--resume", &run,
        ]);
        assert_eq!(again.code, Some(0), "trial {trial}: {again:#?}");
        assert!(rig.lab.host_file_exists(&victim, "/root/last"));
        assert_eq!(
            rig.lab.read_host_file(&victim, "/root/first").unwrap(),
            b"x\n",
            "step 1 ran once"
        );
        rig.assert_unlocked(&victim);
    }
    figure(
        json!({"fault": "sshd killed mid-step", "operation": "run (3 steps)",
        "trials": trials, "hosts": 2, "affected": 1, "data_lost": 0, "recovered": "resume"}),
    );
}

// update with a failing highstate (the real appliance-update's failure
// path) and with unreachable hosts: tests/twin/update.rs and
// tests/twin/reliability.rs, against the real scripts.

#[test]
fn a_killed_upload_leaves_no_temp_file_once_the_push_is_redone() {
    let rig = Rig::up(179, 1);
    let host = rig.names().remove(0);
    rig.new_env(&host);
    rig.lab.fault(&host, "drop-mid-transfer", true);
    let ran = rig.run(&["--json", "push-env", "--all", "--yes"]);
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    rig.lab.fault(&host, "drop-mid-transfer", false);
    rig.wait_answers(&host);
    rig.ok(&["push-env", "--all", "--yes"]);
    rig.assert_no_partial_files(&host);
}
