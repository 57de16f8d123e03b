//! ecsfleet's view of the fleet before any connection is made: the inventory
//! file (hosts, groups, vars), host selection, what `~/.ssh/config` adds to a
//! host, and the known_hosts trust store.
//!
//! Pure data and files: no tokio, no russh. The SSH engine in the binary asks
//! this crate where a host is and whether its key is trusted.

mod error;
mod group;
mod host;
mod inventory;
mod known_hosts;
#[cfg(test)]
mod proptests;
mod selection;
mod ssh_config;
mod wildcard;
mod yaml;

pub use error::{HostKeyError, InventoryError, KnownHostsError, SelectError, SshConfigError};
pub use group::Group;
pub use host::{Explicit, Host};
pub use inventory::Inventory;
pub use known_hosts::{HostKey, KnownHosts, Marker, Verdict, Warning, host_pattern};
pub use ssh_config::{SshConfig, SshHostConfig};
