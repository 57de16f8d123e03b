//! Lab fleets for integration tests: `ecsfleet lab up` in a temporary
//! directory, `ecsfleet lab down` when dropped (even when the test panics).
//!
//! API:
//! - `LabFleet::up(first, n)`: hosts lab{first} .. lab{first+n-1} on
//!   127.0.0.(10+first) ..., with a 1 s boot delay, a 1 s appliance start
//!   delay and no highstate delay; `LabFleet::up_with(first, n, &["--cores",
//!   "3"])` passes more `lab up` options (later ones win). Panics with the
//!   command's output if `lab up` fails. Give each test its own range of first
//!   indices (addresses are shared by every test binary running at once).
//! - `dir()` (the lab directory), `inventory()`, `known_hosts()`,
//!   `client_key()`, `names()` (["lab20", ...]), `name(i)` (the i-th host),
//!   `address(name)` ("127.0.0.30"), `host_dir(name)`.
//! - `call_log(name)`: DIR/hosts/NAME/lab/calls.jsonl; `calls(name)`: its
//!   lines as argv vectors (argv[0] is the simulated command's name).
//! - `host_path(name, "/app/env.yml")`: where a path inside the host lives on
//!   this machine (for /app, /data, /volatile, /etc/salt, /usr/local/sbin,
//!   /usr/local/share/appliance, /var/www/html, /root, /run, /var/run,
//!   /var/lib/ecs-lab; not below a disk-full tmpfs); `read_host_file(name,
//!   path)` -> Option<Vec<u8>>; `host_file_exists(name, path)`.
//! - `ssh(name, cmd)` -> Output and `ssh_ok(name, cmd)` -> stdout (panics
//!   unless exit 0): OpenSSH with the lab's key and known_hosts, strict host
//!   key checking, BatchMode; `ssh_command(name, cmd)` -> Command to spawn.
//! - `lab(args)` -> Output: `ecsfleet lab ARGS --dir DIR`; `fault(name,
//!   kind, on)` panics unless it succeeds; `status()` -> the `--json` lines.
//! - `supervisor_pid(name)`, `mount_namespace(name)`: what the lab recorded.
//! - `down()` -> Output: stops the lab now (Drop then does nothing).
//! - `wait_for(what, timeout, condition)`: polls every 100 ms, panics with
//!   `what` after `timeout`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct LabFleet {
    first: u32,
    count: u32,
    down: bool,
    lab: PathBuf,
    // Last, so the directory outlives the `lab down` run by Drop.
    _tmp: TempDir,
}

/// The built binary.
pub fn ecsfleet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecsfleet"));
    command
        .env_remove("ECSFLEET_INVENTORY")
        .env_remove("SSH_AUTH_SOCK");
    command
}

pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() > deadline {
            panic!("timed out after {} s waiting for {what}", timeout.as_secs());
        }
        sleep(Duration::from_millis(100));
    }
}

/// An output as text, for assertion messages.
pub fn show(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

impl LabFleet {
    pub fn up(first: u32, count: u32) -> LabFleet {
        LabFleet::up_with(first, count, &[])
    }

    pub fn up_with(first: u32, count: u32, extra: &[&str]) -> LabFleet {
        let tmp = tempfile::Builder::new()
            .prefix("ecsfleet-lab-")
            .tempdir()
            .expect("a temporary directory");
        let lab = tmp.path().join("lab");
        let fleet = LabFleet {
            first,
            count,
            down: false,
            lab,
            _tmp: tmp,
        };
        let first_arg = first.to_string();
        let count_arg = count.to_string();
        let mut args = vec!["up", "--first", &first_arg, "--hosts", &count_arg];
        // Defaults the caller's own options replace (clap takes each once).
        for (option, value) in [
            ("--boot-delay", "1"),
            ("--start-delay", "1"),
            ("--highstate-delay", "0"),
        ] {
            if !extra.contains(&option) {
                args.extend([option, value]);
            }
        }
        args.extend_from_slice(extra);
        let output = fleet.lab(&args);
        assert!(output.status.success(), "lab up failed: {}", show(&output));
        fleet
    }

    pub fn lab(&self, args: &[&str]) -> Output {
        ecsfleet()
            .arg("lab")
            .args(args)
            .arg("--dir")
            .arg(&self.lab)
            .stdin(Stdio::null())
            .output()
            .expect("running ecsfleet lab")
    }

    pub fn fault(&self, name: &str, kind: &str, on: bool) {
        let output = self.lab(&["fault", name, kind, if on { "on" } else { "off" }]);
        assert!(
            output.status.success(),
            "lab fault {name} {kind}: {}",
            show(&output)
        );
    }

    /// `lab status --json`, one value per host.
    pub fn status(&self) -> Vec<serde_json::Value> {
        let output = ecsfleet()
            .args(["--json", "lab", "status", "--dir"])
            .arg(&self.lab)
            .output()
            .expect("running ecsfleet lab status");
        assert!(output.status.success(), "lab status: {}", show(&output));
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

    pub fn call_log(&self, name: &str) -> PathBuf {
        self.host_dir(name).join("lab/calls.jsonl")
    }

    /// The call log as argv vectors.
    pub fn calls(&self, name: &str) -> Vec<Vec<String>> {
        let text = fs::read(self.call_log(name)).unwrap_or_default();
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

    /// Where a path inside the host lives on this machine.
    pub fn host_path(&self, name: &str, path: &str) -> PathBuf {
        const MAP: &[(&str, &str)] = &[
            ("/usr/local/share/appliance", "share"),
            ("/usr/local/sbin", "sbin"),
            ("/usr/local/bin", "bin"),
            ("/var/lib/ecs-lab", "lab"),
            ("/var/www/html", "www"),
            ("/etc/salt", "salt"),
            ("/var/run", "run"),
            ("/volatile", "volatile"),
            ("/data", "data"),
            ("/root", "root"),
            ("/app", "app"),
            ("/run", "run"),
        ];
        for (prefix, dir) in MAP {
            if let Some(rest) = path.strip_prefix(prefix)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return self
                    .host_dir(name)
                    .join(dir)
                    .join(rest.trim_start_matches('/'));
            }
        }
        panic!("{path} is not a per-host path of the lab");
    }

    pub fn read_host_file(&self, name: &str, path: &str) -> Option<Vec<u8>> {
        fs::read(self.host_path(name, path)).ok()
    }

    pub fn host_file_exists(&self, name: &str, path: &str) -> bool {
        self.host_path(name, path).exists()
    }

    pub fn supervisor_pid(&self, name: &str) -> Option<i32> {
        fs::read_to_string(self.host_dir(name).join("supervisor.pid"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// The inode of the host's mount namespace ("mnt:[INODE]").
    pub fn mount_namespace(&self, name: &str) -> Option<u64> {
        fs::read_to_string(self.host_dir(name).join("lab/mntns"))
            .ok()?
            .trim()
            .parse()
            .ok()
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
}

impl Drop for LabFleet {
    fn drop(&mut self) {
        if !self.down {
            let output = self.lab(&["down"]);
            if !output.status.success() {
                eprintln!("lab down in Drop failed: {}", show(&output));
            }
        }
    }
}

// Running the built binary against a lab fleet's inventory.

/// `ecsfleet -i LAB_INVENTORY --no-ssh-config ARGS`, stdin not a terminal.
pub fn fleet_cmd(fleet: &LabFleet, args: &[&str]) -> Command {
    let mut command = ecsfleet();
    command
        .arg("-i")
        .arg(fleet.inventory())
        .arg("--no-ssh-config")
        .args(args)
        .stdin(Stdio::null());
    command
}

pub fn run(fleet: &LabFleet, args: &[&str]) -> Output {
    fleet_cmd(fleet, args).output().expect("running ecsfleet")
}

pub fn run_ok(fleet: &LabFleet, args: &[&str]) -> Output {
    let output = run(fleet, args);
    assert!(
        output.status.success(),
        "ecsfleet {args:?}: {}",
        show(&output)
    );
    output
}
