//! Fault switches of a twin host, kept as files in DIR/hosts/labK/faults
//! (and, for the ones the host's own stand-ins read, in the host's
//! /var/lib/ecs-lab/faults), until switched off; they survive reboots.
//! - slow-boot: a reboot keeps the host down for --slow-boot-delay instead
//!   of --boot-delay; switching it off ends a slow boot at once.
//! - highstate-fails: the salt-call stand-in's highstate fails (its first
//!   state fails, the rest as requisites), so the real appliance-update.sh
//!   takes its real failure path.
//! - hostkey-change: a new host key and sshd restarted (sessions stay); the
//!   lab's known_hosts keeps the old key. Off restores the old key.
//! - unreachable: sshd and every SSH session stopped, and kept from starting
//!   at boot (a drop-in's ConditionPathExists): connections are refused.

use std::fs;

use clap::ValueEnum;

use crate::command;
use crate::error::{Error, Result};
use crate::twin_host::{self, TwinHost};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    SlowBoot,
    HighstateFails,
    HostkeyChange,
    Unreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::SlowBoot => "slow-boot",
            Fault::HighstateFails => "highstate-fails",
            Fault::HostkeyChange => "hostkey-change",
            Fault::Unreachable => "unreachable",
        }
    }
}

pub fn set(host: &TwinHost, fault: Fault, switch: Switch) -> Result<()> {
    let outside = host.dir.join("faults").join(fault.name());
    let inside = host.path(&format!("/var/lib/ecs-lab/faults/{}", fault.name()));
    let on = switch == Switch::On;
    let io = |what: &str, r: std::io::Result<()>| {
        r.map_err(|e| Error::io(format!("{}: {what}", host.name), e))
    };
    if on {
        io("writing the switch", fs::write(&outside, b""))?;
        io("writing the switch", fs::write(&inside, b""))?;
    } else {
        let _ = fs::remove_file(&outside);
        let _ = fs::remove_file(&inside);
    }
    match fault {
        Fault::SlowBoot | Fault::HighstateFails => {}
        Fault::HostkeyChange => {
            let key = host.path("/etc/ssh/ssh_host_ed25519_key");
            let saved = host.dir.join("hostkey.saved");
            if on && !saved.exists() {
                io("saving the host key", fs::copy(&key, &saved).map(|_| ()))?;
                io(
                    "saving the host key",
                    fs::copy(key.with_extension("pub"), saved.with_extension("pub")).map(|_| ()),
                )?;
                twin_host::keygen(&key, &format!("root@{}", host.name))?;
            } else if !on && saved.exists() {
                io("restoring the host key", fs::copy(&saved, &key).map(|_| ()))?;
                io(
                    "restoring the host key",
                    fs::copy(saved.with_extension("pub"), key.with_extension("pub")).map(|_| ()),
                )?;
                let _ = fs::remove_file(saved.with_extension("pub"));
                let _ = fs::remove_file(&saved);
            }
            in_host(host, "systemctl restart ssh.service")?;
        }
        Fault::Unreachable => {
            if on {
                in_host(
                    host,
                    "systemctl stop ssh.service; pkill -KILL -x sshd; true",
                )?;
            } else {
                in_host(host, "systemctl start ssh.service")?;
            }
        }
    }
    Ok(())
}

/// Runs a shell line in the host when it is booted (a host that is down
/// picks the switch up at its next boot).
fn in_host(host: &TwinHost, script: &str) -> Result<()> {
    if let Some(leader) = host.leader() {
        command::run(
            &format!("switching a fault on {}", host.name),
            "nsenter",
            &["-t", &leader.to_string(), "-a", "sh", "-c", script],
        )?;
    }
    Ok(())
}
