//! Install's gate (issue 6): before `install` changes a host, `check`
//! judges it ([`judge`](super::judge): the same rows and reasons `ecsfleet
//! check` shows). A host that fails a check, or that the check could not
//! reach, is not installed, and says so in the executor's words; warnings
//! are shown and the host goes on; `--force` lets every host go on and only
//! shows the findings.
//!
//! Output: with `--json`, before the run's own events, one `{"event":
//! "host_checked", ...}` line per host (`ecsfleet check --json`'s object,
//! plus `refused`), then a `host_finished` event (result `failed` or
//! `unreachable`, `error`) per refused host, as the executor ends a host;
//! otherwise findings and refusals on stderr, and the refused hosts as rows
//! of the run's table.

use std::io::Write as _;
use std::sync::Arc;

use ecsfleet_inventory::Host;
use ecsfleet_playbooks::Playbook;

use super::{HostCheck, Level, YEARS, judge};
use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};
use crate::fleet::Fleet;
use crate::run::events::{Event, HostResult};
use crate::run::executor::Failure;
use crate::run::fleet_run::RunReport;

/// Check's verdicts on the selected hosts, and who goes on to install.
pub struct Gate {
    checks: Vec<HostCheck>,
    force: bool,
    /// For the table when no host is left to run.
    playbook: Arc<Playbook>,
    /// The hosts left out, each with why (as the executor would say it).
    refused: Vec<Refusal>,
}

/// A host the gate keeps from the run.
#[derive(Debug)]
struct Refusal {
    result: HostResult,
    /// The failing checks' names (the table's "stopped at").
    checks: Vec<String>,
    failure: Failure,
}

impl Gate {
    /// Judges `hosts` against `playbook`'s preflight and the sizing for
    /// `studies` (else each host's vars.studies_per_month) over the manual's
    /// 10 years, `forks` at a time, and shows the findings.
    pub fn judge(
        fleet: &Fleet,
        hosts: &[&Host],
        playbook: &Playbook,
        studies: Option<u32>,
        force: bool,
        forks: usize,
        global: &GlobalArgs,
    ) -> Result<Gate> {
        let checks = judge(fleet, hosts, studies, YEARS, forks, global)?;
        let gate = Gate::new(checks, playbook, force);
        gate.show(global);
        Ok(gate)
    }

    fn new(checks: Vec<HostCheck>, playbook: &Playbook, force: bool) -> Gate {
        let refused = if force {
            Vec::new()
        } else {
            checks
                .iter()
                .filter_map(|check| refusal(check, playbook))
                .collect()
        };
        Gate {
            checks,
            force,
            playbook: Arc::new(playbook.clone()),
            refused,
        }
    }

    fn is_refused(&self, host: &str) -> bool {
        self.refused.iter().any(|r| r.failure.host == host)
    }

    /// The hosts that go on to install, in their order.
    pub fn admitted<'h>(&self, hosts: &[&'h Host]) -> Vec<&'h Host> {
        hosts
            .iter()
            .filter(|h| !self.is_refused(&h.name))
            .copied()
            .collect()
    }

    /// `--json`: a host_checked line per host on stdout. Otherwise the
    /// warnings (and with --force the failures) on stderr, unless --quiet.
    /// Refusals always, on stderr, before the run starts.
    fn show(&self, global: &GlobalArgs) {
        if global.json {
            let mut out = std::io::stdout().lock();
            for check in &self.checks {
                let mut line = serde_json::json!({ "event": "host_checked" });
                if let (Some(line), serde_json::Value::Object(fields)) =
                    (line.as_object_mut(), check.json())
                {
                    line.extend(fields);
                    line.insert("refused".into(), self.is_refused(&check.host).into());
                }
                let _ = writeln!(out, "{line}");
            }
            // Each refused host ends as the executor ends a host.
            for refusal in &self.refused {
                let event = Event::HostFinished {
                    host: refusal.failure.host.clone(),
                    result: refusal.result,
                    error: Some(refusal.failure.message.clone()),
                    seconds: 0.0,
                };
                if let Ok(line) = serde_json::to_string(&event) {
                    let _ = writeln!(out, "{line}");
                }
            }
            let _ = out.flush();
        } else if !global.quiet {
            for check in &self.checks {
                for line in findings(check, self.force) {
                    eprintln!("warning: {line}");
                }
            }
        }
        for refusal in &self.refused {
            eprintln!("error: {}", refusal.failure);
        }
    }

    /// The run's usual ending (its failures on stderr, its table on stdout)
    /// with the refused hosts added to the table, and the exit outcome: a
    /// refused host counts as a failed one. `report` is None when every host
    /// was refused.
    pub fn finish(&self, report: Option<&RunReport>, global: &GlobalArgs, hint: &str) -> Outcome {
        let nothing_run;
        let report = match report {
            Some(report) => report,
            None => {
                nothing_run = RunReport {
                    run: String::new(),
                    playbook: self.playbook.clone(),
                    hosts: Vec::new(),
                    interrupted: false,
                };
                &nothing_run
            }
        };
        report.print_failures(hint);
        if !global.json && !global.quiet {
            let mut table = report.table();
            for refusal in &self.refused {
                let at = if refusal.checks.is_empty() {
                    "check".to_owned()
                } else {
                    format!("check: {}", refusal.checks.join(", "))
                };
                let result = match refusal.result {
                    HostResult::Failed => "refused",
                    other => other.as_str(),
                };
                table.add_row([
                    refusal.failure.host.clone(),
                    result.to_owned(),
                    String::new(),
                    at,
                    String::new(),
                    String::new(),
                ]);
            }
            println!("{table}");
        }
        match report.outcome() {
            Outcome::Success if !self.refused.is_empty() => Outcome::HostFailed,
            outcome => outcome,
        }
    }
}

/// Why `check` keeps its host out of the run, if it does.
fn refusal(check: &HostCheck, playbook: &Playbook) -> Option<Refusal> {
    let failure = |message: String| Failure {
        host: check.host.clone(),
        playbook: playbook.name.clone(),
        path: playbook.path.clone(),
        step: None,
        message,
        command: None,
        output: String::new(),
    };
    // Unreachable: what the executor says of a host it cannot connect to.
    if let Some(error) = &check.error {
        return Some(Refusal {
            result: HostResult::Unreachable,
            checks: Vec::new(),
            failure: failure(error.clone()),
        });
    }
    let failed: Vec<_> = check.at(Level::Fail).collect();
    if failed.is_empty() {
        return None;
    }
    let mut message =
        "not installed: `ecsfleet check` fails the host (pass --force to install anyway)"
            .to_owned();
    for row in &failed {
        message.push_str(&format!("\n  {}: {}", row.check, row.detail));
    }
    Some(Refusal {
        result: HostResult::Failed,
        checks: failed.iter().map(|r| r.check.clone()).collect(),
        failure: failure(message),
    })
}

/// What the operator should see about a host that goes on: its warnings
/// and, when --force overrides them, its failures.
fn findings(check: &HostCheck, force: bool) -> Vec<String> {
    let host = &check.host;
    let mut out = Vec::new();
    if let Some(error) = &check.error {
        if force {
            out.push(format!(
                "{host}: check could not reach the host, installing anyway (--force): {error}"
            ));
        }
        return out;
    }
    if force {
        for row in check.at(Level::Fail) {
            out.push(format!(
                "{host}: check {} fails, installing anyway (--force): {}",
                row.check, row.detail
            ));
        }
    }
    for row in check.at(Level::Warn) {
        out.push(format!("{host}: check {}: {}", row.check, row.detail));
    }
    out
}

#[cfg(test)]
mod tests {
    use ecsfleet_playbooks::Facts;

    use super::*;
    use crate::cmd::check::Row;

    fn check(host: &str, rows: &[(&str, Level, &str)], error: Option<&str>) -> HostCheck {
        HostCheck {
            host: host.into(),
            studies: Some(250),
            rows: rows
                .iter()
                .map(|(check, result, detail)| Row {
                    check: (*check).into(),
                    result: *result,
                    detail: (*detail).into(),
                })
                .collect(),
            facts: Facts::default(),
            error: error.map(str::to_owned),
        }
    }

    fn playbook() -> Playbook {
        Playbook::resolve("install", None).unwrap()
    }

    fn fleet_of_three() -> Vec<HostCheck> {
        vec![
            check(
                "small",
                &[
                    (
                        "memory",
                        Level::Fail,
                        "4096 MiB; 250 studies/month need 30+ GiB",
                    ),
                    ("cores", Level::Fail, "2 cores; 250 studies/month need 8"),
                    ("dns", Level::Warn, "no domain"),
                ],
                None,
            ),
            check(
                "fine",
                &[
                    ("memory", Level::Pass, "ok"),
                    ("dns", Level::Warn, "no domain"),
                ],
                None,
            ),
            check("gone", &[], Some("cannot connect to 192.0.2.1:22")),
        ]
    }

    #[test]
    fn a_failing_or_unreachable_host_is_refused_with_the_reason_and_the_force_hint() {
        let gate = Gate::new(fleet_of_three(), &playbook(), false);
        assert!(gate.is_refused("small"));
        assert!(!gate.is_refused("fine"));
        assert!(gate.is_refused("gone"));
        let small = &gate.refused[0];
        assert_eq!(small.result, HostResult::Failed);
        assert_eq!(small.checks, ["memory", "cores"]);
        let text = small.failure.to_string();
        assert!(
            text.starts_with(
                "small: install: not installed: `ecsfleet check` fails the host (pass --force to install anyway)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  memory: 4096 MiB; 250 studies/month need 30+ GiB\n  cores: 2 cores;"
            ),
            "{text}"
        );
        assert!(!text.contains("dns"), "{text}");
        let gone = &gate.refused[1];
        assert_eq!(gone.result, HostResult::Unreachable);
        assert_eq!(
            gone.failure.to_string(),
            "gone: install: cannot connect to 192.0.2.1:22"
        );
        assert_eq!(
            findings(&gate.checks[1], false),
            ["fine: check dns: no domain"]
        );
    }

    #[test]
    fn force_refuses_nobody_but_still_shows_the_failures() {
        let gate = Gate::new(fleet_of_three(), &playbook(), true);
        assert!(gate.refused.is_empty());
        assert_eq!(
            findings(&gate.checks[0], true),
            [
                "small: check memory fails, installing anyway (--force): 4096 MiB; 250 studies/month need 30+ GiB",
                "small: check cores fails, installing anyway (--force): 2 cores; 250 studies/month need 8",
                "small: check dns: no domain",
            ]
        );
        assert_eq!(
            findings(&gate.checks[2], true),
            [
                "gone: check could not reach the host, installing anyway (--force): cannot connect to 192.0.2.1:22"
            ]
        );
    }
}
