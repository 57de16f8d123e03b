//! `ecsfleet run PLAYBOOK SELECT`: any playbook (stock, the fleet's own, or a
//! file) on selected hosts; `--plan` prints every host's rendered steps
//! without connecting. Also the flags every playbook-driven command shares
//! ([`RunFlags`]) and the question asked before changing hosts
//! ([`confirm`]).

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use ecsfleet_playbooks::{Facts, Playbook};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::executor::Settings;
use crate::run::fleet_run::{RunRequest, execute, fleet_directory, render_context};
use crate::run::schedule::Policy;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ecsfleet run restart ecs-vienna --yes
  ecsfleet run playbooks/rotate-logs.yml production --serial 2 --max-fail 1
  ecsfleet run install lab1 --plan --var appliance_source=./ecs-appliance
  ecsfleet run activate --all --yes --resume 20261101-101500-3fa2")]
pub struct RunArgs {
    /// Playbook name (stock or the fleet's playbooks/NAME.yml) or path
    pub playbook: String,
    #[command(flatten)]
    pub select: Selection,
    /// Print every host's rendered steps (secrets masked) without connecting;
    /// facts are unknown then
    #[arg(long)]
    pub plan: bool,
    /// Extra variable NAME=VALUE (repeatable; true/false/numbers/JSON are typed)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub flags: RunFlags,
    /// Go on with an earlier run: skip the steps its journal records as finished
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Seconds a rebooting host may take to come back
    #[arg(long, value_name = "SECS")]
    pub reboot_timeout: Option<u64>,
    /// Run even on hosts that do not meet the playbook's requirements
    #[arg(long)]
    pub force: bool,
}

/// How a playbook run goes over many hosts; shared by run and the lifecycle
/// commands.
#[derive(Debug, Args, Clone)]
pub struct RunFlags {
    /// Hosts worked on at the same time
    #[arg(short, long, default_value_t = 50)]
    pub forks: usize,
    /// Rolling batches of N hosts: a batch starts when the previous one is done
    #[arg(long, value_name = "N")]
    pub serial: Option<usize>,
    /// Start no further host after N hosts failed
    #[arg(long, value_name = "N")]
    pub max_fail: Option<usize>,
    /// After the first failure start no further host and stop the others
    /// before their next step
    #[arg(long)]
    pub fail_fast: bool,
    /// Seconds between probes while waiting for the appliance [default: the
    /// playbook's, mostly 10]
    #[arg(long, value_name = "SECS")]
    pub wait_interval: Option<f64>,
    /// Do not ask before changing hosts
    #[arg(short, long)]
    pub yes: bool,
}

impl RunFlags {
    pub fn policy(&self) -> Policy {
        Policy {
            forks: self.forks.max(1),
            serial: self.serial.filter(|&n| n > 0),
            max_fail: self.max_fail,
            fail_fast: self.fail_fast,
        }
    }

    pub fn settings(&self, force: bool, reboot_timeout: Option<u64>) -> Settings {
        Settings {
            force,
            reboot_timeout: reboot_timeout.map(Duration::from_secs),
            wait_interval: self
                .wait_interval
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
            ..Settings::default()
        }
    }
}

/// Asks before `what` changes `hosts`: --yes answers; on a terminal the
/// operator does; otherwise refuse (exit 2).
pub fn confirm(yes: bool, what: &str, hosts: &[String]) -> Result<()> {
    if yes {
        return Ok(());
    }
    let list = if hosts.len() > 6 {
        format!("{} and {} more", hosts[..5].join(", "), hosts.len() - 5)
    } else {
        hosts.join(", ")
    };
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::usage(format!(
            "{what} would change {} host{} ({list}); pass --yes to go ahead without a terminal to ask on",
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" }
        )));
    }
    let go = dialoguer::Confirm::new()
        .with_prompt(format!("{what} on {list}?"))
        .default(false)
        .interact()
        .map_err(|e| Error::usage(e.to_string()))?;
    if go {
        Ok(())
    } else {
        Err(Error::usage("cancelled; nothing was changed"))
    }
}

/// `NAME=VALUE` pairs; values that read as JSON scalars, lists or maps
/// (`true`, `3`, `[a]` is not: `["a"]` is) are typed, the rest are strings.
pub fn parse_vars(pairs: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut vars = serde_json::Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(Error::usage(format!("--var {pair}: expected NAME=VALUE")));
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::usage(format!(
                "--var {pair}: `{name}` is not a variable name"
            )));
        }
        let typed = serde_json::from_str::<serde_json::Value>(value)
            .ok()
            .filter(|v| !v.is_string());
        vars.insert(
            name.to_owned(),
            typed.unwrap_or_else(|| serde_json::Value::String(value.to_owned())),
        );
    }
    Ok(vars)
}

pub fn run(args: RunArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&args.select)?;
    let playbook = Playbook::resolve(&args.playbook, Some(&fleet_directory(&fleet)))
        .map_err(|e| Error::usage(e.to_string()))?;
    let vars = parse_vars(&args.vars)?;
    if args.plan {
        return print_plans(&fleet, &hosts, &playbook, &vars, global);
    }
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    confirm(
        args.flags.yes,
        &format!("run playbook {}", playbook.name),
        &names,
    )?;
    let hint = format!(
        "ecsfleet run {} {}",
        args.playbook,
        selection_words(&args.select)
    );
    let report = execute(
        &fleet,
        &hosts,
        RunRequest {
            operation: format!("run {}", playbook.name),
            playbook,
            vars,
            local_roots: Vec::new(),
            policy: args.flags.policy(),
            settings: args.flags.settings(args.force, args.reboot_timeout),
            resume: args.resume,
        },
        global,
    )?;
    Ok(report.finish(global, &hint))
}

/// The SELECT words again, for the resume hint.
pub fn selection_words(select: &Selection) -> String {
    if select.all {
        "--all".to_owned()
    } else {
        select
            .patterns
            .iter()
            .map(|p| ecsfleet_playbooks::quote(p).unwrap_or_else(|_| p.clone()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn print_plans(
    fleet: &Fleet,
    hosts: &[&ecsfleet_inventory::Host],
    playbook: &Playbook,
    vars: &serde_json::Map<String, serde_json::Value>,
    global: &GlobalArgs,
) -> Result<Outcome> {
    let mut out = String::new();
    for host in hosts {
        let mut ctx = render_context(fleet, host, vars, &[]);
        ctx.facts = Facts::default();
        let plan = ecsfleet_playbooks::render(playbook, &ctx)
            .map_err(|e| Error::usage(format!("{}: {e}", host.name)))?;
        if global.json {
            let steps: Vec<serde_json::Value> = plan
                .steps
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "step": s.index, "name": s.name, "line": s.line,
                        "action": s.action.to_string(),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "host": plan.host, "playbook": plan.playbook,
                "path": plan.path.display().to_string(),
                "requires": plan.requires.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "steps": steps,
            });
            out.push_str(&format!("{line}\n"));
        } else {
            out.push_str(&format!("{plan}\n"));
        }
    }
    print!("{out}");
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_are_typed_when_they_read_as_json() {
        let vars = parse_vars(&[
            "a=true".into(),
            "b=3".into(),
            "c=hello world".into(),
            "d=\"quoted\"".into(),
            "e=".into(),
        ])
        .unwrap();
        assert_eq!(vars["a"], serde_json::json!(true));
        assert_eq!(vars["b"], serde_json::json!(3));
        assert_eq!(vars["c"], serde_json::json!("hello world"));
        assert_eq!(vars["d"], serde_json::json!("\"quoted\""));
        assert_eq!(vars["e"], serde_json::json!(""));
        assert!(parse_vars(&["novalue".into()]).is_err());
        assert!(parse_vars(&["a b=1".into()]).is_err());
    }
}
