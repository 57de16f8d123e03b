//! `ecsfleet vagrant provision|inventory`: Vagrant boxes provisioned by
//! ecsfleet. The Vagrantfile's trigger calls `vagrant provision MACHINE`
//! after `vagrant up` and `vagrant provision`; it reads `vagrant ssh-config`
//! ([`ssh_config`]), writes the box into the inventory with `become: true`
//! ([`box_inventory`]), pins the box's host key for its own address and port
//! only, and runs install (then push-env and activate when the entry names
//! an env) through the same functions as the commands of those names.

mod box_inventory;
mod ssh_config;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use clap::{Args, FromArgMatches, Subcommand};
use ecsfleet_inventory::{KnownHosts, Verdict};

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::runtime;
use crate::ssh::Connection;
use ssh_config::Machine;

#[derive(Debug, Subcommand)]
pub enum VagrantCommand {
    /// Install the running Vagrant machine(s) with ecsfleet
    #[command(
        after_help = "Reads `vagrant ssh-config [MACHINE]` (the vagrant on PATH, or \
$ECSFLEET_VAGRANT), writes the box into the inventory (-i, created when missing) with \
become: true, pins the box's host key for its address and port only, then runs \
`ecsfleet install` (and, when the box's inventory entry has an env, push-env and activate). \
The inventory is rewritten as YAML data: keys you add to a box's entry stay, comments do not. \
A box recreated with a new host key is refused: remove its old line from the known_hosts \
file the message names.

Example:
  ecsfleet -i inventory/hosts.yml vagrant provision ecs --appliance-source ../ecs-appliance
  ECSFLEET_APPLIANCE_SOURCE=~/src/ecs-appliance vagrant up    (the Vagrantfile's trigger runs it)"
    )]
    Provision(ProvisionArgs),
    /// Print inventory entries for the running Vagrant machines
    #[command(after_help = "Example:
  ecsfleet vagrant inventory >> inventory/hosts.yml    (then merge the hosts: sections)
  ecsfleet vagrant inventory ecs --json")]
    Inventory {
        /// The Vagrant machine name (default: all running machines)
        machine: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The Vagrant machine name (default: all running machines)
    pub machine: Option<String>,
    /// A local checkout of ecs-appliance (pushed) or a git URL (cloned on the
    /// box), passed to install [default: ./ecs-appliance]
    #[arg(long, value_name = "DIR|GIT_URL", env = "ECSFLEET_APPLIANCE_SOURCE")]
    pub appliance_source: Option<String>,
    /// Branch to clone (with a git URL)
    #[arg(long)]
    pub branch: Option<String>,
}

pub fn run(command: VagrantCommand, global: &GlobalArgs) -> Result<Outcome> {
    match command {
        VagrantCommand::Provision(args) => provision(args, global),
        VagrantCommand::Inventory { machine } => inventory(machine.as_deref(), global),
    }
}

fn inventory(machine: Option<&str>, global: &GlobalArgs) -> Result<Outcome> {
    let machines = running_machines(machine)?;
    if global.json {
        for m in &machines {
            println!(
                "{}",
                serde_json::json!({
                    "host": m.name,
                    "address": m.host_name,
                    "port": m.port,
                    "user": m.user,
                    "identity": m.identity().map(|p| p.display().to_string()),
                    "become": true,
                })
            );
        }
    } else {
        print!("{}", box_inventory::render(&machines)?);
    }
    Ok(Outcome::Success)
}

fn provision(args: ProvisionArgs, global: &GlobalArgs) -> Result<Outcome> {
    let machines = running_machines(args.machine.as_deref())?;
    box_inventory::update(&global.inventory, &machines)?;
    say(
        global,
        &serde_json::json!({"event": "inventory", "file": global.inventory.display().to_string(),
            "hosts": machines.iter().map(|m| &m.name).collect::<Vec<_>>()}),
        &format!(
            "{}: {}",
            global.inventory.display(),
            machines
                .iter()
                .map(|m| format!("{} ({}@{}:{})", m.name, m.user, m.host_name, m.port))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    pin(&machines, global)?;
    // All boxes in one run of each command: the executor works on them in
    // parallel, as `ecsfleet install a b` would.
    let names: Vec<String> = machines.iter().map(|m| m.name.clone()).collect();
    let mut install = vec!["install".to_owned()];
    install.extend(names.iter().cloned());
    install.push("--yes".to_owned());
    if let Some(source) = &args.appliance_source {
        install.extend(["--appliance-source".to_owned(), source.clone()]);
    }
    if let Some(branch) = &args.branch {
        install.extend(["--branch".to_owned(), branch.clone()]);
    }
    let outcome = super::lifecycle::install(parse(&install)?, global)?;
    if outcome != Outcome::Success {
        return Ok(outcome);
    }
    let fleet = Fleet::load(global)?;
    let (with_env, without): (Vec<String>, Vec<String>) = names.into_iter().partition(|name| {
        fleet
            .inventory
            .host(name)
            .is_some_and(|host| host.env.is_some())
    });
    for name in &without {
        say(
            global,
            &serde_json::json!({"event": "env", "host": name, "result": "none"}),
            &format!(
                "{name}: installed; no env in its inventory entry, so no push-env and activate \
                 (add `env: PATH` to hosts.{name} in {} and provision again)",
                global.inventory.display()
            ),
        );
    }
    if with_env.is_empty() {
        return Ok(Outcome::Success);
    }
    let mut push = vec!["push-env".to_owned()];
    push.extend(with_env.iter().cloned());
    push.push("--yes".to_owned());
    let outcome = super::push_env::run(parse(&push)?, global)?;
    if outcome != Outcome::Success {
        return Ok(outcome);
    }
    let mut activate = vec!["activate".to_owned()];
    activate.extend(with_env);
    activate.push("--yes".to_owned());
    super::lifecycle::activate(parse(&activate)?, global)
}

/// A command's arguments as its own command line would give them, so every
/// default stays the one `ecsfleet COMMAND --help` shows.
fn parse<T: Args + FromArgMatches>(argv: &[impl AsRef<str>]) -> Result<T> {
    let name = argv
        .first()
        .map(AsRef::as_ref)
        .unwrap_or("command")
        .to_owned();
    let command = T::augment_args(clap::Command::new("ecsfleet"));
    let matches = command
        .try_get_matches_from(argv.iter().map(|a| a.as_ref().to_owned()))
        .map_err(|e| Error::usage(format!("{name}: {e}")))?;
    T::from_arg_matches(&matches).map_err(|e| Error::usage(format!("{name}: {e}")))
}

/// Pins each box's host key at its own `[address]:port` in the inventory's
/// known_hosts. A changed key is refused as `trust` refuses it.
fn pin(machines: &[Machine], global: &GlobalArgs) -> Result<()> {
    let fleet = Fleet::load(global)?;
    let options = fleet.ssh_options(global)?;
    let pin_file = fleet.pin_file();
    for machine in machines {
        let host = fleet.inventory.host(&machine.name).ok_or_else(|| {
            Error::usage(format!(
                "{} is not in {} after writing it",
                machine.name,
                global.inventory.display()
            ))
        })?;
        let target = fleet.target(host)?;
        let fetched = runtime().block_on(Connection::fetch_host_key(&target, &options));
        let (key, verdict) = fetched.map_err(|e| Error::Host {
            host: machine.name.clone(),
            message: format!("cannot fetch the box's host key: {e}"),
        })?;
        let place = target.display_address();
        match verdict {
            Verdict::Trusted => say(
                global,
                &serde_json::json!({"event": "host_key", "host": machine.name, "result": "already pinned", "fingerprint": key.fingerprint()}),
                &format!(
                    "{}: host key {} already pinned",
                    machine.name,
                    key.fingerprint()
                ),
            ),
            Verdict::Unknown => {
                KnownHosts::append(&pin_file, &target.address, target.port, &key)
                    .map_err(|e| Error::io(format!("cannot write {}", pin_file.display()), e))?;
                say(
                    global,
                    &serde_json::json!({"event": "host_key", "host": machine.name, "result": "pinned", "fingerprint": key.fingerprint(), "file": pin_file.display().to_string()}),
                    &format!(
                        "{}: pinned host key {} for {place} in {}",
                        machine.name,
                        key.fingerprint(),
                        pin_file.display()
                    ),
                );
            }
            Verdict::Changed { known } => {
                let mut files: Vec<String> = Vec::new();
                let pinned: Vec<String> = known
                    .iter()
                    .map(|(k, file, line)| {
                        let file = file.display().to_string();
                        let text = format!("{} ({file}:{line})", k.fingerprint());
                        if !files.contains(&file) {
                            files.push(file);
                        }
                        text
                    })
                    .collect();
                let removals: Vec<String> = files
                    .iter()
                    .map(|file| format!("`ssh-keygen -R '{place}' -f {file}`"))
                    .collect();
                return Err(Error::Host {
                    host: machine.name.clone(),
                    message: format!(
                        "step: pin the host key. {place} now presents {} but {} is pinned. \
                         Fix: if you recreated the box (vagrant destroy/up), remove the old pin with \
                         {} and provision again; otherwise find out who answers on {place}",
                        key.fingerprint(),
                        pinned.join(", "),
                        removals.join(" and ")
                    ),
                });
            }
            Verdict::Revoked { source, line } => {
                return Err(Error::Host {
                    host: machine.name.clone(),
                    message: format!(
                        "step: pin the host key. {place} presents {}, which is @revoked in {}:{line}",
                        key.fingerprint(),
                        source.display()
                    ),
                });
            }
        }
    }
    Ok(())
}

fn say(global: &GlobalArgs, json: &serde_json::Value, text: &str) {
    if global.json {
        println!("{json}");
    } else if !global.quiet {
        println!("{text}");
    }
}

/// The vagrant to run: $ECSFLEET_VAGRANT, else `vagrant` from PATH.
fn vagrant_program() -> OsString {
    std::env::var_os("ECSFLEET_VAGRANT")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| OsString::from("vagrant"))
}

/// Runs vagrant with `args`; its stdout, or an error with its stderr.
fn vagrant(args: &[&str]) -> Result<String> {
    let program = vagrant_program();
    let output = Command::new(&program).args(args).output().map_err(|e| {
        Error::usage(format!(
            "cannot run `{} {}`: {e}; install Vagrant or point ECSFLEET_VAGRANT at it",
            PathBuf::from(&program).display(),
            args.join(" ")
        ))
    })?;
    if !output.status.success() {
        let ruler = "-".repeat(60);
        return Err(Error::usage(format!(
            "`vagrant {}` failed ({}):\n{ruler}\n{}\n{ruler}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The machines `vagrant ssh-config` describes. Without a name Vagrant
/// fails as a whole when one machine is not running: then ask `vagrant
/// status` which ones are, and describe those.
fn running_machines(machine: Option<&str>) -> Result<Vec<Machine>> {
    let text = match machine {
        Some(name) => vagrant(&["ssh-config", name])?,
        None => match vagrant(&["ssh-config"]) {
            Ok(text) => text,
            Err(first) => {
                let status = vagrant(&["status", "--machine-readable"])?;
                let running = running_names(&status);
                if running.is_empty() {
                    return Err(first);
                }
                let mut text = String::new();
                for name in running {
                    text.push_str(&vagrant(&["ssh-config", &name])?);
                    text.push('\n');
                }
                text
            }
        },
    };
    ssh_config::parse(&text).map_err(|e| Error::usage(format!("`vagrant ssh-config`: {e}")))
}

/// Machine names whose state is `running`, from `vagrant status
/// --machine-readable` (`TIMESTAMP,TARGET,state,running`).
fn running_names(status: &str) -> Vec<String> {
    status
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().splitn(4, ',').collect();
            (fields.len() == 4 && fields[2] == "state" && fields[3] == "running")
                .then(|| fields[1].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_machines_from_machine_readable_status() {
        // As Vagrant 2.3 prints it for two machines, one halted.
        let status = "1764057600,ecs1,metadata,provider,virtualbox\n\
1764057600,ecs1,provider-name,virtualbox\n\
1764057600,ecs1,state,running\n\
1764057600,ecs1,state-human-short,running\n\
1764057600,ecs2,metadata,provider,virtualbox\n\
1764057600,ecs2,state,poweroff\n\
1764057600,ecs2,state-human-short,poweroff\n\
1764057600,,ui,info,Current machine states:\n";
        assert_eq!(running_names(status), ["ecs1"]);
    }

    #[test]
    fn sub_command_arguments_keep_their_defaults() {
        let args: crate::cmd::lifecycle::InstallArgs =
            parse(&["install", "box", "--yes", "--appliance-source", "/src"]).unwrap();
        assert_eq!(args.select.patterns, ["box"]);
        assert!(args.flags.yes);
        assert_eq!(args.branch, "master");
        assert_eq!(args.flags.forks, 50);
        assert!(parse::<crate::cmd::lifecycle::InstallArgs>(&["install", "--bogus"]).is_err());
    }
}
