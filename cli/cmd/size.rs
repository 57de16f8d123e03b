//! `ecsfleet size`.

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};

#[derive(Debug, Args)]
pub struct SizeArgs {}

pub fn run(_args: SizeArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Ok(Outcome::Success)
}
