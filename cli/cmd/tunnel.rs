//! `ecsfleet tunnel` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct TunnelArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: TunnelArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("tunnel: not built yet"))
}
