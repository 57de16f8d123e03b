//! `ecsfleet init`.

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};

#[derive(Debug, Args)]
pub struct InitArgs {}

pub fn run(_args: InitArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Ok(Outcome::Success)
}
