//! Integration tests for issue 6 (operator experience): `check` against a
//! lab host, `vagrant inventory` through a `vagrant` stand-in, `vagrant
//! validate` of vagrant/Vagrantfile, completions, the man page, and no color
//! in pipes or with NO_COLOR. (`vagrant provision` runs install: its tests
//! are in tests/twin/vagrant.rs.)
//!
//! Lab hosts 90..=109 belong to this module.

mod check;
mod conventions;
mod vagrant;

use std::process::Output;

use serde_json::Value;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn show(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

pub fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The byte that starts every ANSI escape sequence.
pub const ESC: u8 = 0x1b;
