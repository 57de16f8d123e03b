//! The executor against a fake host: a local `sh` in a temp directory, with
//! the lock file and the boot id redirected there, and a handler that plays
//! the appliance (facts, state probes, reboots, dropped connections).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsfleet_playbooks::appliance::LOCK_FILE;
use ecsfleet_playbooks::{Playbook, RenderContext};
use tokio::io::AsyncWriteExt;

use super::*;
use crate::run::events::{Event, Recorder};
use crate::run::transport::Sink;

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

enum Reply {
    Exit(u32, String, String),
    Lost,
}

#[derive(Default)]
struct HostState {
    connected: bool,
    /// Reconnect attempts that fail before one succeeds.
    down_for: usize,
    reconnects: usize,
    boot: u32,
    log: Vec<String>,
}

type Handler = Box<dyn FnMut(&str, &mut HostState) -> Option<Reply> + Send>;

struct Fake {
    dir: PathBuf,
    state: Arc<Mutex<HostState>>,
    handler: Handler,
}

impl Fake {
    fn new(dir: &Path, handler: Handler) -> Fake {
        std::fs::write(dir.join("boot_id"), "boot-0\n").unwrap();
        Fake {
            dir: dir.to_path_buf(),
            state: Arc::new(Mutex::new(HostState {
                connected: true,
                ..HostState::default()
            })),
            handler,
        }
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }
}

/// Makes the host reboot: the connection drops, the boot id changes, /run
/// (the lock) is emptied, and it takes `down_for` reconnects to come back.
fn reboot_host(dir: &Path, state: &mut HostState, down_for: usize) {
    state.connected = false;
    state.down_for = down_for;
    state.boot += 1;
    std::fs::write(dir.join("boot_id"), format!("boot-{}\n", state.boot)).unwrap();
    let _ = std::fs::remove_file(dir.join("lock"));
}

impl Transport for Fake {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: Sink<'_>,
    ) -> Result<ExitStatus, SshError> {
        let command = command
            .replace(LOCK_FILE, self.lock_path().to_str().unwrap())
            .replace(BOOT_ID, self.dir.join("boot_id").to_str().unwrap());
        let reply = {
            let mut state = self.state.lock().unwrap();
            state.log.push(command.clone());
            if !state.connected {
                Some(Reply::Lost)
            } else {
                (self.handler)(&command, &mut state)
            }
        };
        match reply {
            Some(Reply::Lost) => {
                return Err(SshError::Lost {
                    host: "fake".into(),
                    message: "gone".into(),
                });
            }
            Some(Reply::Exit(code, out, err)) => {
                sink(Stream::Stdout, out.as_bytes());
                sink(Stream::Stderr, err.as_bytes());
                return Ok(ExitStatus::Code(code));
            }
            None => {}
        }
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            let _ = input.write_all(data).await;
        }
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        sink(Stream::Stdout, &out.stdout);
        sink(Stream::Stderr, &out.stderr);
        Ok(ExitStatus::Code(out.status.code().unwrap_or(255) as u32))
    }

    async fn reconnect(&mut self) -> Result<(), SshError> {
        let mut state = self.state.lock().unwrap();
        state.reconnects += 1;
        if state.down_for > 0 {
            state.down_for -= 1;
            return Err(SshError::Connect {
                address: "fake".into(),
                port: 22,
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            });
        }
        state.connected = true;
        Ok(())
    }

    async fn close(self) {}
}

fn no_handler() -> Handler {
    Box::new(|_, _| None)
}

fn settings() -> Settings {
    Settings {
        poll: Duration::from_millis(5),
        wait_interval: Some(Duration::from_millis(1)),
        probe_timeout: Duration::from_secs(5),
        ..Settings::default()
    }
}

fn job(dir: &Path, yaml: &str) -> HostJob {
    let playbook = Playbook::parse(yaml, &dir.join("test.yml"), Some(dir.to_path_buf())).unwrap();
    let mut ctx = RenderContext::new("h1");
    ctx.root_login = true;
    ctx.fleet_dir = Some(dir.to_path_buf());
    HostJob {
        host: "h1".into(),
        playbook: Arc::new(playbook),
        ctx,
        lock: Lock::for_run("r1", "test", false),
        finished: BTreeSet::new(),
    }
}

struct Ran {
    report: HostReport,
    events: Vec<Event>,
    log: Vec<String>,
}

fn run(fake: &mut Fake, job: &HostJob, settings: &Settings, control: &Control) -> Ran {
    let recorder = Recorder::default();
    let report = crate::run::runtime().block_on(run_host(fake, job, settings, &recorder, control));
    Ran {
        report,
        events: recorder.events.into_inner().unwrap(),
        log: fake.log(),
    }
}

fn results(report: &HostReport) -> Vec<&'static str> {
    report.steps.iter().map(|s| s.result.as_str()).collect()
}

#[test]
fn steps_run_in_order_guards_skip_and_a_failure_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let yaml = format!(
        "name: t\nsteps:\n\
         - name: make a\n  run: echo made > {d}/a\n\
         - name: make a again\n  run: echo again > {d}/a\n  creates: {d}/a\n\
         - name: guarded by unless\n  run: touch {d}/never\n  unless: test -e {d}/a\n\
         - name: break\n  run: echo out; echo 'it broke' >&2; exit 3\n\
         - name: never reached\n  run: touch {d}/never2\n"
    );
    let mut fake = Fake::new(dir.path(), no_handler());
    let ran = run(
        &mut fake,
        &job(dir.path(), &yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(ran.report.result, HostResult::Failed);
    assert_eq!(results(&ran.report), ["changed", "ok", "ok", "failed"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a")).unwrap(),
        "made\n"
    );
    assert!(!dir.path().join("never").exists());
    assert!(!dir.path().join("never2").exists());
    let failure = ran.report.failure.unwrap().to_string();
    let path = dir.path().join("test.yml");
    assert!(
        failure.starts_with(&format!(
            "h1: t step 4/5 \"break\" ({}:11) failed: exit status 3\n  $ echo out; echo 'it broke' >&2; exit 3\n─",
            path.display()
        )),
        "{failure}"
    );
    assert!(failure.contains("\nit broke\n─"), "{failure}");
    assert!(!fake.lock_path().exists(), "the lock is released");
    assert!(ran.log[0].contains("set -C"), "the lock comes first");
    assert!(ran.log.last().unwrap().contains("rm -f"), "released last");
    assert!(matches!(
        ran.events.last(),
        Some(Event::HostFinished {
            result: HostResult::Failed,
            ..
        })
    ));
}

#[test]
fn a_held_lock_refuses_the_run_with_the_holders_details() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "steps:\n- name: x\n  run: touch {}/ran\n",
        dir.path().display()
    );
    let mut fake = Fake::new(dir.path(), no_handler());
    let held = "holder=bob@other run 9\noperation=update\nstarted=2026-11-01T10:00:00Z\n";
    std::fs::write(fake.lock_path(), held).unwrap();
    let ran = run(
        &mut fake,
        &job(dir.path(), &yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(ran.report.result, HostResult::Locked);
    assert_eq!(
        ran.report.failure.unwrap().message,
        "locked by bob@other run 9 (update since 2026-11-01T10:00:00Z); wait until that run ends, or if it died, remove /run/ecsfleet.lock on the host"
    );
    assert!(!dir.path().join("ran").exists());
    assert_eq!(std::fs::read_to_string(fake.lock_path()).unwrap(), held);
}

fn facts_handler(os: &'static str) -> Handler {
    Box::new(move |command, _| {
        command.contains("os_id=").then(|| {
            Reply::Exit(
                0,
                format!("os_id={os}\nos_version=16.04\nmemory_kb=4194304\nboot_id=boot-0\n"),
                String::new(),
            )
        })
    })
}

#[test]
fn requirements_refuse_a_host_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "requires: {{os: ubuntu-16.04, memory_mb: '>= 2800'}}\nsteps:\n- name: x\n  run: touch {}/ran\n",
        dir.path().display()
    );
    let job = job(dir.path(), &yaml);
    let mut fake = Fake::new(dir.path(), facts_handler("debian"));
    let ran = run(&mut fake, &job, &settings(), &Control::default());
    assert_eq!(ran.report.result, HostResult::Failed);
    assert_eq!(
        ran.report.failure.unwrap().message,
        "the host does not meet the playbook's requirements: os is debian-16.04, needs == ubuntu-16.04 (--force runs anyway)"
    );
    assert!(!dir.path().join("ran").exists());
    let forced = Settings {
        force: true,
        ..settings()
    };
    let ran = run(&mut fake, &job, &forced, &Control::default());
    assert_eq!(ran.report.result, HostResult::Ok);
    assert!(dir.path().join("ran").exists());
}

#[test]
fn a_reboot_is_followed_by_reconnecting_a_new_boot_id_and_the_lock_again() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "steps:\n- name: reboot\n  reboot: {{timeout: 10s}}\n- name: after\n  run: touch {}/after\n",
        dir.path().display()
    );
    let d = dir.path().to_path_buf();
    let mut fake = Fake::new(
        dir.path(),
        Box::new(move |command, state| {
            command.contains("reboot' </dev/null").then(|| {
                reboot_host(&d, state, 3);
                Reply::Exit(0, String::new(), String::new())
            })
        }),
    );
    let ran = run(
        &mut fake,
        &job(dir.path(), &yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(
        ran.report.result,
        HostResult::Ok,
        "{:?}",
        ran.report.failure
    );
    assert!(ran.report.rebooted());
    assert_eq!(ran.report.boot_id_after.as_deref(), Some("boot-1"));
    assert!(fake.state.lock().unwrap().reconnects >= 4);
    assert!(dir.path().join("after").exists());
    // Taken again after the boot, released at the end.
    let takes = ran.log.iter().filter(|c| c.contains("set -C")).count();
    assert_eq!(takes, 2);
    assert!(!fake.lock_path().exists());
}

#[test]
fn a_host_that_does_not_come_back_fails_the_reboot_step() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let mut fake = Fake::new(
        dir.path(),
        Box::new(move |command, state| {
            command.contains("reboot' </dev/null").then(|| {
                reboot_host(&d, state, usize::MAX);
                Reply::Exit(0, String::new(), String::new())
            })
        }),
    );
    let settings = Settings {
        reboot_timeout: Some(Duration::from_millis(200)),
        ..settings()
    };
    let ran = run(
        &mut fake,
        &job(dir.path(), "steps:\n- name: reboot\n  reboot: {}\n"),
        &settings,
        &Control::default(),
    );
    assert_eq!(ran.report.result, HostResult::Failed);
    // The host stayed away, so the lock could not be released: said so.
    let message = ran.report.failure.unwrap().message;
    assert!(
        message.starts_with("the host did not come back (waited 200 ms, --reboot-timeout); the lock /run/ecsfleet.lock may be left on the host: `--resume "),
        "{message}"
    );
}

fn state_sequence(states: &'static [&'static str]) -> Handler {
    let mut i = 0;
    Box::new(move |command, _| {
        command.contains("echo state=$s").then(|| {
            let out = states[i.min(states.len() - 1)];
            i += 1;
            Reply::Exit(0, out.to_owned(), String::new())
        })
    })
}

#[test]
fn waiting_shows_the_status_page_and_stops_on_a_failed_appliance() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = Fake::new(
        dir.path(),
        state_sequence(&[
            "state=starting\n<h1>Preparing</h1><p>Starting ecs</p>\n",
            "state=starting\n<h1>Preparing</h1><p>Starting ecs</p>\n",
            "state=failed\n<h1>Appliance Error</h1><p>Appliance is in standby, no postgresql database named ecs</p>\n",
        ]),
    );
    let yaml = "steps:\n- name: wait until running\n  wait: {until: running, timeout: 10s, interval: 1s}\n";
    let ran = run(
        &mut fake,
        &job(dir.path(), yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(ran.report.result, HostResult::Failed);
    assert_eq!(
        ran.report.failure.as_ref().unwrap().message,
        "the appliance failed: Appliance Error: Appliance is in standby, no postgresql database named ecs"
    );
    let progress: Vec<&str> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(progress, ["Preparing: Starting ecs"], "shown once");
}

#[test]
fn a_wait_survives_the_host_rebooting_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let mut probes = 0;
    let mut fake = Fake::new(
        dir.path(),
        Box::new(move |command, state| {
            if !command.contains("echo state=$s") {
                return None;
            }
            probes += 1;
            Some(match probes {
                1 => Reply::Exit(0, "state=starting\n<p>Updating</p>".into(), String::new()),
                2 => {
                    reboot_host(&d, state, 2);
                    Reply::Lost
                }
                _ => Reply::Exit(0, "state=running\n".into(), String::new()),
            })
        }),
    );
    let yaml = "steps:\n- name: wait\n  wait: {until: running, timeout: 10s, interval: 1s}\n";
    let ran = run(
        &mut fake,
        &job(dir.path(), yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(
        ran.report.result,
        HostResult::Ok,
        "{:?}",
        ran.report.failure
    );
    assert!(ran.report.rebooted());
    assert!(
        ran.report.steps[0]
            .note
            .as_deref()
            .unwrap()
            .ends_with("the host rebooted")
    );
    assert_eq!(ran.log.iter().filter(|c| c.contains("set -C")).count(), 2);
}

#[test]
fn resume_skips_the_steps_that_finished() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let yaml =
        format!("steps:\n- name: one\n  run: touch {d}/one\n- name: two\n  run: touch {d}/two\n");
    let mut job = job(dir.path(), &yaml);
    job.finished = BTreeSet::from([1]);
    let mut fake = Fake::new(dir.path(), no_handler());
    let ran = run(&mut fake, &job, &settings(), &Control::default());
    assert_eq!(results(&ran.report), ["resumed", "changed"]);
    assert!(!dir.path().join("one").exists());
    assert!(dir.path().join("two").exists());
}

#[test]
fn ctrl_c_aborts_the_step_and_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "steps:\n- name: long\n  run: sleep 20\n- name: after\n  run: touch {}/after\n",
        dir.path().display()
    );
    let mut fake = Fake::new(dir.path(), no_handler());
    let control = Control::default();
    let c = control.clone();
    let job = job(dir.path(), &yaml);
    let recorder = Recorder::default();
    let started = std::time::Instant::now();
    let report = crate::run::runtime().block_on(async {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c.interrupt();
        });
        run_host(&mut fake, &job, &settings(), &recorder, &control).await
    });
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.result, HostResult::Interrupted);
    assert_eq!(results(&report), ["interrupted"]);
    assert!(!dir.path().join("after").exists());
    assert!(!fake.lock_path().exists());
}

#[test]
fn fail_fast_stops_a_host_before_its_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = Fake::new(dir.path(), no_handler());
    let control = Control::default();
    control.stop();
    let ran = run(
        &mut fake,
        &job(dir.path(), "steps:\n- name: x\n  run: 'true'\n"),
        &settings(),
        &control,
    );
    assert_eq!(ran.report.result, HostResult::Stopped);
    assert!(ran.report.steps.is_empty());
    assert!(!fake.lock_path().exists());
}

#[test]
fn upload_push_tree_and_fetch_move_files_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::create_dir_all(dir.path().join("src/salt")).unwrap();
    std::fs::create_dir_all(dir.path().join("src/.git")).unwrap();
    std::fs::write(dir.path().join("src/salt/minion"), "m").unwrap();
    std::fs::write(dir.path().join("src/.git/HEAD"), "h").unwrap();
    std::fs::write(dir.path().join("remote-secret"), "s3cret").unwrap();
    let yaml = format!(
        "steps:\n\
         - name: upload\n  upload: {{content: 'hello {{{{ host }}}}', dest: {d}/remote/up.txt, mode: '0640'}}\n\
         - name: tree\n  push_tree: {{src: src, dest: {d}/remote/tree}}\n\
         - name: tree again\n  push_tree: {{src: src, dest: {d}/remote/tree}}\n\
         - name: fetch\n  fetch: {{src: {d}/remote-secret, dest: got/secret}}\n"
    );
    let mut fake = Fake::new(dir.path(), no_handler());
    let ran = run(
        &mut fake,
        &job(dir.path(), &yaml),
        &settings(),
        &Control::default(),
    );
    assert_eq!(
        ran.report.result,
        HostResult::Ok,
        "{:?}",
        ran.report.failure
    );
    assert_eq!(
        results(&ran.report),
        ["changed", "changed", "ok", "changed"]
    );
    use std::os::unix::fs::PermissionsExt;
    let up = dir.path().join("remote/up.txt");
    assert_eq!(std::fs::read_to_string(&up).unwrap(), "hello h1");
    assert_eq!(
        std::fs::metadata(&up).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("remote/tree/salt/minion")).unwrap(),
        "m"
    );
    assert!(!dir.path().join("remote/tree/.git").exists());
    let got = dir.path().join("got/secret");
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "s3cret");
    assert_eq!(
        std::fs::metadata(&got).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn secrets_are_masked_in_the_failure_and_output_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = job(
        dir.path(),
        "steps:\n- name: leak\n  run: echo {{ pw | secret }}; echo {{ pw | secret }} >&2; exit 1\n",
    );
    job.ctx
        .vars
        .insert("pw".into(), serde_json::json!("hunter2-xyz"));
    let mut fake = Fake::new(dir.path(), no_handler());
    let ran = run(&mut fake, &job, &settings(), &Control::default());
    let failure = ran.report.failure.unwrap().to_string();
    assert!(!failure.contains("hunter2"), "{failure}");
    assert!(
        failure.contains("$ echo <secret>; echo <secret> >&2; exit 1"),
        "{failure}"
    );
    assert!(failure.contains("\n<secret>\n"), "{failure}");
    let json: Vec<String> = ran
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(json.iter().all(|l| !l.contains("hunter2")), "{json:?}");
    assert!(json.iter().any(|l| l.contains("<secret>")));
}
