//! `shell HOST [CONTAINER]` and `ecs` on a terminal: a PTY that follows the
//! terminal's size and is restored on every way out (driven from python).

use super::*;

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
    assert!(ran_in_web(&fleet, &host, "-it", &["/bin/bash"]));

    // `ecs` on a terminal gets one too (`docker exec -it`), for shell_plus.
    let report = drive_pty(&fleet, &["ecs", &host, "--", "/bin/bash"]);
    assert!(
        report.contains("exit=3\n") && report.contains("restored=True\n"),
        "{report}"
    );
    assert!(report.contains("33 111\\r\\nmark-42"), "{report}");
    assert!(ran_in_web(&fleet, &host, "-it", &["/bin/bash"]));
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
