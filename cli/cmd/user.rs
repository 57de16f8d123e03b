//! `ecsfleet user create` and `ecsfleet cert create`.

use clap::Subcommand;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create (or update) an internal ECS user
    Create { host: String },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a client certificate and mail it to the user
    Create { host: String },
}

pub fn user(_command: UserCommand, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("user create is not built yet"))
}

pub fn cert(_command: CertCommand, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("cert create is not built yet"))
}
