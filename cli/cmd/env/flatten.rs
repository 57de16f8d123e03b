//! `ecsfleet env flatten`: the appliance's flatyaml, on the workstation.
//! The output holds the env's secrets by design: the operator asked for it.

use std::path::PathBuf;

use clap::Args;
use ecsfleet_env::FlattenOptions;

use super::{print_stdout, read_text};
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct FlattenArgs {
    /// The env.yml (or any YAML file) to flatten
    pub file: PathBuf,
    /// Comma-separated top-level keys to flatten under, in this order
    /// (`ecs,appliance` gives ECS_* then APPLIANCE_* lines); `.` is the whole
    /// document
    #[arg(default_value = ".")]
    pub roots: String,
    /// Printed before each line (e.g. 'export ')
    #[arg(long, default_value = "", hide_default_value = true)]
    pub prefix: String,
    /// Printed after each value
    #[arg(long, default_value = "", hide_default_value = true)]
    pub postfix: String,
    /// Joins key parts
    #[arg(long, default_value = "_")]
    pub combine: String,
    /// Between key and value
    #[arg(long, default_value = "=")]
    pub assign: String,
}

pub fn run(args: FlattenArgs, global: &GlobalArgs) -> Result<Outcome> {
    let text = read_text(&args.file)?;
    let options = FlattenOptions {
        prefix: args.prefix,
        postfix: args.postfix,
        combine: args.combine,
        assign: args.assign,
    };
    let flattened = ecsfleet_env::flatten_text(&text, &args.roots, &options)
        .map_err(|e| Error::usage(format!("{}:{e}", args.file.display())))?;
    // flatyaml reports a missing root on stderr and goes on (exit 0).
    for message in flattened.missing_messages() {
        eprintln!("{message}");
    }
    let out = if global.json {
        flattened
            .pairs
            .iter()
            .map(|(key, value)| format!("{}\n", serde_json::json!({ "key": key, "value": value })))
            .collect()
    } else {
        flattened.render(&options)
    };
    print_stdout(&out)?;
    Ok(Outcome::Success)
}
