//! Maps a parsed command line to the code that carries it out.

use crate::args::{Cli, Command};
use crate::error::{Outcome, Result};

pub fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Lab(command) => crate::lab::run(command, &cli.global),
        _ => Err(crate::error::Error::usage("not yet")),
    }
}
