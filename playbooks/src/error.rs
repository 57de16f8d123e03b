//! The crate's errors: reading a playbook ([`PlaybookError`]), rendering it
//! for a host ([`RenderError`]) and quoting a value ([`QuoteError`]).
//!
//! Every message names its place first: `FILE:LINE:COL: key.path: message`
//! for playbook files, `FILE:LINE: step N (NAME): message` for rendering.
//! Messages never carry a variable's value: values may be secrets.

use std::path::PathBuf;

/// A value that cannot become a shell word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("a NUL byte cannot be passed to a remote shell")]
    Nul,
    #[error("`{0}` is not a valid environment variable name")]
    EnvName(String),
}

/// A playbook that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no playbook named `{name}` (stock playbooks: {known})")]
    NotFound { name: String, known: String },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        key: String,
        message: String,
    },
}

/// A playbook that cannot be rendered for a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {place}: {message}", path.display())]
pub struct RenderError {
    /// The playbook file (`stock/NAME.yml` for embedded ones).
    pub path: PathBuf,
    /// Line of the field being rendered.
    pub line: u64,
    /// `step 3 (create database), run` or `requires`.
    pub place: String,
    pub message: String,
}
