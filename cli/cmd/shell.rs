//! `ecsfleet shell` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: ShellArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("shell: not built yet"))
}
