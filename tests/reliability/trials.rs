//! Repeated trials of the transfer faults, for the report's counts: on a
//! fleet of three, push-env a new env version N times while one host drops
//! every transfer and another has a full disk. Every trial: the healthy
//! host gets the new version whole, the faulty ones keep the previous one
//! whole (content and mode), no lock or temp file of ours beyond the known
//! upload leftover (faults.rs has its ignored test), and a rerun after the
//! fault delivers. Also sshd killed at several moments of an install.
//! Lab hosts 194..=198.

use std::fs;

use serde_json::json;

use super::rig::{Rig, figure};

const TRIALS: usize = 4;

#[test]
fn repeated_transfer_faults_never_leave_a_half_written_env() {
    let rig = Rig::up(194, 3);
    let [ok, dropped, full] = <[String; 3]>::try_from(rig.names()).unwrap();
    for host in [&ok, &dropped, &full] {
        rig.new_env(host);
    }
    rig.ok(&["push-env", "--all", "--yes"]);
    let mut outcomes = Vec::new();
    for trial in 0..TRIALS {
        let before: Vec<Vec<u8>> = [&ok, &dropped, &full]
            .iter()
            .map(|h| fs::read(rig.env_path(h)).unwrap())
            .collect();
        let after: Vec<Vec<u8>> = [&ok, &dropped, &full]
            .iter()
            .zip(&before)
            .map(|(h, old)| {
                let mut text = old.clone();
                text.extend_from_slice(format!("# version {trial}\n").as_bytes());
                fs::write(rig.env_path(h), &text).unwrap();
                text
            })
            .collect();
        rig.lab.fault(&dropped, "drop-mid-transfer", true);
        rig.lab.fault(&full, "disk-full", true);
        let ran = rig.run(&["--json", "push-env", "--all", "--yes"]);
        assert_eq!(ran.code, Some(1), "trial {trial}: {ran:#?}");
        let results: Vec<String> = ran
            .events()
            .iter()
            .map(|e| {
                format!(
                    "{}={}",
                    e["host"].as_str().unwrap(),
                    e["result"].as_str().unwrap()
                )
            })
            .collect();
        assert!(results.contains(&format!("{ok}=pushed")), "{results:?}");
        assert!(
            results.contains(&format!("{dropped}=failed")),
            "{results:?}"
        );
        assert!(results.contains(&format!("{full}=failed")), "{results:?}");
        rig.assert_file(&ok, "/app/env.yml", &after[0], 0o600);
        rig.lab.fault(&full, "disk-full", false);
        rig.lab.fault(&dropped, "drop-mid-transfer", false);
        rig.wait_answers(&dropped);
        rig.assert_file(&dropped, "/app/env.yml", &before[1], 0o600);
        rig.assert_file(&full, "/app/env.yml", &before[2], 0o600);
        rig.ok(&["push-env", "--all", "--yes"]);
        for (host, text) in [&ok, &dropped, &full].iter().zip(&after) {
            rig.assert_file(host, "/app/env.yml", text, 0o600);
            rig.assert_unlocked(host);
        }
        outcomes.push(results);
    }
    for fault in ["drop-mid-transfer", "disk-full"] {
        figure(
            json!({"fault": fault, "operation": "push-env (repeated)", "trials": TRIALS,
            "hosts": 3, "affected": 1, "data_lost": 0, "recovered": "rerun"}),
        );
    }
}

/// sshd and its sessions killed at several moments of a real `install`
/// (right after the lock is taken, then later): wherever the kill lands,
/// the other host finishes, the victim is either done or reported failed
/// at a step, its tree is whole or absent, and `--resume` finishes the job.
#[test]
fn sshd_killed_at_several_moments_of_an_install() {
    let rig = Rig::up(197, 2);
    let [victim, other] = <[String; 2]>::try_from(rig.names()).unwrap();
    let source = tempfile::tempdir().unwrap();
    super::rig::appliance_tree(source.path());
    let src = source.path().to_str().unwrap().to_owned();
    let mut failed_at = Vec::new();
    for (trial, delay_ms) in [0u64, 150, 300, 600].into_iter().enumerate() {
        // A changed tree each time, so every install pushes it again.
        let marker = format!("trial {trial}\n");
        fs::write(source.path().join("salt/trial"), &marker).unwrap();
        let child = rig.spawn(&[
            "--json",
            "install",
            "--all",
            "--appliance-source",
            &src,
            "--yes",
        ]);
        crate::support::lab::wait_for("the lock", super::rig::LONG, || {
            rig.lab.host_file_exists(&victim, "/run/ecsfleet.lock")
        });
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        super::rig::kill_sshd(&rig.lab, &victim);
        let ran = super::rig::Ran::from(child.wait_with_output().unwrap());
        assert_eq!(ran.host_result(&other), "ok", "{ran:#?}");
        rig.wait_answers(&victim);
        rig.assert_unlocked(&victim);
        if ran.code != Some(0) {
            let (step, name) = ran
                .failed_step(&victim)
                .unwrap_or((0, "before the first step".into()));
            failed_at.push(format!("{step} {name}"));
            let again = rig.run(&[
                "--json",
                "install",
                "--all",
                "--appliance-source",
                &src,
                "--yes",
                "--resume",
                &ran.run_id(),
            ]);
            assert_eq!(again.code, Some(0), "trial {trial}: {again:#?}");
        }
        rig.assert_file(
            &victim,
            "/app/appliance/salt/trial",
            marker.as_bytes(),
            0o644,
        );
        rig.assert_unlocked(&victim);
    }
    figure(
        json!({"fault": "sshd killed at 4 moments", "operation": "install",
        "trials": 4, "hosts": 2, "affected": 1, "failed_at": failed_at, "data_lost": 0,
        "recovered": "resume"}),
    );
}
