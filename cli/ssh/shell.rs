//! [`Shell`]: one channel running the session driver
//! (`ecsfleet_playbooks::session`), through which a host's commands run one
//! after another without a channel, a fork of sshd and a login shell each.
//! The protocol is data in the playbooks crate; this file only moves its
//! bytes over russh.
//!
//! A command abandoned half-way (a timeout, Ctrl-C: its future dropped)
//! leaves the shell busy; the owner then discards it (EOF and close, so the
//! driver ends once that command does) and starts a new one.

use std::time::Duration;

use ecsfleet_playbooks::session::{self, Frames, Kind};
use rand::Rng;
use russh::client::Msg;
use russh::{Channel, ChannelMsg};

use super::connection::{Connection, ExitStatus, Stream};
use super::error::SshError;

pub struct Shell {
    channel: Channel<Msg>,
    stdout: Frames,
    stderr: Frames,
    /// A command was sent and its end not yet read.
    busy: bool,
    /// The channel closed: the driver is gone.
    closed: bool,
    /// The driver's own exit, if it ended.
    exit: Option<ExitStatus>,
}

/// Why [`Shell::run`] did not run the command.
pub enum ShellError {
    /// The driver never said it was ready (a login shell that is not
    /// POSIX, a missing `head`): nothing ran; use a channel per command.
    Unavailable(String),
    /// Anything else, as for a channel of its own.
    Ssh(SshError),
}

impl From<ShellError> for SshError {
    /// For callers without a fallback: an unavailable shell is an error.
    fn from(error: ShellError) -> SshError {
        match error {
            ShellError::Ssh(error) => error,
            ShellError::Unavailable(why) => SshError::Command(why),
        }
    }
}

impl Shell {
    /// Opens the channel and starts the driver; the first command can be
    /// sent at once (the greeting is read with its output).
    pub async fn start(connection: &Connection) -> Result<Shell, SshError> {
        let marker = format!("ecsfleet-{:032x}", rand::thread_rng().r#gen::<u128>());
        let channel = connection.open_channel(session::DRIVER).await?;
        channel
            .data_bytes(session::greeting(&marker))
            .await
            .map_err(|e| connection.lost(e))?;
        Ok(Shell {
            channel,
            stdout: Frames::new(Kind::Stdout, &marker),
            stderr: Frames::new(Kind::Stderr, &marker),
            busy: false,
            closed: false,
            exit: None,
        })
    }

    /// Ready for another command: not left busy, not closed.
    pub fn usable(&self) -> bool {
        !self.busy && !self.closed
    }

    /// Runs `command` like [`Connection::exec_streaming`] would.
    pub async fn run(
        &mut self,
        connection: &Connection,
        command: &str,
        stdin: Option<&[u8]>,
        sink: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExitStatus, ShellError> {
        let stdin = stdin.unwrap_or_default();
        self.busy = true;
        self.stdout.next_command();
        self.stderr.next_command();
        let lost = |e| ShellError::Ssh(connection.lost(e));
        self.channel
            .data_bytes(session::request(command, stdin.len()))
            .await
            .map_err(lost)?;
        connection
            .send_racing_close(&self.channel, stdin)
            .await
            .map_err(ShellError::Ssh)?;
        let mut status = None;
        while !(self.stdout.is_done() && self.stderr.is_done()) {
            let Some(message) = self.channel.wait().await else {
                self.closed = true;
                return Err(self.ended(connection));
            };
            match message {
                ChannelMsg::Data { data } => {
                    if let Some(code) = self
                        .stdout
                        .feed(&data, &mut |bytes| sink(Stream::Stdout, bytes))
                    {
                        status = Some(code);
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    self.stderr
                        .feed(&data, &mut |bytes| sink(Stream::Stderr, bytes));
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    self.exit = Some(ExitStatus::Code(exit_status));
                }
                ChannelMsg::ExitSignal {
                    signal_name,
                    core_dumped,
                    ..
                } => {
                    self.exit = Some(ExitStatus::Signal {
                        name: super::connection::signal_name_of(&signal_name),
                        core_dumped,
                    });
                }
                ChannelMsg::Eof | ChannelMsg::Close => self.closed = true,
                _ => {}
            }
        }
        self.busy = false;
        Ok(ExitStatus::Code(status.unwrap_or(255)))
    }

    /// The channel closed before the command's end mark.
    fn ended(&self, connection: &Connection) -> ShellError {
        if !self.stdout.is_ready() {
            return ShellError::Unavailable(match &self.exit {
                Some(status) => format!("the session shell did not start ({status})"),
                None => "the session shell did not start".into(),
            });
        }
        if connection.is_closed() {
            return ShellError::Ssh(SshError::Lost {
                host: connection.target.name.clone(),
                message: "the connection closed before the command finished".into(),
            });
        }
        ShellError::Ssh(SshError::Lost {
            host: connection.target.name.clone(),
            message: format!(
                "the session shell ended before the command finished ({})",
                self.exit.clone().unwrap_or(ExitStatus::Unknown)
            ),
        })
    }

    /// Ends an idle driver cleanly: EOF, then its exit is awaited (bounded),
    /// so sshd reaps it before the connection goes and the host's process
    /// accounting sees it.
    pub async fn finish(mut self) {
        if !self.usable() {
            return self.discard();
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            if self.channel.eof().await.is_ok() {
                while self.channel.wait().await.is_some() {}
            }
        })
        .await;
    }

    /// Ends the driver: EOF lets it finish the command in flight and exit,
    /// the close tells sshd we read nothing more. In the background, with
    /// a bound: the connection may be dead already.
    pub fn discard(self) {
        let channel = self.channel;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                let _ = channel.eof().await;
                let _ = channel.close().await;
            })
            .await;
        });
    }
}
