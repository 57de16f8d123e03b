//! `ecsfleet check` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: CheckArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("check: not built yet"))
}
