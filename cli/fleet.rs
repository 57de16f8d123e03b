//! The fleet as the commands see it: the inventory (with ~/.ssh/config
//! applied), the selected hosts and the SSH options with the known-hosts store.

use std::path::PathBuf;
use std::time::Duration;

use ecsfleet_inventory::{Host, Inventory, KnownHosts, SshConfig};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Result};
use crate::ssh::{Options, Target, default_kex, parse_kex};

pub struct Fleet {
    pub inventory: Inventory,
}

impl Fleet {
    pub fn load(global: &GlobalArgs) -> Result<Fleet> {
        let mut inventory = if global.inventory.exists() {
            Inventory::load(&global.inventory)?
        } else {
            return Err(Error::usage(format!(
                "inventory {} does not exist; pass -i PATH, set ECSFLEET_INVENTORY, or create one with `ecsfleet init`",
                global.inventory.display()
            )));
        };
        if !global.no_ssh_config {
            let config = match &global.ssh_config {
                Some(path) => Some(SshConfig::load(path).map_err(|e| Error::usage(e.to_string()))?),
                None => match SshConfig::default_path() {
                    Some(path) if path.exists() => {
                        Some(SshConfig::load(&path).map_err(|e| Error::usage(e.to_string()))?)
                    }
                    _ => None,
                },
            };
            if let Some(config) = config {
                inventory.apply_ssh_config(&config);
            }
        }
        Ok(Fleet { inventory })
    }

    pub fn select(&self, selection: &Selection) -> Result<Vec<&Host>> {
        Ok(self.inventory.select(&selection.patterns, selection.all)?)
    }

    pub fn target(&self, host: &Host) -> Result<Target> {
        Target::for_host(&self.inventory, host)
    }

    /// The inventory's known_hosts first, then the operator's own.
    pub fn known_hosts_paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(path) = &self.inventory.known_hosts {
            paths.push(path.clone());
        }
        if let Some(home) = std::env::var_os("HOME") {
            paths.push(PathBuf::from(home).join(".ssh/known_hosts"));
        }
        paths
    }

    /// Where `trust` pins keys.
    pub fn pin_file(&self) -> PathBuf {
        self.inventory.known_hosts.clone().unwrap_or_else(|| {
            self.inventory
                .path
                .parent()
                .map(|dir| dir.join("known_hosts"))
                .unwrap_or_else(|| PathBuf::from("known_hosts"))
        })
    }

    pub fn ssh_options(&self, global: &GlobalArgs) -> Result<Options> {
        let known_hosts = KnownHosts::load(&self.known_hosts_paths())
            .map_err(|error| Error::usage(error.to_string()))?;
        for warning in known_hosts.warnings() {
            tracing::warn!("{warning}");
        }
        let mut options = Options::new(Duration::from_secs(global.connect_timeout), known_hosts);
        options.handshakes =
            std::sync::Arc::new(tokio::sync::Semaphore::new(global.max_handshakes.max(1)));
        options.kex = match &global.kex {
            Some(list) => parse_kex(list).map_err(Error::usage)?,
            None => default_kex(),
        };
        options.session_shell = !global.channel_per_command;
        Ok(options)
    }
}
