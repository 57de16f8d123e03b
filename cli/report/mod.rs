//! Output to the operator: logging, errors, tables, JSON lines.
//!
//! Colors: only on a terminal, never with NO_COLOR set (no-color.org: any
//! non-empty value). clap's help and indicatif's bars (through `console`)
//! decide this themselves; the log writer is told here, and commands that
//! color table cells ask [`colors_on_stdout`].

use std::io::IsTerminal;

use crate::args::GlobalArgs;
use crate::error::Error;

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether stdout may carry ANSI colors.
pub fn colors_on_stdout() -> bool {
    !no_color() && std::io::stdout().is_terminal()
}

/// Whether stderr may carry ANSI colors.
pub fn colors_on_stderr() -> bool {
    !no_color() && std::io::stderr().is_terminal()
}

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
        // tracing-subscriber colors whenever NO_COLOR is unset, pipe or not.
        .with_ansi(colors_on_stderr())
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

/// Howard Hinnant's days-to-date for the proleptic Gregorian calendar: days
/// since 1970-01-01 to (year, month, day), for dates in file names and the
/// journal without a date crate.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_758), (2026, 11, 1));
    }
}
