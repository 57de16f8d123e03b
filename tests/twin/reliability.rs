//! Faults on twin hosts while a real `install` of the real ecs-appliance
//! runs (ported from the old lab's tests/reliability/faults.rs and
//! trials.rs): the healthy hosts finish, the faulty ones are reported with
//! host, step and cause, no host keeps a partial file or the lock, and
//! `--resume RUN_ID` completes the work. The old lab's transfer faults
//! (drop-mid-transfer, disk-full) have no twin counterpart; sshd killed
//! mid-install stands in for a dropped transfer here.
//! Twin hosts 152..=157.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::lab::wait_for;
use crate::support::twin::TwinFleet;

const LONG: Duration = Duration::from_secs(120);

#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn from(output: std::process::Output) -> Ran {
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{self:#?}")))
            .collect()
    }

    fn run_id(&self) -> String {
        self.events()
            .iter()
            .find(|e| e["event"] == "run_started")
            .and_then(|e| e["run"].as_str())
            .unwrap_or_else(|| panic!("no run_started event: {self:#?}"))
            .to_owned()
    }

    fn host_finished(&self, host: &str) -> serde_json::Value {
        self.events()
            .into_iter()
            .rev()
            .find(|e| e["event"] == "host_finished" && e["host"] == host)
            .unwrap_or_else(|| panic!("no host_finished for {host}: {self:#?}"))
    }

    fn host_result(&self, host: &str) -> String {
        self.host_finished(host)["result"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// `(index, name)` of the host's last failed or interrupted step.
    fn failed_step(&self, host: &str) -> Option<(u64, String)> {
        self.events()
            .iter()
            .rev()
            .find(|e| {
                e["event"] == "step_finished"
                    && e["host"] == host
                    && (e["result"] == "failed" || e["result"] == "interrupted")
            })
            .map(|e| {
                (
                    e["step"].as_u64().unwrap_or(0),
                    e["name"].as_str().unwrap_or("").to_owned(),
                )
            })
    }
}

fn install(fleet: &TwinFleet, extra: &[&str]) -> Ran {
    let source = fleet.appliance_checkout();
    let mut args = vec![
        "--json",
        "install",
        "--all",
        "--appliance-source",
        source.to_str().unwrap(),
        "--yes",
    ];
    args.extend_from_slice(extra);
    Ran::from(fleet.ecsfleet(&args))
}

fn wait_answers(fleet: &TwinFleet, name: &str) {
    wait_for(&format!("{name} to answer"), LONG, || {
        fleet.ssh(name, "true").status.success()
    });
}

fn assert_unlocked(fleet: &TwinFleet, name: &str) {
    assert!(
        !fleet.host_file_exists(name, "/run/ecsfleet.lock"),
        "{name}: /run/ecsfleet.lock left behind: {:?}",
        fleet
            .read_host_file(name, "/run/ecsfleet.lock")
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    );
}

/// Temp files of ecsfleet or mktemp under /app and /root, seen in the host.
fn partial_files(fleet: &TwinFleet, name: &str) -> String {
    fleet.inside_ok(
        name,
        "find /app /root -maxdepth 3 \\( -name '.ecsfleet-*' ! -name .ecsfleet-tree.sha256 -o -name '*.part' -o -name 'tmp.*' \\) -print 2>/dev/null; true",
    )
}

/// `path` in the host holds exactly `content` with `mode`.
fn assert_file(fleet: &TwinFleet, name: &str, path: &str, content: &[u8], mode: &str) {
    let got = fleet
        .read_host_file(name, path)
        .unwrap_or_else(|| panic!("{name}:{path} is missing"));
    assert!(
        got == content,
        "{name}:{path}: content differs ({} bytes, expected {})",
        got.len(),
        content.len()
    );
    assert_eq!(
        fleet.inside_ok(name, &format!("stat -c %a {path}")).trim(),
        mode,
        "{name}:{path}"
    );
}

#[test]
fn install_on_a_fleet_with_three_faulty_hosts_then_resume() {
    let fleet = TwinFleet::up(152, 4);
    let [ok, unreachable, highstate, changed] = [0, 1, 2, 3].map(|i| fleet.name(i));
    fleet.fault(&unreachable, "unreachable", true);
    fleet.fault(&highstate, "highstate-fails", true);
    fleet.fault(&changed, "hostkey-change", true);

    let ran = install(&fleet, &[]);
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    let run = ran.run_id();
    assert_eq!(ran.host_result(&ok), "ok", "{ran:#?}");
    assert_eq!(ran.host_result(&unreachable), "unreachable", "{ran:#?}");
    let error = ran.host_finished(&unreachable)["error"].to_string();
    assert!(error.contains(&fleet.address(&unreachable)), "{error}");
    // A changed host key is never accepted: the host is not connected to.
    assert_eq!(ran.host_result(&changed), "unreachable", "{ran:#?}");
    let error = ran.host_finished(&changed)["error"].to_string();
    assert!(error.contains("HAS CHANGED"), "{error}");
    // Host, step and cause.
    assert_eq!(ran.host_result(&highstate), "failed", "{ran:#?}");
    assert_eq!(ran.failed_step(&highstate).unwrap().1, "highstate");
    assert!(
        ran.host_finished(&highstate)["error"]
            .as_str()
            .unwrap()
            .contains("salt:"),
        "{ran:#?}"
    );
    // ... and on stderr for the operator, each refused or failed host.
    for host in [&unreachable, &changed] {
        assert!(ran.stderr.contains(&format!("error: {host}: ")), "{ran:#?}");
    }
    assert!(
        ran.stderr
            .contains(&format!("error: {highstate}: install step "))
            && ran.stderr.contains("\"highstate\" (stock/install.yml:"),
        "{ran:#?}"
    );
    // The stand-in places nothing when the highstate fails (lab/TWIN.md).
    assert!(!fleet.host_file_exists(&highstate, "/etc/systemd/system/appliance.service"));
    for host in [&ok, &highstate] {
        assert_unlocked(&fleet, host);
        assert_eq!(partial_files(&fleet, host), "", "{host}");
    }
    for host in [&unreachable, &changed] {
        assert!(!fleet.host_file_exists(host, "/app/appliance"), "{host}");
        assert_unlocked(&fleet, host);
    }

    for (host, kind) in [
        (&unreachable, "unreachable"),
        (&highstate, "highstate-fails"),
        (&changed, "hostkey-change"),
    ] {
        fleet.fault(host, kind, false);
    }
    for host in fleet.names() {
        wait_answers(&fleet, &host);
    }
    let again = install(&fleet, &["--resume", &run]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    let minion = fs::read(fleet.appliance_checkout().join("salt/minion")).unwrap();
    for host in fleet.names() {
        assert_eq!(again.host_result(&host), "ok", "{again:#?}");
        assert_file(&fleet, &host, "/app/appliance/salt/minion", &minion, "644");
        assert_file(&fleet, &host, "/etc/salt/minion", &minion, "644");
        assert!(fleet.host_file_exists(&host, "/etc/systemd/system/appliance.service"));
        assert_unlocked(&fleet, &host);
        assert_eq!(partial_files(&fleet, &host), "", "{host}");
    }
    // The healthy host's finished steps were not run again.
    assert!(
        again.events().iter().any(|e| e["event"] == "step_finished"
            && e["host"] == ok.as_str()
            && e["result"] == "resumed"),
        "{again:#?}"
    );
}

/// sshd and its sessions killed at several moments of a real `install`
/// (right after the lock is taken, then later, into the push and the
/// highstate): wherever the kill lands, the other host finishes, the victim
/// is either done or reported failed at a step, its tree is whole, and
/// `--resume` finishes the job.
#[test]
fn sshd_killed_at_several_moments_of_an_install_then_resume() {
    let fleet = TwinFleet::up(156, 2);
    let [victim, other] = [fleet.name(0), fleet.name(1)];
    let source = fleet.appliance_checkout();
    let mut failed_at = Vec::new();
    for (trial, delay_ms) in [0u64, 300, 800, 1500].into_iter().enumerate() {
        // A changed tree each time, so every install pushes it again.
        let marker = format!("trial {trial}\n");
        fs::write(source.join("salt/trial"), &marker).unwrap();
        let started = Instant::now();
        let child = {
            let source = source.clone();
            let fleet_inventory = fleet.inventory();
            crate::support::lab::ecsfleet()
                .arg("-i")
                .arg(fleet_inventory)
                .args(["--no-ssh-config", "--json", "install", "--all"])
                .arg("--appliance-source")
                .arg(source)
                .arg("--yes")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        wait_for("the lock", LONG, || {
            fleet.host_file_exists(&victim, "/run/ecsfleet.lock")
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        fleet.kill_sshd(&victim);
        let ran = Ran::from(child.wait_with_output().unwrap());
        eprintln!(
            "trial {trial}: {} s, exit {:?}",
            started.elapsed().as_secs(),
            ran.code
        );
        assert_eq!(ran.host_result(&other), "ok", "{ran:#?}");
        wait_answers(&fleet, &victim);
        assert_unlocked(&fleet, &victim);
        if ran.code != Some(0) {
            let (step, name) = ran
                .failed_step(&victim)
                .unwrap_or((0, "before the first step".into()));
            failed_at.push(format!("{step} {name}"));
            let again = install(&fleet, &["--resume", &ran.run_id()]);
            assert_eq!(again.code, Some(0), "trial {trial}: {again:#?}");
        }
        assert_file(
            &fleet,
            &victim,
            "/app/appliance/salt/trial",
            marker.as_bytes(),
            "644",
        );
        assert_unlocked(&fleet, &victim);
        assert_eq!(partial_files(&fleet, &victim), "", "{victim}");
    }
    eprintln!("sshd killed: the victim failed at {failed_at:?}");
    // At least one kill lands inside a step (the first, right after the
    // lock, always does).
    assert!(!failed_at.is_empty());
}
