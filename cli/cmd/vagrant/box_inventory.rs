//! The inventory entries of Vagrant boxes: made from `vagrant ssh-config`,
//! written into the inventory file (created when missing), or printed.
//!
//! Updating keeps everything else in the file and every other key of a
//! box's entry (env, domain, groups, vars: what the operator added); only
//! address, port, user, identity and become are Vagrant's to say. The file
//! is read and written as YAML data, so comments do not survive: a header
//! says so.

use std::path::Path;

use ecsfleet_env::{Entry, Node, Value};

use super::ssh_config::Machine;
use crate::error::{Error, Result};

const HEADER: &str = "# Vagrant boxes, updated by `ecsfleet vagrant provision` (address, port, user,\n\
# identity, become). Keys you add to an entry (env, domain, groups, vars) are\n\
# kept; comments are not.\n";

fn text(s: &str) -> Node {
    Node::synthetic(Value::Str(s.to_owned()))
}

/// The entry fields that come from Vagrant, in the order they are written.
fn vagrant_fields(machine: &Machine) -> Vec<(&'static str, Node)> {
    let mut fields = vec![
        ("address", text(&machine.host_name)),
        (
            "port",
            Node::synthetic(Value::Int(i128::from(machine.port))),
        ),
        ("user", text(&machine.user)),
    ];
    if let Some(identity) = machine.identity() {
        fields.push(("identity", text(&identity.to_string_lossy())));
    }
    // Vagrant boxes log in as `vagrant` and reach root through sudo.
    fields.push(("become", Node::synthetic(Value::Bool(true))));
    fields
}

/// Inventory host names are `[A-Za-z0-9._-]+`; Vagrant allows more.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(Error::usage(format!(
            "Vagrant machine `{name}` cannot be an inventory host name (letters, digits, `.`, `_`, `-` only); rename it in the Vagrantfile"
        )));
    }
    Ok(())
}

/// Sets `key` in a mapping's entries, in place when present.
fn set(entries: &mut Vec<Entry>, key: &str, value: Node) {
    match entries.iter_mut().find(|e| e.key.as_str() == Some(key)) {
        Some(entry) => entry.value = value,
        None => entries.push(Entry {
            key: text(key),
            value,
        }),
    }
}

/// `document` with the machines' entries set under `hosts:`.
fn merge(mut document: Node, machines: &[Machine]) -> Result<Node> {
    if matches!(document.value, Value::Null) {
        document = Node::synthetic(Value::Map(Vec::new()));
    }
    let Value::Map(top) = &mut document.value else {
        return Err(Error::usage("the inventory is not a mapping"));
    };
    if !top.iter().any(|e| e.key.as_str() == Some("hosts")) {
        top.push(Entry {
            key: text("hosts"),
            value: Node::synthetic(Value::Map(Vec::new())),
        });
    }
    let hosts = top
        .iter_mut()
        .find(|e| e.key.as_str() == Some("hosts"))
        .map(|e| &mut e.value)
        .expect("hosts was just added");
    if matches!(hosts.value, Value::Null) {
        hosts.value = Value::Map(Vec::new());
    }
    let Value::Map(hosts) = &mut hosts.value else {
        return Err(Error::usage("the inventory's `hosts:` is not a mapping"));
    };
    for machine in machines {
        check_name(&machine.name)?;
        if !hosts.iter().any(|e| e.key.as_str() == Some(&machine.name)) {
            hosts.push(Entry {
                key: text(&machine.name),
                value: Node::synthetic(Value::Map(Vec::new())),
            });
        }
        let entry = hosts
            .iter_mut()
            .find(|e| e.key.as_str() == Some(&machine.name))
            .map(|e| &mut e.value)
            .expect("the entry was just added");
        if matches!(entry.value, Value::Null) {
            entry.value = Value::Map(Vec::new());
        }
        let Value::Map(fields) = &mut entry.value else {
            return Err(Error::usage(format!(
                "the inventory's hosts.{} is not a mapping",
                machine.name
            )));
        };
        for (key, value) in vagrant_fields(machine) {
            set(fields, key, value);
        }
    }
    Ok(document)
}

/// The YAML of an inventory holding just these machines (for printing).
pub fn render(machines: &[Machine]) -> Result<String> {
    let document = merge(Node::synthetic(Value::Null), machines)?;
    Ok(ecsfleet_env::emit(&document))
}

/// Creates or updates the inventory at `path` with the machines' entries.
/// The result is checked by the inventory's own reader before it replaces
/// the file, so a bad edit never lands.
pub fn update(path: &Path, machines: &[Machine]) -> Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let document = match &existing {
        Some(text) => ecsfleet_env::load(text)
            .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?,
        None => Node::synthetic(Value::Null),
    };
    let mut document = merge(document, machines)?;
    if existing.is_none()
        && let Value::Map(top) = &mut document.value
    {
        // Pins go beside the inventory, not into ~/.ssh/known_hosts.
        top.insert(
            0,
            Entry {
                key: text("known_hosts"),
                value: text("known_hosts"),
            },
        );
    }
    let new = format!("{HEADER}{}", ecsfleet_env::emit(&document));
    ecsfleet_inventory::Inventory::parse(&new, path).map_err(|e| {
        Error::usage(format!(
            "updating {} would make it invalid ({e}); fix the file and run again",
            path.display()
        ))
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let temp = path.with_extension("yml.tmp");
    std::fs::write(&temp, new)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn machine(name: &str, port: u16) -> Machine {
        Machine {
            name: name.into(),
            host_name: "127.0.0.1".into(),
            port,
            user: "vagrant".into(),
            identity_files: vec![PathBuf::from("/home/ops/my boxes/private_key")],
        }
    }

    #[test]
    fn a_new_inventory_then_an_update_that_keeps_the_operators_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory/hosts.yml");
        update(&path, &[machine("ecs", 2222)]).unwrap();
        let inventory = ecsfleet_inventory::Inventory::load(&path).unwrap();
        let host = inventory.host("ecs").unwrap();
        assert_eq!((host.address.as_str(), host.port), ("127.0.0.1", 2222));
        assert!(host.become_);
        assert_eq!(
            host.identity.as_deref(),
            Some(Path::new("/home/ops/my boxes/private_key"))
        );
        assert_eq!(
            inventory.known_hosts.as_deref(),
            Some(dir.path().join("inventory/known_hosts").as_path())
        );

        // The operator adds an env and a group; the box comes back on 2200.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replace(
            "    become: true\n",
            "    become: true\n    env: ../env/ecs.example.org/env.yml\n    groups: [boxes]\n",
        );
        assert_ne!(text, edited, "{text}");
        std::fs::write(&path, edited).unwrap();
        update(&path, &[machine("ecs", 2200), machine("ecs2", 2201)]).unwrap();
        let inventory = ecsfleet_inventory::Inventory::load(&path).unwrap();
        let host = inventory.host("ecs").unwrap();
        assert_eq!(host.port, 2200);
        assert_eq!(host.groups, ["boxes"]);
        assert!(
            host.env
                .as_ref()
                .unwrap()
                .ends_with("env/ecs.example.org/env.yml")
        );
        assert_eq!(inventory.host("ecs2").unwrap().port, 2201);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with(HEADER));
    }

    #[test]
    fn odd_machine_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.yml");
        let err = update(&path, &[machine("my box", 2222)]).unwrap_err();
        assert!(err.to_string().contains("cannot be an inventory host name"));
        assert!(!path.exists());
    }

    #[test]
    fn printed_entries_quote_paths_with_spaces() {
        let yaml = render(&[machine("ecs", 2222)]).unwrap();
        assert_eq!(
            yaml,
            "hosts:\n  ecs:\n    address: 127.0.0.1\n    port: 2222\n    user: vagrant\n    identity: \"/home/ops/my boxes/private_key\"\n    become: true\n"
        );
    }
}
