//! Twin hosts as machines: PID 1 is systemd, a reboot is real (a live
//! connection drops, the boot id changes, /run is emptied), and `down`
//! leaves no process, mount or cgroup behind.

use std::fs;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::support::lab::{show, wait_for};
use crate::support::twin::TwinFleet;

const LONG: Duration = Duration::from_secs(120);

fn boot_id(fleet: &TwinFleet, name: &str) -> String {
    fleet
        .ssh_ok(name, "cat /proc/sys/kernel/random/boot_id")
        .trim()
        .to_string()
}

#[test]
fn pid_1_is_systemd_and_the_host_looks_like_xenial() {
    let fleet = TwinFleet::up(100, 1);
    let host = fleet.name(0);
    let out = fleet.ssh_ok(
        &host,
        "ps -o comm= -p 1; systemctl is-system-running; . /etc/os-release; echo $ID $VERSION_ID; \
         grep -q bookworm /etc/os-release.debian && echo debian-kept; hostname",
    );
    assert_eq!(
        out,
        format!("systemd\nrunning\nubuntu 16.04\ndebian-kept\n{host}\n")
    );
    // PostgreSQL answers on its Unix socket only: hosts share the network.
    let listen = fleet.ssh_ok(&host, "sudo -u postgres psql -tAc 'show listen_addresses'");
    assert_eq!(listen, "\n");
    let status = fleet.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0]["state"], "up", "{status:?}");
    assert_eq!(status[0]["sshd"], "active", "{status:?}");
    assert_eq!(status[0]["postgres"], "active", "{status:?}");
}

#[test]
fn a_reboot_drops_the_connection_changes_the_boot_id_and_empties_run() {
    let fleet = TwinFleet::up(101, 1);
    let host = fleet.name(0);
    let before = boot_id(&fleet, &host);
    fleet.ssh_ok(&host, "touch /run/before-reboot /var/tmp/kept");
    // A live session: it must end when the host goes down.
    let mut live = fleet
        .ssh_command(&host, "echo connected; sleep 600")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    live.stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    assert_eq!(&first, b"connected\n");
    fleet.ssh(&host, "systemctl reboot");
    wait_for("the live session to drop", LONG, || {
        live.try_wait().unwrap().is_some()
    });
    wait_for("the host to come back", LONG, || {
        fleet
            .ssh(&host, "systemctl is-system-running")
            .status
            .success()
    });
    let after = boot_id(&fleet, &host);
    assert_ne!(before, after);
    assert_eq!(
        fleet.ssh_ok(&host, "ls /run/before-reboot /var/tmp/kept 2>&1 || true"),
        "ls: cannot access '/run/before-reboot': No such file or directory\n/var/tmp/kept\n"
    );
    let boots = fleet.ssh_ok(
        &host,
        "journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ [0-9a-f]{32} '",
    );
    assert_eq!(boots.trim(), "2", "two boots in the persistent journal");
    // Uptime comes from PID 1's age, not the machine's /proc/uptime.
    let age: u64 = fleet
        .ssh_ok(&host, "ps -o etimes= -p 1")
        .trim()
        .parse()
        .unwrap();
    assert!(age < 120, "PID 1 is {age} s old");
}

#[test]
fn down_leaves_no_process_mount_or_cgroup() {
    let mut fleet = TwinFleet::up(102, 2);
    let dir = fleet.dir().to_path_buf();
    let leaders: Vec<u32> = fleet
        .names()
        .iter()
        .map(|n| fleet.leader(n).unwrap())
        .collect();
    let cgroups: Vec<String> = fs::read_to_string(format!("/proc/{}/cgroup", leaders[0]))
        .unwrap()
        .lines()
        .filter_map(|l| l.split(':').nth(2).map(str::to_string))
        .collect();
    assert!(
        cgroups.iter().any(|c| c.contains("ecsfleet-lab/")),
        "{cgroups:?}"
    );
    let output = fleet.down();
    assert!(output.status.success(), "{}", show(&output));
    for pid in leaders {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(dir.to_str().unwrap()),
        "a mount is left below {}",
        dir.display()
    );
    let processes = std::process::Command::new("pgrep")
        .args(["-f", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&processes.stdout),
        "",
        "processes left"
    );
    for hierarchy in ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"] {
        for cgroup in cgroups.iter().filter(|c| c.contains("ecsfleet-lab/")) {
            // /ecsfleet-lab/HASH-labK/payload/... -> /ecsfleet-lab/HASH-labK
            let host_part: String = cgroup.split('/').take(3).collect::<Vec<_>>().join("/");
            let path = format!("{hierarchy}{host_part}");
            assert!(!std::path::Path::new(&path).exists(), "cgroup {path} left");
        }
    }
    assert!(!dir.join("hosts").exists());
}

#[test]
fn faults_slow_boot_and_unreachable_are_real() {
    let fleet = TwinFleet::up_with(103, 1, &["--slow-boot-delay", "3600"]);
    let host = fleet.name(0);
    fleet.fault(&host, "unreachable", true);
    let refused = fleet.ssh(&host, "true");
    assert_eq!(refused.status.code(), Some(255), "{}", show(&refused));
    fleet.fault(&host, "unreachable", false);
    fleet.ssh_ok(&host, "true");
    fleet.fault(&host, "slow-boot", true);
    let before = boot_id(&fleet, &host);
    fleet.ssh(&host, "systemctl reboot");
    wait_for("the host to go down", LONG, || {
        fleet.status()[0]["state"] == "rebooting"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fleet.status()[0]["state"], "rebooting");
    fleet.fault(&host, "slow-boot", false);
    wait_for("the host to come back", LONG, || {
        fleet
            .ssh(&host, "systemctl is-system-running")
            .status
            .success()
    });
    assert_ne!(boot_id(&fleet, &host), before);
}
