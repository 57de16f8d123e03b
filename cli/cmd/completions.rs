//! `ecsfleet completions SHELL` and `ecsfleet man` (issue 6; not built yet).

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh or fish
    pub shell: String,
}

#[derive(Debug, Args)]
pub struct ManArgs {}

pub fn completions(_args: CompletionsArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("completions: not built yet"))
}

pub fn man(_args: ManArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("man: not built yet"))
}
