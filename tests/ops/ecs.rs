//! `ecs HOST -- ARGS`: bytes, exit status and arguments through `docker exec`.

use super::*;

#[test]
fn ecs_passes_bytes_exit_status_and_arguments_through() {
    let fleet = LabFleet::up(69, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);

    // Every byte value, non-UTF-8 and NUL included, 300 KB of them.
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    fs::write(fleet.host_path(&host, "/root/blob.bin"), &blob).unwrap();
    let out = run(&fleet, &["ecs", &host, "--", "cat", "/root/blob.bin"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        out.stdout == blob,
        "stdout is byte-exact ({} bytes arrived)",
        out.stdout.len()
    );
    assert!(ran_in_web(&fleet, &host, "-i", &["cat", "/root/blob.bin"]));

    let out = run(
        &fleet,
        &["ecs", &host, "--", "printf", "a\\377\\000b\\r\\n"],
    );
    assert_eq!(out.stdout, b"a\xff\x00b\r\n", "{}", show(&out));

    let out = run(
        &fleet,
        &[
            "ecs",
            &host,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 7",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));
    assert_eq!(out.stdout, b"out\n");
    assert!(stderr(&out).contains("err"), "{}", show(&out));

    // A hostile argument arrives as one argv element and runs nothing.
    let marker = format!("/tmp/ecsfleet-ops-hostile-{}", std::process::id());
    let hostile = format!("O'Brien; touch {marker}");
    let out = run(
        &fleet,
        &[
            "ecs",
            &host,
            "--",
            "./manage.py",
            "changepassword",
            &hostile,
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        stdout(&out),
        format!("(lab) manage.py changepassword {hostile} in ecs_ecs.web_1\n")
    );
    assert!(ran_in_web(
        &fleet,
        &host,
        "-i",
        &["./manage.py", "changepassword", &hostile]
    ));
    assert!(!std::path::Path::new(&marker).exists(), "nothing else ran");

    // A piped stdin reaches the command.
    let mut child = fleet_cmd(&fleet, &["ecs", &host, "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"from stdin\n", "{}", show(&out));

    // The container is not there while the appliance is stopped: its error and status.
    fleet.ssh_ok(&host, "systemctl stop appliance");
    let out = run(&fleet, &["ecs", &host, "--", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("is not running"), "{}", show(&out));
}
