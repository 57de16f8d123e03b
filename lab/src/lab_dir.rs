//! The lab directory DIR (default ./lab): what `up` writes for the operator.
//!
//! ```text
//! DIR/inventory/hosts.yml   the fleet inventory (group `lab`; each host's
//!                           env is DIR/env/labK.ecs.test/env.yml, made by
//!                           `ecsfleet env new`, not by the lab)
//! DIR/known_hosts           the hosts' keys as generated
//! DIR/keys/id_ed25519       the client key every host authorizes (0600)
//! DIR/ecs-appliance         the real ecs-appliance checkout `demo` installs
//! DIR/hosts/labK/           one host (twin_host.rs)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::twin_host::{self, DOMAIN, TwinHost};

#[derive(Debug, Clone)]
pub struct LabDir {
    pub root: PathBuf,
}

impl LabDir {
    pub fn create(dir: &Path) -> Result<LabDir> {
        fs::create_dir_all(dir.join("hosts"))
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        LabDir::open(dir)
    }

    pub fn open(dir: &Path) -> Result<LabDir> {
        let root = dir.canonicalize().map_err(|e| Error::NoLab {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(LabDir { root })
    }

    pub fn host(&self, index: u32) -> TwinHost {
        TwinHost::new(&self.root.join("hosts"), index)
    }

    pub fn hosts(&self) -> Vec<TwinHost> {
        let mut indices: Vec<u32> = fs::read_dir(self.root.join("hosts"))
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

    pub fn host_named(&self, name: &str) -> Result<TwinHost> {
        let hosts = self.hosts();
        hosts
            .iter()
            .find(|h| h.name == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
                Error::Usage(format!(
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
            fs::create_dir_all(self.root.join("keys"))
                .map_err(|e| Error::io("creating keys/", e))?;
            twin_host::keygen(&key, "ecsfleet-lab")?;
        }
        let public = key.with_extension("pub");
        fs::read_to_string(&public)
            .map_err(|e| Error::io(format!("reading {}", public.display()), e))
    }

    /// Rewrites inventory/hosts.yml and known_hosts for every host.
    pub fn write_inventory(&self) -> Result<()> {
        let mut yaml = String::from(
            "# Written by `ecsfleet-lab up` (rewritten by every `up`).\n\
             defaults: {user: root, identity: ../keys/id_ed25519}\n\
             known_hosts: ../known_hosts\n\
             hosts:\n",
        );
        let mut known = String::new();
        for host in self.hosts() {
            yaml.push_str(&format!(
                "  {name}: {{address: {}, domain: {name}.{DOMAIN}, env: ../env/{name}.{DOMAIN}/env.yml, groups: [lab]}}\n",
                host.address(),
                name = host.name,
            ));
            if let Some(key) = host.host_key() {
                known.push_str(&format!("{} {key}\n", host.address()));
            }
        }
        fs::create_dir_all(self.root.join("inventory"))
            .map_err(|e| Error::io("creating inventory/", e))?;
        fs::write(self.inventory(), yaml)
            .map_err(|e| Error::io(format!("writing {}", self.inventory().display()), e))?;
        fs::write(self.known_hosts(), known)
            .map_err(|e| Error::io(format!("writing {}", self.known_hosts().display()), e))
    }

    /// Removes what `up` made. Refuses while anything is mounted below DIR.
    pub fn remove(&self) -> Result<()> {
        let prefix = format!("{}/", self.root.display());
        if let Some(line) = fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .find(|line| {
                line.split(' ')
                    .nth(4)
                    .is_some_and(|t| t.starts_with(&prefix))
            })
        {
            return Err(Error::Usage(format!(
                "not removing {}: something is still mounted there ({line})",
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
        Ok(())
    }
}
