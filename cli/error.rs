//! The one error type the binary reports to the operator, and its exit codes.
//!
//! Every variant carries the context an operator needs to act: the host, the
//! step, the file position. Exit codes: 0 all good, 1 some host failed,
//! 2 usage or configuration error (nothing was sent), 130 interrupted.

use std::process::ExitCode;

/// The process exit status, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    HostFailed,
    Usage,
    Interrupted,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::HostFailed => 1,
            Outcome::Usage => 2,
            Outcome::Interrupted => 130,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Inventory(#[from] ecsfleet_inventory::InventoryError),
    #[error("{0}")]
    Select(#[from] ecsfleet_inventory::SelectError),
    #[error("{message}")]
    Usage { message: String },
    #[error("{host}: {message}")]
    Host { host: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> Outcome {
        match self {
            Error::Inventory(_) | Error::Select(_) | Error::Usage { .. } => Outcome::Usage,
            Error::Host { .. } | Error::Io { .. } => Outcome::HostFailed,
            Error::Interrupted => Outcome::Interrupted,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
