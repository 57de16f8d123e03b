//! `ecsfleet status`: the fleet dashboard.

use clap::Args;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub select: Selection,
}

pub fn run(_args: StatusArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("status is not built yet"))
}
