//! [`Transport`]: the whole contract between the executor and a host, on
//! one page: run a shell line (stdin in, output streamed out, exit status
//! back), reconnect after the host went away (a reboot), close. Uploads,
//! downloads, trees and locks are built on `exec` from command data
//! (`ecsfleet_playbooks::transfer`, [`super::tree`]), so the executor's
//! logic is tested with a fake transport and no SSH.
//!
//! [`SshTransport`] is the real one: a [`Connection`] plus what it needs to
//! open the next one, and the host's session shell ([`Shell`]): every
//! `exec` goes to that one channel, started with the first command, replaced
//! when a command was abandoned half-way (timeout, Ctrl-C), dropped with a
//! lost connection. A host whose login shell cannot run it (or
//! `--channel-per-command`) gets a channel per command instead.

use std::future::Future;

use crate::ssh::{Connection, ExitStatus, Options, Shell, ShellError, SshError, Stream, Target};

pub type Sink<'a> = &'a mut (dyn FnMut(Stream, &[u8]) + Send);

pub trait Transport: Send {
    /// Runs `command` (a line for the remote shell); `stdin` is sent, then EOF.
    fn exec(
        &mut self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: Sink<'_>,
    ) -> impl Future<Output = Result<ExitStatus, SshError>> + Send;

    /// Drops the current connection and opens a new one (one attempt).
    fn reconnect(&mut self) -> impl Future<Output = Result<(), SshError>> + Send;

    fn close(self) -> impl Future<Output = ()> + Send;
}

pub struct SshTransport {
    target: Target,
    options: Options,
    connection: Option<Connection>,
    /// The session shell commands go to (started with the first one).
    shell: Option<Shell>,
    /// The host cannot run the session shell: a channel per command.
    channel_per_command: bool,
}

impl SshTransport {
    pub async fn connect(target: Target, options: Options) -> Result<SshTransport, SshError> {
        let connection = Connection::open(&target, &options).await?;
        let channel_per_command = !options.session_shell;
        Ok(SshTransport {
            target,
            options,
            connection: Some(connection),
            shell: None,
            channel_per_command,
        })
    }

    fn lost(&self) -> SshError {
        SshError::Lost {
            host: self.target.name.clone(),
            message: "not connected".into(),
        }
    }
}

impl Transport for SshTransport {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: Sink<'_>,
    ) -> Result<ExitStatus, SshError> {
        let connection = match &self.connection {
            Some(c) if !c.is_closed() => c,
            _ => return Err(self.lost()),
        };
        if self.channel_per_command {
            return connection.exec_streaming(command, stdin, sink).await;
        }
        // Left busy by an abandoned command (timeout, Ctrl-C), or gone.
        if let Some(shell) = self.shell.take_if(|shell| !shell.usable()) {
            shell.discard();
        }
        let shell = match &mut self.shell {
            Some(shell) => shell,
            None => self.shell.insert(Shell::start(connection).await?),
        };
        match shell.run(connection, command, stdin, sink).await {
            Ok(status) => Ok(status),
            Err(ShellError::Ssh(error)) => Err(error),
            Err(ShellError::Unavailable(why)) => {
                tracing::info!("{}: {why}; using a channel per command", self.target.name);
                self.shell = None;
                self.channel_per_command = true;
                connection.exec_streaming(command, stdin, sink).await
            }
        }
    }

    async fn reconnect(&mut self) -> Result<(), SshError> {
        self.shell = None;
        if let Some(old) = self.connection.take() {
            // The old one is usually dead already; do not wait on it.
            drop(old);
        }
        let connection = Connection::open(&self.target, &self.options).await?;
        self.connection = Some(connection);
        Ok(())
    }

    async fn close(self) {
        if let Some(shell) = self.shell {
            shell.finish().await;
        }
        if let Some(connection) = self.connection {
            connection.close().await;
        }
    }
}
