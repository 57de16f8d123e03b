//! Host keys beyond tests/ssh.rs (which has unknown, changed and a jump
//! host's changed key): a key marked @revoked, a known key of another type
//! only, hashed known_hosts entries (right and wrong key), and a changed
//! jump-host key proven to stop before any authentication on either hop.
//! Every refusal happens before authentication: the server logs no
//! "Accepted publickey" and the command leaves no trace. Plain sshd
//! servers on 127.0.3.241..=127.0.3.247.

use std::fs;
use std::process::{Command, Output};

use serde_json::json;

use crate::support::sshd::{Fleet, ecsfleet};

fn run(fleet: &Fleet, args: &[&str]) -> Output {
    ecsfleet()
        .arg("-i")
        .arg(&fleet.inventory)
        .arg("--no-ssh-config")
        .args(args)
        .output()
        .expect("running ecsfleet")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `exec h1 -- touch MARKER` must be refused with `expect` in the message,
/// before authentication, leaving no marker.
fn assert_refused(fleet: &Fleet, host: &str, expect: &str) {
    let marker = fleet.dir.path().join(format!("ran-{host}"));
    let out = run(
        fleet,
        &["exec", host, "--", &format!("touch {}", marker.display())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(expect), "expected {expect:?} in: {stderr}");
    assert!(!marker.exists(), "the command ran");
    for server in &fleet.servers {
        assert!(
            !server.log().contains("Accepted publickey"),
            "{} authenticated a client: {}",
            server.address,
            server.log()
        );
    }
}

fn hash_known_hosts(fleet: &Fleet) {
    let out = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&fleet.known_hosts)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = fs::remove_file(fleet.known_hosts.with_extension("old"));
    let hashed = fs::read_to_string(&fleet.known_hosts).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
}

#[test]
fn a_revoked_key_is_refused_even_when_also_listed_as_known() {
    let fleet = Fleet::new(&["127.0.3.241"]);
    let line = fleet.servers[0].known_hosts_line();
    let key = fleet.servers[0].host_key_pub.clone();
    fs::write(&fleet.known_hosts, format!("{line}\n@revoked * {key}\n")).unwrap();
    assert_refused(&fleet, "h1", "@revoked");
    json_figure("@revoked (also listed as known)");
}

#[test]
fn a_known_key_of_another_type_only_is_refused_as_changed_or_unknown() {
    // The server has an RSA host key; known_hosts knows only an ed25519
    // key for its address.
    let fleet = Fleet::with(&["127.0.3.242"], |b| b.host_key_type("rsa"));
    let key_file = fleet.dir.path().join("other_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let other = fs::read_to_string(key_file.with_extension("pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    fs::write(
        &fleet.known_hosts,
        format!("127.0.3.242 {}\n", other.join(" ")),
    )
    .unwrap();
    let marker = fleet.dir.path().join("ran-h1");
    let out = run(
        &fleet,
        &["exec", "h1", "--", &format!("touch {}", marker.display())],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HAS CHANGED") || stderr.contains("is not known"),
        "{stderr}"
    );
    assert!(stderr.contains("SHA256:"), "shows the key: {stderr}");
    assert!(!marker.exists());
    assert!(!fleet.servers[0].log().contains("Accepted publickey"));
    json_figure("known key of another type only");
}

#[test]
fn hashed_entries_are_matched_and_a_wrong_hashed_key_is_refused() {
    let fleet = Fleet::new(&["127.0.3.244", "127.0.3.245"]);
    hash_known_hosts(&fleet);
    let out = run(&fleet, &["exec", "--all", "--json", "--", "echo hashed"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("hashed\\n").count(), 2);

    // The right hashes, the keys swapped: both hosts changed.
    let keys: Vec<String> = fleet
        .servers
        .iter()
        .map(|s| s.host_key_pub.clone())
        .collect();
    fs::write(
        &fleet.known_hosts,
        format!("127.0.3.244 {}\n127.0.3.245 {}\n", keys[1], keys[0]),
    )
    .unwrap();
    hash_known_hosts(&fleet);
    // Fresh servers logs: the accepted run above left "Accepted publickey".
    let fleet_logs_before: Vec<usize> = fleet.servers.iter().map(|s| s.log().len()).collect();
    let marker = fleet.dir.path().join("ran");
    let out = run(
        &fleet,
        &[
            "exec",
            "--all",
            "--",
            &format!("touch {}", marker.display()),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("HAS CHANGED").count(), 2, "{stderr}");
    assert!(!marker.exists());
    for (server, before) in fleet.servers.iter().zip(fleet_logs_before) {
        assert!(!server.log()[before..].contains("Accepted publickey"));
    }
    json_figure("hashed entries (right key accepted, wrong key refused)");
}

#[test]
fn a_changed_jump_host_key_stops_before_either_hop_authenticates() {
    let fleet = Fleet::with(&["127.0.3.246", "127.0.3.247"], |b| {
        b.extra_config("LogLevel DEBUG1")
    });
    fleet.write_inventory("  inner: {address: 127.0.3.247, proxy_jump: h1}\n");
    let known = fs::read_to_string(&fleet.known_hosts).unwrap().replace(
        &fleet.servers[0].host_key_pub,
        &fleet.servers[1].host_key_pub,
    );
    fs::write(&fleet.known_hosts, known).unwrap();
    assert_refused(&fleet, "inner", "HOST KEY OF 127.0.3.246 HAS CHANGED");
    assert!(
        !fleet.servers[1].log().contains("127.0.3.246"),
        "the target saw a connection through the jump host"
    );
    assert!(!fleet.servers[0].log().contains("direct-tcpip"));
    json_figure("ProxyJump with a changed jump-host key");
}

fn json_figure(case: &str) {
    super::rig::figure(json!({"host_key_case": case, "refused_before_auth": true}));
}
