//! [`Plan`]: a playbook rendered for one host, every value substituted and
//! quoted, as the ordered [`Action`]s the executor performs. Its `Display`
//! is `ecsfleet run PLAYBOOK HOST --plan`: one numbered line per step,
//! secrets masked.
//!
//! The executor's contract, per action:
//! - `Run`: if [`Action::guard`] is `Some`, run it first; exit 0 means the
//!   step is already done (skip it, "ok"). Otherwise run `command`
//!   (`to_shell()`, its `stdin`, its `timeout`); non-zero exit fails the step.
//! - `Upload`: write `dest` atomically (temp file in the same directory,
//!   mode and owner set before the content, fsync, rename).
//! - `PushTree`: stream `src` (minus `exclude`) as tar, unpack beside
//!   `dest`, chown, swap into place.
//! - `Fetch`: download the remote `src` to the local `dest`.
//! - `Reboot`: read [`crate::appliance::boot_id`], run
//!   [`crate::appliance::reboot`], reconnect with backoff until `timeout`,
//!   and confirm a changed boot id.
//! - `Wait`: every `interval` run [`WaitUntil::probe`] and ask
//!   [`WaitUntil::judge`]; show `Pending.status` as progress; give up after
//!   `timeout`.
//! - `Check`: gather facts again ([`crate::appliance::facts`]) and fail the
//!   step listing [`crate::Condition::check_all`]'s unmet conditions.
//! - `Skip`: nothing; report the reason.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::appliance::{self, AppState};
use crate::condition::Condition;
use crate::remote_command::{RemoteCommand, Stdin};

/// A playbook rendered for one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub host: String,
    pub playbook: String,
    /// The playbook file (`stock/NAME.yml` for embedded ones).
    pub path: PathBuf,
    /// Facts the host must meet before step 1.
    pub requires: Vec<Condition>,
    pub steps: Vec<PlannedStep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    /// 1-based, the step's position in the playbook (stable for `--resume`).
    pub index: usize,
    pub name: String,
    /// Line of the step in the playbook file.
    pub line: u64,
    pub tags: Vec<String>,
    /// `become`: uploads, trees and fetches go through sudo; for `run` it
    /// is already part of the command.
    pub sudo: bool,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Run {
        command: RemoteCommand,
        /// Skip when this remote path exists.
        creates: Option<String>,
        /// Skip when this command exits 0.
        unless: Option<RemoteCommand>,
    },
    Upload {
        source: UploadSource,
        dest: String,
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
    },
    PushTree {
        src: PathBuf,
        dest: String,
        exclude: Vec<String>,
        owner: Option<String>,
        group: Option<String>,
    },
    Fetch {
        src: String,
        dest: PathBuf,
    },
    Reboot {
        timeout: Duration,
    },
    Wait {
        until: WaitUntil,
        timeout: Duration,
        interval: Duration,
    },
    Check {
        conditions: Vec<Condition>,
    },
    /// The step's `when` was false.
    Skip {
        reason: String,
    },
}

/// An upload's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadSource {
    LocalFile(PathBuf),
    /// Rendered content; `secret` when a `| secret` value went into it.
    Bytes {
        data: Vec<u8>,
        secret: bool,
    },
}

/// What a wait step waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitUntil {
    Running,
    Stopped,
    Failed,
    /// appliance-update is no longer queued or activating. A failed unit
    /// fails the wait at once with the appliance's own status text (a failed
    /// highstate leaves "Appliance Error: salt-call state.highstate failed
    /// with error N", no flag, the unit failed: appliance-update.sh:207-222).
    UpdateDone,
    /// Done when the command exits 0.
    Command(RemoteCommand),
}

/// The verdict on one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Done,
    /// Not yet; `status` is the appliance's own status text, if any.
    Pending {
        status: Option<String>,
    },
    /// It will not happen: stop waiting.
    Failed {
        reason: String,
    },
}

pub(crate) const DEFAULT_REBOOT_TIMEOUT: Duration = Duration::from_secs(600);
pub(crate) const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(1800);
pub(crate) const DEFAULT_WAIT_INTERVAL: Duration = Duration::from_secs(5);

impl Action {
    /// For `run`: a command whose exit 0 means "already done, skip".
    pub fn guard(&self) -> Option<RemoteCommand> {
        let Action::Run {
            creates, unless, ..
        } = self
        else {
            return None;
        };
        let creates = creates
            .as_ref()
            .map(|path| RemoteCommand::exec("test", ["-e", path.as_str()]));
        match (creates, unless.clone()) {
            (Some(c), Some(u)) => Some(c.or(u)),
            (c, u) => c.or(u),
        }
    }

    /// Every remote command this action runs as given (for masking output).
    pub fn commands(&self) -> Vec<&RemoteCommand> {
        match self {
            Action::Run {
                command, unless, ..
            } => std::iter::once(command).chain(unless.as_ref()).collect(),
            Action::Wait {
                until: WaitUntil::Command(c),
                ..
            } => vec![c],
            _ => Vec::new(),
        }
    }
}

impl WaitUntil {
    /// The command to run on each poll.
    pub fn probe(&self) -> RemoteCommand {
        match self {
            WaitUntil::Command(command) => command.clone(),
            WaitUntil::UpdateDone => appliance::update_progress(),
            _ => appliance::state(),
        }
    }

    /// The verdict from the probe's exit code and stdout.
    pub fn judge(&self, exit_code: i32, stdout: &str) -> WaitOutcome {
        if let WaitUntil::Command(_) = self {
            return if exit_code == 0 {
                WaitOutcome::Done
            } else {
                WaitOutcome::Pending { status: None }
            };
        }
        if let WaitUntil::UpdateDone = self {
            let (update, _state, status) = appliance::parse_update_progress(stdout);
            return match update.as_str() {
                "activating" | "queued" | "reloading" | "deactivating" => {
                    WaitOutcome::Pending { status }
                }
                "failed" => WaitOutcome::Failed {
                    reason: format!(
                        "appliance-update failed: {} (journalctl -u appliance-update)",
                        status.unwrap_or_else(|| "no status text".to_owned())
                    ),
                },
                _ => WaitOutcome::Done,
            };
        }
        let (state, status) = appliance::parse_state(stdout);
        let done = match self {
            WaitUntil::Running => state == AppState::Running,
            WaitUntil::Stopped => matches!(state, AppState::Stopped | AppState::Failed),
            WaitUntil::Failed => state == AppState::Failed,
            WaitUntil::Command(_) | WaitUntil::UpdateDone => unreachable!("handled above"),
        };
        if done {
            WaitOutcome::Done
        } else if *self == WaitUntil::Running && state == AppState::Failed {
            WaitOutcome::Failed {
                reason: match status {
                    Some(text) => format!("the appliance failed: {text}"),
                    None => "the appliance failed (/run/appliance-failed exists)".to_owned(),
                },
            }
        } else {
            WaitOutcome::Pending { status }
        }
    }
}

/// `90s`, `10m`, `1h`, `1h30m`.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        _ => format!("{s}s"),
    }
}

fn owner_text(owner: &Option<String>, group: &Option<String>) -> Option<String> {
    match (owner, group) {
        (None, None) => None,
        (Some(o), None) => Some(o.clone()),
        (o, Some(g)) => Some(format!("{}:{g}", o.as_deref().unwrap_or(""))),
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Run {
                command,
                creates,
                unless,
            } => {
                write!(f, "$ {command}")?;
                match &command.stdin {
                    Stdin::None => {}
                    Stdin::Bytes { data, secret } => {
                        let secret = if *secret { ", secret" } else { "" };
                        write!(f, " < stdin ({} bytes{secret})", data.len())?;
                    }
                    Stdin::LocalFile(path) => write!(f, " < {}", path.display())?,
                }
                if let Some(path) = creates {
                    write!(f, "  [creates {path}]")?;
                }
                if let Some(unless) = unless {
                    write!(f, "  [unless {unless}]")?;
                }
                Ok(())
            }
            Action::Upload {
                source,
                dest,
                mode,
                owner,
                group,
            } => {
                match source {
                    UploadSource::LocalFile(path) => write!(f, "upload {}", path.display())?,
                    UploadSource::Bytes { data, secret } => {
                        let secret = if *secret { ", secret" } else { "" };
                        write!(f, "upload content ({} bytes{secret})", data.len())?
                    }
                }
                write!(f, " -> {dest} (mode {mode:04o}")?;
                if let Some(owner) = owner_text(owner, group) {
                    write!(f, ", owner {owner}")?;
                }
                f.write_str(")")
            }
            Action::PushTree {
                src,
                dest,
                exclude,
                owner,
                group,
            } => {
                write!(f, "push_tree {} -> {dest}", src.display())?;
                let mut notes = Vec::new();
                if !exclude.is_empty() {
                    notes.push(format!("excluding {}", exclude.join(", ")));
                }
                if let Some(owner) = owner_text(owner, group) {
                    notes.push(format!("owner {owner}"));
                }
                if !notes.is_empty() {
                    write!(f, " ({})", notes.join("; "))?;
                }
                Ok(())
            }
            Action::Fetch { src, dest } => write!(f, "fetch {src} -> {}", dest.display()),
            Action::Reboot { timeout } => write!(f, "reboot, back within {}", human(*timeout)),
            Action::Wait {
                until,
                timeout,
                interval,
            } => {
                match until {
                    WaitUntil::Running => f.write_str("wait until running")?,
                    WaitUntil::Stopped => f.write_str("wait until stopped")?,
                    WaitUntil::Failed => f.write_str("wait until failed")?,
                    WaitUntil::UpdateDone => f.write_str("wait until appliance-update is done")?,
                    WaitUntil::Command(c) => write!(f, "wait until $ {c}")?,
                }
                write!(
                    f,
                    " (timeout {}, every {})",
                    human(*timeout),
                    human(*interval)
                )
            }
            Action::Check { conditions } => {
                let list: Vec<String> = conditions.iter().map(ToString::to_string).collect();
                write!(f, "check {}", list.join(", "))
            }
            Action::Skip { reason } => write!(f, "skipped ({reason})"),
        }
    }
}

/// One line per step: a script's line breaks show as ` ⏎ `.
impl fmt::Display for PlannedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = self.action.to_string().replace('\n', " ⏎ ");
        write!(f, "{:>2}. {}: {action}", self.index, self.name)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} on {} ({})",
            self.playbook,
            self.host,
            self.path.display()
        )?;
        if !self.requires.is_empty() {
            let list: Vec<String> = self.requires.iter().map(ToString::to_string).collect();
            writeln!(f, "requires: {}", list.join(", "))?;
        }
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_combine_creates_and_unless() {
        let run = Action::Run {
            command: RemoteCommand::new("x"),
            creates: Some("/a b".into()),
            unless: Some(RemoteCommand::script("command -v salt-call")),
        };
        assert_eq!(
            run.guard().unwrap().to_shell(),
            "test -e '/a b' || command -v salt-call"
        );
        let plain = Action::Run {
            command: RemoteCommand::new("x"),
            creates: None,
            unless: None,
        };
        assert_eq!(plain.guard(), None);
    }

    #[test]
    fn waits_judge_the_appliance_state() {
        let running = WaitUntil::Running;
        assert_eq!(running.judge(0, "state=running\n"), WaitOutcome::Done);
        assert_eq!(
            running.judge(0, "state=starting\n<h1>Preparing</h1><p>Updating ecs</p>\n"),
            WaitOutcome::Pending {
                status: Some("Preparing: Updating ecs".into())
            }
        );
        assert_eq!(
            running.judge(0, "state=failed\n<h1>Appliance Error</h1><p>Appliance is in standby, no postgresql database named ecs</p>"),
            WaitOutcome::Failed {
                reason: "the appliance failed: Appliance Error: Appliance is in standby, no postgresql database named ecs".into()
            }
        );
        assert_eq!(
            WaitUntil::Stopped.judge(0, "state=failed"),
            WaitOutcome::Done
        );
        let update = WaitUntil::UpdateDone;
        assert_eq!(
            update.judge(0, "update=activating\nstate=running\n"),
            WaitOutcome::Pending { status: None }
        );
        assert_eq!(
            update.judge(
                0,
                "update=failed\nstate=running\n<h2>Appliance Error</h2><p>salt-call state.highstate failed with error 2</p>"
            ),
            WaitOutcome::Failed {
                reason: "appliance-update failed: Appliance Error: salt-call state.highstate failed with error 2 (journalctl -u appliance-update)".into()
            }
        );
        assert_eq!(
            update.judge(0, "update=inactive\nstate=running\n"),
            WaitOutcome::Done
        );
        let cmd = WaitUntil::Command(RemoteCommand::new("true"));
        assert_eq!(cmd.judge(1, ""), WaitOutcome::Pending { status: None });
        assert_eq!(cmd.judge(0, ""), WaitOutcome::Done);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::from_secs(90)), "90s");
    }
}
