//! Reboots that take long or never end, during `activate` on a fleet: a
//! reboot that never comes back within --reboot-timeout fails that host at
//! its reboot step (the others finish) and `--resume` completes once it is
//! back; a slow boot inside the timeout is simply waited for.
//! Lab hosts 174..=175 and 192..=193.

use std::fs;

use serde_json::json;

use super::rig::{Rig, figure};

/// A reboot that never comes back within --reboot-timeout: the host fails
/// at the reboot step, the other finishes; once it boots, --resume goes on.
#[test]
fn activate_with_a_reboot_that_never_comes_back_then_resume() {
    let rig = Rig::up_with(174, 2, &["--slow-boot-delay", "3600"]);
    let [ok, slow] = <[String; 2]>::try_from(rig.names()).unwrap();
    for host in [&ok, &slow] {
        rig.install_by_hand(host);
        rig.new_env(host);
    }
    rig.ok(&["push-env", "--all", "--yes"]);
    rig.lab.fault(&slow, "slow-boot", true);
    let ran = rig.run(&[
        "--json",
        "activate",
        "--all",
        "--yes",
        "--reboot-timeout",
        "20",
        "--wait-interval",
        "0.3",
    ]);
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert_eq!(ran.host_result(&ok), "ok", "{ran:#?}");
    assert_eq!(ran.host_result(&slow), "failed", "{ran:#?}");
    assert_eq!(ran.failed_step(&slow).unwrap().1, "reboot");
    let error = ran.host_finished(&slow)["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.contains("did not come back"), "{error}");
    assert!(error.contains("--reboot-timeout"), "{error}");

    rig.lab.fault(&slow, "slow-boot", false);
    rig.wait_answers(&slow);
    let again = rig.run(&[
        "--json",
        "activate",
        "--all",
        "--yes",
        "--reboot-timeout",
        "60",
        "--wait-interval",
        "0.3",
        "--resume",
        &ran.run_id(),
    ]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    for host in [&ok, &slow] {
        rig.assert_unlocked(host);
        assert_eq!(
            rig.lab.read_host_file(host, "/run/active-env.yml"),
            Some(fs::read(rig.env_path(host)).unwrap())
        );
    }
    figure(
        json!({"fault": "reboot never comes back (slow-boot, --reboot-timeout 20)",
        "operation": "activate", "trials": 1, "hosts": 2, "affected": 1, "data_lost": 0,
        "recovered": "resume"}),
    );
    figure(
        json!({"fault": "slow boot", "operation": "activate --resume", "trials": 1,
        "hosts": 2, "affected": 1, "data_lost": 0, "recovered": "resume"}),
    );
}

#[test]
fn a_slow_boot_inside_the_reboot_timeout_is_waited_for() {
    let rig = Rig::up_with(192, 2, &["--slow-boot-delay", "8"]);
    let [slow, ok] = <[String; 2]>::try_from(rig.names()).unwrap();
    for host in [&slow, &ok] {
        rig.install_by_hand(host);
        rig.new_env(host);
    }
    rig.ok(&["push-env", "--all", "--yes"]);
    rig.lab.fault(&slow, "slow-boot", true);
    let ran = rig.run(&[
        "--json",
        "activate",
        "--all",
        "--yes",
        "--reboot-timeout",
        "120",
        "--wait-interval",
        "0.3",
    ]);
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let reboot = ran
        .events()
        .into_iter()
        .find(|e| {
            e["event"] == "step_finished" && e["host"] == slow.as_str() && e["name"] == "reboot"
        })
        .unwrap();
    assert!(
        reboot["note"].as_str().unwrap().contains("boot id changed"),
        "{reboot}"
    );
    for host in [&slow, &ok] {
        rig.assert_unlocked(host);
        assert!(!rig.lab.host_file_exists(host, "/var/www/html/503.html"));
    }
    figure(
        json!({"fault": "slow boot (8 s, inside --reboot-timeout)", "operation": "activate",
        "trials": 1, "hosts": 2, "affected": 1, "data_lost": 0, "recovered": "not needed"}),
    );
}
