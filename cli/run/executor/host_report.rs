//! What one host's run produced: [`HostReport`] (result, steps, outputs,
//! boot ids) and, when it ended badly, the [`Failure`] an operator reads:
//! host, playbook, step n/m and line, the masked command, stderr between
//! rulers.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use ecsfleet_playbooks::Playbook;

use crate::run::events::{HostResult, StepResult};
use crate::ssh::SshError;

#[derive(Debug, Clone)]
pub struct StepRecord {
    pub result: StepResult,
    pub note: Option<String>,
}

const RULER: &str = "────────────────────────────────────────────────────────────";

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
