//! [`Transport`]: the whole contract between the executor and a host, on
//! one page: run a shell line (stdin in, output streamed out, exit status
//! back), reconnect after the host went away (a reboot), close. Uploads,
//! downloads, trees and locks are built on `exec` from command data
//! (`ecsfleet_playbooks::transfer`, [`super::tree`]), so the executor's
//! logic is tested with a fake transport and no SSH.
//!
//! [`SshTransport`] is the real one: a [`Connection`] plus what it needs to
//! open the next one.

use std::future::Future;

use crate::ssh::{Connection, ExitStatus, Options, SshError, Stream, Target};

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
}

impl SshTransport {
    pub async fn connect(target: Target, options: Options) -> Result<SshTransport, SshError> {
        let connection = Connection::open(&target, &options).await?;
        Ok(SshTransport {
            target,
            options,
            connection: Some(connection),
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
        connection.exec_streaming(command, stdin, sink).await
    }

    async fn reconnect(&mut self) -> Result<(), SshError> {
        if let Some(old) = self.connection.take() {
            // The old one is usually dead already; do not wait on it.
            drop(old);
        }
        let connection = Connection::open(&self.target, &self.options).await?;
        self.connection = Some(connection);
        Ok(())
    }

    async fn close(self) {
        if let Some(connection) = self.connection {
            connection.close().await;
        }
    }
}
