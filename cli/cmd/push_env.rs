//! `ecsfleet push-env`: check, show the masked diff, upload atomically.

use clap::Args;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct PushEnvArgs {
    #[command(flatten)]
    pub select: Selection,
}

pub fn run(_args: PushEnvArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("push-env is not built yet"))
}
