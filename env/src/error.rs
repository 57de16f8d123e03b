//! The crate's one error type. Variants carry named context; none of them
//! ever carries a value read from an env file (those are secrets), only
//! positions, key paths and our own words.

use std::path::PathBuf;

/// Everything that can go wrong in `ecsfleet-env`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not YAML that PyYAML's `safe_load` would accept.
    /// Position is 1-based; the message never quotes the input.
    #[error("{line}:{col}: {message}")]
    Yaml {
        line: usize,
        col: usize,
        message: String,
    },

    /// The document cannot be flattened the way flatyaml does it.
    #[error("{line}:{col}: {key_path}: {message}")]
    Flatten {
        line: usize,
        col: usize,
        key_path: String,
        message: String,
    },

    /// Rendering the env template failed.
    #[error("template: {0}")]
    Template(String),

    /// Generating or using key material failed.
    #[error("{what}: {message}")]
    Crypto { what: &'static str, message: String },

    /// `--extra` is not a mapping, or cannot be merged.
    #[error("extra values: {0}")]
    Extra(String),

    /// The target file exists and overwriting was not asked for.
    #[error("{}: already exists (use --force to overwrite)", path.display())]
    Exists { path: PathBuf },

    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A paper backup (PDF with QR codes) cannot be made or read back.
    #[error("paper backup: {0}")]
    Paper(String),

    /// A cloud-init seed image cannot be made from these files.
    #[error("seed image: {0}")]
    Iso(String),

    /// A file meant to hold OpenSSH public keys holds something else.
    /// Never quotes the file: it might be a private key.
    #[error("{0}")]
    SshKey(String),

    /// Building an archive in memory failed.
    #[error("archive: {0}")]
    Archive(#[source] std::io::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
