//! Integration tests for issue 5's operate commands against lab hosts:
//! restore, db recreate, backup fetch-dump, logs, tunnel, shell, ecs, stats.
//! Assertions read the simulator's call logs, the hosts' files and the real
//! PostgreSQL of each host, not only exit codes. Host indices 66..=89
//! (127.0.0.76 and up) belong to this file.

use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::lab::{LabFleet, fleet_cmd, run, run_ok, show, wait_for};

const LONG: Duration = Duration::from_secs(60);

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn has_call(fleet: &LabFleet, host: &str, argv: &[&str]) -> bool {
    fleet.calls(host).iter().any(|c| c == argv)
}

/// Installed by hand (quicker than `install`), env active, database
/// there, appliance started and running.
fn make_running(fleet: &LabFleet, name: &str) {
    fleet.ssh_ok(
        name,
        "mkdir -p /etc/salt /app/appliance/salt && echo 'file_client: local' > /etc/salt/minion && \
         salt-call state.highstate --retcode-passthrough pillar='{\"appliance\": {\"enabled\": true}}' >/dev/null && \
         printf '#cloud-config\\nappliance:\\n  domain: x.ecs.test\\necs:\\n  database: ecs\\n' > /app/env.yml && \
         chmod 0600 /app/env.yml && sudo -u postgres createdb ecs -T template0 -l de_DE.utf8 && \
         cp /app/env.yml /run/active-env.yml && systemctl start appliance",
    );
    wait_for("the appliance to run", LONG, || {
        fleet
            .ssh(
                name,
                "systemctl is-active appliance && test ! -e /var/www/html/503.html",
            )
            .status
            .success()
    });
}

/// What the host's real PostgreSQL answers to `sql` in the ecs database.
fn psql(fleet: &LabFleet, host: &str, sql: &str) -> Output {
    fleet.ssh(host, &format!("gosu postgres psql -X -tA ecs -c \"{sql}\""))
}

fn running(fleet: &LabFleet, host: &str) -> bool {
    fleet
        .ssh(host, "systemctl is-active appliance && test ! -e /var/www/html/503.html && test ! -e /run/appliance-failed")
        .status
        .success()
}

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

#[test]
fn backup_fetch_dump_downloads_the_latest_dump() {
    let fleet = LabFleet::up(67, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);
    assert!(
        psql(&fleet, &host, "create table dumped(x int)")
            .status
            .success()
    );
    fleet.ssh_ok(&host, "systemctl start appliance-backup");
    let backup = fleet
        .read_host_file(&host, "/var/lib/ecs-lab/backup/ecs-pgdump/ecs.pgdump.gz")
        .expect("the simulated backup holds a dump");

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("dump.gz");
    let out = run_ok(
        &fleet,
        &[
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&out).contains("the latest database dump is in"),
        "{}",
        show(&out)
    );
    let got = fs::read(&out_file).unwrap();
    assert_eq!(
        got, backup,
        "the download is the backup's dump, byte for byte"
    );
    let mut header = Vec::new();
    flate2::read::GzDecoder::new(&got[..])
        .take(5)
        .read_to_end(&mut header)
        .unwrap();
    assert_eq!(header, b"PGDMP", "a pg_dump custom-format archive");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        fs::metadata(&out_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(has_call(
        &fleet,
        &host,
        &[
            "duply",
            "/root/.duply/appliance-backup",
            "fetch",
            "ecs-pgdump/ecs.pgdump.gz",
            "/root/ecsfleet-fetch-dump.pgdump.gz"
        ]
    ));
    assert!(
        !fleet.host_file_exists(&host, "/root/ecsfleet-fetch-dump.pgdump.gz"),
        "the host's copy is removed"
    );
    assert!(!dir.path().join("dump.gz.partial").exists());

    // An existing file is kept unless --force; --json says what arrived.
    let out = run(
        &fleet,
        &[
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = run_ok(
        &fleet,
        &[
            "--json",
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
            "--force",
        ],
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["host"], host.as_str());
    assert_eq!(line["bytes"], backup.len() as u64);
    assert_eq!(line["sha256"].as_str().unwrap().len(), 64);
}

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
    let create = at(&[
        "gosu",
        "postgres",
        "createdb",
        "ecs",
        "-T",
        "template0",
        "-l",
        "de_DE.utf8",
    ]);
    let restart = at(&["systemctl", "restart", "appliance"]);
    assert!(
        stop < drop && drop < create && create < restart,
        "{calls:?}"
    );
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
    assert!(has_call(
        &fleet,
        &host,
        &[
            "docker",
            "exec",
            "-i",
            "ecs_ecs.web_1",
            "/start",
            "run",
            "cat",
            "/root/blob.bin"
        ]
    ));

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
    assert!(has_call(
        &fleet,
        &host,
        &[
            "docker",
            "exec",
            "-i",
            "ecs_ecs.web_1",
            "/start",
            "run",
            "./manage.py",
            "changepassword",
            &hostile
        ]
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

#[test]
fn stats_shows_every_container_as_a_table_and_as_json() {
    let fleet = LabFleet::up(71, 2);
    let (up, idle) = (fleet.name(0), fleet.name(1));
    make_running(&fleet, &up);

    let out = run_ok(&fleet, &["stats", "--all"]);
    let table = stdout(&out);
    for header in [
        "container",
        "cpu",
        "memory (use / limit)",
        "net i/o (in / out)",
        "disk i/o (read / write)",
    ] {
        assert!(table.contains(header), "{table}");
    }
    let web = table
        .lines()
        .find(|l| l.contains(&up) && l.contains("ecs_ecs.web_1"))
        .unwrap_or_else(|| panic!("{table}"));
    for value in [
        "7.13%",
        "57.5MiB / 3.859GiB",
        "3.1MB / 2.4MB",
        "11.2MB / 5.0MB",
    ] {
        assert!(web.contains(value), "{web}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.contains(&idle) && l.contains("(no container running)")),
        "{table}"
    );
    assert!(has_call(
        &fleet,
        &up,
        &["docker", "stats", "--no-stream", "--format", "{{json .}}"]
    ));

    let out = run_ok(&fleet, &["--json", "stats", "--all"]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let containers: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["host"] == up.as_str()).collect();
    assert_eq!(containers.len(), 8, "{lines:?}");
    assert_eq!(containers[0]["container"], "ecs_ecs.web_1");
    assert_eq!(containers[0]["cpu_percent"], 7.13);
    assert_eq!(containers[0]["memory_percent"], 0.11);
    assert_eq!(containers[0]["block_io"], "11.2MB / 5.0MB");
    assert_eq!(containers[0]["pids"], 5);
    let idle_line: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["host"] == idle.as_str())
        .collect();
    assert_eq!(idle_line.len(), 1, "{lines:?}");
    assert!(idle_line[0]["container"].is_null(), "{lines:?}");
}

#[test]
fn tunnel_forwards_local_connections_to_the_service_on_the_host() {
    let fleet = LabFleet::up(74, 1);
    let host = fleet.name(0);
    // pghero's address (localhost:5081) inside the host: a web server that
    // serves the host's own /root, which only the host's namespace sees.
    let probe = format!("served from inside {host}, pid {}\n", std::process::id());
    fs::write(fleet.host_path(&host, "/root/probe.txt"), &probe).unwrap();
    fleet.ssh_ok(
        &host,
        "cd /root && (setsid python3 -m http.server --bind 127.0.0.1 5081 >/dev/null 2>&1 </dev/null &)",
    );
    wait_for("the web server on the host", LONG, || {
        std::net::TcpStream::connect(("127.0.0.1", 5081)).is_ok()
    });

    let mut child = fleet_cmd(&fleet, &["tunnel", &host, "pghero", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("a local URL first: {first:?}"))
        .to_owned();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_ne!(address, "127.0.0.1:5081");
    // Two connections in a row, each a full round trip.
    for _ in 0..2 {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(LONG)).unwrap();
        stream
            .write_all(b"GET /probe.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200"), "{response}");
        assert!(response.ends_with(&probe), "{response}");
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{host}: forwarding {address} to localhost:5081 (pghero)"
        )),
        "{}",
        show(&out)
    );
    // The port is free again.
    assert!(std::net::TcpStream::connect(&address).is_err());
    assert!(!stderr(&out).contains("warning"), "{}", show(&out));

    // A service that is not running: said at the start, the tunnel stays.
    let mut child = fleet_cmd(&fleet, &["tunnel", &host, "grafana", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = BufReader::new(child.stderr.take().unwrap());
    let mut lines = String::new();
    while !lines.contains("warning") {
        assert_ne!(stderr_pipe.read_line(&mut lines).unwrap(), 0, "{lines}");
    }
    assert!(
        lines.contains(&format!(
            "warning: {host}: the host could not connect to localhost:3000"
        )),
        "{lines}"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Runs ecsfleet ARGS on a fresh pseudo-terminal of 33 rows x 111 columns,
/// types `stty size` and a marker command, checks the terminal is raw
/// meanwhile, resizes it to 44 x 122 (SIGWINCH), types `stty size; tty;
/// exit 3` and reports what came back, the exit status, and whether echo and
/// canonical mode are back on afterwards.
const PTY_DRIVER: &str = r#"
import os, pty, sys, time, select, termios, struct, fcntl, signal
argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 111, 0, 0))
    os.execv(argv[0], argv)
buf = b''
def read_until(token, timeout=60):
    global buf
    end = time.time() + timeout
    while token not in buf:
        if time.time() > end:
            sys.exit('timeout waiting for %r; got %r' % (token, buf))
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b''
            if not data:
                sys.exit('end of output waiting for %r; got %r' % (token, buf))
            buf += data
def raw():
    lflag = termios.tcgetattr(fd)[3]
    return not (lflag & termios.ECHO) and not (lflag & termios.ICANON)
end = time.time() + 60
while not raw():
    if time.time() > end:
        sys.exit('the terminal never went raw')
    time.sleep(0.05)
os.write(fd, b'stty size; echo "mark-$((6*7))"\n')
read_until(b'mark-42')
raw_during = raw()
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 44, 122, 0, 0))
os.kill(pid, signal.SIGWINCH)
time.sleep(0.5)
os.write(fd, b'stty size; tty; exit 3\n')
_, status = os.waitpid(pid, 0)
try:
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            break
        data = os.read(fd, 4096)
        if not data:
            break
        buf += data
except OSError:
    pass
lflag = termios.tcgetattr(fd)[3]
sys.stdout.write('raw_during=%s\n' % raw_during)
sys.stdout.write('exit=%d\n' % os.waitstatus_to_exitcode(status))
sys.stdout.write('restored=%s\n' % bool((lflag & termios.ECHO) and (lflag & termios.ICANON)))
sys.stdout.write('output=%r\n' % buf)
"#;

fn drive_pty(fleet: &LabFleet, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(PTY_DRIVER)
        .arg(env!("CARGO_BIN_EXE_ecsfleet"))
        .arg("-i")
        .arg(fleet.inventory())
        .arg("--no-ssh-config")
        .args(args)
        .env_remove("ECSFLEET_INVENTORY")
        .env_remove("SSH_AUTH_SOCK")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(out.status.success(), "the PTY driver: {}", show(&out));
    stdout(&out)
}

#[test]
fn shell_runs_on_a_pty_that_follows_the_terminal_and_restores_it() {
    let fleet = LabFleet::up(73, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);

    let report = drive_pty(&fleet, &["shell", &host]);
    assert!(report.contains("raw_during=True\n"), "{report}");
    assert!(
        report.contains("exit=3\n"),
        "the remote shell's status: {report}"
    );
    assert!(report.contains("restored=True\n"), "{report}");
    assert!(
        report.contains("33 111\\r\\nmark-42"),
        "the initial size: {report}"
    );
    assert!(
        report.contains("44 122\\r\\n/dev/pts/"),
        "the window change and a tty: {report}"
    );
    assert!(
        report.contains(&format!("root@{host}")),
        "a root shell on the host: {report}"
    );

    // In a container: the manual's docker exec, and the command ran there.
    let report = drive_pty(&fleet, &["shell", &host, "web"]);
    assert!(
        report.contains("exit=3\n") && report.contains("restored=True\n"),
        "{report}"
    );
    assert!(report.contains("44 122"), "{report}");
    assert!(has_call(
        &fleet,
        &host,
        &[
            "docker",
            "exec",
            "-it",
            "ecs_ecs.web_1",
            "/start",
            "run",
            "/bin/bash"
        ]
    ));

    // `ecs` on a terminal gets one too (`docker exec -it`), for shell_plus.
    let report = drive_pty(&fleet, &["ecs", &host, "--", "/bin/bash"]);
    assert!(
        report.contains("exit=3\n") && report.contains("restored=True\n"),
        "{report}"
    );
    assert!(report.contains("33 111\\r\\nmark-42"), "{report}");
    assert!(has_call(
        &fleet,
        &host,
        &[
            "docker",
            "exec",
            "-it",
            "ecs_ecs.web_1",
            "/start",
            "run",
            "/bin/bash"
        ]
    ));
    let execs = fleet
        .calls(&host)
        .iter()
        .filter(|c| c[..2] == ["docker", "exec"])
        .count();
    assert_eq!(execs, 2, "shell web and ecs -- /bin/bash");

    // Without a terminal it refuses before connecting.
    let out = run(&fleet, &["shell", &host]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("shell needs a terminal"),
        "{}",
        show(&out)
    );
}

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
