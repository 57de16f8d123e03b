//! Maps a parsed command line to the code that carries it out.

pub mod env;
pub mod exec;
pub mod hosts;
pub mod init;
pub mod size;
pub mod trust;

use crate::args::{Cli, Command};
use crate::error::{Outcome, Result};

pub fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Lab(command) => crate::lab::run(command, &cli.global),
        Command::Env(command) => env::run(command, &cli.global),
        Command::Init(args) => init::run(args, &cli.global),
        Command::Size(args) => size::run(args, &cli.global),
        Command::Hosts { patterns } => hosts::run(patterns, &cli.global),
        Command::Trust { select, yes } => trust::run(select, yes, &cli.global),
        Command::Exec {
            select,
            forks,
            command,
        } => exec::run(select, forks, command, &cli.global),
    }
}
