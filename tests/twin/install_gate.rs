//! Issue 6, "`install` runs the same checks first", on the twin: a host that
//! fails `ecsfleet check` is not installed (the failing check, its reason
//! and the --force hint on stderr; no highstate in its call log), the others
//! in the same run are (the real ecs-appliance, real highstate through the
//! salt-call stand-in); `--force` installs it anyway; a host the check cannot
//! reach is reported unreachable and never run.
//!
//! Twin hosts 130..=133 (127.0.0.140 ..= 127.0.0.143) belong to this module.

use std::fs;
use std::process::Output;

use serde_json::Value;

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every stdout line of a `--json` run, each of which must be JSON.
fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Gives `host` vars in the twin's inventory (one flow-style line per host).
fn give_vars(fleet: &TwinFleet, host: &str, vars: &str) {
    let path = fleet.inventory();
    let yaml = fs::read_to_string(&path).unwrap();
    let prefix = format!("  {host}: {{");
    let mut found = false;
    let edited: Vec<String> = yaml
        .lines()
        .map(|line| match line.strip_suffix('}') {
            Some(head) if line.starts_with(&prefix) => {
                found = true;
                format!("{head}, vars: {vars}}}")
            }
            _ => line.to_owned(),
        })
        .collect();
    assert!(found, "no line for {host} in {yaml}");
    fs::write(&path, edited.join("\n") + "\n").unwrap();
}

fn highstates(fleet: &TwinFleet, host: &str) -> usize {
    fleet
        .calls(host)
        .iter()
        .filter(|argv| argv.len() > 1 && argv[0] == "salt-call" && argv[1] == "state.highstate")
        .count()
}

fn checked<'v>(lines: &'v [Value], host: &str) -> &'v Value {
    lines
        .iter()
        .find(|l| l["event"] == "host_checked" && l["host"] == host)
        .unwrap_or_else(|| panic!("no host_checked for {host}: {lines:?}"))
}

fn row<'v>(checked: &'v Value, name: &str) -> &'v Value {
    checked["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checked}"))
}

#[test]
fn install_refuses_a_host_that_fails_check_installs_the_others_and_force_overrides() {
    // The Vagrantfile's box (Vagrantfile:31-33): 2 cores, 4096 MB.
    let fleet = TwinFleet::up_with(130, 2, &["--memory-mb", "4096", "--cores", "2"]);
    let (small, fine) = (fleet.name(0), fleet.name(1));
    // 2 cores and 4096 MiB are the manual's minimum, far from what 250
    // studies a month need.
    give_vars(&fleet, &small, "{studies_per_month: 250}");
    let source = fleet.appliance_checkout();
    let src = source.to_str().unwrap();

    // --json: the verdicts as host_checked lines, then the run's events;
    // nothing else on stdout.
    let output = fleet.ecsfleet(&[
        "--json",
        "install",
        "--all",
        "--appliance-source",
        src,
        "--yes",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let lines = json_lines(&output);
    let refused = checked(&lines, &small);
    assert_eq!(refused["refused"], true, "{refused}");
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["studies_per_month"], 250);
    let memory = row(refused, "memory");
    assert_eq!(memory["result"], "fail");
    assert!(
        memory["detail"]
            .as_str()
            .unwrap()
            .starts_with("4096 MiB; 250 studies/month need 30+ GiB"),
        "{memory}"
    );
    assert_eq!(checked(&lines, &fine)["refused"], false);
    let started = lines
        .iter()
        .find(|l| l["event"] == "run_started")
        .expect("a run_started event");
    assert_eq!(started["hosts"], serde_json::json!([fine]));
    let finished = |host: &str| {
        lines
            .iter()
            .find(|l| l["event"] == "host_finished" && l["host"] == host)
            .map(|l| l["result"].clone())
    };
    assert_eq!(finished(&fine), Some("ok".into()), "{}", show(&output));
    // The refused host ends as the executor ends a host, without running.
    assert_eq!(finished(&small), Some("failed".into()));
    // The host, each failing check with its reason, and the way past. (The
    // disk row is the machine's own disk under the twin's overlay: it fails
    // 250 studies on a small disk, passes on a big one; not asserted.)
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {small}: install: not installed: `ecsfleet check` fails the host \
             (pass --force to install anyway)\n  cores: 2 cores; 250 studies/month need 8\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  memory: 4096 MiB; 250 studies/month need 30+ GiB"),
        "{stderr}"
    );
    assert!(!stderr.contains(&format!("{fine}: install")), "{stderr}");
    assert_eq!(highstates(&fleet, &small), 0, "{:?}", fleet.calls(&small));
    assert_eq!(highstates(&fleet, &fine), 1, "{:?}", fleet.calls(&fine));
    assert!(!fleet.host_file_exists(&small, "/app/appliance/salt/minion"));
    // The real highstate ran on the installed host only: its units are
    // placed (salt/appliance/systemd/init.sls:29-39), the refused host's not.
    assert!(fleet.host_file_exists(&fine, "/etc/systemd/system/appliance.service"));
    assert!(!fleet.host_file_exists(&small, "/etc/systemd/system/appliance.service"));

    // Only the failing host, as text: refused before any run starts.
    let output = fleet.ecsfleet(&["install", &small, "--appliance-source", src, "--yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("error: {small}: install: not installed:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass --force to install anyway"),
        "{stderr}"
    );
    assert!(!stderr.contains("run "), "no run started: {stderr}");
    let table = text(&output.stdout);
    let row = table.lines().find(|l| l.contains(&small)).unwrap_or("");
    assert!(
        row.contains(" refused ") && row.contains(" check: cores, memory"),
        "{table}"
    );
    assert_eq!(highstates(&fleet, &small), 0);

    // --studies holds every selected host to that sizing, as check's does.
    let output = fleet.ecsfleet(&[
        "install",
        &fine,
        "--appliance-source",
        src,
        "--yes",
        "--studies",
        "20",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    assert!(
        text(&output.stderr).contains(&format!(
            "error: {fine}: install: not installed: `ecsfleet check` fails the host \
             (pass --force to install anyway)\n  memory: 4096 MiB; 20 studies/month need 6+ GiB"
        )),
        "{}",
        show(&output)
    );
    assert_eq!(highstates(&fleet, &fine), 1, "not installed again");

    // --force: both install; the failures are still shown.
    let output = fleet.ecsfleet(&[
        "install",
        "--all",
        "--appliance-source",
        src,
        "--yes",
        "--force",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: {small}: check memory fails, installing anyway (--force): \
             4096 MiB; 250 studies/month need 30+ GiB"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
    assert_eq!(highstates(&fleet, &small), 1, "{:?}", fleet.calls(&small));
    assert!(fleet.host_file_exists(&small, "/app/appliance/salt/minion"));
    assert!(fleet.host_file_exists(&small, "/etc/systemd/system/appliance.service"));
    let table = text(&output.stdout);
    assert!(table.contains(&small) && table.contains(&fine), "{table}");
}

#[test]
fn install_reports_a_host_check_cannot_reach_as_unreachable_and_runs_nothing() {
    // A twin host whose sshd is stopped: connections are refused.
    let fleet = TwinFleet::up(133, 1);
    let host = fleet.name(0);
    let address = fleet.address(&host);
    let source = fleet.appliance_checkout();
    fleet.fault(&host, "unreachable", true);
    let calls_before = fleet.calls(&host);
    let output = fleet.ecsfleet(&[
        "--json",
        "--connect-timeout",
        "3",
        "install",
        &host,
        "--appliance-source",
        source.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let lines = json_lines(&output);
    let gone = checked(&lines, &host);
    assert_eq!(gone["refused"], true);
    assert!(gone["error"].as_str().unwrap().contains(&address), "{gone}");
    assert!(
        !lines.iter().any(|l| l["event"] == "run_started"),
        "{lines:?}"
    );
    let finished = lines
        .iter()
        .find(|l| l["event"] == "host_finished")
        .expect("a host_finished event");
    assert_eq!(finished["host"], host.as_str());
    assert_eq!(finished["result"], "unreachable");
    assert_eq!(finished["error"], gone["error"]);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("error: {host}: install: ")),
        "{stderr}"
    );
    assert!(stderr.contains(&address), "{stderr}");
    // Nothing ran on the host: no call, no pushed tree.
    assert_eq!(fleet.calls(&host), calls_before);
    assert!(!fleet.host_file_exists(&host, "/app/appliance"));
}
