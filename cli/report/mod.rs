//! Output to the operator: logging, errors, tables, JSON lines.

use crate::args::GlobalArgs;
use crate::error::Error;

pub fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ECSFLEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("ecsfleet={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

pub fn print_error(error: &Error) {
    eprintln!("error: {error}");
}
