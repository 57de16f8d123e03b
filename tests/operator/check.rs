//! `ecsfleet check` against a lab host and an unreachable one.

use std::fs;

use serde_json::Value;

use super::{ESC, json_lines, show, text};
use crate::support::lab::{LabFleet, ecsfleet};

fn check_row<'v>(host: &'v Value, name: &str) -> &'v Value {
    host["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {host}"))
}

#[test]
fn check_holds_a_lab_host_to_the_sizing() {
    let fleet = LabFleet::up(90, 1);
    let host = fleet.name(0);
    let check = |args: &[&str]| {
        ecsfleet()
            .arg("-i")
            .arg(fleet.inventory())
            .args(["--json", "check", &host])
            .args(args)
            .output()
            .unwrap()
    };

    // 2 cores, 4096 MB: enough for the manual's minimum.
    let output = check(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    let report = &lines[0];
    assert_eq!(report["ok"], true);
    assert_eq!(report["facts"]["os"], "ubuntu-16.04");
    assert_eq!(report["facts"]["cores"], 2);
    assert_eq!(check_row(report, "sizing")["result"], "warn");
    // install's own preflight, read from install.yml.
    assert_eq!(check_row(report, "memory_mb")["result"], "pass");
    assert_eq!(
        check_row(report, "memory_mb")["detail"],
        "4096 (install needs >= 2800)"
    );
    assert_eq!(check_row(report, "disk_root_free_gb")["result"], "pass");
    // The lab's /etc/hosts names the host by its domain.
    let dns = check_row(report, "dns");
    assert_eq!(dns["result"], "pass", "{dns}");
    assert!(
        dns["detail"]
            .as_str()
            .unwrap()
            .contains(&fleet.address(&host)),
        "{dns}"
    );

    // 20 studies a month need 6 GiB: the memory check fails, exit 1.
    let output = check(&["--studies", "20"]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let report = &json_lines(&output)[0];
    assert_eq!(report["ok"], false);
    assert_eq!(report["studies_per_month"], 20);
    assert_eq!(check_row(report, "cores")["result"], "pass");
    let memory = check_row(report, "memory");
    assert_eq!(memory["result"], "fail");
    assert_eq!(
        memory["detail"],
        "4096 MiB; 20 studies/month need 6+ GiB (MemTotal >= 5600 MiB)"
    );

    // The table, in a pipe: the reason per check, no color.
    let output = ecsfleet()
        .arg("-i")
        .arg(fleet.inventory())
        .args(["check", &host, "--studies", "20"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let table = text(&output.stdout);
    assert!(table.contains("20 studies/month need 6+ GiB"), "{table}");
    assert!(table.contains(&format!("1 of 1 host(s) failed a check: {host}")));
    assert!(!output.stdout.contains(&ESC), "{table}");
}

#[test]
fn check_reads_studies_from_the_inventory_and_reports_unreachable_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("hosts.yml");
    // Nothing listens on 127.0.0.109:2 (this module's address range).
    fs::write(
        &inventory,
        "hosts:\n  gone: {address: 127.0.0.109, port: 2, vars: {studies_per_month: 40}}\n",
    )
    .unwrap();
    let output = ecsfleet()
        .arg("-i")
        .arg(&inventory)
        .args(["--json", "check", "--all", "--connect-timeout", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let report = &json_lines(&output)[0];
    assert_eq!(report["studies_per_month"], 40);
    assert!(
        report["error"].as_str().unwrap().contains("127.0.0.109"),
        "{report}"
    );

    fs::write(
        &inventory,
        "hosts:\n  odd: {address: 127.0.0.109, vars: {studies_per_month: lots}}\n",
    )
    .unwrap();
    let output = ecsfleet()
        .arg("-i")
        .arg(&inventory)
        .args(["check", "--all"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(
        text(&output.stderr).contains("odd: vars.studies_per_month is \"lots\""),
        "{}",
        show(&output)
    );
}
