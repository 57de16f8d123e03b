//! `ecsfleet vagrant provision|inventory` (issue 6; not built yet).

use clap::Subcommand;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Subcommand)]
pub enum VagrantCommand {
    /// Install the running Vagrant machine(s) with ecsfleet
    Provision {
        /// The Vagrant machine name (default: all running machines)
        machine: Option<String>,
    },
    /// Print inventory entries for the running Vagrant machines
    Inventory,
}

pub fn run(_command: VagrantCommand, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("vagrant: not built yet"))
}
