//! `ecsfleet lab demo`: the README's first command, end to end on a real lab
//! (needs root). Hosts lab243 and lab244.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::support::lab::ecsfleet;

#[test]
fn lab_demo_takes_empty_hosts_to_running_appliances() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let lab_arg = lab.to_str().unwrap();
    let output = ecsfleet()
        .args([
            "lab", "demo", "--hosts", "2", "--first", "243", "--dir", lab_arg,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let status = ecsfleet()
        .arg("-i")
        .arg(lab.join("inventory/hosts.yml"))
        .args(["status", "--all", "--json"])
        .output()
        .unwrap();
    let down = ecsfleet()
        .args(["lab", "down", "--dir", lab_arg])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "demo failed: {stderr}");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let hosts: Vec<serde_json::Value> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    for host in &hosts {
        assert_eq!(host["state"], "running", "{host}");
    }
    let passphrase = lab.join("lab243.admin.passphrase");
    let mode = std::fs::metadata(&passphrase).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let secret = std::fs::read_to_string(&passphrase).unwrap();
    assert!(!secret.trim().is_empty());
    assert!(
        !stderr.contains(secret.trim()),
        "the passphrase reached the screen"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(secret.trim()));
}
