//! Lab tests (issue 3): real sshd in per-host namespaces, real PostgreSQL,
//! real reboots, the appliance simulator and the fault switches.
//! Each test has its own host indices (first 20..200, 127.0.0.30 and up).

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use crate::support::lab::{LabFleet, ecsfleet, wait_for};

const LONG: Duration = Duration::from_secs(120);

fn answers(fleet: &LabFleet, name: &str) -> bool {
    fleet.ssh(name, "true").status.success()
}

fn processes_in_namespace(ns: u64) -> Vec<i32> {
    let wanted = format!("mnt:[{ns}]");
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/mnt"))
                .map(|l| l.to_string_lossy() == wanted)
                .unwrap_or(false)
        })
        .collect()
}

/// A process that exists and is not a zombie.
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let after = &stat[stat.rfind(')').unwrap() + 1..];
            after.split_whitespace().next() != Some("Z")
        })
        .unwrap_or(false)
}

/// Brings the appliance of `name` to installed: minion config, tree, highstate.
fn install(fleet: &LabFleet, name: &str) {
    fleet.ssh_ok(
        name,
        "mkdir -p /etc/salt /app/appliance/salt && echo 'file_client: local' > /etc/salt/minion && \
         salt-call state.highstate --retcode-passthrough pillar='{\"appliance\": {\"enabled\": true}}' >/dev/null",
    );
}

fn write_env(fleet: &LabFleet, name: &str) {
    fleet.ssh_ok(
        name,
        "printf '#cloud-config\\nappliance:\\n  domain: x.ecs.test\\necs:\\n  database: ecs\\n' > /app/env.yml && chmod 0600 /app/env.yml",
    );
}

#[test]
fn lab_up_down_leaves_no_process_and_no_mount() {
    let mut fleet = LabFleet::up(20, 2);
    let dir = fleet.dir().to_path_buf();
    let inventory = fs::read_to_string(fleet.inventory()).unwrap();
    assert!(inventory.contains("defaults: {user: root, identity: ../keys/id_ed25519}"));
    assert!(inventory.contains("known_hosts: ../known_hosts"));
    assert!(
        inventory.contains("  lab20: {address: 127.0.0.30, domain: lab20.ecs.test, env: ../env/lab20.ecs.test/env.yml, groups: [lab]}")
    );
    assert!(
        inventory.contains("  lab21: {address: 127.0.0.31, domain: lab21.ecs.test, env: ../env/lab21.ecs.test/env.yml, groups: [lab]}")
    );
    let known = fs::read_to_string(fleet.known_hosts()).unwrap();
    assert!(
        known
            .lines()
            .any(|l| l.starts_with("127.0.0.30 ssh-ed25519 AAAA")),
        "{known}"
    );
    let mode = fs::metadata(fleet.client_key()).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    let status = fleet.status();
    assert_eq!(status.len(), 2);
    for (host, name) in status.iter().zip(["lab20", "lab21"]) {
        assert_eq!(host["host"], name);
        assert_eq!(host["state"], "up");
        assert_eq!(host["sshd"], "up");
        assert_eq!(host["postgres"], "running");
        assert_eq!(host["appliance"], "not installed");
    }
    for name in fleet.names() {
        assert_eq!(fleet.ssh_ok(&name, "hostname").trim(), name);
    }

    // A second up keeps the running hosts.
    let pids: Vec<i32> = fleet
        .names()
        .iter()
        .map(|n| fleet.supervisor_pid(n).unwrap())
        .collect();
    let output = fleet.lab(&["up", "--first", "20", "--hosts", "2"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again: Vec<i32> = fleet
        .names()
        .iter()
        .map(|n| fleet.supervisor_pid(n).unwrap())
        .collect();
    assert_eq!(pids, again);

    let namespaces: Vec<u64> = fleet
        .names()
        .iter()
        .map(|n| fleet.mount_namespace(n).unwrap())
        .collect();
    assert!(!processes_in_namespace(namespaces[0]).is_empty());
    let output = fleet.down();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for pid in pids {
        wait_for("the supervisor to be reaped", LONG, || !alive(pid));
    }
    // A namespace's inode is reused once it is gone (another test's host may
    // have it now), so a process counts as ours when it sees our directories.
    let ours = |pid: &i32| {
        fs::read_to_string(format!("/proc/{pid}/mountinfo"))
            .is_ok_and(|m| m.contains(&*dir.to_string_lossy()))
    };
    for ns in namespaces {
        let left: Vec<String> = processes_in_namespace(ns)
            .iter()
            .filter(|pid| ours(pid))
            .map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
            .collect();
        assert!(left.is_empty(), "left in the host's namespace: {left:#?}");
    }
    let anywhere: Vec<i32> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| ours(pid))
        .collect();
    assert_eq!(
        anywhere,
        Vec::<i32>::new(),
        "processes that still see {}",
        dir.display()
    );
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(&*dir.to_string_lossy()), "{mountinfo}");
    assert!(!dir.exists(), "lab down leaves {}", dir.display());
    assert!(std::net::TcpStream::connect(("127.0.0.30", 22)).is_err());
}

#[test]
fn hosts_are_xenial_with_their_own_app_and_simulated_size() {
    let fleet = LabFleet::up_with(25, 2, &["--cores", "3", "--memory-mb", "3072"]);
    let (a, b) = (fleet.name(0), fleet.name(1));
    fleet.ssh_ok(
        &a,
        "echo mine > /app/owned-by-a && mkdir -p /etc/salt && echo a > /etc/salt/minion",
    );
    assert_eq!(
        fleet.read_host_file(&a, "/app/owned-by-a").unwrap(),
        b"mine\n"
    );
    assert_eq!(
        fleet.ssh_ok(&b, "ls -A /app /etc/salt"),
        "/app:\n\n/etc/salt:\n"
    );
    assert!(!fleet.host_file_exists(&b, "/app/owned-by-a"));
    // Nor through the lab directory: it is hidden inside every host.
    let listing = fleet.ssh(&b, &format!("ls -A {}", fleet.dir().display()));
    assert_eq!(String::from_utf8_lossy(&listing.stdout), "");

    let release = fleet.ssh_ok(&a, "cat /etc/os-release");
    assert!(release.contains("VERSION_ID=\"16.04\""), "{release}");
    assert!(release.contains("VERSION_CODENAME=xenial"), "{release}");
    assert_eq!(fleet.ssh_ok(&a, "nproc").trim(), "3");
    assert_eq!(
        fleet.ssh_ok(&a, "grep -c ^processor /proc/cpuinfo").trim(),
        "3"
    );
    assert_eq!(
        fleet
            .ssh_ok(&a, "awk '/^MemTotal:/ {print $2}' /proc/meminfo")
            .trim(),
        "3145728"
    );
    assert_eq!(
        fleet.ssh_ok(&b, "hostname -f").trim(),
        format!("{b}.ecs.test")
    );
}

#[test]
fn reboot_drops_a_live_connection_and_comes_back_with_run_emptied() {
    let fleet = LabFleet::up(30, 1);
    let name = fleet.name(0);
    fleet.ssh_ok(&name, "echo x > /run/marker && echo y > /app/kept");
    let mut held = fleet
        .ssh_command(&name, "echo ready; sleep 600")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(held.stdout.as_mut().unwrap(), &mut ready).unwrap();
    fleet.ssh(&name, "reboot");
    let mut status = None;
    wait_for("the held connection to drop", LONG, || {
        status = held.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(
        status.unwrap().code(),
        Some(255),
        "ssh reports a lost connection"
    );
    wait_for("the host to answer again", LONG, || answers(&fleet, &name));
    assert!(!fleet.host_file_exists(&name, "/run/marker"));
    assert_eq!(fleet.ssh_ok(&name, "cat /app/kept"), "y\n");
    assert_eq!(
        fleet.ssh_ok(
            &name,
            "test -d /run/sshd && test -d /run/postgresql && echo ok"
        ),
        "ok\n"
    );
    assert!(fleet.calls(&name).iter().any(|argv| argv == &["reboot"]));
}

#[test]
fn reboot_drops_a_live_ecsfleet_connection() {
    let fleet = LabFleet::up(32, 1);
    let name = fleet.name(0);
    let mut exec = ecsfleet()
        .arg("-i")
        .arg(fleet.inventory())
        .args(["exec", "--all", "--", "echo ready; sleep 600"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(exec.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(line.contains("ready"), "{line}");
    fleet.ssh(&name, "reboot");
    let mut status = None;
    wait_for("ecsfleet exec to see the connection drop", LONG, || {
        status = exec.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(1));
    wait_for("the host to answer again", LONG, || answers(&fleet, &name));
}

#[test]
fn createdb_over_ssh_makes_a_real_de_de_database() {
    let fleet = LabFleet::up(35, 1);
    let name = fleet.name(0);
    fleet.ssh_ok(
        &name,
        "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8",
    );
    let collation = fleet.ssh_ok(
        &name,
        "sudo -u postgres psql -tAc \"select datcollate || ' ' || datctype from pg_database where datname = 'ecs'\"",
    );
    assert_eq!(collation.trim(), "de_DE.utf8 de_DE.utf8");
    // The database is this host's: it survives a reboot.
    fleet.ssh(&name, "reboot");
    wait_for("the host to go down", LONG, || !answers(&fleet, &name));
    wait_for("the host to answer again", LONG, || answers(&fleet, &name));
    wait_for("postgres after the reboot", LONG, || {
        fleet
            .ssh(
                &name,
                "sudo -u postgres psql -tAc \"select 1 from pg_database where datname = 'ecs'\"",
            )
            .stdout
            == b"1\n"
    });
}

#[test]
fn the_simulator_fails_without_database_and_runs_with_one() {
    let fleet = LabFleet::up(40, 1);
    let name = fleet.name(0);
    // Before an install there is no appliance.
    let output = fleet.ssh(&name, "salt-call state.highstate --retcode-passthrough");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Master hostname: 'salt' not found"));
    assert!(
        !fleet
            .ssh(&name, "command -v create-internal-user.sh")
            .status
            .success()
    );
    let output = fleet.ssh(&name, "systemctl start appliance");
    assert_eq!(output.status.code(), Some(5));

    install(&fleet, &name);
    for tool in [
        "/usr/local/sbin/create-internal-user.sh",
        "/usr/local/sbin/create-client-certificate.sh",
        "/usr/local/bin/env-update.sh",
        "/usr/local/bin/recover-from-backup.sh",
    ] {
        fleet.ssh_ok(&name, &format!("test -x {tool}"));
    }
    let json = fleet.ssh_ok(&name, "salt-call --out=json state.highstate");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let states = json["local"].as_object().unwrap();
    assert!(states.values().all(|s| s["result"] == true));

    write_env(&fleet, &name);
    fleet.ssh(&name, "reboot");
    wait_for("the host to go down", LONG, || !answers(&fleet, &name));
    wait_for("the host to answer again", LONG, || answers(&fleet, &name));
    wait_for("the appliance to fail", LONG, || {
        fleet.ssh(&name, "systemctl is-active appliance").stdout == b"failed\n"
    });
    assert!(fleet.host_file_exists(&name, "/run/appliance-failed"));
    let page = String::from_utf8(
        fleet
            .read_host_file(&name, "/var/www/html/503.html")
            .unwrap(),
    )
    .unwrap();
    assert!(
        page.contains("Appliance is in standby, no postgresql database named ecs"),
        "{page}"
    );
    let active_env = fs::metadata(fleet.host_path(&name, "/run/active-env.yml")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&active_env.permissions()) & 0o777,
        0o600
    );
    // The failed flag keeps the unit from starting.
    fleet.ssh_ok(&name, "systemctl restart appliance");
    assert_ne!(
        fleet.ssh(&name, "systemctl is-active appliance").stdout,
        b"active\n"
    );
    let refused = fleet.ssh(&name, "create-internal-user.sh a@b.at First Last f");
    assert!(!refused.status.success());

    fleet.ssh_ok(
        &name,
        "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8 && rm /run/appliance-failed && systemctl restart appliance",
    );
    wait_for("the appliance to run", LONG, || {
        fleet.ssh(&name, "systemctl is-active appliance").stdout == b"active\n"
    });
    assert!(!fleet.host_file_exists(&name, "/var/www/html/503.html"));
    for tag in [
        "last_running_ecs",
        "last_build_ecs",
        "last_running_appliance",
    ] {
        assert!(
            fleet.host_file_exists(&name, &format!("/app/etc/tags/{tag}")),
            "{tag}"
        );
    }
    let line = fleet.ssh_ok(&name, "create-internal-user.sh admin@lab.test First Last f");
    let pass = line
        .strip_prefix("created/updated user admin@lab.test with passphrase ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(!pass.trim().is_empty());
    let line = fleet.ssh_ok(
        &name,
        "create-client-certificate.sh admin@lab.test laptop 3",
    );
    assert!(
        line.starts_with("Create and send certificate for admin@lab.test using passphrase "),
        "{line}"
    );

    // The update moves the tags on.
    let before = fleet
        .read_host_file(&name, "/app/etc/tags/last_build_ecs")
        .unwrap();
    fleet.ssh_ok(&name, "systemctl start appliance-update");
    assert_ne!(
        fleet
            .read_host_file(&name, "/app/etc/tags/last_build_ecs")
            .unwrap(),
        before
    );

    // The call log has every argument byte for byte.
    let hostile = "O'Brien \"$(touch /tmp/pwned)\" `id`;\n\t\\ ü";
    fleet.ssh(
        &name,
        &format!(
            "create-internal-user.sh x@lab.test {} Last m",
            shell_quote(hostile)
        ),
    );
    let calls = fleet.calls(&name);
    assert!(
        calls.iter().any(|argv| argv
            == &[
                "create-internal-user.sh",
                "x@lab.test",
                hostile,
                "Last",
                "m"
            ]),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|argv| argv[0] == "salt-call" && argv[1] == "state.highstate")
    );
    wait_for("the appliance to run after the update", LONG, || {
        fleet.status()[0]["appliance"] == "active"
    });
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'"'"'"#))
}

#[test]
fn fault_unreachable_and_hostkey_change() {
    let fleet = LabFleet::up(45, 1);
    let name = fleet.name(0);
    fleet.fault(&name, "unreachable", true);
    assert!(std::net::TcpStream::connect((fleet.address(&name).as_str(), 22)).is_err());
    assert_eq!(fleet.status()[0]["faults"][0], "unreachable");
    fleet.fault(&name, "unreachable", false);
    assert!(answers(&fleet, &name));

    let known_before = fs::read_to_string(fleet.known_hosts()).unwrap();
    fleet.fault(&name, "hostkey-change", true);
    let output = fleet.ssh(&name, "touch /app/should-not-exist");
    assert_eq!(output.status.code(), Some(255));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!fleet.host_file_exists(&name, "/app/should-not-exist"));
    assert_eq!(
        fs::read_to_string(fleet.known_hosts()).unwrap(),
        known_before
    );
    fleet.fault(&name, "hostkey-change", false);
    assert!(answers(&fleet, &name));
}

#[test]
fn fault_disk_full_makes_writes_under_app_fail() {
    let fleet = LabFleet::up(50, 1);
    let name = fleet.name(0);
    fleet.ssh_ok(&name, "echo old > /app/env.yml && mkdir -p /app/etc");
    fleet.fault(&name, "disk-full", true);
    let output = fleet.ssh(&name, "head -c 100000 /dev/zero > /app/.env.yml.new");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("No space left on device"));
    assert_eq!(fleet.ssh_ok(&name, "cat /app/env.yml"), "old\n");
    fleet.ssh_ok(&name, "rm -f /app/.env.yml.new");
    fleet.fault(&name, "disk-full", false);
    fleet.ssh_ok(&name, "head -c 100000 /dev/zero > /app/big && rm /app/big");
    assert_eq!(
        fleet.read_host_file(&name, "/app/env.yml").unwrap(),
        b"old\n"
    );
}

#[test]
fn fault_drop_mid_transfer_cuts_the_upload_off() {
    let fleet = LabFleet::up(55, 1);
    let name = fleet.name(0);
    fleet.ssh_ok(&name, "echo old > /app/env.yml");
    fleet.fault(&name, "drop-mid-transfer", true);
    let output = fleet.ssh(
        &name,
        "tmp=$(mktemp /app/.ecsfleet-upload.XXXXXX) && echo new > \"$tmp\" && mv \"$tmp\" /app/env.yml",
    );
    assert_eq!(output.status.code(), Some(255));
    assert_eq!(
        fleet.read_host_file(&name, "/app/env.yml").unwrap(),
        b"old\n"
    );
    wait_for("sshd to be back", LONG, || answers(&fleet, &name));
    fleet.fault(&name, "drop-mid-transfer", false);
    fleet.ssh_ok(
        &name,
        "tmp=$(mktemp /app/.ecsfleet-upload.XXXXXX) && echo new > \"$tmp\" && mv \"$tmp\" /app/env.yml",
    );
    assert_eq!(
        fleet.read_host_file(&name, "/app/env.yml").unwrap(),
        b"new\n"
    );
}

#[test]
fn fault_highstate_fails_with_a_salt_error() {
    let fleet = LabFleet::up(60, 1);
    let name = fleet.name(0);
    fleet.fault(&name, "highstate-fails", true);
    let output = fleet.ssh(
        &name,
        "mkdir -p /etc/salt /app/appliance && touch /etc/salt/minion && salt-call state.highstate --retcode-passthrough",
    );
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Result: False"), "{stdout}");
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("Failed:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_ne!(failed.split_whitespace().nth(1), Some("0"), "{stdout}");
    assert!(!fleet.host_file_exists(&name, "/usr/local/sbin/create-internal-user.sh"));
    fleet.fault(&name, "highstate-fails", false);
    install(&fleet, &name);
}

#[test]
fn fault_slow_boot_keeps_the_host_down_until_switched_off() {
    let fleet = LabFleet::up_with(65, 1, &["--slow-boot-delay", "3600"]);
    let name = fleet.name(0);
    fleet.fault(&name, "slow-boot", true);
    fleet.ssh(&name, "reboot");
    wait_for("the host to go down", LONG, || !answers(&fleet, &name));
    wait_for("the lab to report the reboot", LONG, || {
        fleet.status()[0]["state"] == "rebooting"
    });
    fleet.fault(&name, "slow-boot", false);
    wait_for("the host to answer again", LONG, || answers(&fleet, &name));
}

#[test]
fn lab_up_needs_root() {
    let tmp = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ecsfleet"))
        .args(["lab", "up", "--dir"])
        .arg(tmp.path().join("lab"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lab up needs root"), "{stderr}");
}
