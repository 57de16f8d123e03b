//! `ecsfleet logs` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: LogsArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("logs: not built yet"))
}
