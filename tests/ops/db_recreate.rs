//! `db recreate`: refused without its flag; with it, the database really
//! dropped and created again.

use super::*;

#[test]
fn db_recreate_refuses_without_its_flag_and_recreates_with_it() {
    let fleet = LabFleet::up(68, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);
    assert!(
        psql(&fleet, &host, "create table doomed(x int)")
            .status
            .success()
    );
    fs::write(
        fleet.host_path(&host, "/app/etc/tags/last_running_ecs"),
        "old-version\n",
    )
    .unwrap();

    let before = fleet.calls(&host).len();
    let out = run(&fleet, &["db", "recreate", &host]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("pass --yes-i-am-sure (nothing was sent)"));
    assert_eq!(fleet.calls(&host).len(), before, "nothing reached the host");
    assert!(psql(&fleet, &host, "select * from doomed").status.success());

    let out = run_ok(
        &fleet,
        &[
            "db",
            "recreate",
            &host,
            "--yes-i-am-sure",
            "--wait-interval",
            "0.3",
        ],
    );
    assert!(stdout(&out).contains(" ok "), "{}", show(&out));
    let calls = fleet.calls(&host)[before..].to_vec();
    let at = |argv: &[&str]| {
        calls
            .iter()
            .position(|c| c == argv)
            .unwrap_or_else(|| panic!("{argv:?} not in {calls:?}"))
    };
    let stop = at(&["systemctl", "stop", "appliance"]);
    let drop = at(&["gosu", "postgres", "dropdb", "--if-exists", "ecs"]);
    // createdb itself (appliance::createdb_ecs, `sudo -u postgres createdb`)
    // is the real program, not in the call log: the empty database below
    // shows it ran between the drop and the restart.
    let restart = at(&["systemctl", "--no-block", "restart", "appliance"]);
    assert!(stop < drop && drop < restart, "{calls:?}");
    // A new, empty database, and the appliance running on it.
    assert!(!psql(&fleet, &host, "select * from doomed").status.success());
    assert_eq!(psql(&fleet, &host, "select 1").stdout, b"1\n");
    assert!(running(&fleet, &host));
    let tag = fleet
        .read_host_file(&host, "/app/etc/tags/last_running_ecs")
        .unwrap();
    assert_ne!(
        tag, b"old-version\n",
        "the running tag was forgotten and written anew"
    );
}
