//! `ecsfleet stats` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: StatsArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("stats: not built yet"))
}
