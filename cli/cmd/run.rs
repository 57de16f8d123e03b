//! `ecsfleet run PLAYBOOK SELECT`: any playbook on selected hosts.

use clap::Args;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Playbook name (stock or the fleet's playbooks/NAME.yml) or path
    pub playbook: String,
    #[command(flatten)]
    pub select: Selection,
}

pub fn run(_args: RunArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("run is not built yet"))
}
