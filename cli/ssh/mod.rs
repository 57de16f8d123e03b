//! The SSH engine: the only module that talks to the network (russh on tokio).
//! One connection per host, many channels on it.

mod auth;
mod connection;
mod error;
mod handler;
mod shell;
mod target;

pub use connection::{Connection, ExitStatus, Options, Stream, default_kex, parse_kex};
pub use error::SshError;
pub use shell::{Shell, ShellError};
pub use target::Target;
