//! [`OneHost`]: a command that works on exactly one inventory host (shell,
//! ecs, logs, tunnel, restore, db, backup): the host, how to reach it, and
//! whether its login is root already. Lives under `shell` only because
//! cmd/mod.rs is shared; it belongs to every single-host command.

use ecsfleet_playbooks::RemoteCommand;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Result};
use crate::fleet::Fleet;
use crate::ssh::{Connection, Options, Target};

pub struct OneHost {
    pub fleet: Fleet,
    pub name: String,
    pub target: Target,
    pub options: Options,
    /// A root login, or a host whose whole session goes through sudo
    /// (`become`): commands need no sudo of their own.
    pub root_login: bool,
}

impl OneHost {
    /// Loads the inventory and resolves `name`, which must name one host
    /// (not a group or a glob): these commands are too pointed for fan-out.
    pub fn load(name: &str, global: &GlobalArgs) -> Result<OneHost> {
        let fleet = Fleet::load(global)?;
        let selection = Selection {
            patterns: vec![name.to_owned()],
            all: false,
        };
        let (target, root_login) = match fleet.select(&selection)?.as_slice() {
            [host] if host.name == name => {
                (fleet.target(host)?, host.user == "root" || host.become_)
            }
            _ => {
                return Err(Error::usage(format!(
                    "`{name}` is not one host of the inventory (name a single host)"
                )));
            }
        };
        let options = fleet.ssh_options(global)?;
        Ok(OneHost {
            fleet,
            name: name.to_owned(),
            target,
            options,
            root_login,
        })
    }

    pub async fn connect(&self) -> Result<Connection> {
        Connection::open(&self.target, &self.options)
            .await
            .map_err(|e| self.error(e.to_string()))
    }

    /// `command` as root: through sudo unless the login is root already.
    pub fn as_root(&self, command: RemoteCommand) -> RemoteCommand {
        if self.root_login {
            command
        } else {
            command.sudo()
        }
    }

    /// A failure on this host (exit 1).
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Host {
            host: self.name.clone(),
            message: message.into(),
        }
    }
}
