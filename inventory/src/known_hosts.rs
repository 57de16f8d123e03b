//! The host-key trust store: OpenSSH known_hosts files, read and appended,
//! and the verdict on a key a host presents. Pure data: the SSH engine asks,
//! this module answers.
//!
//! Lines are `[@marker] hostpatterns keytype base64key [comment]`:
//! - host patterns are comma-separated, with `*`/`?` wildcards and `!`
//!   negation; a host on a port other than 22 is written `[host]:port` and
//!   only such patterns match it (OpenSSH semantics);
//! - hashed entries `|1|salt|hmac` hold HMAC-SHA1(salt, `host` or
//!   `[host]:port`), as `ssh-keygen -H` writes them;
//! - `@revoked` keys are refused for every host (stricter than OpenSSH,
//!   which scopes them by the line's host patterns: a revoked key is never
//!   good anywhere);
//! - `@cert-authority` lines are kept but never make a plain key trusted
//!   (and do not count as a known key for the host).
//!
//! Comments and blank lines are ignored; a malformed line is skipped and
//! reported as a [`Warning`] with its file and line, never failing the file.
//! Host names are compared ignoring ASCII case.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{HostKeyError, KnownHostsError};
use crate::wildcard;

/// A public host key: its algorithm name and its SSH wire-format blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    /// e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`.
    pub algorithm: String,
    /// The decoded wire blob (it starts with the algorithm name itself).
    pub blob: Vec<u8>,
}

impl HostKey {
    pub fn new(algorithm: impl Into<String>, blob: Vec<u8>) -> HostKey {
        HostKey {
            algorithm: algorithm.into(),
            blob,
        }
    }

    /// A key from its wire blob; the algorithm is read from the blob.
    pub fn from_blob(blob: Vec<u8>) -> Result<HostKey, HostKeyError> {
        let algorithm = blob_algorithm(&blob)?;
        Ok(HostKey { algorithm, blob })
    }

    /// A key from OpenSSH text: `ssh-ed25519 AAAA... [comment]` (the form
    /// of a `.pub` file and of `to_openssh`).
    pub fn from_openssh(text: &str) -> Result<HostKey, HostKeyError> {
        let mut words = text.split_whitespace();
        let (Some(algorithm), Some(base64)) = (words.next(), words.next()) else {
            return Err(HostKeyError::Shape);
        };
        let blob = STANDARD.decode(base64).map_err(|_| HostKeyError::Base64)?;
        let inside = blob_algorithm(&blob)?;
        if inside != algorithm {
            return Err(HostKeyError::TypeMismatch {
                written: algorithm.to_owned(),
                inside,
            });
        }
        Ok(HostKey::new(algorithm, blob))
    }

    /// `SHA256:` and the unpadded base64 of the blob's SHA-256, exactly as
    /// `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        format!(
            "SHA256:{}",
            STANDARD_NO_PAD.encode(Sha256::digest(&self.blob))
        )
    }

    /// `ssh-ed25519 AAAA...`, as in known_hosts and `.pub` files.
    pub fn to_openssh(&self) -> String {
        format!("{} {}", self.algorithm, STANDARD.encode(&self.blob))
    }

    /// Same key material: the blob decides (it names its own type).
    fn same_as(&self, other: &HostKey) -> bool {
        self.blob == other.blob
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.fingerprint())
    }
}

/// The algorithm name a wire blob starts with (a u32 length, then the name).
fn blob_algorithm(blob: &[u8]) -> Result<String, HostKeyError> {
    let len = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(HostKeyError::Truncated)?;
    let name = blob
        .get(4..4usize.saturating_add(len))
        .ok_or(HostKeyError::Truncated)?;
    String::from_utf8(name.to_vec()).map_err(|_| HostKeyError::Truncated)
}

/// `host`, or `[host]:port` when the port is not 22: how known_hosts names
/// a host, and what [`KnownHosts::append`] writes.
pub fn host_pattern(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// A line marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    CertAuthority,
    Revoked,
}

/// What the store says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A plain entry for this host holds this key.
    Trusted,
    /// The key is marked `@revoked` (this wins over everything).
    Revoked { source: PathBuf, line: usize },
    /// The host is known, but with other keys (same or another type: the
    /// caller can tell "a key of another type is known" from `algorithm`).
    Changed {
        known: Vec<(HostKey, PathBuf, usize)>,
    },
    /// Nothing is known about this host.
    Unknown,
}

/// A skipped line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub source: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.source.display(),
            self.line,
            self.message
        )
    }
}

/// Which hosts a line is for.
#[derive(Debug, Clone)]
enum Hosts {
    Patterns(Vec<String>),
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

impl Hosts {
    fn matches(&self, name: &str) -> bool {
        match self {
            Hosts::Patterns(patterns) => {
                wildcard::match_list(patterns.iter().map(String::as_str), name) == Some(true)
            }
            Hosts::Hashed { salt, hash } => {
                let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
                    return false;
                };
                mac.update(name.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    marker: Option<Marker>,
    hosts: Hosts,
    key: HostKey,
    source: PathBuf,
    line: usize,
}

/// The entries of one or more known_hosts files.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    warnings: Vec<Warning>,
}

impl KnownHosts {
    /// Reads `paths` in order; a missing file counts as empty.
    pub fn load(paths: &[PathBuf]) -> Result<KnownHosts, KnownHostsError> {
        let mut all = KnownHosts::default();
        for path in paths {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let one = KnownHosts::parse(&text, path);
                    all.entries.extend(one.entries);
                    all.warnings.extend(one.warnings);
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(KnownHostsError::Read {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        Ok(all)
    }

    /// Parses known_hosts text read from `source` (named in warnings and
    /// verdicts).
    pub fn parse(text: &str, source: &Path) -> KnownHosts {
        let mut known = KnownHosts::default();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Ok((marker, hosts, key)) => known.entries.push(Entry {
                    marker,
                    hosts,
                    key,
                    source: source.to_path_buf(),
                    line: line_number,
                }),
                Err(message) => known.warnings.push(Warning {
                    source: source.to_path_buf(),
                    line: line_number,
                    message,
                }),
            }
        }
        known
    }

    /// Lines that were skipped, and why.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Number of usable entries (all markers).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The verdict on `key` presented by `host` on `port`.
    pub fn check(&self, host: &str, port: u16, key: &HostKey) -> Verdict {
        if let Some(revoked) = self
            .entries
            .iter()
            .find(|e| e.marker == Some(Marker::Revoked) && e.key.same_as(key))
        {
            return Verdict::Revoked {
                source: revoked.source.clone(),
                line: revoked.line,
            };
        }
        let name = host_pattern(host, port);
        let mut known = Vec::new();
        for entry in &self.entries {
            if entry.marker.is_some() || !entry.hosts.matches(&name) {
                continue;
            }
            if entry.key.same_as(key) {
                return Verdict::Trusted;
            }
            known.push((entry.key.clone(), entry.source.clone(), entry.line));
        }
        if known.is_empty() {
            Verdict::Unknown
        } else {
            Verdict::Changed { known }
        }
    }

    /// Appends `host` (or `[host]:port`) with `key` to the file at `path`,
    /// creating it (mode 0644) and its parent directories if needed.
    pub fn append(path: &Path, host: &str, port: u16, key: &HostKey) -> io::Result<()> {
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || matches!(c, ',' | '#')) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot write host `{host}` to known_hosts"),
            ));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let needs_newline = match std::fs::read(path) {
            Ok(bytes) => bytes.last().is_some_and(|&b| b != b'\n'),
            Err(err) if err.kind() == io::ErrorKind::NotFound => false,
            Err(err) => return Err(err),
        };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
        let mut file = options.open(path)?;
        let mut line = String::new();
        if needs_newline {
            line.push('\n');
        }
        line.push_str(&format!(
            "{} {}\n",
            host_pattern(host, port),
            key.to_openssh()
        ));
        file.write_all(line.as_bytes())?;
        file.sync_all()
    }
}

fn parse_line(line: &str) -> Result<(Option<Marker>, Hosts, HostKey), String> {
    let mut words = line.split_whitespace().peekable();
    let marker = match words.next_if(|w| w.starts_with('@')) {
        None => None,
        Some("@cert-authority") => Some(Marker::CertAuthority),
        Some("@revoked") => Some(Marker::Revoked),
        Some(other) => return Err(format!("unknown marker `{other}`")),
    };
    let (Some(hosts), Some(algorithm), Some(base64)) = (words.next(), words.next(), words.next())
    else {
        return Err("expected `HOSTS KEYTYPE BASE64KEY [COMMENT]`".to_owned());
    };
    let hosts = if let Some(hashed) = hosts.strip_prefix("|1|") {
        let (salt, hash) = hashed
            .split_once('|')
            .ok_or_else(|| "malformed hashed host".to_owned())?;
        let salt = STANDARD
            .decode(salt)
            .map_err(|_| "malformed hashed host".to_owned())?;
        let hash = STANDARD
            .decode(hash)
            .map_err(|_| "malformed hashed host".to_owned())?;
        if hash.len() != 20 {
            return Err("malformed hashed host".to_owned());
        }
        Hosts::Hashed { salt, hash }
    } else if hosts.starts_with('|') {
        return Err("unsupported hashed host format".to_owned());
    } else {
        Hosts::Patterns(hosts.split(',').map(str::to_owned).collect())
    };
    let key = HostKey::from_openssh(&format!("{algorithm} {base64}")).map_err(|e| e.to_string())?;
    Ok((marker, hosts, key))
}

#[cfg(test)]
mod tests;
