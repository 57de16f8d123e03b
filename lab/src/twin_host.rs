//! One twin host, `labK`: a Debian 12 container with real systemd, booted
//! by systemd-nspawn from an overlay of the base image, its sshd on
//! 127.0.0.(10+K):22 (hosts share the machine's network).
//!
//! ```text
//! DIR/hosts/labK/upper, work   the overlay's writable layer (the host's disk)
//! DIR/hosts/labK/root          the overlay, mounted by `up`, unmounted by `down`
//! DIR/hosts/labK/faults/       fault switches (see fault.rs)
//! DIR/hosts/labK/supervisor.*  the supervisor (twin/supervisor.sh), its pid, log
//! DIR/hosts/labK/nspawn.pid    the running systemd-nspawn (absent while rebooting)
//! ```
//!
//! What `up` writes into the host's layer before its first boot: the twin's
//! stand-ins (twin/root, see lab/TWIN.md), /etc/hostname, /etc/hosts, a
//! machine-id, an ed25519 host key, sshd listening on the host's address only,
//! root's authorized key, and /etc/os-release saying Ubuntu 16.04 (the one
//! deliberate fiction, so preflight runs as on a real host; Debian's own is
//! kept as /etc/os-release.debian).

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::command;
use crate::error::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/twin_files.rs"));

pub const DOMAIN: &str = "ecs.test";
const SUPERVISOR: &str = include_str!("../twin/supervisor.sh");
const UBUNTU_OS_RELEASE: &str = "NAME=\"Ubuntu\"\nVERSION=\"16.04.7 LTS (Xenial Xerus)\"\nID=ubuntu\nID_LIKE=debian\n\
PRETTY_NAME=\"Ubuntu 16.04.7 LTS\"\nVERSION_ID=\"16.04\"\nVERSION_CODENAME=xenial\nUBUNTU_CODENAME=xenial\n";

#[derive(Debug, Clone)]
pub struct TwinHost {
    pub index: u32,
    pub name: String,
    pub dir: PathBuf,
}

/// Timing of a host's boots (milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct BootDelays {
    pub boot_ms: u64,
    pub slow_boot_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub address: String,
    pub state: String,
    pub sshd: String,
    pub postgres: String,
    pub appliance: String,
    pub boot_id: String,
    pub faults: Vec<String>,
}

impl TwinHost {
    pub fn new(hosts_dir: &Path, index: u32) -> TwinHost {
        let name = format!("lab{index}");
        TwinHost {
            index,
            dir: hosts_dir.join(&name),
            name,
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, (10 + self.index) as u8)
    }

    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// A path inside the host, as seen from the machine (through the mounted overlay).
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root().join(inside.trim_start_matches('/'))
    }

    fn io<T>(&self, what: &str, result: std::io::Result<T>) -> Result<T> {
        result.map_err(|e| Error::io(format!("{}: {what}", self.name), e))
    }

    pub fn mounted(&self) -> bool {
        let root = self.root();
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|line| line.split(' ').nth(4) == Some(root.to_str().unwrap_or("")))
    }

    /// Mounts the overlay (base below, the host's layer above).
    pub fn mount(&self, base: &Path) -> Result<()> {
        for sub in ["upper", "work", "root", "faults"] {
            self.io(
                "creating its directories",
                fs::create_dir_all(self.dir.join(sub)),
            )?;
        }
        if self.mounted() {
            return Ok(());
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            base.display(),
            self.dir.join("upper").display(),
            self.dir.join("work").display()
        );
        command::run(
            &format!("mounting {}'s overlay", self.name),
            "mount",
            &[
                "-t",
                "overlay",
                "overlay",
                "-o",
                &options,
                &self.root().display().to_string(),
            ],
        )?;
        Ok(())
    }

    pub fn unmount(&self) -> Result<()> {
        if self.mounted() {
            command::run(
                &format!("unmounting {}'s overlay", self.name),
                "umount",
                &[&self.root().display().to_string()],
            )?;
        }
        Ok(())
    }

    fn write(&self, inside: &str, contents: &[u8], mode: u32) -> Result<()> {
        let path = self.path(inside);
        if let Some(parent) = path.parent() {
            self.io(
                &format!("creating {}", parent.display()),
                fs::create_dir_all(parent),
            )?;
        }
        let _ = fs::remove_file(&path);
        self.io(&format!("writing {inside}"), fs::write(&path, contents))?;
        self.io(
            &format!("setting the mode of {inside}"),
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)),
        )
    }

    /// The host's identity and the twin's stand-ins, into its layer. Called
    /// at every `up` (stand-ins refreshed); the identity is made once.
    pub fn prepare(&self, client_key: &str, delays: BootDelays) -> Result<()> {
        for (inside, contents, mode) in TWIN_FILES {
            if *mode == 0 {
                let path = self.path(inside);
                if let Some(parent) = path.parent() {
                    self.io("creating a directory", fs::create_dir_all(parent))?;
                }
                let _ = fs::remove_file(&path);
                let target = std::str::from_utf8(contents).unwrap_or_default();
                self.io(&format!("linking {inside}"), symlink(target, &path))?;
            } else {
                self.write(inside, contents, *mode)?;
            }
        }
        let address = self.address();
        let fqdn = format!("{}.{DOMAIN}", self.name);
        self.write(
            "/var/lib/ecs-lab/host",
            format!("{}\n", self.name).as_bytes(),
            0o644,
        )?;
        if !self.path("/etc/hostname").exists() {
            self.write(
                "/etc/hostname",
                format!("{}\n", self.name).as_bytes(),
                0o644,
            )?;
        }
        self.write(
            "/etc/hosts",
            format!("127.0.0.1 localhost\n{address} {fqdn} {}\n", self.name).as_bytes(),
            0o644,
        )?;
        if !self.path("/etc/os-release.debian").exists() {
            let debian = fs::read(self.path("/usr/lib/os-release")).unwrap_or_default();
            self.write("/etc/os-release.debian", &debian, 0o644)?;
        }
        let _ = fs::remove_file(self.path("/etc/os-release"));
        self.write("/etc/os-release", UBUNTU_OS_RELEASE.as_bytes(), 0o644)?;
        if fs::read(self.path("/etc/machine-id"))
            .unwrap_or_default()
            .len()
            < 32
        {
            let id = random_hex(16)?;
            self.write("/etc/machine-id", format!("{id}\n").as_bytes(), 0o444)?;
        }
        self.write(
            "/etc/ssh/sshd_config.d/twin.conf",
            format!(
                "# The twin shares the machine's network: this host's own address only.\n\
                 ListenAddress {address}:22\nHostKey /etc/ssh/ssh_host_ed25519_key\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n\
                 MaxStartups 200:30:400\n"
            )
            .as_bytes(),
            0o644,
        )?;
        let key = self.path("/etc/ssh/ssh_host_ed25519_key");
        if !key.exists() {
            keygen(&key, &format!("root@{}", self.name))?;
        }
        self.write("/root/.ssh/authorized_keys", client_key.as_bytes(), 0o600)?;
        self.io(
            "setting /root/.ssh's mode",
            fs::set_permissions(self.path("/root/.ssh"), fs::Permissions::from_mode(0o700)),
        )?;
        self.write("/var/lib/ecs-lab/faults/.keep", b"", 0o644)?;
        let settings = format!(
            "NAME={}\nBOOT_DELAY_MS={}\nSLOW_BOOT_DELAY_MS={}\nCGROUP={}\n",
            self.name,
            delays.boot_ms,
            delays.slow_boot_ms,
            self.cgroup()
        );
        self.io(
            "writing settings.sh",
            fs::write(self.dir.join("settings.sh"), settings),
        )?;
        self.io(
            "writing supervisor.sh",
            fs::write(self.dir.join("supervisor.sh"), SUPERVISOR),
        )?;
        Ok(())
    }

    /// The memory and cores the host shows (twin/root/usr/lib/ecs-lab/hardware.sh
    /// binds these over /proc/meminfo and /proc/cpuinfo at boot; nproc in
    /// /usr/local/bin answers the core count); None: the machine's own.
    pub fn set_hardware(&self, memory_mb: Option<u64>, cores: Option<u32>) -> Result<()> {
        let dir = "/var/lib/ecs-lab/hardware";
        let _ = fs::remove_file(self.path(&format!("{dir}/meminfo")));
        let _ = fs::remove_file(self.path(&format!("{dir}/cpuinfo")));
        let _ = fs::remove_file(self.path("/usr/local/bin/nproc"));
        if let Some(mb) = memory_mb {
            let kb = mb * 1024;
            let text = format!(
                "MemTotal:       {kb:>8} kB\nMemFree:        {free:>8} kB\nMemAvailable:   {free:>8} kB\n\
                 Buffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
                free = kb * 3 / 4
            );
            self.write(&format!("{dir}/meminfo"), text.as_bytes(), 0o644)?;
        }
        if let Some(cores) = cores {
            let text: String = (0..cores)
                .map(|i| format!("processor\t: {i}\nmodel name\t: ecsfleet-lab twin core\n\n"))
                .collect();
            self.write(&format!("{dir}/cpuinfo"), text.as_bytes(), 0o644)?;
            self.write(
                "/usr/local/bin/nproc",
                format!("#!/bin/sh\n# ecsfleet-lab: the core count the lab gives this host\necho {cores}\n").as_bytes(),
                0o755,
            )?;
        }
        Ok(())
    }

    /// The host's own cgroup (see twin/supervisor.sh): unique per lab
    /// directory and host.
    pub fn cgroup(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.dir.display().to_string().as_bytes());
        let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("ecsfleet-lab/{short}-{}", self.name)
    }

    /// Removes the host's cgroups when its supervisor could not (killed).
    fn remove_cgroups(&self) {
        for hierarchy in ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"] {
            let top = Path::new(hierarchy).join(self.cgroup());
            let mut dirs = Vec::new();
            collect_dirs(&top, &mut dirs);
            for dir in dirs.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            if let Some(parent) = top.parent() {
                let _ = fs::remove_dir(parent);
            }
        }
    }

    /// The host's ed25519 public key line ("ssh-ed25519 AAAA...").
    pub fn host_key(&self) -> Option<String> {
        let line = fs::read_to_string(self.path("/etc/ssh/ssh_host_ed25519_key.pub")).ok()?;
        let mut parts = line.split_whitespace();
        Some(format!("{} {}", parts.next()?, parts.next()?))
    }

    fn pid_file(&self, name: &str) -> Option<u32> {
        fs::read_to_string(self.dir.join(name))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    fn alive(pid: u32) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid as i32, 0) == 0 }
    }

    pub fn supervisor(&self) -> Option<u32> {
        let pid = self.pid_file("supervisor.pid")?;
        let recorded = fs::read_to_string(self.dir.join("supervisor.pid")).ok()?;
        let started = recorded.split_whitespace().nth(1)?.to_string();
        (Self::alive(pid) && process_start(pid).as_deref() == Some(started.as_str())).then_some(pid)
    }

    pub fn nspawn(&self) -> Option<u32> {
        let pid = self.pid_file("nspawn.pid")?;
        Self::alive(pid).then_some(pid)
    }

    /// PID 1 of the running host (the container's systemd), seen from the machine.
    pub fn leader(&self) -> Option<u32> {
        let nspawn = self.nspawn()?;
        let children = fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    pub fn running(&self) -> bool {
        self.supervisor().is_some()
    }

    /// Starts the supervisor, detached (its own session), which boots the host.
    pub fn spawn(&self) -> Result<()> {
        let log = self.io(
            "opening supervisor.log",
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("supervisor.log")),
        )?;
        let err = self.io("duplicating a descriptor", log.try_clone())?;
        let child = self.io(
            "starting its supervisor",
            Command::new("setsid")
                .arg("bash")
                .arg(self.dir.join("supervisor.sh"))
                .arg(&self.dir)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn(),
        )?;
        let pid = child.id();
        // setsid execs in place (the caller is not a group leader), so the pid stays.
        let mut started = None;
        for _ in 0..50 {
            started = process_start(pid);
            if started.is_some() {
                break;
            }
            sleep(Duration::from_millis(10));
        }
        let started = started.unwrap_or_default();
        self.io(
            "writing supervisor.pid",
            fs::write(
                self.dir.join("supervisor.pid"),
                format!("{pid} {started}\n"),
            ),
        )?;
        // The child is reaped by nobody here; it outlives us by design.
        std::mem::forget(child);
        Ok(())
    }

    /// Waits until sshd accepts on the host's address and systemd says the
    /// system is up (running or degraded).
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let address = SocketAddr::from((self.address(), 22));
        loop {
            if let Some(leader) = self.leader() {
                let up = command::inside(leader, &["systemctl", "is-system-running"])
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .unwrap_or_default();
                // The twin's own first boot (PostgreSQL cluster, mirrors,
                // the vagrant login) must be done too: `degraded` alone
                // could hide its failure.
                let first_boot_done = self.path("/var/lib/ecs-lab/firstboot.done").exists();
                if (up == "running" || up == "degraded")
                    && first_boot_done
                    && TcpStream::connect_timeout(&address, Duration::from_millis(300)).is_ok()
                {
                    return Ok(());
                }
                if up == "degraded" && !first_boot_done {
                    let failed = command::inside(
                        leader,
                        &["systemctl", "is-failed", "ecs-lab-firstboot.service"],
                    )
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "failed")
                    .unwrap_or(false);
                    if failed {
                        return Err(Error::Host {
                            host: self.name.clone(),
                            message:
                                "its first boot failed: journalctl -u ecs-lab-firstboot in the host"
                                    .into(),
                        });
                    }
                }
            }
            if !self.running() {
                return Err(Error::Host {
                    host: self.name.clone(),
                    message: format!(
                        "the host stopped while booting; see {}/supervisor.log and nspawn.log",
                        self.dir.display()
                    ),
                });
            }
            if Instant::now() > deadline {
                return Err(Error::Host {
                    host: self.name.clone(),
                    message: format!(
                        "not up after {} s (sshd on {address} and systemd running); see {}/nspawn.log",
                        timeout.as_secs(),
                        self.dir.display()
                    ),
                });
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// Stops the host: SIGTERM to the supervisor (an orderly shutdown of the
    /// host's systemd), then, after `grace`, SIGKILL to the container's PID 1
    /// (which ends its whole PID namespace), nspawn and the supervisor. Then
    /// unmounts the overlay.
    pub fn stop(&self, grace: Duration) -> Result<()> {
        if let Some(pid) = self.supervisor() {
            // SAFETY: plain kill(2) on a pid we started and checked by start time.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            let deadline = Instant::now() + grace;
            while self.supervisor().is_some() && Instant::now() < deadline {
                sleep(Duration::from_millis(100));
            }
            if self.supervisor().is_some() {
                for pid in [self.leader(), self.nspawn(), Some(pid)]
                    .into_iter()
                    .flatten()
                {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
                let deadline = Instant::now() + Duration::from_secs(10);
                while (self.supervisor().is_some() || self.nspawn().is_some())
                    && Instant::now() < deadline
                {
                    sleep(Duration::from_millis(100));
                }
            }
        } else if let Some(leader) = self.leader() {
            // A supervisor that died left its host running.
            unsafe { libc::kill(leader as i32, libc::SIGKILL) };
            sleep(Duration::from_millis(500));
        }
        let _ = fs::remove_file(self.dir.join("nspawn.pid"));
        self.remove_cgroups();
        self.unmount()
    }

    pub fn faults(&self) -> Vec<String> {
        let mut faults: Vec<String> = fs::read_dir(self.dir.join("faults"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        faults.sort();
        faults
    }

    pub fn status(&self) -> HostStatus {
        let state = if !self.running() {
            "down"
        } else if self.leader().is_some() {
            "up"
        } else {
            "rebooting"
        };
        let (mut sshd, mut postgres, mut appliance, mut boot_id) = (
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
        );
        if let Some(leader) = self.leader() {
            let probe = command::inside(
                leader,
                &[
                    "sh",
                    "-c",
                    "systemctl is-active ssh; systemctl is-active postgresql@15-main; \
                     systemctl is-active appliance; cat /proc/sys/kernel/random/boot_id",
                ],
            );
            if let Some(out) = probe {
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let mut lines = text.lines().map(str::to_string);
                sshd = lines.next().unwrap_or_default();
                postgres = lines.next().unwrap_or_default();
                appliance = lines.next().unwrap_or_default();
                boot_id = lines.next().unwrap_or_default();
            }
        }
        HostStatus {
            host: self.name.clone(),
            address: self.address().to_string(),
            state: state.to_string(),
            sshd,
            postgres,
            appliance,
            boot_id,
            faults: self.faults(),
        }
    }
}

/// `dir` and every directory below it, parents first.
fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    out.push(dir.to_path_buf());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&entry.path(), out);
            }
        }
    }
}

/// The start time of a process (field 22 of /proc/PID/stat), to tell a
/// recorded pid from a reused one.
pub fn process_start(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19).map(str::to_string)
}

pub fn keygen(path: &Path, comment: &str) -> Result<()> {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(path.with_extension("pub"));
    command::run(
        "making a key",
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            comment,
            "-f",
            &path.display().to_string(),
        ],
    )?;
    Ok(())
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    let mut urandom =
        fs::File::open("/dev/urandom").map_err(|e| Error::io("opening /dev/urandom", e))?;
    std::io::Read::read_exact(&mut urandom, &mut buf)
        .map_err(|e| Error::io("reading /dev/urandom", e))?;
    let mut out = String::new();
    for b in buf {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}
