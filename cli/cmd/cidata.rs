//! `ecsfleet cidata` (not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct CidataArgs {
    /// The host (one inventory name)
    pub host: String,
}

pub fn run(_args: CidataArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("cidata: not built yet"))
}
