//! `restore HOST --yes-i-am-sure`: each precondition of recover-from-backup.sh
//! named when it fails; the backup's table back in real PostgreSQL.

use super::*;

#[test]
fn restore_names_each_failed_precondition_and_restores_when_they_hold() {
    let fleet = LabFleet::up(66, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);
    assert!(
        psql(
            &fleet,
            &host,
            "create table marker(x text); insert into marker values ('restored-42')"
        )
        .status
        .success()
    );
    fleet.ssh_ok(&host, "systemctl start appliance-backup");

    // Without the flag nothing is sent at all.
    let before = fleet.calls(&host).len();
    let out = run(&fleet, &["restore", &host]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("pass --yes-i-am-sure (nothing was sent)"),
        "{}",
        show(&out)
    );
    assert_eq!(fleet.calls(&host).len(), before);

    // A live installation: every unmet precondition is named with its fix,
    // and nothing runs.
    let out = run(
        &fleet,
        &[
            "restore",
            &host,
            "--yes-i-am-sure",
            "--wait-interval",
            "0.3",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "error: {host}: restore refused at its preconditions (nothing was changed):"
        )),
        "{text}"
    );
    assert!(
        text.contains("  - /data/ecs-storage-vault does not exist\n    fix: "),
        "{text}"
    );
    assert!(
        text.contains("  - /data/ecs-pgdump is not empty (1 file)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  - a database named ecs exists\n    fix: restore only onto a host without one"
        ),
        "{text}"
    );
    assert!(!text.contains("not installed"), "{text}");
    assert!(!text.contains("/app/env.yml"), "{text}");
    assert!(
        !fleet
            .calls(&host)
            .iter()
            .any(|c| c[0] == "recover-from-backup.sh")
    );
    assert_eq!(
        psql(&fleet, &host, "select x from marker").stdout,
        b"restored-42\n"
    );

    // Only the database left in the way: named alone.
    fleet.ssh_ok(
        &host,
        "rm -f /data/ecs-pgdump/* && mkdir -p /data/ecs-storage-vault",
    );
    let out = run(&fleet, &["restore", &host, "--yes-i-am-sure"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stderr(&out);
    let refusals: Vec<&str> = text.lines().filter(|l| l.starts_with("  - ")).collect();
    assert_eq!(refusals, ["  - a database named ecs exists"], "{text}");

    // The disaster: the database is gone; the preconditions hold now.
    fleet.ssh_ok(
        &host,
        "systemctl stop appliance && gosu postgres dropdb ecs",
    );
    let out = run_ok(
        &fleet,
        &[
            "restore",
            &host,
            "--yes-i-am-sure",
            "--wait-interval",
            "0.3",
        ],
    );
    assert!(stdout(&out).contains(" ok "), "{}", show(&out));
    assert!(has_call(
        &fleet,
        &host,
        &["recover-from-backup.sh", "--yes-i-am-sure"]
    ));
    assert_eq!(
        psql(&fleet, &host, "select x from marker").stdout,
        b"restored-42\n",
        "the backup's data is back"
    );
    assert!(running(&fleet, &host));
    assert!(fleet.host_file_exists(&host, "/data/ecs-storage-vault/.recovered"));
    // The preconditions were checked before the recovery ran.
    let calls = fleet.calls(&host);
    let checked = calls
        .iter()
        .rposition(|c| c[..2] == ["gosu", "postgres"] && c.contains(&"-lqt".to_owned()));
    let recovered = calls.iter().position(|c| c[0] == "recover-from-backup.sh");
    assert!(checked.unwrap() < recovered.unwrap(), "{calls:?}");
}
