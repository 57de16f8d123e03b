//! Where and as whom to connect: an inventory host resolved to connection
//! parameters, including the hop through a jump host.

use std::path::PathBuf;

use ecsfleet_inventory::{Host, Inventory};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Target {
    /// The inventory name (or `user@host:port` for an ad-hoc jump host).
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity: Option<PathBuf>,
    pub become_: bool,
    pub jump: Option<Box<Target>>,
}

impl Target {
    pub fn for_host(inventory: &Inventory, host: &Host) -> Result<Target> {
        Target::resolve(inventory, host, 0)
    }

    fn resolve(inventory: &Inventory, host: &Host, depth: usize) -> Result<Target> {
        if depth > 8 {
            return Err(Error::usage(format!(
                "{}: proxy_jump chain is longer than 8 hops (a loop?)",
                host.name
            )));
        }
        let jump = match host.proxy_jump.as_deref() {
            None | Some("none") => None,
            Some(spec) => Some(Box::new(match inventory.host(spec) {
                Some(jump_host) => Target::resolve(inventory, jump_host, depth + 1)?,
                None => Target::parse_spec(spec, host)?,
            })),
        };
        Ok(Target {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            identity: host.identity.clone(),
            become_: host.become_,
            jump,
        })
    }

    /// `[user@]host[:port]`, the OpenSSH ProxyJump form for a host that is not
    /// in the inventory; it borrows the identity of the host it leads to.
    fn parse_spec(spec: &str, via: &Host) -> Result<Target> {
        let (user, rest) = match spec.rsplit_once('@') {
            Some((user, rest)) => (user.to_string(), rest),
            None => (via.user.clone(), spec),
        };
        let (address, port) = match rest.rsplit_once(':') {
            Some((address, port)) => (
                address.to_string(),
                port.parse::<u16>().map_err(|_| {
                    Error::usage(format!(
                        "{}: proxy_jump `{spec}`: port `{port}` is not a number",
                        via.name
                    ))
                })?,
            ),
            None => (rest.to_string(), 22),
        };
        if address.is_empty() || spec.contains(',') {
            return Err(Error::usage(format!(
                "{}: proxy_jump `{spec}` is neither a host of the inventory nor user@host:port (one hop only)",
                via.name
            )));
        }
        Ok(Target {
            name: spec.to_string(),
            address,
            port,
            user,
            identity: via.identity.clone(),
            become_: false,
            jump: None,
        })
    }

    pub fn display_address(&self) -> String {
        if self.port == 22 {
            self.address.clone()
        } else {
            format!("[{}]:{}", self.address, self.port)
        }
    }
}
