//! `ecsfleet install|activate|update|start|stop|restart|recover`: the
//! appliance lifecycle, each a stock playbook run by the executor.

use clap::Args;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub select: Selection,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    #[command(flatten)]
    pub select: Selection,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub select: Selection,
}

#[derive(Debug, Args)]
pub struct OperateArgs {
    #[command(flatten)]
    pub select: Selection,
}

pub fn install(_args: InstallArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("install is not built yet"))
}

pub fn activate(_args: ActivateArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("activate is not built yet"))
}

pub fn update(_args: UpdateArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage("update is not built yet"))
}

pub fn operate(action: &str, _args: OperateArgs, _global: &GlobalArgs) -> Result<Outcome> {
    Err(Error::usage(format!("{action} is not built yet")))
}
