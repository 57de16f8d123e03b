//! The `run` step: its guard, then the command with stdin, streamed
//! output (masked, line by line, unless the command prints secrets), an
//! optional timeout, and salt's JSON summarised when it is a highstate.

use ecsfleet_playbooks::{PlannedStep, RemoteCommand};

use super::{Done, Runner, StepError, collect, human, stdin_bytes};
use crate::run::events::{Event, StepResult};
use crate::run::output::{LineSplitter, Tail};
use crate::run::transport::Transport;
use crate::ssh::{ExitStatus, Stream};

impl<T: Transport> Runner<'_, T> {
    pub(super) async fn run(
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
}

fn describe(status: &ExitStatus) -> String {
    match status {
        ExitStatus::Code(code) => format!("exit status {code}"),
        other => other.to_string(),
    }
}

/// Replaces every secret value in `text` with `<secret>`.
fn mask(text: &str, secrets: &[String]) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn salt_json_is_summarized() {
        let out = r#"{"local": {
            "pkg_|-a_|-a_|-installed": {"result": true, "changes": {"x": 1}, "comment": "ok", "__id__": "a"},
            "file_|-b_|-b_|-managed": {"result": false, "changes": {}, "comment": "disk full", "__id__": "b"},
            "cmd_|-c_|-c_|-run": {"result": true, "changes": {}, "comment": "", "__id__": "c"}}}"#;
        let summary = salt_summary("salt-call state.highstate --out=json", out).unwrap();
        assert_eq!(summary.line, "salt: 3 states, 1 changed, 1 failed");
        assert_eq!(summary.failed_states, ["b: disk full"]);
        assert!(salt_summary("echo", out).is_none());
    }
}
