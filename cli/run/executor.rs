//! The playbook executor for one host: take the lock (which also reads the
//! boot id), gather facts when the playbook reads them, render
//! the playbook with them, check `requires`, walk the plan's steps (see
//! `ecsfleet_playbooks::Plan` for what each action means), release the lock
//! on every way out. It sees the host only through a [`Transport`], so the
//! logic is unit-tested with a fake one (below).
//!
//! A step that fails ends the host's run with a [`Failure`]: host, playbook,
//! step n/m, the playbook line, the masked command and its stderr. A
//! Ctrl-C ([`Control::interrupt`]) aborts the step in flight; `--fail-fast`
//! ([`Control::stop`]) ends the host before its next step. Reboots, expected
//! (`reboot` steps) or not (appliance-update rebooting the host during a
//! `wait`), are noticed by the lost connection and confirmed by a changed
//! boot id; the lock is taken again afterwards (a boot empties /run).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecsfleet_playbooks::appliance;
use ecsfleet_playbooks::transfer::{
    UPLOAD_INCOMPLETE, UploadSpec, download_command, upload_command,
};
use ecsfleet_playbooks::{
    Action, Condition, Facts, PlannedStep, Playbook, RemoteCommand, RenderContext, Stdin,
    UploadSource, WaitOutcome, WaitUntil,
};
use sha2::{Digest, Sha256};

use super::control::Control;
use super::events::{Event, EventSink, HostResult, StepResult};
use super::lock::Lock;
use super::output::{LineSplitter, Tail};
use super::transport::Transport;
use super::tree;
use crate::ssh::{ExitStatus, SshError, Stream};

/// What every host of a run shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--force`: run even when `requires` is not met.
    pub force: bool,
    /// `--reboot-timeout`: overrides the reboot steps' own timeouts.
    pub reboot_timeout: Option<Duration>,
    /// First delay between reconnect attempts (doubles up to 5x).
    pub poll: Duration,
    /// Overrides the wait steps' own poll interval (tests).
    pub wait_interval: Option<Duration>,
    /// A probe that hangs longer than this counts as a lost connection.
    pub probe_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            force: false,
            reboot_timeout: None,
            poll: Duration::from_secs(1),
            wait_interval: None,
            probe_timeout: Duration::from_secs(60),
        }
    }
}

/// One host's share of a run.
pub struct HostJob {
    pub host: String,
    pub playbook: Arc<Playbook>,
    /// Rendering context without facts (gathered on the host).
    pub ctx: RenderContext,
    pub lock: Lock,
    /// Step indexes finished in the run being resumed.
    pub finished: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
pub struct StepRecord {
    pub result: StepResult,
    pub note: Option<String>,
}

/// Why a host's run ended badly, everything an operator needs to act.
#[derive(Debug, Clone)]
pub struct Failure {
    pub host: String,
    pub playbook: String,
    pub path: PathBuf,
    /// index, total, name, playbook line.
    pub step: Option<(usize, usize, String, u64)>,
    pub message: String,
    /// The command, masked.
    pub command: Option<String>,
    /// Its stderr (or the tail of stdout when stderr was empty), masked.
    pub output: String,
}

const RULER: &str = "────────────────────────────────────────────────────────────";

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some((index, total, name, line)) => write!(
                f,
                "{}: {} step {index}/{total} \"{name}\" ({}:{line}) failed: {}",
                self.host,
                self.playbook,
                self.path.display(),
                self.message
            )?,
            None => write!(f, "{}: {}: {}", self.host, self.playbook, self.message)?,
        }
        if let Some(command) = &self.command {
            write!(f, "\n  $ {}", command.replace('\n', "\n    "))?;
        }
        if !self.output.trim().is_empty() {
            write!(f, "\n{RULER}\n{}\n{RULER}", self.output.trim_end())?;
        }
        Ok(())
    }
}

/// How one host's run went.
#[derive(Debug, Clone)]
pub struct HostReport {
    pub host: String,
    pub result: HostResult,
    pub failure: Option<Failure>,
    pub steps: Vec<StepRecord>,
    /// Stdout of run steps by step index (masked; not for secret output).
    pub outputs: BTreeMap<usize, String>,
    pub boot_id_before: Option<String>,
    pub boot_id_after: Option<String>,
    pub seconds: f64,
}

impl HostReport {
    pub fn new(host: &str, result: HostResult) -> HostReport {
        HostReport {
            host: host.to_owned(),
            result,
            failure: None,
            steps: Vec::new(),
            outputs: BTreeMap::new(),
            boot_id_before: None,
            boot_id_after: None,
            seconds: 0.0,
        }
    }

    /// The boot id changed during the run.
    pub fn rebooted(&self) -> bool {
        matches!((&self.boot_id_before, &self.boot_id_after), (Some(a), Some(b)) if a != b)
    }

    pub fn failed(&self) -> bool {
        self.result != HostResult::Ok
    }

    /// A host that could not be reached at all.
    pub fn unreachable(host: &str, playbook: &Playbook, error: &SshError) -> HostReport {
        let mut report = HostReport::new(host, HostResult::Unreachable);
        report.failure = Some(Failure {
            host: host.to_owned(),
            playbook: playbook.name.clone(),
            path: playbook.path.clone(),
            step: None,
            message: error.to_string(),
            command: None,
            output: String::new(),
        });
        report
    }
}

/// How a step ended, if not well.
enum StepError {
    Failed {
        message: String,
        command: Option<String>,
        output: String,
    },
    Interrupted,
}

impl StepError {
    fn msg(message: impl Into<String>) -> StepError {
        StepError::Failed {
            message: message.into(),
            command: None,
            output: String::new(),
        }
    }
}

struct Done {
    result: StepResult,
    note: Option<String>,
    stdout: Option<String>,
}

impl Done {
    fn new(result: StepResult, note: Option<String>) -> Done {
        Done {
            result,
            note,
            stdout: None,
        }
    }
}

/// Runs `job` on the host behind `transport`; emits events as it goes.
pub async fn run_host<T: Transport>(
    transport: &mut T,
    job: &HostJob,
    settings: &Settings,
    events: &dyn EventSink,
    control: &Control,
) -> HostReport {
    let started = Instant::now();
    let mut runner = Runner {
        t: transport,
        job,
        settings,
        events,
        control,
        boot_id: None,
        total: job.playbook.steps.len(),
        step: 0,
    };
    let mut report = HostReport::new(&job.host, HostResult::Ok);
    match runner.acquire().await {
        Ok(()) => {
            runner.walk(&mut report).await;
            if !runner.release().await {
                let note = format!(
                    "the lock {} may be left on the host: `--resume {}` takes it over, or remove it",
                    appliance::LOCK_FILE,
                    job.lock.run()
                );
                match &mut report.failure {
                    Some(failure) => failure.message = format!("{}; {note}", failure.message),
                    None => tracing::warn!("{}: {note}", job.host),
                }
            }
        }
        Err((result, message)) => {
            report.result = result;
            report.failure = Some(runner.failure(None, StepError::msg(message)));
        }
    }
    report.boot_id_after = runner.boot_id.clone();
    report.seconds = started.elapsed().as_secs_f64();
    events.emit(Event::HostFinished {
        host: job.host.clone(),
        result: report.result,
        error: report.failure.as_ref().map(|f| f.message.clone()),
        seconds: report.seconds,
    });
    report
}

struct Runner<'a, T: Transport> {
    t: &'a mut T,
    job: &'a HostJob,
    settings: &'a Settings,
    events: &'a dyn EventSink,
    control: &'a Control,
    boot_id: Option<String>,
    total: usize,
    /// The step in progress, for progress events.
    step: usize,
}

impl<T: Transport> Runner<'_, T> {
    fn progress(&self, text: impl Into<String>) {
        self.events.emit(Event::Progress {
            host: self.job.host.clone(),
            step: self.step,
            text: text.into(),
        });
    }

    fn failure(&self, step: Option<&PlannedStep>, error: StepError) -> Failure {
        let (message, command, output) = match error {
            StepError::Failed {
                message,
                command,
                output,
            } => (message, command, output),
            StepError::Interrupted => ("interrupted".to_owned(), None, String::new()),
        };
        Failure {
            host: self.job.host.clone(),
            playbook: self.job.playbook.name.clone(),
            path: self.job.playbook.path.clone(),
            step: step.map(|s| (s.index, self.total, s.name.clone(), s.line)),
            message,
            command,
            output,
        }
    }

    /// Takes the lock; our own lock (still there after a blip) counts.
    async fn acquire(&mut self) -> Result<(), (HostResult, String)> {
        let command = self.job.lock.acquire_command().to_shell();
        let out = collect(self.t, &command, None)
            .await
            .map_err(|e| (HostResult::Failed, format!("cannot take the lock: {e}")))?;
        let printed = out.text();
        if let Some(id) = printed.lines().find_map(|l| l.strip_prefix("boot_id=")) {
            self.boot_id = Some(id.trim().to_owned());
        }
        if out.status.success() {
            return Ok(());
        }
        if printed
            .lines()
            .any(|l| l.strip_prefix("holder=") == Some(self.job.lock.holder.as_str()))
        {
            return Ok(());
        }
        if printed.contains("holder=") {
            Err((HostResult::Locked, Lock::refusal(&printed)))
        } else {
            Err((
                HostResult::Failed,
                format!(
                    "cannot take the lock {} ({}): {}",
                    appliance::LOCK_FILE,
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ))
        }
    }

    /// Releases the lock; false when it could not be (the host stayed
    /// away). A dropped connection is retried with a short backoff: a
    /// crashed sshd is usually back within seconds, and a lock left behind
    /// would refuse the next run.
    async fn release(&mut self) -> bool {
        let command = self.job.lock.release_command().to_shell();
        let attempts = if self.control.is_interrupted() { 2 } else { 5 };
        let mut delay = self.settings.poll.min(Duration::from_secs(1));
        for attempt in 1..=attempts {
            match collect(self.t, &command, None).await {
                Ok(out) if out.status.success() => return true,
                Ok(out) => {
                    tracing::warn!(
                        "{}: releasing the lock failed ({})",
                        self.job.host,
                        out.status
                    );
                    return false;
                }
                Err(error) if attempt == attempts => {
                    tracing::warn!(
                        "{}: cannot release {}: {error}",
                        self.job.host,
                        appliance::LOCK_FILE
                    );
                }
                Err(_) => {
                    if attempt > 1 {
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                    let _ = self.t.reconnect().await;
                }
            }
        }
        false
    }

    async fn facts(&mut self) -> Result<Facts, StepError> {
        let out = collect(self.t, &appliance::facts().to_shell(), None)
            .await
            .map_err(|e| StepError::msg(format!("cannot gather facts: {e}")))?;
        if !out.status.success() {
            return Err(StepError::Failed {
                message: format!("gathering facts failed ({})", out.status),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(Facts::parse(&out.text()))
    }

    async fn walk(&mut self, report: &mut HostReport) {
        let facts = if self.job.playbook.uses_facts() {
            match self.facts().await {
                Ok(facts) => facts,
                Err(error) => return self.fail(report, None, error),
            }
        } else {
            Facts::default()
        };
        if let Some(id) = facts.boot_id() {
            self.boot_id = Some(id.to_owned());
        }
        report.boot_id_before = self.boot_id.clone();
        let mut ctx = self.job.ctx.clone();
        ctx.facts = facts.clone();
        let plan = match ecsfleet_playbooks::render(&self.job.playbook, &ctx) {
            Ok(plan) => plan,
            Err(error) => return self.fail(report, None, StepError::msg(error.to_string())),
        };
        let unmet = Condition::check_all(&plan.requires, &facts);
        if !unmet.is_empty() {
            let list: Vec<String> = unmet.iter().map(ToString::to_string).collect();
            if self.settings.force {
                self.progress(format!(
                    "requirements not met, going on (--force): {}",
                    list.join("; ")
                ));
            } else {
                let message = format!(
                    "the host does not meet the playbook's requirements: {} (--force runs anyway)",
                    list.join("; ")
                );
                return self.fail(report, None, StepError::msg(message));
            }
        }
        self.total = plan.steps.len();
        for step in &plan.steps {
            if self.control.is_interrupted() {
                report.result = HostResult::Interrupted;
                return;
            }
            if self.control.is_stopped() {
                report.result = HostResult::Stopped;
                report.failure = Some(self.failure(
                    Some(step),
                    StepError::msg("stopped before this step: another host failed (--fail-fast)"),
                ));
                return;
            }
            self.step = step.index;
            self.events.emit(Event::StepStarted {
                host: self.job.host.clone(),
                step: step.index,
                total: self.total,
                name: step.name.clone(),
            });
            let started = Instant::now();
            let outcome = if self.job.finished.contains(&step.index) {
                Ok(Done::new(
                    StepResult::Resumed,
                    Some("finished in the resumed run".into()),
                ))
            } else {
                let control = self.control;
                tokio::select! {
                    outcome = self.step(step) => outcome,
                    () = control.interrupted() => Err(StepError::Interrupted),
                }
            };
            let seconds = started.elapsed().as_secs_f64();
            let (result, note) = match &outcome {
                Ok(done) => (done.result, done.note.clone()),
                Err(StepError::Interrupted) => (StepResult::Interrupted, None),
                Err(StepError::Failed { .. }) => (StepResult::Failed, None),
            };
            report.steps.push(StepRecord {
                result,
                note: note.clone(),
            });
            self.events.emit(Event::StepFinished {
                host: self.job.host.clone(),
                step: step.index,
                total: self.total,
                name: step.name.clone(),
                result,
                seconds,
                note,
            });
            match outcome {
                Ok(done) => {
                    if let Some(stdout) = done.stdout {
                        report.outputs.insert(step.index, stdout);
                    }
                }
                Err(StepError::Interrupted) => {
                    report.result = HostResult::Interrupted;
                    report.failure = Some(self.failure(Some(step), StepError::Interrupted));
                    return;
                }
                Err(error) => return self.fail(report, Some(step), error),
            }
        }
    }

    fn fail(&self, report: &mut HostReport, step: Option<&PlannedStep>, error: StepError) {
        report.result = if matches!(error, StepError::Interrupted) {
            HostResult::Interrupted
        } else {
            HostResult::Failed
        };
        report.failure = Some(self.failure(step, error));
    }

    async fn step(&mut self, step: &PlannedStep) -> Result<Done, StepError> {
        match &step.action {
            Action::Run { command, .. } => self.run(step, command).await,
            Action::Upload {
                source,
                dest,
                mode,
                owner,
                group,
            } => {
                self.upload(step, source, dest, *mode, owner.clone(), group.clone())
                    .await
            }
            Action::PushTree {
                src,
                dest,
                exclude,
                owner,
                group,
            } => {
                self.push_tree(step, src, dest, exclude, owner.as_deref(), group.as_deref())
                    .await
            }
            Action::Fetch { src, dest } => self.fetch(step, src, dest).await,
            Action::Reboot { timeout } => {
                let timeout = self.settings.reboot_timeout.unwrap_or(*timeout);
                self.reboot(step, timeout).await
            }
            Action::Wait {
                until,
                timeout,
                interval,
            } => {
                let interval = self.settings.wait_interval.unwrap_or(*interval);
                self.wait(until, *timeout, interval).await
            }
            Action::Check { conditions } => {
                let facts = self.facts().await?;
                let unmet = Condition::check_all(conditions, &facts);
                if unmet.is_empty() {
                    Ok(Done::new(StepResult::Ok, None))
                } else {
                    let list: Vec<String> = unmet.iter().map(ToString::to_string).collect();
                    let force = if self.settings.force {
                        ""
                    } else {
                        " (--force skips the preflight)"
                    };
                    Err(StepError::msg(format!("{}{force}", list.join("; "))))
                }
            }
            Action::Skip { reason } => Ok(Done::new(StepResult::Skipped, Some(reason.clone()))),
        }
    }

    async fn run(
        &mut self,
        step: &PlannedStep,
        command: &RemoteCommand,
    ) -> Result<Done, StepError> {
        if let Some(guard) = step.action.guard() {
            let stdin = stdin_bytes(&guard.stdin)?;
            let out = collect(self.t, &guard.to_shell(), stdin.as_deref())
                .await
                .map_err(|e| StepError::msg(format!("the guard could not run: {e}")))?;
            if out.status.success() {
                return Ok(Done::new(StepResult::Ok, Some("already done".into())));
            }
        }
        let stdin = stdin_bytes(&command.stdin)?;
        let secrets: Vec<String> = command.secrets().into_iter().map(str::to_owned).collect();
        let mask = |text: &str| mask(text, &secrets);
        let quiet = command.secret_output;
        let (host, index, events) = (self.job.host.clone(), step.index, self.events);
        let mut lines = LineSplitter::default();
        let (mut stdout, mut stderr) = (Tail::new(1 << 20), Tail::new(64 << 10));
        let shell = command.to_shell();
        let mut sink = |stream: Stream, data: &[u8]| {
            match stream {
                Stream::Stdout => stdout.push(data),
                Stream::Stderr => stderr.push(data),
            }
            if quiet {
                return;
            }
            for line in lines.feed(stream, data) {
                events.emit(Event::Output {
                    host: host.clone(),
                    step: index,
                    stream: match stream {
                        Stream::Stdout => "stdout",
                        Stream::Stderr => "stderr",
                    },
                    line: mask(&line),
                });
            }
        };
        let exec = self.t.exec(&shell, stdin.as_deref(), &mut sink);
        let status = match command.timeout {
            Some(limit) => match tokio::time::timeout(limit, exec).await {
                Ok(status) => status,
                Err(_) => {
                    return Err(StepError::Failed {
                        message: format!("timed out after {}", human(limit)),
                        command: Some(command.to_string()),
                        output: if quiet {
                            String::new()
                        } else {
                            mask(&stderr.text())
                        },
                    });
                }
            },
            None => exec.await,
        };
        let status = status.map_err(|e| StepError::Failed {
            message: e.to_string(),
            command: Some(command.to_string()),
            output: String::new(),
        })?;
        let stdout_text = stdout.text();
        let salt = salt_summary(&shell, &stdout_text);
        if status.success() {
            return Ok(Done {
                result: StepResult::Changed,
                note: salt.map(|s| s.line),
                stdout: (!quiet).then(|| mask(&stdout_text)),
            });
        }
        let output = if quiet {
            "(output withheld: this command prints secrets)".to_owned()
        } else if let Some(salt) = &salt {
            salt.failed_states.join("\n")
        } else if stderr.text().trim().is_empty() {
            last_lines(&mask(&stdout_text), 30)
        } else {
            mask(&stderr.text())
        };
        let mut message = describe(&status);
        if let Some(salt) = salt {
            message = format!("{message}; {}", salt.line);
        }
        Err(StepError::Failed {
            message,
            command: Some(command.to_string()),
            output,
        })
    }

    async fn upload(
        &mut self,
        step: &PlannedStep,
        source: &UploadSource,
        dest: &str,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    ) -> Result<Done, StepError> {
        let data = match source {
            UploadSource::LocalFile(path) => {
                self.inside_roots(path)?;
                std::fs::read(path)
                    .map_err(|e| StepError::msg(format!("cannot read {}: {e}", path.display())))?
            }
            UploadSource::Bytes { data, .. } => data.clone(),
        };
        let spec = UploadSpec {
            dest: dest.to_owned(),
            mode,
            owner,
            group,
            len: data.len() as u64,
            sha256_hex: sha256_hex(&data),
            make_parents: true,
        };
        let mut command = upload_command(&spec).map_err(|e| StepError::msg(e.to_string()))?;
        if step.sudo {
            command = command.sudo();
        }
        let out = collect(self.t, &command.to_shell(), Some(&data))
            .await
            .map_err(|e| StepError::msg(format!("upload to {dest}: {e}")))?;
        match out.status {
            ExitStatus::Code(0) => Ok(Done::new(
                StepResult::Changed,
                Some(format!("{} bytes", data.len())),
            )),
            ExitStatus::Code(UPLOAD_INCOMPLETE) => Err(StepError::msg(format!(
                "upload to {dest} arrived incomplete; the old file is unchanged"
            ))),
            status => Err(StepError::Failed {
                message: format!("upload to {dest} failed ({status})"),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    async fn push_tree(
        &mut self,
        step: &PlannedStep,
        src: &Path,
        dest: &str,
        exclude: &[String],
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<Done, StepError> {
        self.inside_roots(src)?;
        let (src_owned, exclude_owned) = (src.to_path_buf(), exclude.to_vec());
        let archive = tokio::task::spawn_blocking(move || tree::pack(&src_owned, &exclude_owned))
            .await
            .map_err(|e| StepError::msg(e.to_string()))?
            .map_err(|e| StepError::msg(format!("cannot pack {}: {e}", src.display())))?;
        let sudo = |c: RemoteCommand| if step.sudo { c.sudo() } else { c };
        let guard = sudo(tree::unchanged_command(dest, &archive.sha256));
        if collect(self.t, &guard.to_shell(), None)
            .await
            .is_ok_and(|o| o.status.success())
        {
            return Ok(Done::new(
                StepResult::Ok,
                Some(format!("{dest} already holds this tree")),
            ));
        }
        self.progress(format!(
            "sending {} entries ({} KiB)",
            archive.entries,
            archive.bytes.len() / 1024
        ));
        let command = sudo(tree::unpack_command(
            dest,
            owner,
            group,
            archive.bytes.len(),
            &archive.sha256,
        ));
        let out = collect(self.t, &command.to_shell(), Some(&archive.bytes))
            .await
            .map_err(|e| StepError::msg(format!("push_tree to {dest}: {e}")))?;
        match out.status {
            ExitStatus::Code(0) => Ok(Done::new(
                StepResult::Changed,
                Some(format!(
                    "{} entries, {} KiB, sha256 {}",
                    archive.entries,
                    archive.bytes.len() / 1024,
                    &archive.sha256[..12]
                )),
            )),
            ExitStatus::Code(tree::TREE_INCOMPLETE) => Err(StepError::msg(format!(
                "the tree for {dest} arrived incomplete; {dest} is unchanged"
            ))),
            status => Err(StepError::Failed {
                message: format!("unpacking into {dest} failed ({status})"),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    async fn fetch(
        &mut self,
        step: &PlannedStep,
        src: &str,
        dest: &Path,
    ) -> Result<Done, StepError> {
        let mut command = download_command(src).map_err(|e| StepError::msg(e.to_string()))?;
        if step.sudo {
            command = command.sudo();
        }
        let out = collect(self.t, &command.to_shell(), None)
            .await
            .map_err(|e| StepError::msg(format!("fetch {src}: {e}")))?;
        if !out.status.success() {
            return Err(StepError::Failed {
                message: format!("cannot read {src} ({})", out.status),
                command: None,
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        write_private(dest, &out.stdout)
            .map_err(|e| StepError::msg(format!("cannot write {}: {e}", dest.display())))?;
        Ok(Done::new(
            StepResult::Changed,
            Some(format!("{} bytes to {}", out.stdout.len(), dest.display())),
        ))
    }

    /// The playbook checked its local paths by their text; here the file
    /// system has its say: a symlink inside the fleet directory must not
    /// lead an upload to a file outside it (`/etc/shadow`, another fleet's
    /// env).
    fn inside_roots(&self, path: &Path) -> Result<(), StepError> {
        let real = std::fs::canonicalize(path)
            .map_err(|e| StepError::msg(format!("cannot read {}: {e}", path.display())))?;
        let ctx = &self.job.ctx;
        let inside = self
            .job
            .playbook
            .dir
            .iter()
            .chain(ctx.fleet_dir.iter())
            .chain(ctx.local_roots.iter())
            .filter_map(|root| std::fs::canonicalize(root).ok())
            .any(|root| real.starts_with(root));
        if inside {
            Ok(())
        } else {
            Err(StepError::msg(format!(
                "local path {} leads to {}, outside the playbook and fleet directories (through a symlink)",
                path.display(),
                real.display()
            )))
        }
    }

    /// The boot id, within the probe timeout.
    async fn read_boot_id(&mut self) -> Option<String> {
        let command = appliance::boot_id().to_shell();
        let out =
            tokio::time::timeout(self.settings.probe_timeout, collect(self.t, &command, None))
                .await
                .ok()?
                .ok()?;
        let id = out.text().trim().to_owned();
        (out.status.success() && !id.is_empty()).then_some(id)
    }

    /// After a new connection: notice a reboot, take the lock again.
    async fn after_reconnect(&mut self) -> Result<(), StepError> {
        if let Some(id) = self.read_boot_id().await {
            if self.boot_id.as_ref().is_some_and(|old| *old != id) {
                self.progress("the host rebooted (boot id changed)");
            }
            self.boot_id = Some(id);
        }
        self.acquire()
            .await
            .map_err(|(_, message)| StepError::msg(format!("after reconnecting: {message}")))
    }

    async fn reboot(&mut self, step: &PlannedStep, timeout: Duration) -> Result<Done, StepError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let before = match self.read_boot_id().await {
            Some(id) => id,
            None => return Err(StepError::msg("cannot read the boot id before rebooting")),
        };
        let mut command = appliance::reboot();
        if step.sudo {
            command = command.sudo();
        }
        match collect(self.t, &command.to_shell(), None).await {
            Ok(out) if !out.status.success() => {
                return Err(StepError::Failed {
                    message: format!("the reboot command failed ({})", out.status),
                    command: Some(command.to_string()),
                    output: String::from_utf8_lossy(&out.stderr).into_owned(),
                });
            }
            // Success, or the connection already dropped: both are a reboot.
            _ => {}
        }
        self.progress("rebooting");
        let mut delay = self.settings.poll;
        let (mut down, mut back_unchanged) = (false, false);
        loop {
            tokio::time::sleep(delay).await;
            if Instant::now() > deadline {
                let why = if back_unchanged {
                    "the connection dropped and came back, but the boot id never changed: did it reboot?"
                } else {
                    "the host did not come back"
                };
                return Err(StepError::msg(format!(
                    "{why} (waited {}, --reboot-timeout)",
                    human(timeout)
                )));
            }
            match self.read_boot_id().await {
                Some(id) if id != before => {
                    self.boot_id = Some(id);
                    break;
                }
                Some(_) => {
                    back_unchanged |= down;
                    continue;
                }
                None => {
                    if !down {
                        self.progress("down; reconnecting");
                        down = true;
                    }
                    if self.t.reconnect().await.is_err() {
                        delay = (delay * 2).min(self.settings.poll * 5);
                    }
                }
            }
        }
        self.acquire()
            .await
            .map_err(|(_, message)| StepError::msg(format!("after the reboot: {message}")))?;
        Ok(Done::new(
            StepResult::Changed,
            Some(format!(
                "back after {:.0} s, boot id changed",
                started.elapsed().as_secs_f64()
            )),
        ))
    }

    async fn wait(
        &mut self,
        until: &WaitUntil,
        timeout: Duration,
        interval: Duration,
    ) -> Result<Done, StepError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let probe = until.probe();
        let shell = probe.to_shell();
        let boot_before = self.boot_id.clone();
        let mut last: Option<String> = None;
        let mut lost = false;
        loop {
            let out =
                tokio::time::timeout(self.settings.probe_timeout, collect(self.t, &shell, None))
                    .await;
            match out {
                Ok(Ok(out)) => {
                    lost = false;
                    let code = out.status.code().map_or(-1, |c| c as i32);
                    let stdout = out.text();
                    match until.judge(code, &stdout) {
                        WaitOutcome::Done => {
                            let rebooted = boot_before.is_some() && self.boot_id != boot_before;
                            let note = format!(
                                "after {:.0} s{}",
                                started.elapsed().as_secs_f64(),
                                if rebooted { "; the host rebooted" } else { "" }
                            );
                            return Ok(Done::new(StepResult::Ok, Some(note)));
                        }
                        WaitOutcome::Failed { reason } => {
                            return Err(StepError::Failed {
                                message: reason,
                                command: None,
                                output: String::new(),
                            });
                        }
                        WaitOutcome::Pending { status } => {
                            let status = status.or_else(|| {
                                matches!(until, WaitUntil::Command(_))
                                    .then(|| stdout.lines().rev().find(|l| !l.trim().is_empty()))
                                    .flatten()
                                    .map(|l| l.trim().to_owned())
                            });
                            if status.is_some() && status != last {
                                self.progress(status.clone().unwrap_or_default());
                                last = status;
                            }
                        }
                    }
                }
                _ => {
                    if !lost {
                        self.progress("connection lost (rebooting?); reconnecting");
                        lost = true;
                    }
                    if self.t.reconnect().await.is_ok() {
                        self.after_reconnect().await?;
                    }
                }
            }
            if Instant::now() + interval > deadline {
                let last = last
                    .map(|s| format!("; last status: {s}"))
                    .unwrap_or_default();
                return Err(StepError::msg(format!(
                    "still not done after {}{last}",
                    human(timeout)
                )));
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// Output collected from one command.
struct Collected {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Collected {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

async fn collect<T: Transport>(
    t: &mut T,
    command: &str,
    stdin: Option<&[u8]>,
) -> Result<Collected, SshError> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = t
        .exec(command, stdin, &mut |stream, data| match stream {
            Stream::Stdout => stdout.extend_from_slice(data),
            Stream::Stderr => stderr.extend_from_slice(data),
        })
        .await?;
    Ok(Collected {
        status,
        stdout,
        stderr,
    })
}

fn stdin_bytes(stdin: &Stdin) -> Result<Option<Vec<u8>>, StepError> {
    match stdin {
        Stdin::None => Ok(None),
        Stdin::Bytes { data, .. } => Ok(Some(data.clone())),
        Stdin::LocalFile(path) => std::fs::read(path)
            .map(Some)
            .map_err(|e| StepError::msg(format!("cannot read {}: {e}", path.display()))),
    }
}

fn describe(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Code(code) => format!("exit status {code}"),
        other => other.to_string(),
    }
}

/// Replaces every secret value in `text` with `<secret>`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "<secret>");
    }
    text
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, 0) => format!("{} ms", d.as_millis()),
        (0, 0, sec) => format!("{sec} s"),
        (0, m, 0) => format!("{m} min"),
        (h, 0, 0) => format!("{h} h"),
        _ => format!("{s} s"),
    }
}

/// Writes `data` to `dest` as a 0600 file, atomically (temp file, rename).
fn write_private(dest: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.ecsfleet-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Per-state results of `salt-call ... --out=json`.
struct SaltSummary {
    line: String,
    failed_states: Vec<String>,
}

fn salt_summary(shell: &str, stdout: &str) -> Option<SaltSummary> {
    if !(shell.contains("salt-call") && shell.contains("--out=json")) {
        return None;
    }
    let start = stdout.find('{')?;
    let value: serde_json::Value = serde_json::from_str(stdout[start..].trim()).ok()?;
    let states = value.get("local")?.as_object()?;
    let (mut changed, mut failed) = (0, Vec::new());
    for (id, state) in states {
        let result = state.get("result");
        if result == Some(&serde_json::Value::Bool(false)) {
            let name = state
                .get("__id__")
                .and_then(|v| v.as_str())
                .unwrap_or(id.as_str());
            let comment = state
                .get("comment")
                .map(|c| match c {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            failed.push(format!("{name}: {}", comment.trim()));
        }
        if state
            .get("changes")
            .and_then(|c| c.as_object())
            .is_some_and(|c| !c.is_empty())
        {
            changed += 1;
        }
    }
    Some(SaltSummary {
        line: format!(
            "salt: {} states, {changed} changed, {} failed",
            states.len(),
            failed.len()
        ),
        failed_states: failed,
    })
}

#[cfg(test)]
mod tests;
