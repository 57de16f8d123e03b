//! `status` and `env diff` against the real prepare-env, which never copies
//! /app/env.yml byte for byte (it drops trailing newlines and appends
//! `USERDATA_TYPE: local`, env.include:94-103): running, stopped and
//! not-installed hosts, an env pushed but not active, and no secret shown.

use std::fs;
use std::process::Output;

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_no_secret(output: &Output, env: &str, what: &str) {
    let shown = text(output);
    let secrets = crate::support::secrets::secrets_of(env);
    assert!(secrets.len() > 20, "the env has its secrets");
    for secret in secrets {
        assert!(
            !shown.contains(&secret),
            "{what} printed a secret line: {secret}"
        );
    }
}

fn states(fleet: &TwinFleet) -> Vec<(String, String, serde_json::Value)> {
    let output = fleet.ecsfleet(&["--json", "status", "--all"]);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["host"].as_str().unwrap().to_string(),
                v["state"].as_str().unwrap().to_string(),
                v["active_env_matches"].clone(),
            )
        })
        .collect()
}

#[test]
fn status_and_env_diff_follow_the_real_prepare_env() {
    let fleet = TwinFleet::up(116, 2);
    let (host, bare) = (fleet.name(0), fleet.name(1));
    let output = fleet.install(&host);
    assert!(output.status.success(), "install: {}", show(&output));
    let env = fleet.dir().join(format!("env/{host}.ecs.test/env.yml"));
    let domain = format!("{host}.ecs.test");
    fleet.ecsfleet_ok(&["env", "new", &domain, "--out", env.to_str().unwrap()]);
    let first = fs::read_to_string(&env).unwrap();
    fleet.ecsfleet_ok(&["push-env", &host, "--yes"]);
    let output = fleet.ecsfleet(&["activate", &host, "--yes"]);
    assert!(output.status.success(), "activate: {}", show(&output));

    assert_eq!(
        states(&fleet),
        [
            (host.clone(), "running".to_string(), serde_json::json!(true)),
            (
                bare.clone(),
                "not installed".to_string(),
                serde_json::Value::Null
            ),
        ]
    );
    // Active and equal, though never byte-equal on the host.
    let same = fleet.ecsfleet(&["env", "diff", &host]);
    assert_eq!(same.status.code(), Some(0), "{}", show(&same));
    assert_eq!(String::from_utf8_lossy(&same.stdout), "");

    // The same domain with all new secrets: a masked diff.
    fleet.ecsfleet_ok(&[
        "env",
        "new",
        &domain,
        "--out",
        env.to_str().unwrap(),
        "--force",
    ]);
    let second = fs::read_to_string(&env).unwrap();
    let diff = fleet.ecsfleet(&["env", "diff", &host]);
    assert_eq!(diff.status.code(), Some(1), "{}", show(&diff));
    assert!(
        String::from_utf8_lossy(&diff.stdout).contains("<secret sha256:"),
        "{}",
        show(&diff)
    );
    assert_no_secret(&diff, &first, "env diff");
    assert_no_secret(&diff, &second, "env diff");

    // Pushed but not active: said so, against the active env.
    let pushed = fleet.ecsfleet_ok(&["push-env", &host, "--yes"]);
    assert_no_secret(&pushed, &first, "push-env");
    assert_no_secret(&pushed, &second, "push-env");
    let diff = fleet.ecsfleet(&["env", "diff", &host]);
    assert_eq!(diff.status.code(), Some(1), "{}", show(&diff));
    assert!(
        String::from_utf8_lossy(&diff.stderr).contains(&format!(
            "{host}:/run/active-env.yml is not {host}:/app/env.yml"
        )),
        "{}",
        show(&diff)
    );
    assert_eq!(states(&fleet)[0].2, serde_json::json!(false));

    // The appliance's own env-update.sh activates it.
    fleet.inside_ok(&host, "env-update.sh");
    let same = fleet.ecsfleet(&["env", "diff", &host]);
    assert_eq!(same.status.code(), Some(0), "{}", show(&same));
    assert_eq!(states(&fleet)[0].2, serde_json::json!(true));

    // Stopped by hand: stopped, not failed.
    fleet.inside_ok(&host, "systemctl stop appliance");
    assert_eq!(states(&fleet)[0].1, "stopped");
}
