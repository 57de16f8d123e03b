//! The playbook executor for one host: take the lock (which also reads the
//! boot id), gather facts when the playbook reads them, render
//! the playbook with them, check `requires`, walk the plan's steps (see
//! `ecsfleet_playbooks::Plan` for what each action means), release the lock
//! on every way out. It sees the host only through a [`Transport`], so the
//! logic is unit-tested with a fake one (below). The steps live beside
//! it: `run_step` (commands), `transfer` (upload, push_tree, fetch),
//! `reboot` (reboot and wait, reconnecting); `host_report` is what a host's
//! run produced.
//!
//! A step that fails ends the host's run with a [`Failure`]: host, playbook,
//! step n/m, the playbook line, the masked command and its stderr. A
//! Ctrl-C ([`Control::interrupt`]) aborts the step in flight; `--fail-fast`
//! ([`Control::stop`]) ends the host before its next step. Reboots, expected
//! (`reboot` steps) or not (appliance-update rebooting the host during a
//! `wait`), are noticed by the lost connection and confirmed by a changed
//! boot id; the lock is taken again afterwards (a boot empties /run).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecsfleet_playbooks::appliance;
use ecsfleet_playbooks::{Action, Condition, Facts, PlannedStep, Playbook, RenderContext, Stdin};

use super::control::Control;
use super::events::{Event, EventSink, HostResult, StepResult};
use super::lock::Lock;
use super::transport::Transport;
use crate::ssh::{ExitStatus, SshError, Stream};

mod host_report;
mod reboot;
mod run_step;
mod transfer;

pub use host_report::{Failure, HostReport, StepRecord};

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

#[cfg(test)]
mod tests;
