//! Real OpenSSH servers for integration tests: one `sshd -D -e` process per
//! test host, each with its own generated config, host key and authorized_keys
//! in a temporary directory, listening on its own loopback address.
//!
//! Why real sshd and not a mock: the things that break in production (host-key
//! algorithms, MaxStartups dropping handshakes, ProxyJump via direct-tcpip,
//! sudo, exit signals) are OpenSSH behaviour, so the tests talk to OpenSSH.
//! Needs root (port 22, the privilege separation dir /run/sshd) and
//! /usr/sbin/sshd, ssh-keygen and ssh on PATH.
//!
//! API:
//! - `Sshd::builder("127.0.1.5")` -> `SshdBuilder`; port 22 unless `.port(n)`;
//!   `.host_key_type("ed25519" | "rsa" | "ecdsa")` (default ed25519);
//!   `.authorized_key(line)` (repeatable; the one file serves every user, so a
//!   non-root login for `become` tests uses the same keys);
//!   `.extra_config(line)` (repeatable; written *before* the defaults because
//!   sshd keeps the first value of a keyword, so it overrides them; a line
//!   starting with `Match` and everything after it goes at the end);
//!   `.start()` -> `Sshd`, returning once the port answers with an SSH banner
//!   (panics with the sshd log after 10 s, or at once if something already
//!   listens on that address and port).
//! - `Sshd` fields `address`, `port`, `dir` (its TempDir), `host_key_pub`
//!   (`"ssh-ed25519 AAAA..."`, no comment); methods `pid()`, `log()` (the sshd
//!   log so far, LogLevel VERBOSE: "Accepted publickey", "Starting session" ...
//!   show that something ran; the readiness probe leaves a "Connection from"
//!   line, so do not assert on that), `log_path()`, `known_hosts_line()`,
//!   `host_key_fingerprint()` (`SHA256:...`), `stop()`,
//!   `restart_with_new_host_key()`. Dropping it stops the server: SIGTERM to
//!   sshd and its session processes, SIGKILL after 5 s.
//! - `Fleet::new(&["127.0.1.5", ...])`: a client key `dir/keys/id_ed25519`
//!   (0600) authorized on one sshd per address, `dir/known_hosts` trusting every
//!   server, and `dir/inventory/hosts.yml` naming them h1, h2, ... ;
//!   `Fleet::with(addresses, |b| b.port(2222))` configures each builder.
//!   `write_inventory(extra)` rewrites hosts.yml with the standard hosts plus
//!   `extra` appended verbatim (indent host entries by two spaces; a top-level
//!   `groups:` section may follow); `write_known_hosts()` rewrites known_hosts
//!   from the servers' current keys.
//! - `ecsfleet()`: a `Command` for the built binary with HOME set to a fresh
//!   empty directory and ECSFLEET_INVENTORY and SSH_AUTH_SOCK removed, so the
//!   operator's ~/.ssh and agent never leak into a test.
//!
//! cargo runs tests in parallel: give every test its own 127.0.1.x addresses.

use std::fs::{self, OpenOptions};
use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";
const START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running OpenSSH server; dropping it stops the server.
pub struct Sshd {
    pub address: String,
    pub port: u16,
    pub host_key_pub: String,
    // Declared last so the process is stopped (in Drop) before the directory
    // holding its config and log goes away.
    pub dir: TempDir,
    host_key_type: String,
    child: Option<Child>,
}

/// How to start an [`Sshd`]; see the module header.
pub struct SshdBuilder {
    address: String,
    port: u16,
    host_key_type: String,
    authorized_keys: Vec<String>,
    extra_config: Vec<String>,
}

impl Sshd {
    pub fn builder(address: &str) -> SshdBuilder {
        SshdBuilder {
            address: address.to_owned(),
            port: 22,
            host_key_type: "ed25519".to_owned(),
            authorized_keys: Vec::new(),
            extra_config: Vec::new(),
        }
    }

    /// The sshd process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }

    /// Everything sshd has logged so far (across restarts).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `ADDRESS KEY`, or `[ADDRESS]:PORT KEY` off port 22, as OpenSSH writes it.
    pub fn known_hosts_line(&self) -> String {
        let host = if self.port == 22 {
            self.address.clone()
        } else {
            format!("[{}]:{}", self.address, self.port)
        };
        format!("{host} {}", self.host_key_pub)
    }

    /// The host key's `SHA256:...` fingerprint, as `ssh-keygen -l` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        let out = run(Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.host_key_path().with_extension("pub")));
        out.split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected ssh-keygen -l output: {out}"))
            .to_owned()
    }

    /// Stops the server (idempotent): SIGTERM to sshd and the session
    /// processes it forked, SIGKILL to whatever is left after the grace time.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        // Connection processes call setsid(), so a process-group kill would
        // miss them; find them by parent pid while sshd still lives.
        let sessions = descendants(pid);
        signal(pid, libc::SIGTERM);
        for &session in &sessions {
            signal(session, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        for &session in &sessions {
            if alive(session) {
                sleep(Duration::from_millis(100));
                signal(session, libc::SIGKILL);
            }
        }
    }

    /// Stops the server, replaces its host key with a fresh one of the same
    /// type and starts it again on the same address and port: the
    /// "host key changed" scenario. `host_key_pub` holds the new key.
    pub fn restart_with_new_host_key(&mut self) {
        self.stop();
        let key = self.host_key_path();
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        self.host_key_pub = keygen(&self.host_key_type, &key, "ecsfleet-test-host");
        self.spawn();
    }

    fn host_key_path(&self) -> PathBuf {
        host_key_path(self.dir.path(), &self.host_key_type)
    }

    fn socket_addr(&self) -> SocketAddr {
        (self.address.as_str(), self.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("bad sshd address {}", self.address))
    }

    fn spawn(&mut self) {
        let addr = self.socket_addr();
        if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
            panic!(
                "something already listens on {addr} (another test using the same address, \
                 or a system sshd on 0.0.0.0:{}?); give each test its own address",
                self.port
            );
        }
        // Privilege separation directory; absent until openssh-server ran once.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open sshd.log");
        let pid_file = self.dir.path().join("sshd.pid");
        let _ = fs::remove_file(&pid_file);
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SSHD}: {e}"));
        let pid = child.id();
        self.child = Some(child);

        // sshd writes its pid file only after it is listening; the banner then
        // proves it is our sshd answering and not something else.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                panic!("sshd on {addr} exited with {status}; log:\n{}", self.log());
            }
            let pid_written =
                fs::read_to_string(&pid_file).is_ok_and(|text| text.trim() == pid.to_string());
            if pid_written && answers_ssh(addr) {
                return;
            }
            if Instant::now() > deadline {
                self.stop();
                panic!(
                    "sshd on {addr} did not answer within {START_TIMEOUT:?}; log:\n{}",
                    self.log()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

impl SshdBuilder {
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn host_key_type(mut self, key_type: &str) -> Self {
        assert!(
            ["ed25519", "rsa", "ecdsa"].contains(&key_type),
            "host key type must be ed25519, rsa or ecdsa, not {key_type}"
        );
        self.host_key_type = key_type.to_owned();
        self
    }

    pub fn authorized_key(mut self, pubkey_line: &str) -> Self {
        self.authorized_keys.push(pubkey_line.trim().to_owned());
        self
    }

    pub fn extra_config(mut self, line: &str) -> Self {
        self.extra_config.push(line.to_owned());
        self
    }

    pub fn start(self) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("ecsfleet-sshd-")
            .tempdir()
            .expect("create sshd tempdir");
        // sshd reads authorized_keys as the logging-in user: a non-root user
        // (become tests) must be able to reach it.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod sshd dir");
        let key = host_key_path(dir.path(), &self.host_key_type);
        let host_key_pub = keygen(&self.host_key_type, &key, "ecsfleet-test-host");

        let authorized_keys = dir.path().join("authorized_keys");
        let mut keys = self.authorized_keys.join("\n");
        keys.push('\n');
        fs::write(&authorized_keys, keys).expect("write authorized_keys");
        fs::set_permissions(&authorized_keys, fs::Permissions::from_mode(0o644))
            .expect("chmod authorized_keys");

        let listen = if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        };
        let match_at = self
            .extra_config
            .iter()
            .position(|line| line.trim_start().to_ascii_lowercase().starts_with("match "))
            .unwrap_or(self.extra_config.len());
        let (overrides, match_blocks) = self.extra_config.split_at(match_at);
        let mut config = String::new();
        for line in overrides {
            config.push_str(line);
            config.push('\n');
        }
        // No AcceptEnv: the server accepts no environment from clients.
        // Some keywords (MaxStartups) are last-wins in sshd, so a default is
        // left out entirely when an override names the same keyword.
        let overridden: Vec<String> = overrides
            .iter()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_ascii_lowercase)
            .collect();
        let defaults = format!(
            "ListenAddress {listen}\n\
             HostKey {key}\n\
             PidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             StrictModes no\n\
             UsePAM no\n\
             PermitRootLogin prohibit-password\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             MaxStartups 200:30:400\n\
             UseDNS no\n\
             LogLevel VERBOSE\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             Subsystem sftp internal-sftp\n",
            key = key.display(),
            dir = dir.path().display(),
        );
        for line in defaults.lines() {
            let keyword = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if !overridden.contains(&keyword) {
                config.push_str(line);
                config.push('\n');
            }
        }
        for line in match_blocks {
            config.push_str(line);
            config.push('\n');
        }
        fs::write(dir.path().join("sshd_config"), config).expect("write sshd_config");

        let mut sshd = Sshd {
            address: self.address,
            port: self.port,
            host_key_pub,
            dir,
            host_key_type: self.host_key_type,
            child: None,
        };
        sshd.spawn();
        sshd
    }
}

/// Several sshd servers sharing one client key, with an inventory and a
/// known_hosts file that trust them all.
pub struct Fleet {
    // Servers first: fields drop in order, so they stop before `dir` goes.
    pub servers: Vec<Sshd>,
    pub dir: TempDir,
    pub client_key: PathBuf,
    pub inventory: PathBuf,
    pub known_hosts: PathBuf,
}

impl Fleet {
    pub fn new(addresses: &[&str]) -> Fleet {
        Fleet::with(addresses, |builder| builder)
    }

    /// Like `new`, with `configure` applied to each server's builder (the
    /// client key is already authorized).
    pub fn with(addresses: &[&str], configure: impl Fn(SshdBuilder) -> SshdBuilder) -> Fleet {
        let dir = tempfile::Builder::new()
            .prefix("ecsfleet-fleet-")
            .tempdir()
            .expect("create fleet tempdir");
        fs::create_dir_all(dir.path().join("keys")).expect("create keys dir");
        fs::create_dir_all(dir.path().join("inventory")).expect("create inventory dir");
        let client_key = dir.path().join("keys/id_ed25519");
        let client_pub = keygen("ed25519", &client_key, "ecsfleet-test-client");
        fs::set_permissions(&client_key, fs::Permissions::from_mode(0o600))
            .expect("chmod client key");

        let servers = addresses
            .iter()
            .map(|address| configure(Sshd::builder(address).authorized_key(&client_pub)).start())
            .collect();
        let fleet = Fleet {
            servers,
            client_key,
            inventory: dir.path().join("inventory/hosts.yml"),
            known_hosts: dir.path().join("known_hosts"),
            dir,
        };
        fleet.write_known_hosts();
        fleet.write_inventory("");
        fleet
    }

    /// Rewrites known_hosts from the servers' current host keys.
    pub fn write_known_hosts(&self) {
        let lines: String = self
            .servers
            .iter()
            .map(|server| server.known_hosts_line() + "\n")
            .collect();
        fs::write(&self.known_hosts, lines).expect("write known_hosts");
    }

    /// Rewrites hosts.yml: the standard h1..hN entries, then `extra_yaml_hosts`
    /// verbatim (e.g. `"  ghost: {address: 127.0.1.99}\n"`).
    pub fn write_inventory(&self, extra_yaml_hosts: &str) {
        let mut yaml = String::from(
            "defaults: {user: root, identity: ../keys/id_ed25519}\n\
             known_hosts: ../known_hosts\n\
             hosts:\n",
        );
        for (i, server) in self.servers.iter().enumerate() {
            yaml.push_str(&format!(
                "  h{}: {{address: {}, port: {}}}\n",
                i + 1,
                server.address,
                server.port
            ));
        }
        yaml.push_str(extra_yaml_hosts);
        if !yaml.ends_with('\n') {
            yaml.push('\n');
        }
        fs::write(&self.inventory, yaml).expect("write inventory");
    }
}

/// The built `ecsfleet` binary, isolated from the operator's environment.
pub fn ecsfleet() -> Command {
    // Kept (not deleted on drop) because the Command outlives this function;
    // it lives under cargo's per-target tmp dir, which `cargo clean` empties.
    let home = tempfile::Builder::new()
        .prefix("home-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("create HOME for ecsfleet")
        .keep();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecsfleet"));
    command
        .env("HOME", home)
        .env_remove("ECSFLEET_INVENTORY")
        .env_remove("SSH_AUTH_SOCK");
    command
}

fn host_key_path(dir: &Path, key_type: &str) -> PathBuf {
    dir.join(format!("ssh_host_{key_type}_key"))
}

/// Generates an unencrypted key pair at `path`; returns the public key as
/// `TYPE BASE64` without the comment.
fn keygen(key_type: &str, path: &Path, comment: &str) -> String {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", key_type, "-N", "", "-C", comment, "-f"])
        .arg(path));
    let public = fs::read_to_string(path.with_extension("pub")).expect("read public key");
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a helper program to completion; its stdout, or a panic with stderr.
fn run(command: &mut Command) -> String {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn answers_ssh(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut banner = [0u8; 4];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// True while `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat_fields(&stat).0 != "Z")
}

/// All processes below `root`, found through /proc parent links.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Ok(ppid) = stat_fields(&stat).1.parse::<u32>() {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|&&(_, ppid)| ppid == parent)
                .map(|&(pid, _)| pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// (state, ppid) from /proc/PID/stat; the command name may hold spaces and
/// parentheses, so parse after its last ')'.
fn stat_fields(stat: &str) -> (&str, &str) {
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = rest.split_whitespace();
    (fields.next().unwrap_or(""), fields.next().unwrap_or(""))
}

#[test]
fn sshd_harness_starts_and_answers() {
    let fleet = Fleet::new(&["127.0.1.250", "127.0.1.251"]);
    let out = Command::new("ssh")
        .arg("-F")
        .arg("/dev/null")
        .arg("-i")
        .arg(&fleet.client_key)
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            fleet.known_hosts.display()
        ))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "root@127.0.1.250",
            "echo hi",
        ])
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    assert!(
        out.status.success(),
        "ssh failed: {}\nsshd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        fleet.servers[0].log()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert!(
        fleet.servers[0]
            .log()
            .contains("Accepted publickey for root")
    );
    assert!(!fleet.servers[1].log().contains("Accepted publickey"));

    let pids: Vec<u32> = fleet.servers.iter().filter_map(Sshd::pid).collect();
    let dirs: Vec<PathBuf> = fleet
        .servers
        .iter()
        .map(|s| s.dir.path().to_owned())
        .collect();
    assert_eq!(pids.len(), 2);
    drop(fleet);
    for pid in pids {
        assert!(!alive(pid), "sshd {pid} still runs after drop");
    }
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
