//! `ecsfleet restore`, `ecsfleet db recreate`, `ecsfleet backup fetch-dump`
//! (issue 5; not built yet).

use clap::{Args, Subcommand};

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The host (one inventory name)
    pub host: String,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Drop and recreate the ecs database
    Recreate {
        /// The host (one inventory name)
        host: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Fetch the latest database dump from the backup and download it
    FetchDump {
        /// The host (one inventory name)
        host: String,
    },
}

pub fn restore(_args: RestoreArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("restore: not built yet"))
}

pub fn db(_command: DbCommand, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("db: not built yet"))
}

pub fn backup(_command: BackupCommand, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("backup: not built yet"))
}
