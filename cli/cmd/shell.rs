//! `ecsfleet shell HOST [web|worker|beat|smtpd]`: an interactive shell on a
//! pseudo-terminal, on the host or, with the app's environment, in one of
//! its ECS containers (`docker exec -it CONTAINER /start run /bin/bash`, as
//! the manual does it). The local terminal is raw while the session runs
//! and restored on every way out; the exit status is the remote shell's.

pub mod terminal;

use std::io::Write as _;

use clap::{Args, ValueEnum};
use ecsfleet_playbooks::RemoteCommand;

use super::one_host::OneHost;
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::ssh::{Connection, ExitStatus};

#[derive(Debug, Args)]
#[command(
    after_help = "The shell runs on a pseudo-terminal that follows your terminal's size; \
Ctrl-C and every other key go to the remote side. The exit status is the remote shell's.

Examples:
  ecsfleet shell ecs-vienna            a root shell on the host
  ecsfleet shell ecs-vienna web        bash in ecs_ecs.web_1 with the app's environment"
)]
pub struct ShellArgs {
    /// The host (one inventory name)
    pub host: String,
    /// An ECS container instead of the host
    #[arg(value_enum)]
    pub container: Option<Container>,
}

/// The ECS containers that have the app's environment (`/start run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Container {
    Web,
    Worker,
    Beat,
    Smtpd,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Web => "ecs_ecs.web_1",
            Container::Worker => "ecs_ecs.worker_1",
            Container::Beat => "ecs_ecs.beat_1",
            Container::Smtpd => "ecs_ecs.smtpd_1",
        }
    }
}

/// `docker exec -it CONTAINER /start run /bin/bash`.
fn container_shell(container: Container) -> RemoteCommand {
    RemoteCommand::exec(
        "docker",
        [
            "exec",
            "-it",
            container.name(),
            "/start",
            "run",
            "/bin/bash",
        ],
    )
}

pub fn run(args: ShellArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !terminal::interactive() {
        return Err(Error::usage(
            "shell needs a terminal on stdin and stdout; for a command without one use \
`ecsfleet exec HOST -- CMD` or `ecsfleet ecs HOST -- ARGS`",
        ));
    }
    let host = OneHost::load(&args.host, global)?;
    let command = args
        .container
        .map(|c| host.as_root(container_shell(c)).to_shell());
    let status = crate::run::runtime().block_on(async {
        let connection = host.connect().await?;
        let status = session(&connection, command.as_deref()).await;
        connection.close().await;
        status.map_err(|message| host.error(message))
    })?;
    finish(&host.name, &status)
}

/// One PTY session with the local terminal raw around it.
pub async fn session(
    connection: &Connection,
    command: Option<&str>,
) -> std::result::Result<ExitStatus, String> {
    let raw = terminal::RawMode::enter()
        .map_err(|e| format!("cannot switch the terminal to raw mode: {e}"))?;
    let input = terminal::stdin_chunks();
    let sizes = terminal::size_changes();
    let mut stdout = std::io::stdout();
    let mut output = |data: &[u8]| {
        let _ = stdout.write_all(data).and_then(|()| stdout.flush());
    };
    let term = terminal::term();
    let result = tokio::select! {
        status = connection.run_pty(command, &term, terminal::size(), input, sizes, &mut output) => {
            status.map_err(|e| e.to_string())
        }
        signal = terminal::ended_by_signal() => Err(format!("the session ended by {signal}")),
    };
    drop(raw);
    result
}

/// Exits with the remote status, as a local shell would.
pub fn finish(host: &str, status: &ExitStatus) -> Result<Outcome> {
    match terminal::exit_code(status) {
        Some(0) => Ok(Outcome::Success),
        Some(code) => {
            let _ = std::io::stdout().flush();
            std::process::exit(code)
        }
        None => Err(Error::Host {
            host: host.to_owned(),
            message: format!("the session ended with {status}"),
        }),
    }
}
