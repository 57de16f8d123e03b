//! The foundation against real OpenSSH servers (issue 2): exec over several
//! hosts, stdin, exit status and signals, atomic upload, host-key refusal and
//! trust, ProxyJump, become through sudo, inventory errors.
//! Needs root (sshd on port 22 of 127.0.1.x); CI runs as root.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use crate::support::sshd::{Fleet, Sshd, ecsfleet};

fn run(fleet: &Fleet, args: &[&str]) -> Output {
    ecsfleet()
        .arg("-i")
        .arg(&fleet.inventory)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ecsfleet")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}

#[test]
fn exec_runs_everywhere_and_reports_the_unreachable_host() {
    let fleet = Fleet::new(&["127.0.1.10", "127.0.1.11"]);
    fleet.write_inventory("  ghost: {address: 127.0.1.12}\n");
    let output = run(
        &fleet,
        &[
            "exec",
            "--all",
            "--",
            "echo hello from $(hostname) >/dev/null; echo ok",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for host in ["h1 ", "h2 "] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(host) && line.ends_with("| ok")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("unreachable"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("ghost: cannot connect to 127.0.1.12:22"),
        "{stderr}"
    );

    let output = run(&fleet, &["exec", "--all", "--json", "--", "echo ok"]);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["host"], "h1");
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["stdout"], "ok\n");
    assert_eq!(lines[2]["host"], "ghost");
    assert_eq!(lines[2]["ok"], false);
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect")
    );
}

#[test]
fn exit_status_and_signals_are_reported() {
    let fleet = Fleet::new(&["127.0.1.13"]);
    let output = run(
        &fleet,
        &[
            "exec",
            "h1",
            "--json",
            "--",
            "echo out; echo err >&2; exit 7",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let line = &json_lines(&output)[0];
    assert_eq!(line["exit_status"], 7);
    assert_eq!(line["stdout"], "out\n");
    assert_eq!(line["stderr"], "err\n");
    assert_eq!(line["ok"], false);

    let output = run(&fleet, &["exec", "h1", "--", "kill -TERM $$"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("killed by signal TERM"),
        "{}",
        text(&output.stdout)
    );

    let output = run(&fleet, &["exec", "h1", "--", "true"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn stdin_reaches_the_remote_command_byte_for_byte() {
    let fleet = Fleet::new(&["127.0.1.14"]);
    let input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let mut child = ecsfleet()
        .arg("-i")
        .arg(&fleet.inventory)
        .args(["exec", "h1", "--stdin", "--json", "--", "sha256sum"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let expected = {
        let mut sha = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut sha.stdin.take().unwrap(), &input).unwrap();
        text(&sha.wait_with_output().unwrap().stdout)
    };
    assert_eq!(json_lines(&output)[0]["stdout"], expected);
}

#[test]
fn copy_is_atomic_with_the_mode_set_before_content() {
    let fleet = Fleet::new(&["127.0.1.15"]);
    let remote_dir = fleet.dir.path().join("remote");
    fs::create_dir_all(&remote_dir).unwrap();
    let dest = remote_dir.join("env.yml");
    fs::write(&dest, "old content\n").unwrap();
    let local = fleet.dir.path().join("new.yml");
    fs::write(&local, "new secret content\n").unwrap();
    let output = run(
        &fleet,
        &[
            "copy",
            local.to_str().unwrap(),
            dest.to_str().unwrap(),
            "h1",
            "--mode",
            "0600",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(fs::read_to_string(&dest).unwrap(), "new secret content\n");
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        fs::read_dir(&remote_dir).unwrap().count(),
        1,
        "temp file left behind"
    );
}

#[test]
fn copy_cut_off_mid_transfer_keeps_the_old_file() {
    let mut fleet = Fleet::new(&["127.0.1.16"]);
    let remote_dir = fleet.dir.path().join("remote");
    fs::create_dir_all(&remote_dir).unwrap();
    let dest = remote_dir.join("big.bin");
    fs::write(&dest, "old").unwrap();
    let local = fleet.dir.path().join("big.bin");
    fs::write(&local, vec![b'x'; 400 * 1024 * 1024]).unwrap();
    let child = ecsfleet()
        .arg("-i")
        .arg(&fleet.inventory)
        .args([
            "copy",
            local.to_str().unwrap(),
            dest.to_str().unwrap(),
            "h1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temp file exists and grows, then kill the server.
    let started = std::time::Instant::now();
    loop {
        let growing = fs::read_dir(&remote_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".ecsfleet-upload")
                    && e.metadata().map(|m| m.len() > 0).unwrap_or(false)
            });
        if growing {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "upload never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    fleet.servers[0].stop();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("h1"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(fs::read(&dest).unwrap(), b"old");
    // The remote shell's trap removes the temp file when the session dies.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fs::read_dir(&remote_dir).unwrap().count() > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        fs::read_dir(&remote_dir).unwrap().count(),
        1,
        "partial temp file left behind"
    );
}

#[test]
fn unknown_host_key_is_refused_before_anything_runs_then_trust_pins_it() {
    let fleet = Fleet::new(&["127.0.1.17"]);
    fs::write(&fleet.known_hosts, "").unwrap();
    let marker = fleet.dir.path().join("ran");
    let cmd = format!("touch {}", marker.display());
    let output = run(&fleet, &["exec", "h1", "--", &cmd]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let fingerprint = fleet.servers[0].host_key_fingerprint();
    assert!(
        stderr.contains("host key of 127.0.1.17 is not known"),
        "{stderr}"
    );
    assert!(stderr.contains(&fingerprint), "{stderr}");
    assert!(stderr.contains("ecsfleet trust h1"), "{stderr}");
    assert!(!marker.exists());
    assert!(!fleet.servers[0].log().contains("Accepted publickey"));

    let output = run(&fleet, &["trust", "h1"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "trust without a terminal must ask for --yes"
    );
    let output = run(&fleet, &["trust", "--all", "--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(&fingerprint));
    let pinned = fs::read_to_string(&fleet.known_hosts).unwrap();
    assert_eq!(pinned.trim(), fleet.servers[0].known_hosts_line().trim());

    let output = run(&fleet, &["exec", "h1", "--", &cmd]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(marker.exists());
}

#[test]
fn changed_host_key_is_refused_with_both_fingerprints() {
    let mut fleet = Fleet::new(&["127.0.1.18"]);
    let old = fleet.servers[0].host_key_fingerprint();
    fleet.servers[0].restart_with_new_host_key();
    let new = fleet.servers[0].host_key_fingerprint();
    let marker = fleet.dir.path().join("ran");
    let output = run(
        &fleet,
        &[
            "exec",
            "--all",
            "--",
            &format!("touch {}", marker.display()),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("HOST KEY OF 127.0.1.18 HAS CHANGED"),
        "{stderr}"
    );
    assert!(stderr.contains(&old) && stderr.contains(&new), "{stderr}");
    assert!(stderr.contains("attack"), "{stderr}");
    assert!(!marker.exists());
    assert!(!fleet.servers[0].log().contains("Accepted publickey"));
    // trust never silently replaces a changed key.
    let output = run(&fleet, &["trust", "h1", "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !fs::read_to_string(&fleet.known_hosts)
            .unwrap()
            .contains(&fleet.servers[0].host_key_pub)
    );
}

#[test]
fn proxy_jump_goes_through_the_jump_host() {
    let fleet = Fleet::with(&["127.0.1.19", "127.0.1.20"], |b| {
        b.extra_config("LogLevel DEBUG1")
    });
    fleet.write_inventory("  inner: {address: 127.0.1.20, proxy_jump: h1}\n");
    let output = run(&fleet, &["exec", "inner", "--json", "--", "echo via"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(json_lines(&output)[0]["stdout"], "via\n");
    let jump_log = fleet.servers[0].log();
    assert!(
        jump_log.contains("direct-tcpip") && jump_log.contains("127.0.1.20"),
        "the jump host did not forward: {jump_log}"
    );

    // A jump host with a changed key stops the whole route.
    let mut known = fs::read_to_string(&fleet.known_hosts).unwrap();
    known = known.replace(
        &fleet.servers[0].host_key_pub,
        &fleet.servers[1].host_key_pub,
    );
    fs::write(&fleet.known_hosts, known).unwrap();
    let output = run(&fleet, &["exec", "inner", "--", "echo via"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("HOST KEY OF 127.0.1.19 HAS CHANGED"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn become_runs_through_sudo() {
    let user = "ecsfleet-become";
    if Command::new("id")
        .arg(user)
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        let status = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", user])
            .status()
            .unwrap();
        assert!(status.success(), "useradd needs root");
    }
    // With UsePAM no, sshd refuses a locked account ("!" in shadow) even for keys.
    let status = Command::new("usermod")
        .args(["-p", "*", user])
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(
        format!("/etc/sudoers.d/{user}"),
        format!("{user} ALL=(ALL) NOPASSWD:ALL\n"),
    )
    .unwrap();
    fs::set_permissions(
        format!("/etc/sudoers.d/{user}"),
        fs::Permissions::from_mode(0o440),
    )
    .unwrap();
    let fleet = Fleet::new(&["127.0.1.21"]);
    fleet.write_inventory(&format!(
        "  boxed: {{address: 127.0.1.21, user: {user}, become: true}}\n  plain: {{address: 127.0.1.21, user: {user}}}\n"
    ));
    let output = run(
        &fleet,
        &["exec", "boxed", "plain", "--json", "--", "id -un"],
    );
    let lines = json_lines(&output);
    assert_eq!(lines[0]["stdout"], "root\n", "{lines:?}");
    assert_eq!(lines[1]["stdout"], format!("{user}\n"));
}

#[test]
fn inventory_errors_name_the_place_and_touch_no_host() {
    let fleet = Fleet::new(&["127.0.1.22"]);
    fs::write(
        &fleet.inventory,
        "hosts:\n  h1:\n    address: 127.0.1.22\n    port: twenty-two\n",
    )
    .unwrap();
    let output = run(&fleet, &["exec", "--all", "--", "true"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("hosts.yml:4:11: hosts.h1.port: expected an integer"),
        "{stderr}"
    );
    assert!(!fleet.servers[0].log().contains("Accepted publickey"));

    fleet.write_inventory("");
    let output = run(&fleet, &["exec", "nosuch", "--", "true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("h1"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn authentication_failure_says_what_was_tried() {
    let fleet = Fleet::new(&["127.0.1.23"]);
    let other = fleet.dir.path().join("keys/other");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    fleet.write_inventory(&format!(
        "  stranger: {{address: 127.0.1.23, identity: {}}}\n",
        other.display()
    ));
    let output = run(&fleet, &["exec", "stranger", "--", "true"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("authentication as root@127.0.1.23 was rejected"),
        "{stderr}"
    );
    assert!(stderr.contains("keys/other"), "{stderr}");
    assert!(stderr.contains("publickey"), "{stderr}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    // A listener that accepts but never speaks SSH.
    let listener = std::net::TcpListener::bind("127.0.1.24:22").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.yml");
    fs::write(&inventory, "hosts:\n  mute: {address: 127.0.1.24}\n").unwrap();
    let output = ecsfleet()
        .arg("-i")
        .arg(&inventory)
        .args(["--connect-timeout", "1", "exec", "mute", "--", "true"])
        .output()
        .unwrap();
    drop(listener);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("timed out after 1 s"),
        "{}",
        text(&output.stderr)
    );
    let _ = Sshd::builder;
}

#[test]
fn handshakes_dropped_by_max_startups_are_retried() {
    // sshd drops every unauthenticated connection beyond 2 in flight; 24
    // connections at once must all get through by retrying with backoff.
    let fleet = Fleet::with(&["127.0.1.25"], |b| b.extra_config("MaxStartups 2:100:2"));
    let extra: String = (1..=24)
        .map(|i| format!("  same{i}: {{address: 127.0.1.25}}\n"))
        .collect();
    fleet.write_inventory(&extra);
    let output = run(
        &fleet,
        &[
            "-v",
            "--max-handshakes",
            "25",
            "exec",
            "--all",
            "--forks",
            "30",
            "--json",
            "--",
            "echo ok",
        ],
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 25);
    let failed: Vec<_> = lines.iter().filter(|l| l["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("handshake dropped"),
        "no handshake was dropped and retried, so the test proved nothing: {stderr}"
    );
}
