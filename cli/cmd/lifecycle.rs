//! `ecsfleet install|activate|update|start|stop|restart|recover`: the
//! appliance lifecycle, each a stock playbook (or the fleet's override of
//! it) run by the executor, with the vars and the summary that command
//! needs: install pushes or clones the appliance source, update shows the
//! version tags before and after and whether the host rebooted.

use std::path::{Path, PathBuf};

mod pushed_checkout;

use clap::Args;
use ecsfleet_playbooks::Playbook;

use super::check::gate::Gate;
use super::run::{RunFlags, confirm, selection_words};
use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::events::HostResult;
use crate::run::fleet_run::{RunReport, RunRequest, execute, fleet_directory};

#[derive(Debug, Args)]
#[command(
    after_help = "The appliance source is pushed from a local checkout (default ./ecs-appliance, \
.git left out) or, given a git URL, cloned on each host.

First the hosts are judged as `ecsfleet check` does (install.yml's preflight, the sizing \
for --studies or the host's vars.studies_per_month, disk labels, DNS): a host that fails a \
check, or cannot be reached, is not installed (--force installs it anyway); warnings are shown \
and the host goes on.

Examples:
  ecsfleet install ecs-vienna --appliance-source ~/src/ecs-appliance --yes
  ecsfleet install --all --appliance-source https://github.com/ecs-org/ecs-appliance --branch master
  ecsfleet install lab1 --plan"
)]
pub struct InstallArgs {
    #[command(flatten)]
    pub select: Selection,
    /// A local checkout of ecs-appliance (pushed) or a git URL (cloned on the
    /// host) [default: ./ecs-appliance]
    #[arg(long, value_name = "DIR|GIT_URL")]
    pub appliance_source: Option<String>,
    /// Branch to clone (with a git URL)
    #[arg(long, default_value = "master")]
    pub branch: String,
    /// Also apply the builder pillar ({"builder": {"enabled": true}})
    #[arg(long)]
    pub with_builder: bool,
    /// Install even where `ecsfleet check` or the preflight (Ubuntu 16.04,
    /// memory, disk) says no; the findings are still shown
    #[arg(long)]
    pub force: bool,
    /// Studies per month the hosts must carry, as `ecsfleet check --studies`
    /// [default: each host's vars.studies_per_month]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub studies: Option<u32>,
    /// Print every host's steps without connecting
    #[arg(long)]
    pub plan: bool,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Go on with an earlier install run
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Creates the ecs database (skipped when present), checks /app/env.yml, \
copies it to /run/active-env.yml (0600), reboots and waits until the appliance runs. \
Push the env first with `ecsfleet push-env`.

Examples:
  ecsfleet activate ecs-vienna --yes
  ecsfleet activate production --serial 1 --reboot-timeout 900"
)]
pub struct ActivateArgs {
    #[command(flatten)]
    pub select: Selection,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Seconds a rebooting host may take to come back [default: the playbook's, 15 min]
    #[arg(long, value_name = "SECS")]
    pub reboot_timeout: Option<u64>,
    /// Go on with an earlier activate run
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Starts appliance-update without blocking, follows it (the update may \
reboot the host: ecsfleet reconnects and checks the boot id), waits until the appliance runs \
and shows the version tags before and after.

Examples:
  ecsfleet update --all --serial 1 --max-fail 1 --yes
  ecsfleet update ecs-vienna ecs-graz"
)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub select: Selection,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Go on with an earlier update run
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ecsfleet restart ecs-vienna --yes
  ecsfleet recover --all --yes     (clears /run/appliance-failed, reset-failed, restart, wait)
  ecsfleet stop 'lab*' --yes")]
pub struct OperateArgs {
    #[command(flatten)]
    pub select: Selection,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// Loads the fleet, selects hosts, resolves the playbook.
fn prepare<'f>(
    fleet: &'f Fleet,
    select: &Selection,
    playbook: &str,
) -> Result<(Vec<&'f ecsfleet_inventory::Host>, Playbook, Vec<String>)> {
    let hosts = fleet.select(select)?;
    let playbook = Playbook::resolve(playbook, Some(&fleet_directory(fleet)))
        .map_err(|e| Error::usage(e.to_string()))?;
    let names = hosts.iter().map(|h| h.name.clone()).collect();
    Ok((hosts, playbook, names))
}

/// Where the appliance source comes from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Dir(PathBuf),
    Git(String),
}

fn appliance_source(given: Option<&str>) -> Result<Source> {
    let looks_remote = |s: &str| {
        s.contains("://") || (s.contains('@') && s.contains(':') && !Path::new(s).exists())
    };
    match given {
        Some(s) if looks_remote(s) => Ok(Source::Git(s.to_owned())),
        Some(s) => {
            let path = Path::new(s);
            if !path.join("salt").is_dir() {
                return Err(Error::usage(format!(
                    "--appliance-source {s}: not a checkout of ecs-appliance (no salt/ directory in it)"
                )));
            }
            Ok(Source::Dir(std::path::absolute(path).map_err(|e| {
                Error::io(format!("--appliance-source {s}"), e)
            })?))
        }
        None => {
            let default = Path::new("ecs-appliance");
            if default.join("salt").is_dir() {
                appliance_source(Some("ecs-appliance"))
            } else {
                Err(Error::usage(
                    "no appliance source: pass --appliance-source DIR (a checkout of ecs-appliance, pushed to each host) \
or --appliance-source https://github.com/ecs-org/ecs-appliance (cloned on each host), \
or put a checkout at ./ecs-appliance",
                ))
            }
        }
    }
}

/// Refuses a pushed tree that the appliance's first update would delete or
/// move (see pushed_checkout.rs), naming the host whose env disagrees.
fn check_pushed_checkout(dir: &Path, hosts: &[&ecsfleet_inventory::Host]) -> Result<()> {
    let checkout = pushed_checkout::read(dir)?;
    for host in hosts {
        let env_text = host
            .env
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        let (source, branch) = pushed_checkout::wanted(env_text.as_deref());
        if let Some(why) = pushed_checkout::disagreement(&checkout, &source, &branch) {
            return Err(Error::usage(format!(
                "{}: --appliance-source {}: {why}",
                host.name,
                dir.display()
            )));
        }
    }
    Ok(())
}

pub fn install(args: InstallArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let (hosts, playbook, names) = prepare(&fleet, &args.select, "install")?;
    let source = appliance_source(args.appliance_source.as_deref())?;
    let mut vars = serde_json::Map::new();
    let mut roots = Vec::new();
    match &source {
        Source::Dir(dir) => {
            check_pushed_checkout(dir, &hosts)?;
            vars.insert("appliance_source".into(), dir.display().to_string().into());
            roots.push(dir.clone());
        }
        Source::Git(url) => {
            vars.insert("appliance_git".into(), url.clone().into());
            vars.insert("appliance_branch".into(), args.branch.clone().into());
        }
    }
    vars.insert("with_builder".into(), args.with_builder.into());
    vars.insert("force".into(), args.force.into());
    if args.plan {
        let mut out = String::new();
        for host in &hosts {
            let ctx = crate::run::fleet_run::render_context(&fleet, host, &vars, &roots);
            let plan = ecsfleet_playbooks::render(&playbook, &ctx)
                .map_err(|e| Error::usage(format!("{}: {e}", host.name)))?;
            out.push_str(&format!("{plan}\n"));
        }
        print!("{out}");
        return Ok(Outcome::Success);
    }
    confirm(args.flags.yes, "install the appliance", &names)?;
    let forks = args.flags.policy().forks;
    let gate = Gate::judge(
        &fleet,
        &hosts,
        &playbook,
        args.studies,
        args.force,
        forks,
        global,
    )?;
    let hosts = gate.admitted(&hosts);
    let hint = format!(
        "ecsfleet install {}{}{}",
        selection_words(&args.select),
        args.appliance_source
            .as_deref()
            .map(|s| format!(" --appliance-source {s}"))
            .unwrap_or_default(),
        args.studies
            .map(|n| format!(" --studies {n}"))
            .unwrap_or_default()
    );
    if hosts.is_empty() {
        return Ok(gate.finish(None, global, &hint));
    }
    let report = execute(
        &fleet,
        &hosts,
        RunRequest {
            playbook,
            operation: "install".into(),
            vars,
            local_roots: roots,
            policy: args.flags.policy(),
            settings: args.flags.settings(args.force, None),
            resume: args.resume,
        },
        global,
    )?;
    Ok(gate.finish(Some(&report), global, &hint))
}

pub fn activate(args: ActivateArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let (hosts, playbook, names) = prepare(&fleet, &args.select, "activate")?;
    confirm(
        args.flags.yes,
        "activate the env (createdb, reboot)",
        &names,
    )?;
    let report = execute(
        &fleet,
        &hosts,
        RunRequest {
            playbook,
            operation: "activate".into(),
            vars: serde_json::Map::new(),
            local_roots: Vec::new(),
            policy: args.flags.policy(),
            settings: args.flags.settings(false, args.reboot_timeout),
            resume: args.resume,
        },
        global,
    )?;
    let hint = format!("ecsfleet activate {}", selection_words(&args.select));
    Ok(report.finish(global, &hint))
}

pub fn update(args: UpdateArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let (hosts, playbook, names) = prepare(&fleet, &args.select, "update")?;
    confirm(args.flags.yes, "update appliance and ECS", &names)?;
    let report = execute(
        &fleet,
        &hosts,
        RunRequest {
            playbook,
            operation: "update".into(),
            vars: serde_json::Map::new(),
            local_roots: Vec::new(),
            policy: args.flags.policy(),
            settings: args.flags.settings(false, None),
            resume: args.resume,
        },
        global,
    )?;
    let hint = format!("ecsfleet update {}", selection_words(&args.select));
    report.print_failures(&hint);
    if !global.json && !global.quiet {
        println!("{}", tags_table(&report));
    }
    Ok(report.outcome())
}

/// `last_running_ecs=...` lines of the step named `name`.
fn tags(
    report: &RunReport,
    host: &crate::run::executor::HostReport,
    name: &str,
) -> Vec<(String, String)> {
    let Some(step) = report.playbook.steps.iter().find(|s| s.name == name) else {
        return Vec::new();
    };
    host.outputs
        .get(&step.index)
        .map(|out| {
            out.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// host | ecs before/after | appliance before/after | rebooted | result.
fn tags_table(report: &RunReport) -> comfy_table::Table {
    let mut table = crate::report::table([
        "host",
        "ecs before",
        "ecs after",
        "appliance before",
        "appliance after",
        "rebooted",
        "result",
    ]);
    for host in &report.hosts {
        let before = tags(report, host, "version tags before");
        let after = tags(report, host, "version tags after");
        let get = |list: &[(String, String)], key: &str| {
            list.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| {
                    if v.is_empty() {
                        "-".to_owned()
                    } else {
                        short(v)
                    }
                })
                .unwrap_or_else(|| "?".to_owned())
        };
        let result = match (host.result, &host.failure) {
            (HostResult::Ok, _) => "ok".to_owned(),
            (result, Some(f)) => format!("{}: {}", result.as_str(), first_line(&f.message)),
            (result, None) => result.as_str().to_owned(),
        };
        table.add_row([
            host.host.clone(),
            get(&before, "last_running_ecs"),
            get(&after, "last_running_ecs"),
            get(&before, "last_running_appliance"),
            get(&after, "last_running_appliance"),
            if host.rebooted() { "yes" } else { "no" }.to_owned(),
            result,
        ]);
    }
    table
}

/// Commit ids shortened to 12 characters.
fn short(tag: &str) -> String {
    if tag.len() > 12 && tag.chars().all(|c| c.is_ascii_hexdigit()) {
        tag[..12].to_owned()
    } else {
        tag.to_owned()
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

pub fn operate(action: &str, args: OperateArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let (hosts, playbook, names) = prepare(&fleet, &args.select, action)?;
    let what = match action {
        "start" => "start the appliance",
        "stop" => "stop the appliance",
        "restart" => "restart the appliance",
        "recover" => "recover the appliance (clear the failed flag, restart)",
        other => other,
    };
    confirm(args.flags.yes, what, &names)?;
    let report = execute(
        &fleet,
        &hosts,
        RunRequest {
            playbook,
            operation: action.to_owned(),
            vars: serde_json::Map::new(),
            local_roots: Vec::new(),
            policy: args.flags.policy(),
            settings: args.flags.settings(false, None),
            resume: None,
        },
        global,
    )?;
    let hint = format!("ecsfleet {action} {}", selection_words(&args.select));
    Ok(report.finish(global, &hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_dirs_with_salt_or_git_urls() {
        assert_eq!(
            appliance_source(Some("https://github.com/ecs-org/ecs-appliance")).unwrap(),
            Source::Git("https://github.com/ecs-org/ecs-appliance".into())
        );
        assert_eq!(
            appliance_source(Some("git@github.com:ecs-org/ecs-appliance.git")).unwrap(),
            Source::Git("git@github.com:ecs-org/ecs-appliance.git".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let err = appliance_source(Some(dir.path().to_str().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("not a checkout of ecs-appliance (no salt/ directory in it)"));
        std::fs::create_dir(dir.path().join("salt")).unwrap();
        assert_eq!(
            appliance_source(Some(dir.path().to_str().unwrap())).unwrap(),
            Source::Dir(dir.path().to_path_buf())
        );
    }
}
