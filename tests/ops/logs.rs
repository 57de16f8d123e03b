//! `logs HOST [-u UNIT] [-f] [-n N]`.

use super::*;

#[test]
fn logs_prints_the_last_lines_of_a_unit_and_follows() {
    let fleet = LabFleet::up(70, 1);
    let host = fleet.name(0);
    let journal = fleet.host_path(&host, "/var/lib/ecs-lab/journal/ops-test.log");
    fs::create_dir_all(journal.parent().unwrap()).unwrap();
    fs::write(
        &journal,
        format!(
            "Nov 25 08:00:01 {host} ops-test[1]: one\nNov 25 08:00:02 {host} ops-test[1]: two\nNov 25 08:00:03 {host} ops-test[1]: three\n"
        ),
    )
    .unwrap();

    let out = run_ok(&fleet, &["logs", &host, "-u", "ops-test", "-n", "2"]);
    assert_eq!(
        stdout(&out),
        format!(
            "Nov 25 08:00:02 {host} ops-test[1]: two\nNov 25 08:00:03 {host} ops-test[1]: three\n"
        )
    );
    assert!(has_call(
        &fleet,
        &host,
        &["journalctl", "-u", "ops-test", "-n", "2", "--no-pager"]
    ));

    // --json: journald's own JSON lines (-o json).
    let out = run_ok(
        &fleet,
        &["--json", "logs", &host, "-u", "ops-test", "-n", "2"],
    );
    let entries: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let messages: Vec<&str> = entries
        .iter()
        .map(|e| e["MESSAGE"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["two", "three"]);
    assert_eq!(entries[0]["SYSLOG_IDENTIFIER"], "ops-test");
    assert!(has_call(
        &fleet,
        &host,
        &[
            "journalctl",
            "-u",
            "ops-test",
            "-n",
            "2",
            "-o",
            "json",
            "--no-pager"
        ]
    ));

    // -f: what is written later arrives; Ctrl-C ends it with 0.
    let mut child = fleet_cmd(&fleet, &["logs", &host, "-u", "ops-test", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(LONG).expect("the last line");
    assert!(first.ends_with("ops-test[1]: three"), "{first}");
    fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(format!("Nov 25 08:00:04 {host} ops-test[1]: four\n").as_bytes())
        .unwrap();
    let next = rx.recv_timeout(LONG).expect("the new line");
    assert!(next.ends_with("ops-test[1]: four"), "{next}");
    assert!(has_call(
        &fleet,
        &host,
        &[
            "journalctl",
            "-u",
            "ops-test",
            "-f",
            "-n",
            "1",
            "--no-pager"
        ]
    ));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
