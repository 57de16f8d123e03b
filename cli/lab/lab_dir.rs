//! The lab directory DIR (default ./lab): what `lab up` writes for the
//! operator and what the hosts are made of.
//!
//! ```text
//! DIR/inventory/hosts.yml   the fleet inventory (group `lab`; each host's
//!                           env is DIR/env/labK.ecs.test/env.yml, made by
//!                           `ecsfleet env new`, not by the lab)
//! DIR/known_hosts           the hosts' keys as generated
//! DIR/keys/id_ed25519       the client key every host authorizes (0600)
//! DIR/hosts/labK/           one host (see lab_host.rs)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::lab::host_settings::DOMAIN;
use crate::lab::lab_host::{self, LabHost};

#[derive(Debug, Clone)]
pub struct LabDir {
    pub root: PathBuf,
}

impl LabDir {
    /// Creates DIR if needed; the path is made absolute.
    pub fn create(dir: &Path) -> Result<LabDir> {
        fs::create_dir_all(dir.join("hosts"))
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        LabDir::open(dir)
    }

    pub fn open(dir: &Path) -> Result<LabDir> {
        let root = dir.canonicalize().map_err(|e| {
            Error::usage(format!(
                "no lab at {}: {e} (`ecsfleet lab up --dir {}` makes one)",
                dir.display(),
                dir.display()
            ))
        })?;
        Ok(LabDir { root })
    }

    pub fn hosts_dir(&self) -> PathBuf {
        self.root.join("hosts")
    }

    pub fn host(&self, index: u32) -> LabHost {
        LabHost::new(&self.hosts_dir(), index)
    }

    /// Every host this lab has a directory for, by index.
    pub fn hosts(&self) -> Vec<LabHost> {
        let mut indices: Vec<u32> = fs::read_dir(self.hosts_dir())
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.strip_prefix("lab")?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        indices.sort();
        indices.into_iter().map(|i| self.host(i)).collect()
    }

    pub fn host_named(&self, name: &str) -> Result<LabHost> {
        let hosts = self.hosts();
        hosts
            .iter()
            .find(|h| h.name == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
                Error::usage(format!(
                    "no lab host named {name} in {} (hosts: {})",
                    self.root.display(),
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            })
    }

    pub fn client_key(&self) -> PathBuf {
        self.root.join("keys/id_ed25519")
    }

    pub fn inventory(&self) -> PathBuf {
        self.root.join("inventory/hosts.yml")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }

    /// The client key's public line; the key is made on first use.
    pub fn ensure_client_key(&self) -> Result<String> {
        let key = self.client_key();
        if !key.exists() {
            let dir = self.root.join("keys");
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            lab_host::keygen(&key, "ecsfleet-lab")?;
        }
        let public = key.with_extension("pub");
        fs::read_to_string(&public)
            .map_err(|e| Error::io(format!("reading {}", public.display()), e))
    }

    /// Rewrites inventory/hosts.yml and known_hosts for every host.
    pub fn write_inventory(&self) -> Result<()> {
        let hosts = self.hosts();
        let mut yaml = String::from(
            "# Written by `ecsfleet lab up` (rewritten by every `lab up`).\n\
             defaults: {user: root, identity: ../keys/id_ed25519}\n\
             known_hosts: ../known_hosts\n\
             hosts:\n",
        );
        let mut known = String::new();
        for host in &hosts {
            yaml.push_str(&format!(
                "  {name}: {{address: {}, domain: {name}.{DOMAIN}, env: ../env/{name}.{DOMAIN}/env.yml, groups: [lab]}}\n",
                host.address(),
                name = host.name,
            ));
            if let Some(key) = host.known_host_key() {
                known.push_str(&format!("{} {key}\n", host.address()));
            }
        }
        let dir = self.root.join("inventory");
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        fs::write(self.inventory(), yaml)
            .map_err(|e| Error::io(format!("writing {}", self.inventory().display()), e))?;
        fs::write(self.known_hosts(), known)
            .map_err(|e| Error::io(format!("writing {}", self.known_hosts().display()), e))
    }

    /// Removes what `lab up` made, then DIR itself when nothing else is in it.
    /// Refuses while anything is mounted below DIR.
    pub fn remove(&self) -> Result<()> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let prefix = format!("{}/", self.root.display());
        if let Some(line) = mountinfo.lines().find(|line| {
            line.split(' ')
                .nth(4)
                .map(crate::lab::process::unescape_mountinfo)
                .is_some_and(|target| {
                    target.starts_with(&prefix) || target == prefix.trim_end_matches('/')
                })
        }) {
            return Err(Error::usage(format!(
                "not removing {}: something is mounted there ({line})",
                self.root.display()
            )));
        }
        for dir in ["hosts", "inventory", "keys"] {
            let path = self.root.join(dir);
            if path.exists() {
                fs::remove_dir_all(&path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
            }
        }
        let _ = fs::remove_file(self.known_hosts());
        let _ = fs::remove_dir(&self.root);
        Ok(())
    }
}
