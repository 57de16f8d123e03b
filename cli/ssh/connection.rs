//! One SSH connection to one host, reused for every command: connect (with a
//! timeout, a handshake budget shared by all hosts, jittered retries of
//! handshakes that sshd dropped, and ProxyJump), then exec and transfer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsfleet_inventory::{KnownHosts, Verdict};
use ecsfleet_playbooks::transfer::{UPLOAD_INCOMPLETE, UploadSpec, upload_command};
use rand::Rng;
use russh::client::{self, Handle, Msg};
use russh::{Channel, ChannelMsg};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

mod interactive;
use super::auth::authenticate;
use super::error::SshError;
use super::handler::Client;
use super::target::Target;

/// Settings shared by every connection of a run.
#[derive(Clone)]
pub struct Options {
    pub connect_timeout: Duration,
    pub known_hosts: Arc<KnownHosts>,
    /// Unauthenticated handshakes in flight at once, over all hosts. OpenSSH's
    /// default `MaxStartups 10:30:100` starts dropping beyond 10.
    pub handshakes: Arc<Semaphore>,
    pub kex: Vec<russh::kex::Name>,
    pub retries: u32,
    /// Playbook runs send their commands to one session shell per host
    /// (see `ecsfleet_playbooks::session`) rather than a channel each.
    pub session_shell: bool,
}

impl Options {
    pub fn new(connect_timeout: Duration, known_hosts: KnownHosts) -> Options {
        Options {
            connect_timeout,
            known_hosts: Arc::new(known_hosts),
            handshakes: Arc::new(Semaphore::new(8)),
            kex: default_kex(),
            retries: 6,
            session_shell: true,
        }
    }

    fn config(&self) -> Arc<client::Config> {
        Arc::new(client::Config {
            preferred: russh::Preferred {
                kex: self.kex.clone().into(),
                ..Default::default()
            },
            keepalive_interval: Some(Duration::from_secs(20)),
            keepalive_max: 3,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        })
    }
}

/// curve25519-sha256 first: on a 2-core workstation talking to 50 hosts the
/// key exchange dominates, and the post-quantum hybrid costs ~3x the CPU.
/// `--kex mlkem768x25519-sha256,...` puts the hybrid first where wanted.
pub fn default_kex() -> Vec<russh::kex::Name> {
    vec![
        russh::kex::CURVE25519,
        russh::kex::CURVE25519_PRE_RFC_8731,
        russh::kex::MLKEM768X25519_SHA256,
        russh::kex::DH_G16_SHA512,
        russh::kex::DH_G14_SHA256,
        russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
        russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    ]
}

pub fn parse_kex(list: &str) -> Result<Vec<russh::kex::Name>, String> {
    let mut names = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = russh::kex::ALL_KEX_ALGORITHMS
            .iter()
            .find(|name| name.as_ref() == item)
            .ok_or_else(|| {
                let known: Vec<&str> = russh::kex::ALL_KEX_ALGORITHMS
                    .iter()
                    .map(|n| n.as_ref())
                    .filter(|n| !n.starts_with("ext-info") && !n.starts_with("kex-strict"))
                    .collect();
                format!("unknown key exchange `{item}`; known: {}", known.join(", "))
            })?;
        names.push(**name);
    }
    if names.is_empty() {
        return Err("--kex needs at least one algorithm".into());
    }
    names.push(russh::kex::EXTENSION_SUPPORT_AS_CLIENT);
    names.push(russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT);
    Ok(names)
}

/// Which of the two output streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    Code(u32),
    Signal {
        name: String,
        core_dumped: bool,
    },
    /// The channel closed without an exit status (e.g. sshd died).
    Unknown,
}

impl ExitStatus {
    pub fn success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            ExitStatus::Code(code) => Some(*code),
            _ => None,
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit {code}"),
            ExitStatus::Signal { name, core_dumped } => {
                write!(f, "killed by signal {name}")?;
                if *core_dumped {
                    write!(f, " (core dumped)")?;
                }
                Ok(())
            }
            ExitStatus::Unknown => write!(f, "no exit status (connection lost?)"),
        }
    }
}

/// Collected output of a command.
#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatus,
}

pub struct Connection {
    handle: Handle<Client>,
    pub target: Target,
    // Kept so the tunnel through the jump host lives as long as we do.
    _jump: Option<Box<Connection>>,
}

impl Connection {
    /// Opens and authenticates a connection, through the jump host if any.
    pub async fn open(target: &Target, options: &Options) -> Result<Connection, SshError> {
        Box::pin(Connection::open_inner(target, options)).await
    }

    /// Connects only far enough to see the host key; never authenticates.
    pub async fn fetch_host_key(
        target: &Target,
        options: &Options,
    ) -> Result<(ecsfleet_inventory::HostKey, Verdict), SshError> {
        let jump = match &target.jump {
            Some(jump) => Some(Box::new(Connection::open(jump, options).await?)),
            None => None,
        };
        let (client, seen) = Client::new(options.known_hosts.clone(), target, true);
        let result = handshake(target, options, client, jump.as_deref()).await;
        let outcome = seen.lock().expect("host key slot").take();
        match (outcome, result) {
            (Some(outcome), _) => Ok(outcome),
            (None, Err(error)) => Err(error),
            (None, Ok(_)) => Err(SshError::Handshake {
                host: target.display_address(),
                message: "the server sent no host key".into(),
            }),
        }
    }

    async fn open_inner(target: &Target, options: &Options) -> Result<Connection, SshError> {
        let jump = match &target.jump {
            Some(jump) => Some(Box::new(Connection::open(jump, options).await.map_err(
                |error| match error {
                    SshError::UnknownHostKey { .. }
                    | SshError::ChangedHostKey { .. }
                    | SshError::RevokedHostKey { .. } => error,
                    other => SshError::Jump {
                        jump: jump.name.clone(),
                        host: target.name.clone(),
                        message: other.to_string(),
                    },
                },
            )?)),
            None => None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (client, seen) = Client::new(options.known_hosts.clone(), target, false);
            let result = handshake(target, options, client, jump.as_deref()).await;
            let result = match result {
                Ok(handle) => Ok(handle),
                Err(error) => Err(explain_refusal(target, &seen).unwrap_or(error)),
            };
            match result {
                Ok(mut handle) => {
                    authenticate(&mut handle, target).await?;
                    return Ok(Connection {
                        handle,
                        target: target.clone(),
                        _jump: jump,
                    });
                }
                Err(error) if error.is_retryable() && attempt <= options.retries => {
                    let backoff = 100u64 * (1 << attempt.min(5));
                    let jitter = rand::thread_rng().gen_range(0..backoff);
                    tracing::info!(
                        "{}: handshake dropped ({error}); retry {attempt} in {} ms",
                        target.name,
                        backoff + jitter
                    );
                    tokio::time::sleep(Duration::from_millis(backoff + jitter)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs `command` (a shell command line) and streams its output to `sink`
    /// as it arrives. `stdin` is sent as channel data followed by EOF, so
    /// secrets never appear in a command line.
    pub async fn exec_streaming(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<ExitStatus, SshError> {
        let lost = |error| self.lost(error);
        let mut channel = self.open_channel(command).await?;
        if let Some(data) = stdin {
            self.send_racing_close(&channel, data).await?;
        }
        channel.eof().await.map_err(lost)?;
        let mut status = ExitStatus::Unknown;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => sink(Stream::Stdout, &data),
                ChannelMsg::ExtendedData { data, ext: 1 } => sink(Stream::Stderr, &data),
                ChannelMsg::ExitStatus { exit_status } => status = ExitStatus::Code(exit_status),
                ChannelMsg::ExitSignal {
                    signal_name,
                    core_dumped,
                    ..
                } => {
                    status = ExitStatus::Signal {
                        name: signal_name_of(&signal_name),
                        core_dumped,
                    }
                }
                _ => {}
            }
        }
        if status == ExitStatus::Unknown && self.handle.is_closed() {
            return Err(SshError::Lost {
                host: self.target.name.clone(),
                message: "the connection closed before the command finished".into(),
            });
        }
        Ok(status)
    }

    /// A session channel running `command` (through sudo for `become`).
    pub(super) async fn open_channel(&self, command: &str) -> Result<Channel<Msg>, SshError> {
        let command = self.wrap_become(command);
        let channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(|e| self.lost(e))?;
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|e| self.lost(e))?;
        Ok(channel)
    }

    /// Sends `data` on `channel` in chunks, racing the connection's death:
    /// a write waiting for window space would otherwise wait forever on a
    /// dead peer.
    pub(super) async fn send_racing_close(
        &self,
        channel: &Channel<Msg>,
        data: &[u8],
    ) -> Result<(), SshError> {
        for chunk in data.chunks(256 * 1024) {
            tokio::select! {
                sent = channel.data_bytes(chunk.to_vec()) => sent.map_err(|e| self.lost(e))?,
                () = closed(&self.handle) => {
                    return Err(SshError::Lost {
                        host: self.target.name.clone(),
                        message: "the connection closed while sending input".into(),
                    });
                }
            }
        }
        Ok(())
    }

    pub(super) fn lost(&self, error: russh::Error) -> SshError {
        SshError::Lost {
            host: self.target.name.clone(),
            message: error.to_string(),
        }
    }

    pub async fn exec(&self, command: &str, stdin: Option<&[u8]>) -> Result<Output, SshError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .exec_streaming(command, stdin, &mut |stream, data| match stream {
                Stream::Stdout => stdout.extend_from_slice(data),
                Stream::Stderr => stderr.extend_from_slice(data),
            })
            .await?;
        Ok(Output {
            stdout,
            stderr,
            status,
        })
    }

    /// Writes `content` to `dest` atomically: a temp file in the same
    /// directory with the final mode set before any content, checked by length
    /// and sha256, then renamed. A cut-off transfer leaves the old file.
    pub async fn upload(
        &self,
        dest: &str,
        content: &[u8],
        mode: u32,
        owner: Option<&str>,
    ) -> Result<(), SshError> {
        let spec = UploadSpec {
            dest: dest.to_string(),
            mode,
            owner: owner.map(str::to_string),
            group: None,
            len: content.len() as u64,
            sha256_hex: hex(&Sha256::digest(content)),
            make_parents: true,
        };
        let command =
            upload_command(&spec).map_err(|error| SshError::Command(error.to_string()))?;
        let output = self.exec(&command.to_shell(), Some(content)).await?;
        match output.status {
            ExitStatus::Code(0) => Ok(()),
            ExitStatus::Code(UPLOAD_INCOMPLETE) => Err(SshError::Command(format!(
                "upload to {dest} arrived incomplete; the old file is unchanged"
            ))),
            status => Err(SshError::Command(format!(
                "upload to {dest} failed ({status}): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))),
        }
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }

    fn wrap_become(&self, command: &str) -> String {
        if self.target.become_ && self.target.user != "root" {
            format!(
                "sudo -n -- sh -c {}",
                ecsfleet_playbooks::quote(command).unwrap_or_else(|_| "false".into())
            )
        } else {
            command.to_string()
        }
    }
}

async fn handshake(
    target: &Target,
    options: &Options,
    client: Client,
    jump: Option<&Connection>,
) -> Result<Handle<Client>, SshError> {
    let _permit = options
        .handshakes
        .acquire()
        .await
        .expect("handshake budget is never closed");
    let secs = options.connect_timeout.as_secs();
    let config = options.config();
    let fut = async {
        match jump {
            None => {
                let socket = tokio::net::TcpStream::connect((target.address.as_str(), target.port))
                    .await
                    .map_err(|source| SshError::Connect {
                        address: target.address.clone(),
                        port: target.port,
                        source,
                    })?;
                let _ = socket.set_nodelay(true);
                client::connect_stream(config, socket, client)
                    .await
                    .map_err(|error| handshake_error(target, error))
            }
            Some(jump) => {
                let channel = jump
                    .handle
                    .channel_open_direct_tcpip(
                        target.address.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|error| SshError::Jump {
                        jump: jump.target.name.clone(),
                        host: target.name.clone(),
                        message: format!("the jump host could not open a tunnel: {error}"),
                    })?;
                client::connect_stream(config, channel.into_stream(), client)
                    .await
                    .map_err(|error| handshake_error(target, error))
            }
        }
    };
    match tokio::time::timeout(options.connect_timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(SshError::Timeout {
            address: target.address.clone(),
            port: target.port,
            secs,
        }),
    }
}

fn handshake_error(target: &Target, error: russh::Error) -> SshError {
    match error {
        russh::Error::IO(source) => SshError::Connect {
            address: target.address.clone(),
            port: target.port,
            source,
        },
        refused @ russh::Error::NoCommonAlgo { .. } => SshError::Negotiation {
            host: target.display_address(),
            message: refused.to_string(),
        },
        other => SshError::Handshake {
            host: target.display_address(),
            message: other.to_string(),
        },
    }
}

/// Turns a refused host key into the message an operator needs.
fn explain_refusal(
    target: &Target,
    seen: &Mutex<Option<(ecsfleet_inventory::HostKey, Verdict)>>,
) -> Option<SshError> {
    let (key, verdict) = seen.lock().expect("host key slot").take()?;
    let host = target.display_address();
    match verdict {
        Verdict::Trusted => None,
        Verdict::Unknown => Some(SshError::UnknownHostKey {
            name: target.name.clone(),
            host,
            key,
        }),
        Verdict::Changed { known } => Some(SshError::ChangedHostKey {
            name: target.name.clone(),
            host,
            key,
            known: known
                .iter()
                .map(|(known, file, line)| format!("{known} ({}:{line})", file.display()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
        Verdict::Revoked { source, line } => Some(SshError::RevokedHostKey {
            host,
            key,
            source_file: source,
            line,
        }),
    }
}

async fn closed(handle: &Handle<Client>) {
    while !handle.is_closed() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) fn signal_name_of(sig: &russh::Sig) -> String {
    match sig {
        russh::Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
