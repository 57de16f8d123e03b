//! The test rig of the reliability suites: a lab fleet with an inventory
//! that gives every host a domain and an env file, the built binary run
//! against it (optionally in the background, to be signalled), and the
//! checks every fault test repeats: no partial file left on a host, the
//! remote lock released, the NDJSON events of a run.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::support::lab::{LabFleet, ecsfleet, wait_for};

pub const LONG: Duration = Duration::from_secs(120);

pub struct Rig {
    pub lab: LabFleet,
}

#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn from(output: Output) -> Ran {
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The NDJSON events of a `--json` run.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}\n{self:#?}")))
            .collect()
    }

    pub fn run_id(&self) -> String {
        self.events()
            .iter()
            .find(|e| e["event"] == "run_started")
            .and_then(|e| e["run"].as_str())
            .unwrap_or_else(|| panic!("no run_started event: {self:#?}"))
            .to_owned()
    }

    /// The last `host_finished` event of `host`.
    pub fn host_finished(&self, host: &str) -> serde_json::Value {
        self.events()
            .into_iter()
            .rev()
            .find(|e| e["event"] == "host_finished" && e["host"] == host)
            .unwrap_or_else(|| panic!("no host_finished for {host}: {self:#?}"))
    }

    pub fn host_result(&self, host: &str) -> String {
        self.host_finished(host)["result"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The step a host failed at: `(index, name)` of its last failed step.
    pub fn failed_step(&self, host: &str) -> Option<(u64, String)> {
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

impl Rig {
    /// A lab of `count` hosts from `first`, and `inventory/fleet.yml` giving
    /// each host `domain: NAME.ecs.test` and `env: ../env/NAME.yml`.
    pub fn up(first: u32, count: u32) -> Rig {
        Rig::up_with(first, count, &[])
    }

    pub fn up_with(first: u32, count: u32, extra: &[&str]) -> Rig {
        let lab = LabFleet::up_with(first, count, extra);
        let mut inventory = String::from(
            "defaults: {user: root, identity: ../keys/id_ed25519}\nknown_hosts: ../known_hosts\nhosts:\n",
        );
        for name in lab.names() {
            inventory.push_str(&format!(
                "  {name}: {{address: {}, domain: {name}.ecs.test, env: ../env/{name}.yml}}\n",
                lab.address(&name)
            ));
        }
        fs::write(lab.dir().join("inventory/fleet.yml"), inventory).unwrap();
        fs::create_dir_all(lab.dir().join("env")).unwrap();
        Rig { lab }
    }

    pub fn inventory(&self) -> PathBuf {
        self.lab.dir().join("inventory/fleet.yml")
    }

    pub fn names(&self) -> Vec<String> {
        self.lab.names()
    }

    pub fn journal(&self) -> String {
        fs::read_to_string(self.lab.dir().join(".ecsfleet/journal.jsonl")).unwrap_or_default()
    }

    /// `ecsfleet -i fleet.yml --no-ssh-config ARGS`, no stdin, HOME in the lab.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = ecsfleet();
        command
            .env("HOME", self.lab.dir())
            .env_remove("RUST_LOG")
            .env_remove("ECSFLEET_LOG")
            .arg("-i")
            .arg(self.inventory())
            .arg("--no-ssh-config")
            .args(args)
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        Ran::from(self.command(args).output().expect("running ecsfleet"))
    }

    pub fn ok(&self, args: &[&str]) -> Ran {
        let ran = self.run(args);
        assert_eq!(ran.code, Some(0), "{args:?}: {ran:#?}");
        ran
    }

    /// Starts ecsfleet in the background (stdout and stderr piped).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning ecsfleet")
    }

    /// The env file the inventory names for `name`.
    pub fn env_path(&self, name: &str) -> PathBuf {
        self.lab.dir().join(format!("env/{name}.yml"))
    }

    /// A fresh env (`env new`) for `name`; returns its text.
    pub fn new_env(&self, name: &str) -> String {
        let path = self.env_path(name);
        let _ = fs::remove_file(&path);
        let domain = format!("{name}.ecs.test");
        self.ok(&["env", "new", &domain, "--out", path.to_str().unwrap()]);
        fs::read_to_string(path).unwrap()
    }

    /// The highstate by hand, as install would leave the host.
    pub fn install_by_hand(&self, name: &str) {
        self.lab.ssh_ok(
            name,
            "mkdir -p /etc/salt /app/appliance/salt && echo 'file_client: local' > /etc/salt/minion && \
             salt-call state.highstate --retcode-passthrough pillar='{\"appliance\": {\"enabled\": true}}' >/dev/null",
        );
    }

    /// Installed, database created, an env active, the appliance running.
    pub fn make_running(&self, name: &str) {
        self.install_by_hand(name);
        self.lab.ssh_ok(
            name,
            "printf '#cloud-config\\nappliance:\\n  domain: x.ecs.test\\necs:\\n  database: ecs\\n' > /app/env.yml && chmod 0600 /app/env.yml && \
             sudo -u postgres createdb ecs -T template0 -l de_DE.utf8 && cp /app/env.yml /run/active-env.yml && systemctl start appliance",
        );
        wait_for("the appliance to run", LONG, || {
            !self.lab.host_file_exists(name, "/var/www/html/503.html")
                && self
                    .lab
                    .ssh(name, "systemctl is-active appliance")
                    .stdout
                    .starts_with(b"active")
        });
    }

    pub fn write_playbook(&self, name: &str, yaml: &str) {
        let dir = self.lab.dir().join("playbooks");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("{name}.yml")), yaml).unwrap();
    }

    /// Waits until `name` answers OpenSSH again (after a fault is switched off).
    pub fn wait_answers(&self, name: &str) {
        wait_for(&format!("{name} to answer"), LONG, || {
            self.lab.ssh(name, "true").status.success()
        });
    }

    /// No lock file on the host.
    pub fn assert_unlocked(&self, name: &str) {
        assert!(
            !self.lab.host_file_exists(name, "/run/ecsfleet.lock"),
            "{name}: /run/ecsfleet.lock left behind: {:?}",
            self.lab
                .read_host_file(name, "/run/ecsfleet.lock")
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        );
    }

    /// No temporary file of an upload or tree push left anywhere in the
    /// host's /app (two levels) or /root: names ecsfleet and the lab use
    /// for work in progress.
    pub fn assert_no_partial_files(&self, name: &str) {
        let mut leftovers = Vec::new();
        for root in ["/app", "/root"] {
            let dir = self.lab.host_path(name, root);
            scan(&dir, 3, &mut leftovers);
        }
        assert!(
            leftovers.is_empty(),
            "{name}: partial files left: {leftovers:?}"
        );
    }

    /// `path` on the host holds exactly `content` with `mode`.
    pub fn assert_file(&self, name: &str, path: &str, content: &[u8], mode: u32) {
        let local = self.lab.host_path(name, path);
        let got = fs::read(&local).unwrap_or_else(|e| panic!("{name}:{path}: {e}"));
        assert!(
            got == content,
            "{name}:{path}: content differs ({} bytes, expected {})",
            got.len(),
            content.len()
        );
        let got_mode = fs::metadata(&local).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got_mode, mode, "{name}:{path}: mode {got_mode:04o}");
    }
}

fn scan(dir: &Path, depth: u32, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let marker = name == ".ecsfleet-tree.sha256";
        if (name.contains(".ecsfleet-") && !marker)
            || name.ends_with(".part")
            || name.starts_with("tmp.")
        {
            found.push(path.clone());
        }
        if depth > 0 && entry.file_type().is_ok_and(|t| t.is_dir()) {
            scan(&path, depth - 1, found);
        }
    }
}

/// Sends `signal` to a child.
pub fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill {}", child.id());
}

/// Kills the lab host's sshd and every session it forked: the connection
/// drops as if the daemon crashed (the lab's supervisor starts it again).
pub fn kill_sshd(lab: &LabFleet, name: &str) {
    let pid_file = lab.host_dir(name).join("lab/sshd.pid");
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()))
        .trim()
        .parse()
        .unwrap();
    let mut victims = vec![pid];
    let mut i = 0;
    while i < victims.len() {
        victims.extend(children(victims[i]));
        i += 1;
    }
    for victim in victims {
        // SAFETY: kill(2); the pids are sshd and its descendants.
        unsafe { libc::kill(victim, libc::SIGKILL) };
    }
}

fn children(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The ppid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Appends one figure for docs/RELIABILITY.md to
/// target/tmp/reliability-figures.jsonl.
pub fn figure(value: serde_json::Value) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-figures.jsonl");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let _ = writeln!(file, "{value}");
    eprintln!("FIGURE {value}");
}

/// Runs `command` to its end and returns what it printed and its peak
/// resident memory (KiB), from wait4(2)'s rusage of that one child.
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4(2), which also yields its rusage"
)]
pub fn run_measured(mut command: Command) -> (Ran, u64) {
    use std::io::Read as _;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning ecsfleet");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        bytes
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid with valid out-pointers; the
    // Child is not waited on afterwards.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let ran = Ran {
        code,
        stdout: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    };
    (ran, usage.ru_maxrss as u64)
}

/// `s` as a YAML double-quoted scalar: every character that is not
/// printable ASCII escaped, so any string survives the trip byte for byte.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}
