//! The inventory file (`inventory/hosts.yml`): reading it, checking it
//! strictly, and resolving it into [`Host`]s and [`Group`]s.
//!
//! ```yaml
//! defaults: {user: root, port: 22, identity: keys/ops_ed25519, become: false}
//! known_hosts: known_hosts          # relative to this file
//! hosts:
//!   ecs-vienna:
//!     address: ecs.example.org      # defaults to the host name
//!     port: 22
//!     user: root
//!     identity: keys/ops_ed25519    # relative to this file, or ~/...
//!     proxy_jump: bastion
//!     become: false
//!     domain: ecs.example.org
//!     env: env/ecs.example.org/env.yml
//!     groups: [production, vienna]
//!     vars: {studies_per_month: 100}
//! groups:
//!   production: {vars: {serial: 2}}
//! ```
//!
//! Every key is optional; an empty file is an empty inventory. Unknown keys,
//! wrong types, duplicate names, names outside `[A-Za-z0-9._-]+` and a group
//! named like a host are errors (`PATH:LINE:COL: key.path: message`).
//! Field precedence (host entry > ssh_config > `defaults:` > built-ins) is
//! described in `host.rs`; [`Inventory::apply_ssh_config`] applies step 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::InventoryError;
use crate::group::Group;
use crate::host::{Host, bad_name_char};
use crate::ssh_config::SshConfig;
use crate::yaml::{self, Entry, Node, Pos, Reader, join};

/// The fleet as the inventory file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The inventory file.
    pub path: PathBuf,
    /// The `known_hosts:` file, resolved against the inventory's directory.
    pub known_hosts: Option<PathBuf>,
    /// Hosts in file order.
    pub hosts: Vec<Host>,
    /// Every group: those under `groups:` and those only named by hosts.
    pub groups: BTreeMap<String, Group>,
}

const TOP_KEYS: &[&str] = &["defaults", "known_hosts", "hosts", "groups"];
const DEFAULT_KEYS: &[&str] = &["user", "port", "identity", "become"];
const HOST_KEYS: &[&str] = &[
    "address",
    "port",
    "user",
    "identity",
    "proxy_jump",
    "become",
    "domain",
    "env",
    "groups",
    "vars",
];
const GROUP_KEYS: &[&str] = &["vars"];

/// The `defaults:` section.
#[derive(Default)]
struct Defaults {
    user: Option<String>,
    port: Option<u16>,
    identity: Option<PathBuf>,
    become_: Option<bool>,
}

impl Inventory {
    /// Reads, parses and resolves the inventory file at `path`.
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Inventory::parse(&text, path)
    }

    /// Parses inventory text; `path` names the file in errors and anchors
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::empty(path);
        let Some(root) = yaml::parse(text, path)? else {
            return Ok(inventory);
        };
        let reader = Reader { path };
        let mut defaults = Defaults::default();
        let mut hosts_node = None;
        let mut groups_node = None;
        for entry in reader.mapping(&root, "", "key")? {
            match entry.key.as_str() {
                "defaults" => defaults = read_defaults(&reader, entry.value)?,
                "known_hosts" => inventory.known_hosts = reader.file(entry.value, "known_hosts")?,
                "hosts" => hosts_node = Some(entry.value),
                "groups" => groups_node = Some(entry.value),
                _ => return Err(reader.unknown_key(&entry, "", TOP_KEYS)),
            }
        }
        // Where each group name was first seen, for the host-name clash check:
        // its key under `groups:`, else the first host list naming it.
        let mut group_pos: BTreeMap<String, (Pos, String)> = BTreeMap::new();
        if let Some(node) = groups_node {
            for entry in reader.mapping(node, "groups", "group")? {
                let key = join("groups", &entry.key);
                check_name(&reader, &entry, &key, "group")?;
                let group = read_group(&reader, entry.value, &key)?;
                group_pos.insert(entry.key.clone(), (entry.pos, key));
                inventory.groups.insert(entry.key, group);
            }
        }
        if let Some(node) = hosts_node {
            for entry in reader.mapping(node, "hosts", "host")? {
                let key = join("hosts", &entry.key);
                check_name(&reader, &entry, &key, "host")?;
                let (host, named) = read_host(&reader, &entry, &key, &defaults)?;
                for (group, pos, group_key) in named {
                    group_pos.entry(group.clone()).or_insert((pos, group_key));
                    inventory.groups.entry(group).or_default();
                }
                inventory.hosts.push(host);
            }
        }
        for (group, (pos, key)) in &group_pos {
            if inventory.host(group).is_some() {
                return Err(reader.error(
                    *pos,
                    key,
                    format!("group `{group}` has the same name as a host"),
                ));
            }
        }
        Ok(inventory)
    }

    /// An inventory without hosts, as if `path` were an empty file.
    pub fn empty(path: &Path) -> Inventory {
        Inventory {
            path: path.to_path_buf(),
            known_hosts: None,
            hosts: Vec::new(),
            groups: BTreeMap::new(),
        }
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Hosts in `group`, in inventory order.
    pub fn members(&self, group: &str) -> Vec<&Host> {
        self.hosts.iter().filter(|h| h.in_group(group)).collect()
    }

    /// Fills what each host's own entry did not set from `config`, looked up
    /// by the host's address; a `HostName` there replaces the address. Call
    /// it once, right after loading.
    pub fn apply_ssh_config(&mut self, config: &SshConfig) {
        for host in &mut self.hosts {
            let found = config.lookup(&host.address);
            if let Some(hostname) = found.hostname {
                host.address = hostname;
            }
            if !host.explicit.port
                && let Some(port) = found.port
            {
                host.port = port;
            }
            if !host.explicit.user
                && let Some(user) = found.user
            {
                host.user = user;
            }
            if !host.explicit.identity
                && let Some(identity) = found.identity_files.into_iter().next()
            {
                host.identity = Some(identity);
            }
            if !host.explicit.proxy_jump && found.proxy_jump.is_some() {
                host.proxy_jump = found.proxy_jump;
            }
        }
    }

    /// The vars a host sees: its groups' vars in the order the host lists
    /// the groups (a later group overrides an earlier one), then the host's
    /// own vars on top. The merge is by top-level name, not deep.
    pub fn merged_vars(&self, host: &Host) -> BTreeMap<String, serde_json::Value> {
        let mut vars = BTreeMap::new();
        for group in &host.groups {
            if let Some(group) = self.groups.get(group) {
                vars.extend(group.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        vars.extend(host.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }
}

fn check_name(reader: &Reader, entry: &Entry, key: &str, what: &str) -> Result<(), InventoryError> {
    let name = &entry.key;
    let message = if name.is_empty() {
        format!("{what} name is empty")
    } else if let Some(c) = bad_name_char(name) {
        format!(
            "invalid {what} name `{name}`: {c:?} is not allowed (use letters, digits, `.`, `_` and `-`)"
        )
    } else {
        return Ok(());
    };
    Err(reader.error(entry.pos, key, message))
}

fn read_defaults(reader: &Reader, node: &Node) -> Result<Defaults, InventoryError> {
    let mut defaults = Defaults::default();
    for entry in reader.mapping(node, "defaults", "key")? {
        let key = join("defaults", &entry.key);
        match entry.key.as_str() {
            "user" => defaults.user = reader.string(entry.value, &key)?,
            "port" => defaults.port = reader.port(entry.value, &key)?,
            "identity" => defaults.identity = reader.file(entry.value, &key)?,
            "become" => defaults.become_ = reader.boolean(entry.value, &key)?,
            _ => return Err(reader.unknown_key(&entry, "defaults", DEFAULT_KEYS)),
        }
    }
    Ok(defaults)
}

fn read_group(reader: &Reader, node: &Node, path: &str) -> Result<Group, InventoryError> {
    let mut group = Group::default();
    for entry in reader.mapping(node, path, "key")? {
        match entry.key.as_str() {
            "vars" => group.vars = reader.vars(entry.value, &join(path, "vars"))?,
            _ => return Err(reader.unknown_key(&entry, path, GROUP_KEYS)),
        }
    }
    Ok(group)
}

/// A named group with where it was named and its key path.
type NamedGroup = (String, Pos, String);

fn read_host(
    reader: &Reader,
    host_entry: &Entry,
    path: &str,
    defaults: &Defaults,
) -> Result<(Host, Vec<NamedGroup>), InventoryError> {
    let mut host = Host::new(&host_entry.key);
    let mut named = Vec::new();
    for entry in reader.mapping(host_entry.value, path, "key")? {
        let key = join(path, &entry.key);
        let value = entry.value;
        match entry.key.as_str() {
            "address" => {
                if let Some(address) = reader.string(value, &key)? {
                    host.address = address;
                    host.explicit.address = true;
                }
            }
            "port" => {
                if let Some(port) = reader.port(value, &key)? {
                    host.port = port;
                    host.explicit.port = true;
                }
            }
            "user" => {
                if let Some(user) = reader.string(value, &key)? {
                    host.user = user;
                    host.explicit.user = true;
                }
            }
            "identity" => {
                host.identity = reader.file(value, &key)?;
                host.explicit.identity = host.identity.is_some();
            }
            "proxy_jump" => {
                host.proxy_jump = reader.string(value, &key)?;
                host.explicit.proxy_jump = host.proxy_jump.is_some();
            }
            "become" => {
                if let Some(become_) = reader.boolean(value, &key)? {
                    host.become_ = become_;
                    host.explicit.become_ = true;
                }
            }
            "domain" => host.domain = reader.string(value, &key)?,
            "env" => host.env = reader.file(value, &key)?,
            "groups" => {
                for (i, (group, pos)) in reader.strings(value, &key)?.into_iter().enumerate() {
                    let item_key = format!("{key}[{i}]");
                    let as_entry = Entry {
                        key: group,
                        pos,
                        value,
                    };
                    check_name(reader, &as_entry, &item_key, "group")?;
                    if !host.in_group(&as_entry.key) {
                        host.groups.push(as_entry.key.clone());
                        named.push((as_entry.key, pos, item_key));
                    }
                }
            }
            "vars" => host.vars = reader.vars(value, &key)?,
            _ => return Err(reader.unknown_key(&entry, path, HOST_KEYS)),
        }
    }
    if !host.explicit.port
        && let Some(port) = defaults.port
    {
        host.port = port;
    }
    if !host.explicit.user
        && let Some(user) = &defaults.user
    {
        host.user = user.clone();
    }
    if !host.explicit.identity {
        host.identity = defaults.identity.clone();
    }
    if !host.explicit.become_
        && let Some(become_) = defaults.become_
    {
        host.become_ = become_;
    }
    Ok((host, named))
}

/// Resolves a path written in the inventory: `~` and `~/...` against
/// `$HOME`, relative paths against the inventory file's directory.
pub(crate) fn resolve_path(inventory: &Path, written: &str) -> PathBuf {
    if let Some(expanded) = expand_tilde(written, std::env::var_os("HOME").map(PathBuf::from)) {
        return expanded;
    }
    let written = Path::new(written);
    if written.is_absolute() {
        return written.to_path_buf();
    }
    match inventory.parent() {
        Some(dir) => dir.join(written),
        None => written.to_path_buf(),
    }
}

/// `~` or `~/rest` with a home directory; `None` if `path` does not start
/// that way (or there is no home). `~user/...` is not expanded.
pub(crate) fn expand_tilde(path: &str, home: Option<PathBuf>) -> Option<PathBuf> {
    let rest = path.strip_prefix('~')?;
    let home = home?;
    if rest.is_empty() {
        Some(home)
    } else {
        rest.strip_prefix('/').map(|rest| home.join(rest))
    }
}

#[cfg(test)]
mod tests;
