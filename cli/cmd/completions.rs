//! `ecsfleet completions SHELL` and `ecsfleet man`: shell completions and
//! manual pages generated from the clap definitions at run time, so they
//! never drift from the binary that prints them.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::args::{Cli, GlobalArgs};
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
#[command(after_help = "Example:
  ecsfleet completions bash > /etc/bash_completion.d/ecsfleet
  ecsfleet completions zsh > \"${fpath[1]}/_ecsfleet\"
  ecsfleet completions fish > ~/.config/fish/completions/ecsfleet.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:
  ecsfleet man | man -l -
  ecsfleet man --dir /usr/local/share/man/man1    (ecsfleet.1 and one page per subcommand)")]
pub struct ManArgs {
    /// Write ecsfleet.1 and ecsfleet-SUBCOMMAND.1 pages into DIR instead of
    /// printing the main page
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs, _global: &GlobalArgs) -> Result<Outcome> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ecsfleet", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs, global: &GlobalArgs) -> Result<Outcome> {
    let command = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            clap_mangen::generate_to(command, &dir)
                .map_err(|e| Error::io(format!("cannot write pages into {}", dir.display()), e))?;
            if global.json {
                println!("{}", serde_json::json!({"dir": dir.display().to_string()}));
            } else if !global.quiet {
                println!("manual pages written to {}", dir.display());
            }
            Ok(Outcome::Success)
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(|e| Error::io("cannot render the manual page", e))?;
            write_stdout(&out)
        }
    }
}

/// A closed pipe (`| head`) is not an error worth a message.
fn write_stdout(bytes: &[u8]) -> Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(Outcome::Success),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Success),
        Err(e) => Err(Error::io("cannot write to stdout", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaf commands whose files belong to work still in progress (stubs
    /// without an example yet); the lead's list to shrink, not to grow.
    const PENDING: &[&str] = &[];

    /// Every leaf subcommand as its path (`vagrant provision`) with its
    /// after_help text.
    fn leaves(command: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        let subs: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            let help = command
                .get_after_help()
                .or(command.get_after_long_help())
                .map(|s| s.to_string())
                .unwrap_or_default();
            out.push((path.to_owned(), help));
        }
        for sub in subs {
            leaves(sub, format!("{path} {}", sub.get_name()).trim(), out);
        }
    }

    #[test]
    fn every_leaf_command_has_an_example_in_its_help() {
        let mut all = Vec::new();
        leaves(&Cli::command(), "", &mut all);
        assert!(all.iter().any(|(p, _)| p == "vagrant provision"));
        assert!(all.len() > 30, "{all:?}");
        let missing: Vec<&str> = all
            .iter()
            .filter(|(path, help)| !help.contains("Example") && !PENDING.contains(&path.as_str()))
            .map(|(path, _)| path.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "no `Example` in the --help of: {}",
            missing.join(", ")
        );
    }

    #[test]
    fn completions_know_every_subcommand() {
        let mut command = Cli::command();
        let mut out = Vec::new();
        clap_complete::generate(Shell::Bash, &mut command, "ecsfleet", &mut out);
        let script = String::from_utf8(out).unwrap();
        for sub in Cli::command().get_subcommands() {
            assert!(
                script.contains(&format!("ecsfleet,{})", sub.get_name())),
                "{}",
                sub.get_name()
            );
        }
    }
}
