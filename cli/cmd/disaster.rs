//! `ecsfleet restore HOST --yes-i-am-sure`, `ecsfleet db recreate HOST
//! --yes-i-am-sure`, `ecsfleet backup fetch-dump HOST [--out FILE]`: the
//! manual's disaster procedures. The two destructive ones refuse without
//! their flag before anything is sent, then run their stock playbook (or the
//! fleet's override) through the executor, so the host lock, the journal and
//! the wait until running come with them. Restore checks its preconditions
//! first and names each one that fails with its fix.

mod fetch_dump;
mod preconditions;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use ecsfleet_playbooks::Playbook;

use super::one_host::OneHost;
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::run::executor::Settings;
use crate::run::fleet_run::{RunRequest, execute, fleet_directory};
use crate::run::schedule::Policy;

#[derive(Debug, Args)]
#[command(
    after_help = "On a freshly installed host with the installation's saved env.yml \
uploaded (ecsfleet push-env) and rebooted once: checks the preconditions (appliance installed, \
/app/env.yml present, /data/ecs-storage-vault and /data/ecs-pgdump existing and empty, no ecs \
database) and names each that fails; then runs the restore playbook: activate the env, \
recover-from-backup.sh --yes-i-am-sure, start, wait until running.

Example:
  ecsfleet restore ecs-vienna --yes-i-am-sure"
)]
pub struct RestoreArgs {
    /// The host (one inventory name)
    pub host: String,
    /// Required: restoring overwrites the host's data with the backup's
    #[arg(long)]
    pub yes_i_am_sure: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Seconds between probes while waiting for the appliance [default: 10]
    #[arg(long, value_name = "SECS")]
    pub wait_interval: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Drop the ecs database and create it empty, then restart the appliance
    #[command(
        after_help = "Every piece of data in ECS is lost. Stops the appliance, drops and \
recreates the ecs database, forgets the running ecs version, restarts and waits until running.

Example:
  ecsfleet db recreate ecs-test --yes-i-am-sure"
    )]
    Recreate {
        /// The host (one inventory name)
        host: String,
        /// Required: the database and all its data are destroyed
        #[arg(long)]
        yes_i_am_sure: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Fetch the latest database dump from the backup and download it
    #[command(
        after_help = "Runs duply's fetch of ecs-pgdump/ecs.pgdump.gz on the host, \
downloads the file (checked by sha256, mode 0600: it holds all of ECS's data) and removes the \
host's copy.

Examples:
  ecsfleet backup fetch-dump ecs-vienna
  ecsfleet backup fetch-dump ecs-vienna --out /safe/vienna.pgdump.gz"
    )]
    FetchDump {
        /// The host (one inventory name)
        host: String,
        /// Local file [default: HOST-ecs.pgdump.gz]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace FILE if it exists
        #[arg(long)]
        force: bool,
    },
}

pub fn restore(args: RestoreArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !args.yes_i_am_sure {
        return Err(Error::usage(format!(
            "restore replaces the data of {} with the backup's: pass --yes-i-am-sure (nothing was sent)",
            args.host
        )));
    }
    let host = OneHost::load(&args.host, global)?;
    let playbook = resolve(&host, "restore")?;
    let probe = host.as_root(preconditions::probe());
    let output = crate::run::runtime().block_on(async {
        let connection = host.connect().await?;
        let output = connection.exec(&probe.to_shell(), None).await;
        connection.close().await;
        output.map_err(|e| host.error(e.to_string()))
    })?;
    let unmet = preconditions::unmet(&String::from_utf8_lossy(&output.stdout), &host.name);
    if !unmet.is_empty() {
        let list: Vec<String> = unmet
            .iter()
            .map(|u| format!("  - {}\n    fix: {}", u.what, u.fix))
            .collect();
        return Err(host.error(format!(
            "restore refused at its preconditions (nothing was changed):\n{}",
            list.join("\n")
        )));
    }
    run_playbook(&host, playbook, "restore", &args.wait, global)
}

pub fn db(command: DbCommand, global: &GlobalArgs) -> Result<Outcome> {
    let DbCommand::Recreate {
        host,
        yes_i_am_sure,
        wait,
    } = command;
    if !yes_i_am_sure {
        return Err(Error::usage(format!(
            "db recreate destroys every piece of data in the ecs database of {host}: pass --yes-i-am-sure (nothing was sent)"
        )));
    }
    let host = OneHost::load(&host, global)?;
    let playbook = resolve(&host, "db-recreate")?;
    run_playbook(&host, playbook, "db recreate", &wait, global)
}

pub fn backup(command: BackupCommand, global: &GlobalArgs) -> Result<Outcome> {
    let BackupCommand::FetchDump { host, out, force } = command;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{host}-ecs.pgdump.gz")));
    let host = OneHost::load(&host, global)?;
    fetch_dump::run(&host, &out, force, global)
}

fn resolve(host: &OneHost, name: &str) -> Result<Playbook> {
    Playbook::resolve(name, Some(&fleet_directory(&host.fleet)))
        .map_err(|e| Error::usage(e.to_string()))
}

/// The playbook on the one host, confirmed by its flag.
fn run_playbook(
    host: &OneHost,
    playbook: Playbook,
    operation: &str,
    wait: &WaitArgs,
    global: &GlobalArgs,
) -> Result<Outcome> {
    let inventory_host = host
        .fleet
        .inventory
        .host(&host.name)
        .ok_or_else(|| Error::usage(format!("`{}` is not in the inventory", host.name)))?;
    let mut vars = serde_json::Map::new();
    vars.insert("yes_i_am_sure".into(), true.into());
    let report = execute(
        &host.fleet,
        &[inventory_host],
        RunRequest {
            playbook,
            operation: operation.to_owned(),
            vars,
            local_roots: Vec::new(),
            policy: Policy {
                forks: 1,
                serial: None,
                max_fail: None,
                fail_fast: true,
            },
            settings: Settings {
                wait_interval: wait
                    .wait_interval
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64),
                ..Settings::default()
            },
            resume: None,
        },
        global,
    )?;
    // Not `finish`: its hint offers a --resume these commands do not have.
    for failure in report.hosts.iter().filter_map(|h| h.failure.as_ref()) {
        eprintln!("error: {failure}");
    }
    if !global.json && !global.quiet {
        println!("{}", report.table());
    }
    Ok(report.outcome())
}
