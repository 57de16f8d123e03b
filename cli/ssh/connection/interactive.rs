//! Interactive use of a [`Connection`]: a program on a pseudo-terminal that
//! follows the local terminal's size (`ecsfleet shell`, `ecsfleet ecs` on a
//! terminal), and direct-tcpip channels for local port forwarding
//! (`ecsfleet tunnel`). A child of `connection` so it can reach the handle
//! and wrap commands for `become` the same way `exec` does.
//!
//! The API takes and returns only std, tokio and `crate::ssh` types: callers
//! keep the terminal (raw mode, signals, stdin) and russh stays in here.

use russh::ChannelMsg;
use russh::ChannelReadHalf;
use tokio::sync::mpsc::Receiver;

use super::{Connection, ExitStatus, signal_name_of};
use crate::ssh::SshError;

impl Connection {
    /// Runs `command` (the login shell when `None`) on a pseudo-terminal of
    /// type `term` and `size` (columns, rows). Bytes from `input` go to the
    /// program (the channel closing sends EOF), each size from `sizes` is a
    /// window change, and everything the program prints goes to `output`.
    /// Returns when the remote side closes the session.
    pub async fn run_pty(
        &self,
        command: Option<&str>,
        term: &str,
        size: (u32, u32),
        mut input: Receiver<Vec<u8>>,
        mut sizes: Receiver<(u32, u32)>,
        output: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<ExitStatus, SshError> {
        let host = self.target.name.clone();
        let lost = |error: russh::Error| SshError::Lost {
            host: host.clone(),
            message: error.to_string(),
        };
        let channel = self.handle.channel_open_session().await.map_err(lost)?;
        let (mut read, write) = channel.split();
        write
            .request_pty(true, term, size.0, size.1, 0, 0, &[])
            .await
            .map_err(lost)?;
        expect_reply(&mut read, &host, "a pseudo-terminal").await?;
        let become_root = self.target.become_ && self.target.user != "root";
        match command {
            Some(command) => {
                let command = self.wrap_become(command);
                write.exec(true, command.as_bytes()).await.map_err(lost)?;
                expect_reply(&mut read, &host, "running the command").await?;
            }
            // A root login shell, as `become` promises.
            None if become_root => {
                write.exec(true, "sudo -n -i").await.map_err(lost)?;
                expect_reply(&mut read, &host, "a root shell (sudo -n -i)").await?;
            }
            None => {
                write.request_shell(true).await.map_err(lost)?;
                expect_reply(&mut read, &host, "a shell").await?;
            }
        }
        let mut status = ExitStatus::Unknown;
        let (mut input_open, mut sizes_open) = (true, true);
        loop {
            tokio::select! {
                message = read.wait() => match message {
                    Some(ChannelMsg::Data { data }) => output(&data),
                    Some(ChannelMsg::ExtendedData { data, .. }) => output(&data),
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        status = ExitStatus::Code(exit_status);
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, core_dumped, .. }) => {
                        status = ExitStatus::Signal {
                            name: signal_name_of(&signal_name),
                            core_dumped,
                        };
                    }
                    Some(_) => {}
                    None => break,
                },
                bytes = input.recv(), if input_open => match bytes {
                    Some(bytes) => write.data_bytes(bytes).await.map_err(lost)?,
                    None => {
                        input_open = false;
                        write.eof().await.map_err(lost)?;
                    }
                },
                size = sizes.recv(), if sizes_open => match size {
                    Some((cols, rows)) => write.window_change(cols, rows, 0, 0).await.map_err(lost)?,
                    None => sizes_open = false,
                },
            }
        }
        if status == ExitStatus::Unknown && self.handle.is_closed() {
            return Err(SshError::Lost {
                host: self.target.name.clone(),
                message: "the connection closed before the session ended".into(),
            });
        }
        Ok(status)
    }

    /// Whether the host can open a connection to `host:port` (it is closed
    /// again at once): a tunnel to a service that is not running says so up
    /// front instead of at the first browser request.
    pub async fn can_reach(&self, host: &str, port: u16) -> Result<(), SshError> {
        self.open_direct(host, port, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map(drop)
    }

    /// Forwards one local connection to `host:port` as the remote side
    /// resolves and reaches it (`localhost` there is the host's own), until
    /// either side closes. Returns the bytes sent and received.
    pub async fn forward(
        &self,
        mut local: tokio::net::TcpStream,
        host: &str,
        port: u16,
    ) -> Result<(u64, u64), SshError> {
        let from = local
            .peer_addr()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let mut remote = self.open_direct(host, port, from).await?.into_stream();
        tokio::io::copy_bidirectional(&mut local, &mut remote)
            .await
            .map_err(|error| {
                SshError::Command(format!(
                    "{}: forwarding to {host}:{port}: {error}",
                    self.target.name
                ))
            })
    }

    async fn open_direct(
        &self,
        host: &str,
        port: u16,
        from: std::net::SocketAddr,
    ) -> Result<russh::Channel<russh::client::Msg>, SshError> {
        self.handle
            .channel_open_direct_tcpip(
                host.to_owned(),
                u32::from(port),
                from.ip().to_string(),
                u32::from(from.port()),
            )
            .await
            .map_err(|error| match error {
                russh::Error::ChannelOpenFailure(reason) => SshError::Command(format!(
                    "{}: the host could not connect to {host}:{port} ({reason:?}); is the service running and enabled in the env?",
                    self.target.name
                )),
                other => SshError::Lost {
                    host: self.target.name.clone(),
                    message: other.to_string(),
                },
            })
    }
}

/// Waits for the server's answer to a request sent with `want_reply`.
async fn expect_reply(read: &mut ChannelReadHalf, host: &str, what: &str) -> Result<(), SshError> {
    loop {
        match read.wait().await {
            Some(ChannelMsg::Success) => return Ok(()),
            Some(ChannelMsg::Failure) => {
                return Err(SshError::Command(format!(
                    "{host}: the server refused {what}"
                )));
            }
            Some(_) => {}
            None => {
                return Err(SshError::Lost {
                    host: host.to_owned(),
                    message: format!("the channel closed while asking for {what}"),
                });
            }
        }
    }
}
