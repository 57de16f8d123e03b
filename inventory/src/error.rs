//! The crate's error types, one per concern, each carrying the place it is
//! about: a file and position for the inventory, the pattern for a selection,
//! file and line for ssh_config and known_hosts.
//!
//! Inventory errors render as `PATH:LINE:COL: key.path: message` and never
//! quote the YAML around the position (the file may sit next to secrets).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A problem with the inventory file.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The text is not YAML (or breaks a parser limit); no key path is known.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML is fine but does not describe an inventory: unknown key, wrong
    /// type, duplicate name, bad host name, group named like a host.
    #[error("{}", Invalid { path, line: *line, column: *column, key, message })]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        /// Dotted key path, e.g. `hosts.web-1.port`; empty for the document itself.
        key: String,
        message: String,
    },
}

/// Display helper for [`InventoryError::Invalid`]: the key path is left out
/// (with its separator) when the error is about the whole document.
struct Invalid<'a> {
    path: &'a PathBuf,
    line: u64,
    column: u64,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(self.message)
    }
}

/// A host selection that selects nothing. The message lists what exists so
/// the operator can correct a typo without opening the inventory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No patterns and not `all`.
    #[error("no hosts selected: name hosts, groups or globs, or select all; {}", Listing { hosts, groups })]
    Nothing {
        hosts: Vec<String>,
        groups: Vec<String>,
    },
    /// A pattern matched no host and no group.
    #[error("no host or group matches `{pattern}`; {}", Listing { hosts, groups })]
    NoMatch {
        pattern: String,
        hosts: Vec<String>,
        groups: Vec<String>,
    },
    /// A pattern named a group, but no host is in it.
    #[error("group `{group}` has no hosts")]
    EmptyGroup { group: String },
    /// A glob that does not parse, e.g. an unclosed `[`.
    #[error("bad pattern `{pattern}`: {message}")]
    BadPattern { pattern: String, message: String },
}

struct Listing<'a> {
    hosts: &'a [String],
    groups: &'a [String],
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hosts.is_empty() {
            f.write_str("the inventory has no hosts")?;
        } else {
            write!(f, "hosts: {}", self.hosts.join(", "))?;
        }
        if !self.groups.is_empty() {
            write!(f, "; groups: {}", self.groups.join(", "))?;
        }
        Ok(())
    }
}

/// A problem with an ssh_config file (or a file it includes).
#[derive(Debug, thiserror::Error)]
pub enum SshConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A known_hosts file that exists but cannot be read. (Malformed lines are
/// not errors: they are skipped and reported as warnings.)
#[derive(Debug, thiserror::Error)]
pub enum KnownHostsError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A public key that cannot be read from its OpenSSH text or wire form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostKeyError {
    #[error("expected `KEYTYPE BASE64 [COMMENT]`")]
    Shape,
    #[error("the key is not valid base64")]
    Base64,
    #[error("the key blob is truncated")]
    Truncated,
    #[error("key type `{written}` does not match the key's own type `{inside}`")]
    TypeMismatch { written: String, inside: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_renders_path_position_key_and_message() {
        let err = InventoryError::Invalid {
            path: "inventory/hosts.yml".into(),
            line: 12,
            column: 5,
            key: "hosts.web-1.port".into(),
            message: "expected an integer".into(),
        };
        assert_eq!(
            err.to_string(),
            "inventory/hosts.yml:12:5: hosts.web-1.port: expected an integer"
        );
    }

    #[test]
    fn invalid_without_key_path_has_no_empty_segment() {
        let err = InventoryError::Invalid {
            path: "hosts.yml".into(),
            line: 1,
            column: 1,
            key: String::new(),
            message: "expected a mapping".into(),
        };
        assert_eq!(err.to_string(), "hosts.yml:1:1: expected a mapping");
    }
}
