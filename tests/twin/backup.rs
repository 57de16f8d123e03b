//! A real backup (appliance-backup.service: pg_dump, duply, duplicity, gpg)
//! and a restore through `ecsfleet restore`, which must end with the
//! backup's rows in the database: the real recover-from-backup.sh imports a
//! file no backup writes (recover-from-backup.sh:94 vs appliance-backup.sh:29)
//! and would leave an empty database behind while exiting 0.

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

fn sql(fleet: &TwinFleet, name: &str, query: &str) -> String {
    fleet.inside_ok(
        name,
        &format!("gosu postgres psql -d ecs -tA -c \"{query}\""),
    )
}

#[test]
fn backup_then_restore_brings_the_rows_back_and_names_the_preconditions() {
    let fleet = TwinFleet::up(114, 1);
    let host = fleet.name(0);
    fleet.appliance_with_env(&host, true);

    // Data worth keeping: a user (rows in several tables) and a document.
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p");
    fleet.ecsfleet_ok(&[
        "user",
        "create",
        &host,
        "keep@example.org",
        "Kept",
        "O'Brien",
        "f",
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    fleet.inside_ok(&host, "echo document > /data/ecs-storage-vault/doc-1 && chown app:app /data/ecs-storage-vault/doc-1");
    let users_before = sql(&fleet, &host, "select count(*) from auth_user");

    // The real backup unit, as its timer would run it.
    fleet.inside_ok(&host, "systemctl start appliance-backup.service");
    assert_eq!(
        fleet.inside_ok(
            &host,
            "systemctl is-failed appliance-backup.service || true"
        ),
        "inactive\n"
    );
    assert!(fleet.host_file_exists(&host, "/data/ecs-pgdump/ecs.pgdump.gz"));

    // Without the flag nothing is sent; on a live installation every unmet
    // precondition is named.
    let out = fleet.ecsfleet(&["restore", &host]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = fleet.ecsfleet(&["restore", &host, "--yes-i-am-sure"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("restore refused at its preconditions (nothing was changed):"),
        "{text}"
    );
    assert!(text.contains("  - a database named ecs exists\n"), "{text}");

    // The disaster: the database and the data are gone (as on a fresh
    // installation of the same host; the backup target survives).
    fleet.inside_ok(
        &host,
        "systemctl stop appliance && gosu postgres dropdb ecs && \
         rm -rf /data/ecs-storage-vault/* /data/ecs-pgdump/*",
    );
    let out = fleet.ecsfleet(&["restore", &host, "--yes-i-am-sure", "--wait-interval", "2"]);
    assert!(out.status.success(), "restore: {}", show(&out));
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("verify tables and row counts: changed"),
        "{shown}"
    );
    assert!(shown.contains("wait until running: ok"), "{shown}");

    assert_eq!(
        sql(&fleet, &host, "select count(*) from auth_user"),
        users_before
    );
    assert_eq!(
        sql(
            &fleet,
            &host,
            "select last_name from auth_user where email = 'keep@example.org'"
        ),
        "O'Brien\n"
    );
    assert_eq!(
        fleet.inside_ok(&host, "cat /data/ecs-storage-vault/doc-1"),
        "document\n"
    );
    assert_eq!(
        fleet.inside_ok(
            &host,
            "systemctl is-active appliance appliance-backup.timer"
        ),
        "active\nactive\n"
    );
}
