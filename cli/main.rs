//! ecsfleet: install, configure, update and repair a fleet of ECS appliances over SSH.
//!
//! `main` only parses the command line, runs the command and maps the outcome to
//! an exit code; everything else lives in the modules below.

mod args;
mod cmd;
mod error;
mod fleet;
mod lab;
mod report;
mod run;
mod ssh;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    report::init_logging(&cli.global);
    match cmd::dispatch(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            report::print_error(&error);
            error.exit_code().into()
        }
    }
}
