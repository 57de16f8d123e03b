//! The playbook executor (issue 5) against lab hosts: a reboot step, `run`
//! with --plan, the host lock, Ctrl-C and --resume, and the refusals that
//! need no host. Assertions read the simulator's call logs and the hosts'
//! files, not only exit codes. The lifecycle commands on the appliance
//! (install, activate, update, restart, recover, start, stop, --serial and
//! --max-fail) run on the twin: tests/twin/update.rs.
//! Host indices 200..240 (127.0.0.210 and up) belong to this file.

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::lab::{LabFleet, ecsfleet, fleet_cmd, run, run_ok, show, wait_for};

const LONG: Duration = Duration::from_secs(120);

/// The NDJSON events of a `--json` run.
fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn run_id(events: &[serde_json::Value]) -> String {
    events
        .iter()
        .find(|e| e["event"] == "run_started")
        .and_then(|e| e["run"].as_str())
        .expect("a run_started event")
        .to_owned()
}

/// `(step, result)` of every finished step of `host`.
fn steps(events: &[serde_json::Value], host: &str) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "step_finished" && e["host"] == host)
        .map(|e| {
            (
                e["step"].as_u64().unwrap(),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Calls of `program` in the host's simulator log.
fn calls_of(fleet: &LabFleet, host: &str, program: &str) -> Vec<Vec<String>> {
    fleet
        .calls(host)
        .into_iter()
        .filter(|argv| argv.first().is_some_and(|p| p == program))
        .collect()
}

/// A minimal ecs-appliance checkout (a real git repository, pushed with its .git).
fn appliance_tree(dir: &Path) {
    crate::support::appliance_checkout(dir);
}

fn write_playbook(fleet: &LabFleet, name: &str, yaml: &str) {
    let dir = fleet.dir().join("playbooks");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("{name}.yml")), yaml).unwrap();
}

#[test]
fn a_reboot_step_reconnects_and_sees_a_new_boot_id() {
    let fleet = LabFleet::up(204, 1);
    let host = fleet.name(0);
    let before = fleet.ssh_ok(&host, "cat /proc/sys/kernel/random/boot_id");
    write_playbook(
        &fleet,
        "bounce",
        "name: bounce\nsteps:\n\
         - name: reboot\n  reboot: {timeout: 2m}\n\
         - name: after\n  run: cat /proc/sys/kernel/random/boot_id > /root/after-boot\n",
    );
    let out = run_ok(&fleet, &["--json", "run", "bounce", &host, "--yes"]);
    let ev = events(&out);
    assert_eq!(
        steps(&ev, &host),
        [(1, "changed".into()), (2, "changed".into())]
    );
    let note = ev
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == 1)
        .unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(note.ends_with("boot id changed"), "{note}");
    assert_eq!(calls_of(&fleet, &host, "reboot").len(), 1);
    let after =
        String::from_utf8(fleet.read_host_file(&host, "/root/after-boot").unwrap()).unwrap();
    assert_ne!(before.trim(), after.trim());
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
}

/// Starts `ecsfleet run slow HOST` (a 60 s step) and waits until it holds the lock.
fn start_slow_run(fleet: &LabFleet, host: &str) -> std::process::Child {
    write_playbook(
        fleet,
        "slow",
        "name: slow\nsteps:\n- name: long\n  run: sleep 60\n- name: after\n  run: touch /root/after-slow\n",
    );
    let child = fleet_cmd(fleet, &["run", "slow", host, "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the lock", LONG, || {
        fleet.host_file_exists(host, "/run/ecsfleet.lock")
    });
    child
}

fn interrupt(child: &std::process::Child) {
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
}

#[test]
fn a_second_run_is_refused_while_the_first_holds_the_lock() {
    let fleet = LabFleet::up(209, 1);
    let host = fleet.name(0);
    let first = start_slow_run(&fleet, &host);
    let lock =
        String::from_utf8(fleet.read_host_file(&host, "/run/ecsfleet.lock").unwrap()).unwrap();
    assert!(lock.contains("\noperation=run slow\nstarted="), "{lock}");

    let out = run(&fleet, &["run", "slow", &host, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let holder = lock
        .lines()
        .next()
        .unwrap()
        .strip_prefix("holder=")
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "error: {host}: slow: locked by {holder} (run slow since "
        )),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("locked"));
    // The first run's lock is untouched.
    assert_eq!(
        String::from_utf8(fleet.read_host_file(&host, "/run/ecsfleet.lock").unwrap()).unwrap(),
        lock
    );
    interrupt(&first);
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", show(&out));
}

#[test]
fn sigint_during_a_long_step_exits_130_and_releases_the_lock() {
    let fleet = LabFleet::up(211, 1);
    let host = fleet.name(0);
    let child = start_slow_run(&fleet, &host);
    let started = Instant::now();
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", show(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
    assert!(!fleet.host_file_exists(&host, "/root/after-slow"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("--resume "), "{stderr}");
}

#[test]
fn resume_skips_the_steps_that_finished() {
    let fleet = LabFleet::up(213, 1);
    let host = fleet.name(0);
    write_playbook(
        &fleet,
        "twice",
        "name: twice\nsteps:\n\
         - name: count\n  run: echo x >> /root/count\n\
         - name: gate\n  run: test -e /root/go\n\
         - name: done\n  run: touch /root/done\n",
    );
    let out = run(&fleet, &["--json", "run", "twice", &host, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let id = run_id(&events(&out));
    fleet.ssh_ok(&host, "touch /root/go");
    let out = run_ok(
        &fleet,
        &["--json", "run", "twice", &host, "--yes", "--resume", &id],
    );
    let ev = events(&out);
    assert_eq!(run_id(&ev), id);
    assert_eq!(
        steps(&ev, &host),
        [
            (1, "resumed".into()),
            (2, "changed".into()),
            (3, "changed".into())
        ]
    );
    assert_eq!(
        fleet.read_host_file(&host, "/root/count").unwrap(),
        b"x\n",
        "step 1 ran once"
    );
    let journal = fs::read_to_string(fleet.dir().join(".ecsfleet/journal.jsonl")).unwrap();
    assert!(
        journal.lines().all(|l| !l.contains("/root")),
        "no commands in the journal: {journal}"
    );
    let wrong = run(&fleet, &["run", "slow", &host, "--yes", "--resume", &id]);
    assert_eq!(wrong.status.code(), Some(2), "{}", show(&wrong));
}

/// A fleet whose one host cannot be reached (TEST-NET-1).
fn unreachable_fleet() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("inventory")).unwrap();
    fs::write(
        dir.path().join("inventory/hosts.yml"),
        "hosts:\n  far: {address: 192.0.2.1, user: root}\n",
    )
    .unwrap();
    appliance_tree(&dir.path().join("ecs-appliance"));
    dir
}

fn offline(dir: &Path, args: &[&str]) -> Output {
    ecsfleet()
        .current_dir(dir)
        .args(["--no-ssh-config", "--connect-timeout", "30"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn plan_prints_every_step_without_connecting() {
    let dir = unreachable_fleet();
    let started = Instant::now();
    let out = offline(
        dir.path(),
        &[
            "run",
            "install",
            "far",
            "--plan",
            "--var",
            "appliance_source=ecs-appliance",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it did not try to connect"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("install on far (stock/install.yml)\n"),
        "{text}"
    );
    assert!(
        text.contains(" 8. push the appliance source: push_tree "),
        "{text}"
    );
    assert!(
        text.contains(" 9. clone the appliance source: skipped (when: appliance_git)"),
        "{text}"
    );
    assert!(
        text.contains("salt-call state.highstate pillar='{\"appliance\": {\"enabled\": true}}'"),
        "{text}"
    );

    let out = offline(
        dir.path(),
        &[
            "install",
            "far",
            "--plan",
            "--appliance-source",
            "https://example.org/ecs-appliance.git",
            "--branch",
            "stable",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" 8. push the appliance source: skipped"),
        "{text}"
    );
    assert!(
        text.contains(
            "git clone --branch stable https://example.org/ecs-appliance.git /app/appliance"
        ),
        "{text}"
    );
}

#[test]
fn changing_hosts_without_a_terminal_needs_yes() {
    let dir = unreachable_fleet();
    for args in [
        &["activate", "far"][..],
        &["update", "--all"],
        &["restart", "far"],
        &["run", "stop", "far"],
        &["install", "far"],
    ] {
        let out = offline(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("pass --yes to go ahead"),
            "{args:?}: {stderr}"
        );
    }
    let out = offline(
        dir.path(),
        &["install", "far", "--appliance-source", "nowhere", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a checkout of ecs-appliance"));
}
