//! `ecsfleet ecs` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct EcsArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: EcsArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("ecs: not built yet"))
}
