//! The real failure chain: the appliance started without its database fails
//! in prepare-appliance, appliance.service's OnFailure= runs the real
//! appliance-failed@ (flag, generic page, last_running_ecs moved to
//! last_failed_ecs), systemd then skips appliance-update by its
//! ConditionPathExists, and ecsfleet says all that before it starts anything.

use std::time::Duration;

use crate::support::lab::{show, wait_for};
use crate::support::twin::TwinFleet;

#[test]
fn without_a_database_the_real_onfailure_chain_runs_and_ecsfleet_shows_the_cause() {
    let fleet = TwinFleet::up(112, 1);
    let host = fleet.name(0);
    // Installed, env pushed, never activated: no database yet.
    fleet.appliance_with_env(&host, false);
    // A previous good run, as on a host that ran once.
    fleet.inside_ok(
        &host,
        "printf '%s' 0123456789abcdef > /app/etc/tags/last_running_ecs",
    );

    // Started with no `ecs` database, the way a reboot starts it.
    fleet.inside_ok(
        &host,
        "env-update.sh >/dev/null && systemctl --no-block start appliance",
    );
    // prepare-postgresql's appliance_failed touches the flag itself
    // (appliance.include:89-95); appliance-failed@ comes after it and writes
    // last_failed_ecs, then its generic page (appliance-failed@.service:8-16).
    wait_for(
        "appliance-failed@ to finish",
        Duration::from_secs(300),
        || {
            fleet.host_file_exists(&host, "/run/appliance-failed")
                && fleet.host_file_exists(&host, "/app/etc/tags/last_failed_ecs")
                && fleet
                    .read_host_file(&host, "/var/www/html/503.html")
                    .is_some_and(|p| {
                        String::from_utf8_lossy(&p).contains("failed to start, system in standby")
                    })
        },
    );
    let tags = fleet.inside_ok(
        &host,
        "cat /app/etc/tags/last_failed_ecs; echo; test -e /app/etc/tags/last_running_ecs || echo gone",
    );
    assert_eq!(tags, "0123456789abcdef\ngone\n");
    let page = String::from_utf8(
        fleet
            .read_host_file(&host, "/var/www/html/503.html")
            .unwrap(),
    )
    .unwrap();
    assert!(page.contains("Appliance Error"), "{page}");
    assert!(
        page.contains("Appliance (appliance.service) failed to start, system in standby"),
        "{page}"
    );
    let journal = fleet.inside_ok(
        &host,
        "journalctl -b -q --no-pager -o cat -u prepare-appliance",
    );
    assert!(
        journal.contains("Appliance is in standby, no postgresql database named ecs"),
        "{journal}"
    );

    // ecsfleet shows the cause behind the generic page.
    let status = fleet.ecsfleet(&["--json", "status", &host]);
    assert_eq!(status.status.code(), Some(1), "{}", show(&status));
    let line: serde_json::Value = serde_json::from_slice(
        status
            .stdout
            .split(|&b| b == b'\n')
            .find(|l| l.starts_with(b"{"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["state"], "failed", "{line}");
    assert_eq!(
        line["status_text"],
        "Appliance Error: Appliance (appliance.service) failed to start, system in standby"
    );
    assert_eq!(
        line["failure_cause"],
        "Appliance Standby: Appliance is in standby, no postgresql database named ecs"
    );

    // systemd skips appliance-update while the flag is there (exit 0, nothing
    // done); ecsfleet update says so before it starts anything.
    let skipped = fleet.inside_ok(
        &host,
        "systemctl start appliance-update; echo rc=$?; systemctl show -p ConditionResult --value appliance-update",
    );
    assert_eq!(skipped, "rc=0\nno\n");
    let update = fleet.ecsfleet(&["update", &host, "--yes"]);
    assert_eq!(update.status.code(), Some(1), "{}", show(&update));
    let stderr = String::from_utf8_lossy(&update.stderr);
    assert!(
        stderr.contains("the appliance is failed (/run/appliance-failed): systemd would skip appliance-update; ecsfleet recover first"),
        "{stderr}"
    );

    // activate creates the database and reboots: /run is emptied, the flag
    // with it, and the appliance comes up.
    let output = fleet.ecsfleet(&["activate", &host, "--yes"]);
    assert!(output.status.success(), "activate: {}", show(&output));
    assert!(!fleet.host_file_exists(&host, "/run/appliance-failed"));
    assert!(!fleet.host_file_exists(&host, "/var/www/html/503.html"));
}
