//! A host: one appliance reachable over SSH, as the inventory describes it.
//!
//! Every field holds its effective value; [`Explicit`] records which fields
//! the host's own entry set, so that `~/.ssh/config` can fill the rest.
//! Precedence, highest first:
//!
//! 1. the host's own entry in the inventory,
//! 2. `~/.ssh/config` (looked up by the host's `address`),
//! 3. the inventory's `defaults:`,
//! 4. built-ins: user `root`, port 22, `become: false`, no identity.
//!
//! The address is special: it defaults to the host name and is the key for
//! the ssh_config lookup (it may be a `Host` alias there), so a `HostName`
//! found for it always replaces it.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One host of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The inventory name, `[A-Za-z0-9._-]+`.
    pub name: String,
    /// Where to connect: a DNS name, an IP address, or an ssh_config alias
    /// until [`crate::Inventory::apply_ssh_config`] resolves it.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Private key file: relative paths are resolved against the inventory
    /// file's directory, `~` is expanded.
    pub identity: Option<PathBuf>,
    /// Another host of this inventory, or `user@host:port`.
    pub proxy_jump: Option<String>,
    /// Run commands through `sudo -n` (YAML key `become`).
    pub become_: bool,
    pub domain: Option<String>,
    /// The host's env.yml, resolved like `identity`.
    pub env: Option<PathBuf>,
    /// Group names in the order the host lists them.
    pub groups: Vec<String>,
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Which fields the host's own entry set.
    pub explicit: Explicit,
}

/// Fields set in the host's own inventory entry (as opposed to coming from
/// `defaults:` or built-ins); ssh_config may only fill the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    pub address: bool,
    pub port: bool,
    pub user: bool,
    pub identity: bool,
    pub proxy_jump: bool,
    pub become_: bool,
}

impl Host {
    /// Built-in user.
    pub const DEFAULT_USER: &'static str = "root";
    /// Built-in port.
    pub const DEFAULT_PORT: u16 = 22;

    /// A host with nothing but built-ins: address = name, root@:22.
    pub fn new(name: &str) -> Host {
        Host {
            name: name.to_owned(),
            address: name.to_owned(),
            port: Host::DEFAULT_PORT,
            user: Host::DEFAULT_USER.to_owned(),
            identity: None,
            proxy_jump: None,
            become_: false,
            domain: None,
            env: None,
            groups: Vec::new(),
            vars: BTreeMap::new(),
            explicit: Explicit::default(),
        }
    }

    /// Whether the host lists `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// The first character that may not appear in a host or group name, if any.
/// Names are `[A-Za-z0-9._-]+` so they never look like globs or key paths
/// with spaces.
pub(crate) fn bad_name_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_host_has_built_ins() {
        let host = Host::new("lab1");
        assert_eq!(
            (
                host.address.as_str(),
                host.user.as_str(),
                host.port,
                host.become_
            ),
            ("lab1", "root", 22, false)
        );
        assert_eq!(host.explicit, Explicit::default());
    }

    #[test]
    fn names_are_letters_digits_dot_underscore_dash() {
        assert_eq!(bad_name_char("ecs-vienna.lab_1"), None);
        assert_eq!(bad_name_char("web*1"), Some('*'));
        assert_eq!(bad_name_char("a b"), Some(' '));
        assert_eq!(bad_name_char("lab[1]"), Some('['));
    }
}
