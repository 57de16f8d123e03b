//! The lab: a local fleet of simulated ECS appliances on real OpenSSH sshd.

use clap::Subcommand;

use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Show the lab's hosts
    Status,
}

pub fn run(command: LabCommand, _global: &GlobalArgs) -> Result<Outcome> {
    match command {
        LabCommand::Status => Ok(Outcome::Success),
    }
}
