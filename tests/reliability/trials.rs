//! Repeated trials of the transfer faults, for the report's counts: on a
//! fleet of three, push-env a new env version N times while one host drops
//! every transfer and another has a full disk. Every trial: the healthy
//! host gets the new version whole, the faulty ones keep the previous one
//! whole (content and mode), no lock or temp file of ours beyond the known
//! upload leftover (faults.rs has its ignored test), and a rerun after the
//! fault delivers. (sshd killed at several moments of an install runs on
//! the twin: tests/twin/reliability.rs.)
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
