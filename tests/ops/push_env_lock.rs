//! `push-env --activate` under the host lock: refused while another run
//! holds it, released at the end and on Ctrl-C.

use super::*;

#[test]
fn push_env_activate_holds_the_host_lock() {
    let fleet = LabFleet::up(75, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env.yml");
    run_ok(
        &fleet,
        &[
            "env",
            "new",
            &format!("{host}.ecs.test"),
            "--out",
            env.to_str().unwrap(),
        ],
    );
    let env_path = env.clone();
    let env = env.to_str().unwrap();

    // Someone else's run holds the host: refused, nothing uploaded or applied.
    let lock = "holder=ann@ws run 7\noperation=update\nstarted=2026-11-25T08:00:00Z\n";
    fs::write(fleet.host_path(&host, "/run/ecsfleet.lock"), lock).unwrap();
    let before = fleet.read_host_file(&host, "/app/env.yml");
    let out = run(
        &fleet,
        &["push-env", &host, "--env", env, "--yes", "--activate"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!(
            "error: {host}: locked by ann@ws run 7 (update since 2026-11-25T08:00:00Z)"
        )),
        "{}",
        show(&out)
    );
    assert_eq!(fleet.read_host_file(&host, "/app/env.yml"), before);
    assert!(!fleet.calls(&host).iter().any(|c| c[0] == "env-update.sh"));
    assert_eq!(
        fleet.read_host_file(&host, "/run/ecsfleet.lock").unwrap(),
        lock.as_bytes(),
        "someone else's lock stays"
    );

    // Free: applied under our lock, which is gone afterwards.
    fs::remove_file(fleet.host_path(&host, "/run/ecsfleet.lock")).unwrap();
    let out = run_ok(
        &fleet,
        &["push-env", &host, "--env", env, "--yes", "--activate"],
    );
    assert!(stdout(&out).contains("activated"), "{}", show(&out));
    assert!(fleet.calls(&host).iter().any(|c| c[0] == "env-update.sh"));
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));

    // Ctrl-C while it holds the lock (the appliance takes 1 s to start):
    // exit 130, and the lock is released.
    fs::write(
        &env_path,
        fs::read_to_string(&env_path).unwrap() + "# changed\n",
    )
    .unwrap();
    let child = fleet_cmd(
        &fleet,
        &["push-env", &host, "--env", env, "--yes", "--activate"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for("push-env to take the lock", LONG, || {
        fleet.host_file_exists(&host, "/run/ecsfleet.lock")
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", show(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", show(&out));
    assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
}
