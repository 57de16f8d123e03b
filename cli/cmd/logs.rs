//! `ecsfleet logs HOST [-u UNIT]... [-f] [-n N]`: the host's systemd journal
//! (everything the appliance does goes there), streamed as journalctl
//! prints it. Following ends with Ctrl-C (exit 0). `--json` asks journalctl
//! for its own JSON lines (`-o json`).

use std::io::Write as _;

use clap::Args;
use ecsfleet_playbooks::RemoteCommand;
use tokio::signal::unix::SignalKind;

use super::one_host::OneHost;
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::ssh::Stream;

#[derive(Debug, Args)]
#[command(
    after_help = "Units worth knowing: appliance, prepare-env, prepare-appliance, \
prepare-ecs, appliance-update, appliance-backup, nginx. Without -u the whole journal.

Examples:
  ecsfleet logs ecs-vienna -u appliance -n 100
  ecsfleet logs ecs-vienna -u appliance-update -f"
)]
pub struct LogsArgs {
    /// The host (one inventory name)
    pub host: String,
    /// Only this systemd unit (repeatable)
    #[arg(short = 'u', long = "unit", value_name = "UNIT")]
    pub units: Vec<String>,
    /// Keep printing new entries until Ctrl-C
    #[arg(short, long)]
    pub follow: bool,
    /// Only the last N entries
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<u32>,
}

/// `journalctl [-u UNIT]... [-f] [-n N] [-o json] --no-pager`.
fn journal_command(args: &LogsArgs, json: bool) -> RemoteCommand {
    let mut command = RemoteCommand::new("journalctl");
    for unit in &args.units {
        command = command.arg("-u").arg(unit);
    }
    if args.follow {
        command = command.arg("-f");
    }
    if let Some(n) = args.lines {
        command = command.arg("-n").arg(n.to_string());
    }
    if json {
        command = command.arg("-o").arg("json");
    }
    command.arg("--no-pager")
}

pub fn run(args: LogsArgs, global: &GlobalArgs) -> Result<Outcome> {
    if let Some(unit) = args
        .units
        .iter()
        .find(|u| u.is_empty() || u.starts_with('-'))
    {
        return Err(Error::usage(format!("-u `{unit}` is not a unit name")));
    }
    let host = OneHost::load(&args.host, global)?;
    let command = host.as_root(journal_command(&args, global.json));
    let line = command
        .try_to_shell()
        .map_err(|e| Error::usage(format!("-u: {e}")))?;
    crate::run::runtime().block_on(async {
        // Installed before the first line can appear, so Ctrl-C always ends
        // a follow cleanly.
        let mut interrupt = tokio::signal::unix::signal(SignalKind::interrupt())
            .map_err(|e| Error::io("installing the Ctrl-C handler", e))?;
        let connection = host.connect().await?;
        let mut stdout = std::io::stdout();
        let mut stderr = std::io::stderr();
        let mut sink = |stream: Stream, data: &[u8]| {
            // A closed stdout (`| head`) ends the run below via the error.
            let _ = match stream {
                Stream::Stdout => stdout.write_all(data).and_then(|()| stdout.flush()),
                Stream::Stderr => stderr.write_all(data),
            };
        };
        let result = tokio::select! {
            status = connection.exec_streaming(&line, None, &mut sink) => Some(status),
            _ = interrupt.recv() => None,
        };
        connection.close().await;
        match result {
            None => Ok(Outcome::Success),
            Some(Ok(status)) if status.success() => Ok(Outcome::Success),
            Some(Ok(status)) => Err(host.error(format!("`{command}` failed ({status})"))),
            Some(Err(e)) => Err(host.error(e.to_string())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(units: &[&str], follow: bool, lines: Option<u32>) -> LogsArgs {
        LogsArgs {
            host: "h".into(),
            units: units.iter().map(|u| u.to_string()).collect(),
            follow,
            lines,
        }
    }

    #[test]
    fn journal_commands() {
        assert_eq!(
            journal_command(&args(&[], false, None), false).to_shell(),
            "journalctl --no-pager"
        );
        assert_eq!(
            journal_command(&args(&["appliance", "nginx"], true, Some(50)), false).to_shell(),
            "journalctl -u appliance -u nginx -f -n 50 --no-pager"
        );
        assert_eq!(
            journal_command(&args(&["a b;c"], false, Some(1)), true).to_shell(),
            "journalctl -u 'a b;c' -n 1 -o json --no-pager"
        );
    }
}
