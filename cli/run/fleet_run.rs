//! A playbook over selected hosts, start to finish: run id and journal,
//! `--resume`, one render context per host, connections, the schedule,
//! Ctrl-C, and the report the commands print ([`RunReport`]).

use std::path::PathBuf;
use std::sync::Arc;

use ecsfleet_inventory::Host;
use ecsfleet_playbooks::{Playbook, RenderContext};

use super::control::Control;
use super::events::{Event, EventSink, HostResult, Reporter, StepResult};
use super::executor::{HostJob, HostReport, Settings, run_host};
use super::journal::{Journal, fleet_dir, new_run_id};
use super::lock::Lock;
use super::schedule::{Policy, schedule};
use super::transport::{SshTransport, Transport};
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;

/// What to run, and how.
pub struct RunRequest {
    pub playbook: Playbook,
    /// Named in the host lock (`install`, `update`, `run NAME`).
    pub operation: String,
    /// Extra vars, above inventory, group and host vars.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Local directories the playbook may read besides its own and the fleet's.
    pub local_roots: Vec<PathBuf>,
    pub policy: Policy,
    pub settings: Settings,
    /// `--resume RUN_ID`.
    pub resume: Option<String>,
}

pub struct RunReport {
    pub run: String,
    pub playbook: Arc<Playbook>,
    /// In the order the hosts were selected.
    pub hosts: Vec<HostReport>,
    pub interrupted: bool,
}

/// The fleet directory as an absolute path.
pub fn fleet_directory(fleet: &Fleet) -> PathBuf {
    let dir = fleet_dir(&fleet.inventory.path);
    std::path::absolute(&dir).unwrap_or(dir)
}

/// How `host` sees a playbook, before facts.
pub fn render_context(
    fleet: &Fleet,
    host: &Host,
    vars: &serde_json::Map<String, serde_json::Value>,
    local_roots: &[PathBuf],
) -> RenderContext {
    let mut ctx = RenderContext::new(host.name.clone());
    ctx.vars = fleet.inventory.merged_vars(host).into_iter().collect();
    ctx.vars.extend(vars.clone());
    ctx.fleet_dir = Some(fleet_directory(fleet));
    ctx.local_roots = local_roots.to_vec();
    // A root login, or a host whose whole session goes through sudo
    // (`become` in the inventory): no sudo inside the commands.
    ctx.root_login = host.user == "root" || host.become_;
    ctx
}

/// Runs `request` on `hosts`; Ctrl-C interrupts (exit 130 via the report).
pub fn execute(
    fleet: &Fleet,
    hosts: &[&Host],
    request: RunRequest,
    global: &GlobalArgs,
) -> Result<RunReport> {
    let journal_path = Journal::path_in(&fleet_directory(fleet));
    let playbook = Arc::new(request.playbook);
    let (run, earlier) = match &request.resume {
        Some(id) => {
            let earlier = Journal::earlier(&journal_path, id)
                .map_err(|e| Error::io(format!("cannot read {}", journal_path.display()), e))?
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--resume {id}: the journal {} has no run {id}",
                        journal_path.display()
                    ))
                })?;
            if earlier.playbook != playbook.name {
                return Err(Error::usage(format!(
                    "--resume {id}: that run was playbook `{}`, not `{}`",
                    earlier.playbook, playbook.name
                )));
            }
            (id.clone(), Some(earlier))
        }
        None => (new_run_id(), None),
    };
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let options = fleet.ssh_options(global)?;
    let mut jobs = Vec::with_capacity(hosts.len());
    for host in hosts {
        let target = fleet.target(host)?;
        let ctx = render_context(fleet, host, &request.vars, &request.local_roots);
        let sudo = !ctx.root_login;
        jobs.push((
            target,
            HostJob {
                host: host.name.clone(),
                playbook: playbook.clone(),
                ctx,
                lock: Lock::for_run(&run, &request.operation, sudo),
                finished: earlier
                    .as_ref()
                    .and_then(|e| e.finished.get(&host.name).cloned())
                    .unwrap_or_default(),
            },
        ));
    }
    let reporter = Arc::new(Reporter::new(
        global.json,
        global.quiet,
        global.verbose > 0,
        Some(Journal::new(journal_path, &run)),
        &playbook.name,
        &names,
    ));
    if !global.json && !global.quiet {
        eprintln!(
            "run {run}: {} on {} host{}{}",
            playbook.name,
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if earlier.is_some() { " (resumed)" } else { "" }
        );
    }
    reporter.emit(Event::RunStarted {
        run: run.clone(),
        playbook: playbook.name.clone(),
        hosts: names.clone(),
        resumed: earlier.is_some(),
    });
    let control = Control::default();
    let settings = Arc::new(request.settings);
    let results = {
        let (reporter, control) = (reporter.clone(), control.clone());
        crate::run::runtime().block_on(async move {
            control.on_ctrl_c();
            let c = control.clone();
            schedule(
                jobs,
                &request.policy,
                &c,
                move |(target, job): (crate::ssh::Target, HostJob)| {
                    let (options, reporter, control, settings) = (
                        options.clone(),
                        reporter.clone(),
                        control.clone(),
                        settings.clone(),
                    );
                    async move {
                        reporter.emit(Event::HostStarted {
                            host: job.host.clone(),
                        });
                        let connected = tokio::select! {
                            c = SshTransport::connect(target, options) => Some(c),
                            () = control.interrupted() => None,
                        };
                        match connected {
                            None => {
                                let report = HostReport::new(&job.host, HostResult::Interrupted);
                                finished(&*reporter, &report);
                                report
                            }
                            Some(Err(error)) => {
                                let report =
                                    HostReport::unreachable(&job.host, &job.playbook, &error);
                                finished(&*reporter, &report);
                                report
                            }
                            Some(Ok(mut transport)) => {
                                let report =
                                    run_host(&mut transport, &job, &settings, &*reporter, &control)
                                        .await;
                                transport.close().await;
                                report
                            }
                        }
                    }
                },
                |report: &HostReport| report.failed(),
            )
            .await
        })
    };
    let hosts: Vec<HostReport> = results
        .into_iter()
        .zip(&names)
        .map(|(report, name)| {
            report.unwrap_or_else(|| {
                let report = HostReport::new(name, HostResult::NotStarted);
                finished(&*reporter, &report);
                report
            })
        })
        .collect();
    let interrupted = control.is_interrupted();
    reporter.emit(Event::RunFinished {
        run: run.clone(),
        ok: hosts.iter().filter(|h| !h.failed()).count(),
        failed: hosts.iter().filter(|h| h.failed()).count(),
        interrupted,
    });
    reporter.finish();
    Ok(RunReport {
        run,
        playbook,
        hosts,
        interrupted,
    })
}

fn finished(reporter: &dyn EventSink, report: &HostReport) {
    reporter.emit(Event::HostFinished {
        host: report.host.clone(),
        result: report.result,
        error: report.failure.as_ref().map(|f| f.message.clone()),
        seconds: report.seconds,
    });
}

impl RunReport {
    pub fn outcome(&self) -> Outcome {
        if self.interrupted {
            Outcome::Interrupted
        } else if self.hosts.iter().any(HostReport::failed) {
            Outcome::HostFailed
        } else {
            Outcome::Success
        }
    }

    /// Every failure, in full, on stderr; then how to resume.
    pub fn print_failures(&self, resume_hint: &str) {
        let mut any = false;
        for host in &self.hosts {
            if let Some(failure) = &host.failure {
                eprintln!("error: {failure}");
                any = true;
            }
        }
        let not_started = self
            .hosts
            .iter()
            .filter(|h| h.result == HostResult::NotStarted)
            .count();
        if not_started > 0 {
            eprintln!(
                "{not_started} host{} not started: the failure budget (--max-fail/--fail-fast) was spent{}",
                if not_started == 1 { "" } else { "s" },
                if self.interrupted {
                    " or the run was interrupted"
                } else {
                    ""
                }
            );
        }
        if any || self.interrupted {
            eprintln!(
                "to go on where this run stopped: {resume_hint} --resume {}",
                self.run
            );
        }
    }

    /// host | result | steps | failed at | time.
    pub fn table(&self) -> comfy_table::Table {
        let mut table =
            crate::report::table(["host", "result", "steps", "stopped at", "notes", "time"]);
        for host in &self.hosts {
            let mut counts: Vec<(StepResult, usize)> = Vec::new();
            for step in &host.steps {
                match counts.iter_mut().find(|(r, _)| *r == step.result) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((step.result, 1)),
                }
            }
            let steps = counts
                .iter()
                .map(|(r, n)| format!("{n} {}", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let at = host
                .failure
                .as_ref()
                .and_then(|f| f.step.as_ref())
                .map(|(i, total, name, _)| format!("{i}/{total} {name}"))
                .unwrap_or_default();
            let mut notes: Vec<String> = host
                .steps
                .iter()
                .filter_map(|s| s.note.as_deref())
                .filter(|n| n.starts_with("salt:"))
                .map(str::to_owned)
                .collect();
            if host.rebooted() {
                notes.push("rebooted".into());
            }
            table.add_row([
                host.host.clone(),
                host.result.as_str().to_owned(),
                steps,
                at,
                notes.join("; "),
                format!("{:.1} s", host.seconds),
            ]);
        }
        table
    }

    /// The usual ending: failures on stderr, the table on stdout (not with
    /// --json or --quiet), the exit outcome.
    pub fn finish(&self, global: &GlobalArgs, resume_hint: &str) -> Outcome {
        self.print_failures(resume_hint);
        if !global.json && !global.quiet {
            println!("{}", self.table());
        }
        self.outcome()
    }
}
