//! Every way talking to a host can fail, each with what the operator should do.

use std::path::PathBuf;

use ecsfleet_inventory::HostKey;

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot connect to {address}:{port}: {source}")]
    Connect {
        address: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to {address}:{port} timed out after {secs} s (--connect-timeout)")]
    Timeout {
        address: String,
        port: u16,
        secs: u64,
    },
    #[error(
        "host key of {host} is not known: {key}\n  check the fingerprint, then pin it with `ecsfleet trust {name}`"
    )]
    UnknownHostKey {
        name: String,
        host: String,
        key: HostKey,
    },
    #[error(
        "HOST KEY OF {host} HAS CHANGED: it now presents {key}, but known_hosts has {known}\n  this may be an attack (someone in the middle); if the host was reinstalled, remove the old line and run `ecsfleet trust {name}`"
    )]
    ChangedHostKey {
        name: String,
        host: String,
        key: HostKey,
        known: String,
    },
    #[error("host key of {host} ({key}) is marked @revoked in {}:{line}; refusing to connect", source_file.display())]
    RevokedHostKey {
        host: String,
        key: HostKey,
        source_file: PathBuf,
        line: usize,
    },
    #[error(
        "authentication as {user}@{host} was rejected; tried {tried}; the server accepts: {accepts}"
    )]
    AuthRejected {
        user: String,
        host: String,
        tried: String,
        accepts: String,
    },
    #[error("cannot read identity {}: {message}", path.display())]
    Identity { path: PathBuf, message: String },
    #[error("SSH handshake with {host} failed: {message}")]
    Handshake { host: String, message: String },
    /// The two ends share no algorithm (key exchange, cipher, MAC, host key):
    /// asking again cannot help, so it is never retried.
    #[error(
        "SSH handshake with {host} failed: {message}\n  the server offers none of the algorithms ecsfleet offered (for key exchange: see --kex)"
    )]
    Negotiation { host: String, message: String },
    #[error("connection to {host} was lost: {message}")]
    Lost { host: String, message: String },
    #[error("proxy jump through {jump} to {host} failed: {message}")]
    Jump {
        jump: String,
        host: String,
        message: String,
    },
    #[error("{0}")]
    Command(String),
}

impl SshError {
    /// A handshake that the server dropped before it said anything useful:
    /// typically sshd's MaxStartups refusing excess unauthenticated connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            SshError::Connect { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            ),
            SshError::Handshake { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_handshake_is_retried_but_no_common_algorithm_is_not() {
        let dropped = SshError::Handshake {
            host: "10.0.0.1".into(),
            message: "unexpected end of stream".into(),
        };
        let refused = SshError::Negotiation {
            host: "10.0.0.1".into(),
            message: "No common Kex algorithm".into(),
        };
        assert!(dropped.is_retryable());
        assert!(!refused.is_retryable());
        assert!(refused.to_string().contains("--kex"));
    }
}
