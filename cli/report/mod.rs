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

/// A table in the one style every command uses.
pub fn table<const N: usize>(header: [&str; N]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header(header);
    table
}
