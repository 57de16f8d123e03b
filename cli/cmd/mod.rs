//! Maps a parsed command line to the code that carries it out.

pub mod check;
pub mod cidata;
pub mod completions;
pub mod copy;
pub mod disaster;
pub mod ecs;
pub mod env;
pub mod env_diff;
pub mod exec;
pub mod hosts;
pub mod init;
pub mod lifecycle;
pub mod logs;
pub mod one_host;
pub mod push_env;
pub mod run;
pub mod shell;
pub mod size;
pub mod stats;
pub mod status;
pub mod trust;
pub mod tunnel;
pub mod user;
pub mod vagrant;

use crate::args::{Cli, Command};
use crate::error::{Outcome, Result};

pub fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Lab(command) => crate::lab::run(command, &cli.global),
        Command::Env(command) => env::run(command, &cli.global),
        Command::Init(args) => init::run(args, &cli.global),
        Command::Size(args) => size::run(args, &cli.global),
        Command::Run(args) => run::run(args, &cli.global),
        Command::Install(args) => lifecycle::install(args, &cli.global),
        Command::Activate(args) => lifecycle::activate(args, &cli.global),
        Command::Update(args) => lifecycle::update(args, &cli.global),
        Command::Start(args) => lifecycle::operate("start", args, &cli.global),
        Command::Stop(args) => lifecycle::operate("stop", args, &cli.global),
        Command::Restart(args) => lifecycle::operate("restart", args, &cli.global),
        Command::Recover(args) => lifecycle::operate("recover", args, &cli.global),
        Command::PushEnv(args) => push_env::run(args, &cli.global),
        Command::Status(args) => status::run(args, &cli.global),
        Command::User(command) => user::user(command, &cli.global),
        Command::Cert(command) => user::cert(command, &cli.global),
        Command::Restore(args) => disaster::restore(args, &cli.global),
        Command::Db(command) => disaster::db(command, &cli.global),
        Command::Backup(command) => disaster::backup(command, &cli.global),
        Command::Logs(args) => logs::run(args, &cli.global),
        Command::Tunnel(args) => tunnel::run(args, &cli.global),
        Command::Shell(args) => shell::run(args, &cli.global),
        Command::Ecs(args) => ecs::run(args, &cli.global),
        Command::Stats(args) => stats::run(args, &cli.global),
        Command::Check(args) => check::run(args, &cli.global),
        Command::Vagrant(command) => vagrant::run(command, &cli.global),
        Command::Cidata(args) => cidata::run(args, &cli.global),
        Command::Completions(args) => completions::completions(args, &cli.global),
        Command::Man(args) => completions::man(args, &cli.global),
        Command::Hosts { patterns } => hosts::run(patterns, &cli.global),
        Command::Trust { select, yes } => trust::run(select, yes, &cli.global),
        Command::Exec {
            select,
            forks,
            stdin,
            command,
        } => exec::run(select, forks, stdin, command, &cli.global),
        Command::Copy {
            select,
            source,
            dest,
            mode,
            owner,
            forks,
        } => copy::run(select, source, dest, &mode, owner, forks, &cli.global),
    }
}
