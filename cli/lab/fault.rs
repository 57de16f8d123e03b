//! The lab's fault switches (`ecsfleet lab fault HOST KIND on|off`).

use clap::ValueEnum;

/// A way a lab host can misbehave; each is a switch, on until switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// A reboot keeps sshd down for the slow-boot delay instead of the boot delay
    SlowBoot,
    /// salt-call's highstate (and appliance-update) fails with a salt-style error
    HighstateFails,
    /// /app is a small full tmpfs: writes there fail with ENOSPC
    DiskFull,
    /// sshd restarts with a new host key (the lab's known_hosts keeps the old one)
    HostkeyChange,
    /// sshd is stopped: connections are refused
    Unreachable,
    /// sshd and its sessions are killed when a transfer into /app starts (mktemp under /app, head or dd writing a file there, or a new *tmp*, *.part, .ecsfleet-* file there)
    DropMidTransfer,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::SlowBoot,
        Fault::HighstateFails,
        Fault::DiskFull,
        Fault::HostkeyChange,
        Fault::Unreachable,
        Fault::DropMidTransfer,
    ];

    /// The name used on the command line and as the switch's file name.
    pub fn name(self) -> &'static str {
        match self {
            Fault::SlowBoot => "slow-boot",
            Fault::HighstateFails => "highstate-fails",
            Fault::DiskFull => "disk-full",
            Fault::HostkeyChange => "hostkey-change",
            Fault::Unreachable => "unreachable",
            Fault::DropMidTransfer => "drop-mid-transfer",
        }
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn name(self) -> &'static str {
        match self {
            Switch::On => "on",
            Switch::Off => "off",
        }
    }
}
