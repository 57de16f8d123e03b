//! SIGINT and SIGTERM to ecsfleet during an upload, during a long remote
//! step and during a reboot wait: exit 130, the lock released, no partial
//! file, and the journal records the interruption (the interrupted step and
//! host, and a `run_finished` record with `interrupted: true`).
//! tests/lifecycle.rs has SIGINT during a long step; SIGTERM and the other
//! moments are here. Lab hosts 180..=184.

use std::fs;
use std::process::Child;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use super::rig::{LONG, Ran, Rig, figure, signal};
use crate::support::lab::wait_for;

fn wait_exit(child: Child) -> Ran {
    Ran::from(child.wait_with_output().expect("waiting for ecsfleet"))
}

/// The journal's records of `run`.
fn journal(rig: &Rig, run: &str) -> Vec<serde_json::Value> {
    rig.journal()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["run"] == run)
        .collect()
}

fn assert_journal_interrupted(rig: &Rig, ran: &Ran, host: &str, step: &str) {
    let records = journal(rig, &ran.run_id());
    assert!(
        records.iter().any(|r| r["kind"] == "step"
            && r["host"] == host
            && r["name"] == step
            && r["result"] == "interrupted"),
        "no interrupted step {step}: {records:#?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "host" && r["host"] == host && r["result"] == "interrupted"),
        "{records:#?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "run_finished" && r["interrupted"] == true),
        "{records:#?}"
    );
}

#[test]
fn sigterm_during_a_long_step_exits_130_releases_the_lock_and_is_journaled() {
    let rig = Rig::up(180, 1);
    let host = rig.names().remove(0);
    rig.write_playbook(
        "slow",
        "name: slow\nsteps:\n- name: long\n  run: touch /root/long-started; sleep 60\n- name: after\n  run: touch /root/after-slow\n",
    );
    let child = rig.spawn(&["--json", "run", "slow", &host, "--yes"]);
    wait_for("the lock", LONG, || {
        rig.lab.host_file_exists(&host, "/run/ecsfleet.lock")
    });
    wait_for("the long step", LONG, || {
        rig.lab.host_file_exists(&host, "/root/long-started")
    });
    signal(&child, libc::SIGTERM);
    let ran = wait_exit(child);
    assert_eq!(ran.code, Some(130), "{ran:#?}");
    rig.assert_unlocked(&host);
    assert!(!rig.lab.host_file_exists(&host, "/root/after-slow"));
    assert_eq!(ran.host_result(&host), "interrupted");
    assert_journal_interrupted(&rig, &ran, &host, "long");
    figure(
        json!({"interrupt": "SIGTERM", "during": "long remote step", "trials": 1,
        "exit": 130, "lock_released": true, "partial_files": 0}),
    );
}

/// A 256 MiB upload interrupted once by SIGINT and once by SIGTERM as soon
/// as its temp file appears on the host: the old file stays as it was, the
/// temp file goes, the lock is released.
#[test]
fn sigint_and_sigterm_during_an_upload() {
    let rig = Rig::up(181, 1);
    let host = rig.names().remove(0);
    let big = rig.lab.dir().join("playbooks/big.bin");
    fs::create_dir_all(big.parent().unwrap()).unwrap();
    fs::File::create(&big).unwrap().set_len(256 << 20).unwrap();
    rig.write_playbook(
        "bigupload",
        "name: bigupload\nsteps:\n- name: send\n  upload: {src: big.bin, dest: /root/big.bin, mode: \"0640\"}\n",
    );
    rig.lab.ssh_ok(
        &host,
        "printf old > /root/big.bin && chmod 0600 /root/big.bin",
    );
    let temp_exists = || {
        fs::read_dir(rig.lab.host_path(&host, "/root"))
            .unwrap()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".ecsfleet-upload.")
            })
    };
    let mut trials = 0;
    for (name, sig) in [("SIGINT", libc::SIGINT), ("SIGTERM", libc::SIGTERM)] {
        let child = rig.spawn(&["--json", "run", "bigupload", &host, "--yes"]);
        let deadline = Instant::now() + LONG;
        while !temp_exists() {
            assert!(Instant::now() < deadline, "the upload never started");
            sleep(Duration::from_millis(5));
        }
        signal(&child, sig);
        let ran = wait_exit(child);
        if ran.code == Some(0) {
            // The upload won the race; the signal came after it. Try again.
            continue;
        }
        trials += 1;
        assert_eq!(ran.code, Some(130), "{name}: {ran:#?}");
        rig.assert_unlocked(&host);
        assert_eq!(ran.host_result(&host), "interrupted", "{ran:#?}");
        assert_journal_interrupted(&rig, &ran, &host, "send");
        // The remote shell sees the connection close and its trap removes
        // the temp file; give it a moment.
        wait_for("the temp file to go", LONG, || !temp_exists());
        rig.assert_file(&host, "/root/big.bin", b"old", 0o600);
        rig.assert_no_partial_files(&host);
    }
    assert!(trials > 0, "every upload finished before the signal");
    figure(
        json!({"interrupt": "SIGINT+SIGTERM", "during": "256 MiB upload", "trials": trials,
        "exit": 130, "lock_released": true, "partial_files": 0}),
    );
}

/// SIGTERM while the host is down in a reboot (slow boot): 130 at once,
/// and once the host is back nothing ran after the reboot step.
#[test]
fn sigterm_during_a_reboot_wait() {
    let rig = Rig::up_with(182, 1, &["--slow-boot-delay", "3600"]);
    let host = rig.names().remove(0);
    rig.write_playbook(
        "rebootwait",
        "name: rebootwait\nsteps:\n- name: reboot\n  reboot: {timeout: 10m}\n- name: after\n  run: touch /root/after-reboot\n",
    );
    rig.lab.fault(&host, "slow-boot", true);
    let child = rig.spawn(&["--json", "run", "rebootwait", &host, "--yes"]);
    wait_for("the reboot", LONG, || {
        rig.lab.calls(&host).iter().any(|c| c[0] == "reboot")
    });
    wait_for("the host to be down", LONG, || {
        !rig.lab.ssh(&host, "true").status.success()
    });
    signal(&child, libc::SIGTERM);
    let ran = wait_exit(child);
    assert_eq!(ran.code, Some(130), "{ran:#?}");
    assert_eq!(ran.host_result(&host), "interrupted");
    assert_journal_interrupted(&rig, &ran, &host, "reboot");
    rig.lab.fault(&host, "slow-boot", false);
    rig.wait_answers(&host);
    rig.assert_unlocked(&host);
    assert!(!rig.lab.host_file_exists(&host, "/root/after-reboot"));
    figure(
        json!({"interrupt": "SIGTERM", "during": "reboot wait", "trials": 1,
        "exit": 130, "lock_released": true, "partial_files": 0}),
    );
}
