//! One lab host: its directory DIR/hosts/NAME, the files `lab up` writes
//! there, its supervisor process, requests to it, and what it is doing.
//!
//! DIR/hosts/NAME/ holds what the host sees at /app, /data, /volatile,
//! /etc/salt, /usr/local/sbin, /usr/local/bin (overlay upper layer),
//! /usr/local/share/appliance, /var/www/html, /root, /run (app/ data/ ...
//! run/), its /etc/os-release, /etc/hosts, /proc/meminfo and /proc/cpuinfo
//! (etc/, proc/), and lab/: the host's /var/lib/ecs-lab (config.sh, lib.sh,
//! supervisor.sh, calls.jsonl, journal/, state/, faults/, payload/, ssh/,
//! the control fifo ctl). supervisor.pid and supervisor.log stay outside
//! the host's view.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lab::fault::{Fault, Switch};
use crate::lab::host_settings::{self, HostSettings};
use crate::lab::process::{self, ProcessRecord};
use crate::lab::scripts;

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The directories bind-mounted into the host, by name under the host dir.
const HOST_DIRS: &[&str] = &[
    "app",
    "data",
    "volatile",
    "salt",
    "sbin",
    "bin",
    ".bin-work",
    "share",
    "www",
    "root",
    "run",
    "etc",
    "proc",
];
const LAB_DIRS: &[&str] = &[
    "ssh",
    "journal",
    "state/units",
    "faults",
    "payload/share",
    "payload/fault",
    "mnt/app",
    "backup",
];

#[derive(Debug, Clone)]
pub struct LabHost {
    pub index: u32,
    pub name: String,
    pub dir: PathBuf,
}

/// What `lab status` shows of a host.
#[derive(Debug, Clone, Serialize)]
pub struct HostStatus {
    pub host: String,
    pub address: String,
    pub state: String,
    pub sshd: String,
    pub postgres: String,
    pub appliance: String,
    pub faults: Vec<String>,
}

impl LabHost {
    pub fn new(hosts_dir: &Path, index: u32) -> LabHost {
        let name = format!("lab{index}");
        LabHost {
            index,
            dir: hosts_dir.join(&name),
            name,
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        address_of(self.index)
    }

    /// The host's /var/lib/ecs-lab as the operator sees it.
    pub fn lab(&self) -> PathBuf {
        self.dir.join("lab")
    }

    pub fn call_log(&self) -> PathBuf {
        self.lab().join("calls.jsonl")
    }

    fn record_path(&self) -> PathBuf {
        self.dir.join("supervisor.pid")
    }

    pub fn supervisor(&self) -> Option<ProcessRecord> {
        ProcessRecord::read(&self.record_path())
    }

    pub fn running(&self) -> bool {
        self.supervisor().is_some_and(|r| r.alive())
    }

    fn read_lab(&self, name: &str) -> String {
        fs::read_to_string(self.lab().join(name))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// Writes every file the host needs; safe on a running host (files that
    /// are bind-mounted are rewritten in place).
    pub fn prepare(
        &self,
        settings: &HostSettings,
        lab_dir: &Path,
        client_key_pub: &str,
    ) -> Result<()> {
        for dir in HOST_DIRS {
            mkdir(&self.dir.join(dir))?;
        }
        for dir in LAB_DIRS {
            mkdir(&self.lab().join(dir))?;
        }
        if let Some((uid, gid)) = lookup_user("app") {
            let app = self.dir.join("app");
            std::os::unix::fs::chown(&app, Some(uid), Some(gid))
                .map_err(|e| Error::io(format!("chown {}", app.display()), e))?;
        }
        let lab = self.lab();
        write(
            &lab.join("config.sh"),
            &host_settings::config_sh(settings, &self.name, self.index, self.address(), lab_dir),
            0o644,
        )?;
        write(&lab.join("lib.sh"), scripts::LIB, 0o644)?;
        write(&lab.join("supervisor.sh"), scripts::SUPERVISOR, 0o755)?;
        for (name, text) in scripts::SBIN {
            write(&self.dir.join("sbin").join(name), text, 0o755)?;
        }
        for (name, text) in scripts::PAYLOAD {
            write(&lab.join("payload").join(name), text, 0o755)?;
        }
        write(
            &lab.join("ssh/sshd_config"),
            &host_settings::sshd_config(self.address()),
            0o644,
        )?;
        write(&lab.join("ssh/authorized_keys"), client_key_pub, 0o644)?;
        let key = lab.join("ssh/ssh_host_ed25519_key");
        if !key.exists() {
            keygen(&key, &format!("root@{}", self.name))?;
            let public = fs::read_to_string(key.with_extension("pub"))
                .map_err(|e| Error::io(format!("reading {}.pub", key.display()), e))?;
            write(&lab.join("ssh/known_host_key.pub"), &public, 0o644)?;
        }
        write(
            &self.dir.join("etc/os-release"),
            host_settings::OS_RELEASE,
            0o644,
        )?;
        write(
            &self.dir.join("etc/hosts"),
            &host_settings::etc_hosts(&self.name, self.address()),
            0o644,
        )?;
        let real_meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        write(
            &self.dir.join("proc/meminfo"),
            &host_settings::meminfo(&real_meminfo, settings.memory_mb),
            0o444,
        )?;
        let real_cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        write(
            &self.dir.join("proc/cpuinfo"),
            &host_settings::cpuinfo(&real_cpuinfo, settings.cores),
            0o444,
        )?;
        let calls = self.call_log();
        if !calls.exists() {
            write(&calls, "", 0o644)?;
        }
        Ok(())
    }

    /// The host key as first generated: what the lab's known_hosts pins.
    pub fn known_host_key(&self) -> Option<String> {
        let text = fs::read_to_string(self.lab().join("ssh/known_host_key.pub")).ok()?;
        let mut words = text.split_whitespace();
        Some(format!("{} {}", words.next()?, words.next()?))
    }

    /// Starts the supervisor in new mount and UTS namespaces, detached.
    pub fn spawn(&self) -> Result<()> {
        if self.port_answers() {
            return Err(Error::Host {
                host: self.name.clone(),
                message: format!(
                    "{}:22 is taken by another process (another lab, or the machine's own sshd on *:22); \
                     pick other hosts with --first",
                    self.address()
                ),
            });
        }
        for stale in ["status", "ctl.ack", "mntns", "sshd.pid"] {
            let _ = fs::remove_file(self.lab().join(stale));
        }
        let log_path = self.dir.join("supervisor.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", log_path.display()), e))?;
        let child = Command::new("setsid")
            .args([
                "unshare",
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "--",
                "/bin/bash",
            ])
            .arg(self.lab().join("supervisor.sh"))
            .arg(&self.dir)
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| Error::io(format!("{}: starting setsid unshare", self.name), e))?;
        let pid = child.id() as i32;
        let record =
            ProcessRecord::of(pid).ok_or_else(|| self.failure("the supervisor exited at once"))?;
        write(&self.record_path(), &record.render(), 0o644)?;
        Ok(())
    }

    /// Waits until the host has booted and its sshd answers.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.read_lab("status");
            if status == "up" && self.sshd_answers() {
                return Ok(());
            }
            if status == "failed" || !self.running() {
                return Err(self.failure("did not start"));
            }
            if Instant::now() > deadline {
                return Err(self.failure(&format!(
                    "not up after {} s (state: {status})",
                    timeout.as_secs()
                )));
            }
            sleep(Duration::from_millis(50));
        }
    }

    fn failure(&self, what: &str) -> Error {
        let log = fs::read_to_string(self.dir.join("supervisor.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Error::Host {
            host: self.name.clone(),
            message: format!(
                "{what}; {}:\n{}\n{}\n{}",
                self.dir.join("supervisor.log").display(),
                "-".repeat(60),
                tail.join("\n"),
                "-".repeat(60)
            ),
        }
    }

    /// Something answers on the host's address and port 22.
    pub fn port_answers(&self) -> bool {
        let addr = SocketAddr::from((self.address(), 22));
        TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
    }

    /// The host's own sshd runs (it writes its pid file once it listens)
    /// and the port answers.
    pub fn sshd_answers(&self) -> bool {
        let pid = self.read_lab("sshd.pid");
        !pid.is_empty()
            && fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "sshd")
            && self.port_answers()
    }

    /// Stops the host: SIGTERM to its supervisor (which stops PostgreSQL and
    /// kills the host's processes), then SIGKILL to anything left in the
    /// host's mount namespace. Without mounts in the machine's namespace
    /// there is nothing to unmount.
    pub fn stop(&self) -> Result<()> {
        if let Some(record) = self.supervisor()
            && record.signal(libc::SIGTERM)
            && !record.wait_gone(Duration::from_secs(60))
        {
            record.signal(libc::SIGKILL);
            record.wait_gone(Duration::from_secs(5));
        }
        let Ok(ns) = self.read_lab("mntns").parse::<u64>() else {
            return Ok(());
        };
        let app = self.dir.join("app");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left: Vec<i32> = process::processes_in_namespace(ns)
                .into_iter()
                .filter(|&pid| process::has_bind_mount(pid, &app, "/app"))
                .collect();
            if left.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Host {
                    host: self.name.clone(),
                    message: format!("processes {left:?} of the host would not die"),
                });
            }
            for pid in left {
                process::send_signal(pid, libc::SIGKILL);
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// Sends a request line to the supervisor and waits until it is done.
    fn request(&self, line: &str, timeout: Duration) -> Result<String> {
        if !self.running() {
            return Err(Error::Host {
                host: self.name.clone(),
                message: "is not running (lab up starts it)".to_string(),
            });
        }
        let seq = format!(
            "{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let fifo = self.lab().join("ctl");
        let mut ctl = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .map_err(|e| Error::io(format!("{}: the supervisor's control fifo", self.name), e))?;
        ctl.write_all(format!("{line} {seq}\n").as_bytes())
            .map_err(|e| Error::io(format!("{}: writing to the control fifo", self.name), e))?;
        drop(ctl);
        let deadline = Instant::now() + timeout;
        while self.read_lab("ctl.ack") != seq {
            if Instant::now() > deadline || !self.running() {
                return Err(self.failure(&format!("no answer to `{line}`")));
            }
            sleep(Duration::from_millis(50));
        }
        Ok(self.read_lab("ctl.result"))
    }

    pub fn set_fault(&self, fault: Fault, switch: Switch) -> Result<()> {
        if matches!(fault, Fault::SlowBoot | Fault::HighstateFails) {
            // Plain switches, read when used: set even while the host boots.
            let path = self.lab().join("faults").join(fault.name());
            let result = match switch {
                Switch::On => fs::write(&path, ""),
                Switch::Off => fs::remove_file(&path).or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }),
            };
            return result.map_err(|e| Error::io(format!("switching {}", path.display()), e));
        }
        let result = self.request(
            &format!("fault {} {}", fault.name(), switch.name()),
            Duration::from_secs(300),
        )?;
        if result != "ok" {
            return Err(self.failure(&format!(
                "switching {} {} failed",
                fault.name(),
                switch.name()
            )));
        }
        Ok(())
    }

    pub fn faults(&self) -> Vec<String> {
        Fault::ALL
            .iter()
            .filter(|f| self.lab().join("faults").join(f.name()).exists())
            .map(|f| f.name().to_string())
            .collect()
    }

    fn postgres_running(&self) -> bool {
        let Ok(versions) = fs::read_dir(self.dir.join("data/postgresql")) else {
            return false;
        };
        versions.flatten().any(|v| {
            fs::read_to_string(v.path().join("main/postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok())
                .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
        })
    }

    pub fn status(&self) -> HostStatus {
        let running = self.running();
        let state = if running {
            match self.read_lab("status").as_str() {
                "" => "starting".to_string(),
                s => s.to_string(),
            }
        } else {
            "stopped".to_string()
        };
        let sshd = if running && self.sshd_answers() {
            "up"
        } else {
            "down"
        };
        let postgres = if running && self.postgres_running() {
            "running"
        } else {
            "stopped"
        };
        let appliance = if !self.lab().join("state/units/appliance").exists() {
            "not installed".to_string()
        } else if !running {
            "-".to_string()
        } else {
            let unit = fs::read_to_string(self.dir.join("run/ecs-lab/units/appliance.state"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "inactive".to_string());
            if self.dir.join("run/appliance-failed").exists() {
                format!("{unit} (appliance-failed)")
            } else {
                unit
            }
        };
        HostStatus {
            host: self.name.clone(),
            address: self.address().to_string(),
            state,
            sshd: sshd.to_string(),
            postgres: postgres.to_string(),
            appliance,
            faults: self.faults(),
        }
    }
}

pub fn address_of(index: u32) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, (10 + index) as u8)
}

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

/// Writes in place (truncating, same inode: bind-mounted files stay mounted).
fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    let context = || format!("writing {}", path.display());
    fs::write(path, text).map_err(|e| Error::io(context(), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(context(), e))
}

pub fn keygen(path: &Path, comment: &str) -> Result<()> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("running ssh-keygen", e))?;
    if !out.status.success() {
        return Err(Error::usage(format!(
            "ssh-keygen failed for {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// uid and gid of a user of the machine (lab hosts share /etc/passwd).
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 3 && fields[0] == name)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}
