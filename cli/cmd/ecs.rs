//! `ecsfleet ecs HOST -- ARGS...`: `/start run ARGS` in the web container
//! (manage.py commands, celery calls), each argument passed as one word.
//! Without a terminal the command's stdout reaches ours byte for byte (the
//! ECS entrypoint's own lines in front of it dropped), so
//! `ecsfleet ecs h -- ./manage.py workflow_dot core.submission > s.dot`
//! works, and a piped stdin is sent to the command; on a terminal it runs on
//! a pseudo-terminal (`docker exec -it`) for shell_plus and friends. The exit
//! status is the command's, except that `manage.py shell` fed a script fails
//! when the script raised (the interactive shell itself exits 0).

use std::io::{IsTerminal as _, Read as _, Write as _};

use clap::Args;
use ecsfleet_playbooks::appliance;
use ecsfleet_playbooks::django_shell::{EntrypointFilter, ErrorWatch};

use super::one_host::OneHost;
use super::shell::{self, terminal};
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::ssh::Stream;

#[derive(Debug, Args)]
#[command(
    after_help = "Output is passed through unchanged and the exit status is the command's. \
On a terminal the command gets a pseudo-terminal (interactive shells work); \
with stdout redirected it gets none and the bytes arrive exactly as printed.

Examples:
  ecsfleet ecs ecs-vienna -- ./manage.py workflow_dot core.submission > submission.dot
  ecsfleet ecs ecs-vienna -- ./manage.py shell_plus
  ecsfleet ecs ecs-vienna -- ./manage.py shell < fix.py"
)]
pub struct EcsArgs {
    /// The host (one inventory name)
    pub host: String,
    /// Never allocate a pseudo-terminal, even on a terminal
    #[arg(short = 'T', long)]
    pub no_tty: bool,
    /// The command and its arguments, run by /start run in ecs_ecs.web_1
    #[arg(last = true, required = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

pub fn run(args: EcsArgs, global: &GlobalArgs) -> Result<Outcome> {
    let host = OneHost::load(&args.host, global)?;
    let tty = !args.no_tty && terminal::interactive();
    let command = host.as_root(appliance::ecs_run(args.args.iter(), tty));
    let line = command
        .try_to_shell()
        .map_err(|e| Error::usage(format!("ARGS: {e}")))?;
    // Only a pipe or file is read: a terminal stdin without a PTY would wait
    // for an EOF the operator does not know to type.
    let stdin = if !tty && !std::io::stdin().is_terminal() {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Error::io("reading stdin", e))?;
        Some(data)
    } else {
        None
    };
    let django_shell = args
        .args
        .windows(2)
        .any(|w| w[0].ends_with("manage.py") && (w[1] == "shell" || w[1] == "shell_plus"));
    let mut raised = None;
    let status = crate::run::runtime().block_on(async {
        let connection = host.connect().await?;
        let status = if tty {
            shell::session(&connection, Some(&line)).await
        } else {
            let mut stdout = std::io::stdout();
            let mut stderr = std::io::stderr();
            let mut failed_write = None;
            let mut filter = EntrypointFilter::default();
            let mut watch = ErrorWatch::default();
            let status = connection
                .exec_streaming(&line, stdin.as_deref(), &mut |stream, data| {
                    let written = match stream {
                        Stream::Stdout => {
                            let own = filter.feed(data);
                            watch.feed(&own);
                            stdout.write_all(&own)
                        }
                        Stream::Stderr => stderr.write_all(data),
                    };
                    if let Err(e) = written {
                        failed_write.get_or_insert(e);
                    }
                })
                .await
                .map_err(|e| e.to_string());
            let rest = filter.finish();
            watch.feed(&rest);
            watch.finish();
            if let Err(e) = stdout.write_all(&rest).and_then(|()| stdout.flush()) {
                failed_write.get_or_insert(e);
            }
            raised = watch.raised.take();
            match failed_write {
                Some(e) if status.is_ok() => Err(format!("writing the output: {e}")),
                _ => status,
            }
        };
        connection.close().await;
        status.map_err(|message| host.error(message))
    })?;
    if let (true, Some(error)) = (django_shell && !tty, raised)
        && terminal::exit_code(&status) == Some(0)
    {
        return Err(host.error(format!(
            "the script raised: {error} (manage.py shell itself exits 0 after an error; its output is above)"
        )));
    }
    shell::finish(&host.name, &status)
}
