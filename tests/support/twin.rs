//! Twin fleets for integration tests: `ecsfleet-lab up` in a temporary
//! directory, `ecsfleet-lab down` when dropped (even when the test panics).
//! Twin hosts are containers with real systemd running the real
//! ecs-appliance (lab/TWIN.md).
//!
//! API:
//! - `TwinFleet::up(first, n)`: hosts lab{first} .. on 127.0.0.(10+first) ...
//!   with a 1 s boot delay; `up_with(first, n, &["--slow-boot-delay", "5"])`.
//!   Give each test its own range (twin tests use 100..=160).
//! - `inventory()`, `known_hosts()`, `names()`, `name(i)`, `address(name)`,
//!   `host_dir(name)`, `host_path(name, "/app/env.yml")` (the host's overlay
//!   as mounted on this machine: not /run or /tmp, which are the host's own
//!   tmpfs), `read_host_file` and `host_file_exists` (inside the booted host), `calls(name)` (the stand-ins' call log),
//!   `ssh`/`ssh_ok`, `inside(name, cmd)` (sh -c CMD in the host's namespaces,
//!   not over SSH), `fault`, `status()`, `down()`.
//! - `install(name)`: `ecsfleet install` of the real ecs-appliance checkout
//!   (lab/src/appliance.rs) on one host.
//! - `mirror_commit(name, repo, branch)`: a new commit on the host's own
//!   mirror of ecs-appliance or ecs (what upstream would publish), so the
//!   real appliance-update.sh finds an update.
//! - `boot_id(name)`, `kill_sshd(name)` (ssh.service's processes SIGKILLed,
//!   its sessions with them; systemd starts it again).
//! - `lab_binary()`: ecsfleet-lab beside ecsfleet (scripts/test.sh builds both).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use super::lab::{ecsfleet, show};

pub struct TwinFleet {
    first: u32,
    count: u32,
    down: bool,
    lab: PathBuf,
    _tmp: TempDir,
}

pub fn lab_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_ecsfleet")).with_file_name("ecsfleet-lab");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --workspace --bins; scripts/test.sh does)",
        path.display()
    );
    path
}

impl TwinFleet {
    pub fn up(first: u32, count: u32) -> TwinFleet {
        TwinFleet::up_with(first, count, &[])
    }

    pub fn up_with(first: u32, count: u32, extra: &[&str]) -> TwinFleet {
        let tmp = tempfile::Builder::new()
            .prefix("ecsfleet-twin-")
            .tempdir()
            .expect("a temporary directory");
        let fleet = TwinFleet {
            first,
            count,
            down: false,
            lab: tmp.path().join("lab"),
            _tmp: tmp,
        };
        let (first_arg, count_arg) = (first.to_string(), count.to_string());
        let mut args = vec![
            "up",
            "--first",
            &first_arg,
            "--hosts",
            &count_arg,
            "--boot-delay",
            "1",
        ];
        args.extend_from_slice(extra);
        let output = fleet.lab(&args);
        assert!(
            output.status.success(),
            "ecsfleet-lab up failed: {}",
            show(&output)
        );
        fleet
    }

    pub fn lab(&self, args: &[&str]) -> Output {
        Command::new(lab_binary())
            .args(args)
            .arg("--dir")
            .arg(&self.lab)
            .stdin(Stdio::null())
            .output()
            .expect("running ecsfleet-lab")
    }

    pub fn fault(&self, name: &str, kind: &str, on: bool) {
        let output = self.lab(&["fault", name, kind, if on { "on" } else { "off" }]);
        assert!(
            output.status.success(),
            "fault {name} {kind}: {}",
            show(&output)
        );
    }

    pub fn status(&self) -> Vec<serde_json::Value> {
        let output = Command::new(lab_binary())
            .args(["--json", "status", "--dir"])
            .arg(&self.lab)
            .output()
            .expect("running ecsfleet-lab status");
        assert!(output.status.success(), "status: {}", show(&output));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    pub fn down(&mut self) -> Output {
        self.down = true;
        self.lab(&["down"])
    }

    pub fn dir(&self) -> &Path {
        &self.lab
    }

    pub fn inventory(&self) -> PathBuf {
        self.lab.join("inventory/hosts.yml")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.lab.join("known_hosts")
    }

    pub fn client_key(&self) -> PathBuf {
        self.lab.join("keys/id_ed25519")
    }

    pub fn names(&self) -> Vec<String> {
        (self.first..self.first + self.count)
            .map(|i| format!("lab{i}"))
            .collect()
    }

    pub fn name(&self, i: u32) -> String {
        format!("lab{}", self.first + i)
    }

    pub fn address(&self, name: &str) -> String {
        let index: u32 = name
            .strip_prefix("lab")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("not a lab host name: {name}"));
        format!("127.0.0.{}", 10 + index)
    }

    pub fn host_dir(&self, name: &str) -> PathBuf {
        self.lab.join("hosts").join(name)
    }

    /// Where a path inside the host is on this machine (its mounted overlay).
    pub fn host_path(&self, name: &str, path: &str) -> PathBuf {
        self.host_dir(name)
            .join("root")
            .join(path.trim_start_matches('/'))
    }

    /// A file inside the host: read in the host's own mount namespace while
    /// it is booted (its /run and /tmp are tmpfs of its own, not on the
    /// overlay), from the overlay otherwise.
    pub fn read_host_file(&self, name: &str, path: &str) -> Option<Vec<u8>> {
        if self.leader(name).is_some() {
            let output = self.inside(name, &format!("cat -- '{}'", path.replace('\'', "'\\''")));
            return output.status.success().then_some(output.stdout);
        }
        fs::read(self.host_path(name, path)).ok()
    }

    pub fn host_file_exists(&self, name: &str, path: &str) -> bool {
        if self.leader(name).is_some() {
            let quoted = path.replace('\'', "'\\''");
            return self
                .inside(name, &format!("test -e '{quoted}' || test -L '{quoted}'"))
                .status
                .success();
        }
        self.host_path(name, path).exists()
    }

    /// The stand-ins' call log as argv vectors (argv[0] is the stand-in's name).
    pub fn calls(&self, name: &str) -> Vec<Vec<String>> {
        let text =
            fs::read(self.host_path(name, "/var/lib/ecs-lab/calls.jsonl")).unwrap_or_default();
        text.split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let value: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!("call log line {:?}: {e}", String::from_utf8_lossy(line))
                });
                value["argv"]
                    .as_array()
                    .expect("argv")
                    .iter()
                    .map(|a| a.as_str().expect("a string").to_string())
                    .collect()
            })
            .collect()
    }

    /// PID 1 of the host as seen from this machine.
    pub fn leader(&self, name: &str) -> Option<u32> {
        let nspawn: u32 = fs::read_to_string(self.host_dir(name).join("nspawn.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// `sh -c CMD` inside the host (all its namespaces), not over SSH.
    pub fn inside(&self, name: &str, cmd: &str) -> Output {
        let leader = self
            .leader(name)
            .unwrap_or_else(|| panic!("{name} is not booted"));
        Command::new("nsenter")
            .args(["-t", &leader.to_string(), "-a", "sh", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .expect("running nsenter")
    }

    pub fn inside_ok(&self, name: &str, cmd: &str) -> String {
        let output = self.inside(name, cmd);
        assert!(
            output.status.success(),
            "{name}: `{cmd}`: {}",
            show(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn ssh_command(&self, name: &str, cmd: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .arg("-i")
            .arg(self.client_key())
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts().display()
            ))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "LogLevel=ERROR",
                "-F",
                "/dev/null",
            ])
            .arg(format!("root@{}", self.address(name)))
            .arg(cmd)
            .stdin(Stdio::null());
        command
    }

    pub fn ssh(&self, name: &str, cmd: &str) -> Output {
        self.ssh_command(name, cmd).output().expect("running ssh")
    }

    pub fn ssh_ok(&self, name: &str, cmd: &str) -> String {
        let output = self.ssh(name, cmd);
        assert!(
            output.status.success(),
            "{name}: `{cmd}`: {}",
            show(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `ecsfleet -i INVENTORY --no-ssh-config ARGS`, stdin not a terminal.
    pub fn ecsfleet(&self, args: &[&str]) -> Output {
        ecsfleet()
            .arg("-i")
            .arg(self.inventory())
            .arg("--no-ssh-config")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running ecsfleet")
    }

    pub fn ecsfleet_ok(&self, args: &[&str]) -> Output {
        let output = self.ecsfleet(args);
        assert!(
            output.status.success(),
            "ecsfleet {args:?}: {}",
            show(&output)
        );
        output
    }

    /// The real ecs-appliance checkout the lab clones for its demo (made once
    /// per fleet, under the lab directory).
    pub fn appliance_checkout(&self) -> PathBuf {
        let dir = self.lab.join("ecs-appliance");
        if !dir.exists() {
            let output = Command::new(lab_binary())
                .args(["checkout", "--dir"])
                .arg(&self.lab)
                .output()
                .expect("running ecsfleet-lab checkout");
            assert!(output.status.success(), "checkout: {}", show(&output));
        }
        dir
    }

    /// A new (empty) commit on `branch` of the host's mirror
    /// /var/lib/ecs-lab/mirror/REPO.git (`ecs-appliance` or `ecs`), which
    /// the host's git reaches for the github URLs (lab/TWIN-DOCKER.md,
    /// "Sources without network"): the next appliance-update sees a new
    /// target (appliance-update.sh:116-161). Returns its commit id.
    pub fn mirror_commit(&self, name: &str, repo: &str, branch: &str) -> String {
        let out = self.inside_ok(
            name,
            &format!(
                "set -e; w=$(mktemp -d); \
                 git clone -q --branch {branch} /var/lib/ecs-lab/mirror/{repo}.git \"$w/r\"; \
                 cd \"$w/r\"; git -c user.name=ecs-lab -c user.email=ecs-lab@localhost \
                 commit -q --allow-empty -m 'ecsfleet test: a new upstream commit'; \
                 git push -q origin HEAD:{branch}; git rev-parse HEAD; cd /; rm -rf \"$w\""
            ),
        );
        let id = out.trim().to_owned();
        assert_eq!(id.len(), 40, "{name}: mirror commit: {out:?}");
        id
    }

    pub fn boot_id(&self, name: &str) -> String {
        self.inside_ok(name, "cat /proc/sys/kernel/random/boot_id")
            .trim()
            .to_owned()
    }

    /// SIGKILL to every process of the host's ssh.service (the daemon and,
    /// as the twin has no logind session scopes, the sessions it forked):
    /// the connections drop as if sshd crashed; systemd restarts it
    /// (Restart=on-failure).
    pub fn kill_sshd(&self, name: &str) {
        self.inside_ok(name, "systemctl kill --signal=KILL ssh.service");
    }

    /// DIR/env/NAME.ecs.test/env.yml, where the lab's inventory looks.
    pub fn env_path(&self, name: &str) -> PathBuf {
        self.lab.join(format!("env/{name}.ecs.test/env.yml"))
    }

    /// What an operator does first: `install` of the real appliance, `env
    /// new` for the host's domain, `push-env`, and with `activate` also
    /// `activate` (database, env, reboot, the real prepare-* chain), each
    /// asserted to succeed. Returns the env's path.
    pub fn appliance_with_env(&self, name: &str, activate: bool) -> PathBuf {
        let output = self.install(name);
        assert!(output.status.success(), "install: {}", show(&output));
        let env = self.env_path(name);
        let domain = format!("{name}.ecs.test");
        self.ecsfleet_ok(&["env", "new", &domain, "--out", env.to_str().unwrap()]);
        self.ecsfleet_ok(&["push-env", name, "--yes"]);
        if activate {
            let output = self.ecsfleet(&["activate", name, "--yes"]);
            assert!(output.status.success(), "activate: {}", show(&output));
        }
        env
    }

    /// `ecsfleet install NAME` of the real repository.
    pub fn install(&self, name: &str) -> Output {
        let source = self.appliance_checkout();
        self.ecsfleet(&[
            "install",
            name,
            "--yes",
            "--appliance-source",
            source.to_str().unwrap(),
        ])
    }
}

impl Drop for TwinFleet {
    fn drop(&mut self) {
        if !self.down {
            let output = self.lab(&["down"]);
            if !output.status.success() {
                eprintln!("ecsfleet-lab down in Drop failed: {}", show(&output));
            }
        }
    }
}
