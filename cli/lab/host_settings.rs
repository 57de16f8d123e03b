//! The settings of a lab host that `lab up` writes into its files: delays,
//! simulated memory and cores, where PostgreSQL lives. Rendered as the
//! host's config.sh (sourced by the simulator), its /proc/meminfo and
//! /proc/cpuinfo, its /etc/os-release and /etc/hosts, and sshd_config.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::lab::preflight::Postgres;

/// The domain every lab host's name is under: labK.ecs.test.
pub const DOMAIN: &str = "ecs.test";

#[derive(Debug, Clone)]
pub struct HostSettings {
    pub memory_mb: u64,
    pub cores: u32,
    pub boot_delay: f64,
    pub start_delay: f64,
    pub slow_boot_delay: f64,
    pub highstate_delay: f64,
    pub postgres: Postgres,
}

/// The host's /var/lib/ecs-lab/config.sh.
pub fn config_sh(
    settings: &HostSettings,
    name: &str,
    index: u32,
    address: Ipv4Addr,
    lab_dir: &Path,
) -> String {
    let values = [
        ("LAB_HOST", name.to_string()),
        ("LAB_INDEX", index.to_string()),
        ("LAB_ADDRESS", address.to_string()),
        ("LAB_DOMAIN", format!("{name}.{DOMAIN}")),
        ("LAB_DIR", lab_dir.to_string_lossy().into_owned()),
        ("LAB_BOOT_DELAY", settings.boot_delay.to_string()),
        ("LAB_START_DELAY", settings.start_delay.to_string()),
        ("LAB_SLOW_BOOT_DELAY", settings.slow_boot_delay.to_string()),
        ("LAB_HIGHSTATE_DELAY", settings.highstate_delay.to_string()),
        ("LAB_CORES", settings.cores.to_string()),
        ("LAB_MEMORY_MB", settings.memory_mb.to_string()),
        (
            "PG_BIN",
            settings.postgres.bin.to_string_lossy().into_owned(),
        ),
        ("PG_VERSION", settings.postgres.version.clone()),
    ];
    let mut out = String::from("# Written by `ecsfleet lab up`; sourced by the lab's scripts.\n");
    for (key, value) in values {
        out.push_str(&format!("{key}={}\n", sh_quote(&value)));
    }
    out
}

/// Single-quotes a value for sh unless it is made only of safe characters.
pub fn sh_quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r#"'"'"'"#))
    }
}

pub fn sshd_config(address: Ipv4Addr) -> String {
    format!(
        "# Written by `ecsfleet lab up`. Paths are as the host sees them.
ListenAddress {address}:22
HostKey /var/lib/ecs-lab/ssh/ssh_host_ed25519_key
PidFile /var/lib/ecs-lab/sshd.pid
AuthorizedKeysFile /var/lib/ecs-lab/ssh/authorized_keys .ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 200:30:400
MaxSessions 200
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
LogLevel VERBOSE
"
    )
}

pub const OS_RELEASE: &str = r#"NAME="Ubuntu"
VERSION="16.04.7 LTS (Xenial Xerus)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 16.04.7 LTS"
VERSION_ID="16.04"
HOME_URL="http://www.ubuntu.com/"
SUPPORT_URL="http://help.ubuntu.com/"
BUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"
VERSION_CODENAME=xenial
UBUNTU_CODENAME=xenial
"#;

pub fn etc_hosts(name: &str, address: Ipv4Addr) -> String {
    format!(
        "127.0.0.1\tlocalhost\n{address}\t{name}.{DOMAIN} {name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
}

/// The machine's /proc/meminfo with MemTotal, MemFree and MemAvailable set
/// to the simulated size.
pub fn meminfo(real: &str, memory_mb: u64) -> String {
    let total = memory_mb * 1024;
    let mut out = String::new();
    for line in real.lines() {
        let key = line.split(':').next().unwrap_or("");
        let value = match key {
            "MemTotal" => Some(total),
            "MemFree" => Some(total / 10 * 7),
            "MemAvailable" => Some(total / 10 * 8),
            _ => None,
        };
        match value {
            Some(kb) => out.push_str(&format!("{:<16}{kb:>8} kB\n", format!("{key}:"))),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !out.contains("MemTotal:") {
        out.insert_str(0, &format!("MemTotal:       {total:>8} kB\n"));
    }
    out
}

/// The first processor of the machine's /proc/cpuinfo, `cores` times.
pub fn cpuinfo(real: &str, cores: u32) -> String {
    let first: Vec<&str> = real.lines().take_while(|l| !l.trim().is_empty()).collect();
    let mut out = String::new();
    for n in 0..cores {
        for line in &first {
            let key = line.split(':').next().unwrap_or("").trim();
            let replaced = match key {
                "processor" | "core id" | "apicid" | "initial apicid" => Some(n.to_string()),
                "cpu cores" | "siblings" => Some(cores.to_string()),
                "physical id" => Some("0".to_string()),
                _ => None,
            };
            match replaced {
                Some(v) => {
                    out.push_str(&format!("{}: {v}\n", line.split(':').next().unwrap_or("")))
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_sh() {
        assert_eq!(sh_quote("/tmp/lab"), "/tmp/lab");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn meminfo_reports_the_simulated_size() {
        let real = "MemTotal:       24683656 kB\nMemFree:        23000000 kB\nMemAvailable:   23500000 kB\nBuffers:            1000 kB\n";
        let fake = meminfo(real, 4096);
        assert!(fake.starts_with("MemTotal:        4194304 kB\n"), "{fake}");
        assert!(fake.contains("Buffers:            1000 kB\n"));
    }

    #[test]
    fn cpuinfo_has_one_block_per_core() {
        let real =
            "processor\t: 0\nmodel name\t: X\ncpu cores\t: 8\n\nprocessor\t: 1\nmodel name\t: X\n";
        let fake = cpuinfo(real, 3);
        assert_eq!(fake.matches("processor\t: ").count(), 3);
        assert!(fake.contains("processor\t: 2\n"));
        assert!(fake.contains("cpu cores\t: 3\n"));
    }
}
