//! The steps that outlive a connection: `reboot` (boot id before, the
//! command, reconnect until the boot id changed) and `wait` (a probe until
//! it says done, reconnecting through a reboot the host does by itself),
//! and what follows any reconnect: the boot id read again, the lock taken
//! again (a boot empties /run).

use std::time::{Duration, Instant};

use ecsfleet_playbooks::{PlannedStep, WaitOutcome, WaitUntil, appliance};

use super::{Done, Runner, StepError, collect, human};
use crate::run::events::StepResult;
use crate::run::transport::Transport;

impl<T: Transport> Runner<'_, T> {
    /// The boot id, within the probe timeout.
    pub(super) async fn read_boot_id(&mut self) -> Option<String> {
        let command = appliance::boot_id().to_shell();
        let out =
            tokio::time::timeout(self.settings.probe_timeout, collect(self.t, &command, None))
                .await
                .ok()?
                .ok()?;
        let id = out.text().trim().to_owned();
        (out.status.success() && !id.is_empty()).then_some(id)
    }

    /// After a new connection: take the lock again, and notice a reboot by
    /// the boot id that comes back with it (one round trip for both).
    pub(super) async fn after_reconnect(&mut self) -> Result<(), StepError> {
        let before = self.boot_id.clone();
        let taken = self.acquire().await;
        if before.is_some() && self.boot_id.is_some() && self.boot_id != before {
            self.progress("the host rebooted (boot id changed)");
        }
        taken.map_err(|(_, message)| StepError::msg(format!("after reconnecting: {message}")))
    }

    pub(super) async fn reboot(
        &mut self,
        step: &PlannedStep,
        timeout: Duration,
    ) -> Result<Done, StepError> {
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

    pub(super) async fn wait(
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
