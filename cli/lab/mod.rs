//! The old lab: a local fleet of simulated ECS appliances on real OpenSSH
//! sshd, real PostgreSQL and real reboots (`ecsfleet lab up|down|status|fault`).
//! Superseded by the appliance twin (`ecsfleet-lab`, crate lab/), which runs
//! the real ecs-appliance; kept only until the last integration tests that
//! use it are moved to the twin. It shares the machine's /etc: never run
//! `ecsfleet install` against it.
//!
//! # A host
//! Host `labK` is Debian's sshd listening on 127.0.0.(10+K):22, run by a small
//! bash supervisor (scripts/supervisor.sh) that `lab up` starts detached as
//! `setsid unshare --mount --uts --propagation private -- bash supervisor.sh`.
//! In that private mount namespace (nothing is mounted in the machine's, so
//! nothing can leak) the supervisor binds the host's directories under
//! DIR/hosts/labK over /app, /data, /volatile, /etc/salt, /usr/local/sbin,
//! /usr/local/share/appliance, /var/www/html, /root and /run; an overlay over
//! /usr/local/bin (the machine's tools below, the host's writes on top:
//! APPLIANCE.md puts env-update.sh and friends there); files over
//! /etc/os-release (Ubuntu 16.04 xenial), /etc/hosts (labK.ecs.test),
//! /proc/meminfo and /proc/cpuinfo (`--memory-mb`, `--cores`; plus an `nproc`
//! in /usr/local/sbin); and DIR/hosts/labK/lab at /var/lib/ecs-lab (the
//! simulator's own directory, outside /app). Then it hides DIR under an empty
//! tmpfs, so a host never sees another host's files. The mount points must
//! exist on the machine: `lab up` (and scripts/lab-deps.sh) create them empty
//! and leave them (removing one could detach another lab's mounts).
//!
//! Boot (at `up` and after every reboot): /run/sshd and /run/postgresql are
//! made, PostgreSQL starts (initdb on first boot: /data/postgresql/VER/main,
//! locale C.UTF-8, unix socket only in the host's /var/run/postgresql, so
//! `sudo -u postgres createdb ecs -T template0 -l de_DE.utf8` over SSH is
//! real), prepare-env copies /app/env.yml to /run/active-env.yml (0600) once
//! the highstate has installed the units, sshd starts, and the appliance
//! starts when installed. sshd uses a per-host ed25519 host key, `StrictModes
//! no`, `UsePAM no`, `MaxStartups 200:30:400`, `UseDNS no`, root by key only,
//! AuthorizedKeysFile /var/lib/ecs-lab/ssh/authorized_keys (the lab's client
//! key).
//!
//! Reboot (the host's `reboot`, `shutdown -r`, `systemctl reboot`, or a
//! `/run/reboot-required` after appliance-update): the supervisor stops
//! PostgreSQL, kills every other process of the host's namespace (every SSH
//! session drops), empties /run, waits `--boot-delay` (`--slow-boot-delay`
//! under the slow-boot fault) and boots.
//!
//! # The appliance simulator
//! Bash scripts (scripts/bin, scripts/payload, scripts/lib.sh) embedded in the
//! binary and written by `lab up`. In /usr/local/sbin from the start:
//! apt-get, salt-call, systemctl, reboot, shutdown, journalctl, docker, duply,
//! gosu, nproc. salt-call needs /etc/salt/minion and /app/appliance; its
//! highstate installs create-internal-user.sh and create-client-certificate.sh
//! (/usr/local/sbin), env-update.sh, env-create.sh, env-package.sh,
//! recover-from-backup.sh (/usr/local/bin), /usr/local/share/appliance/*, the
//! units, /app/etc/tags and /app/etc/flags. Unit states live in
//! /run/ecs-lab/units (so a reboot resets them); `systemctl start appliance`
//! writes the 503 page, and after `--start-delay` either becomes active
//! (removes /var/www/html/503.html, writes the tags) or, without the `ecs`
//! database, fails with /run/appliance-failed and "Appliance is in standby, no
//! postgresql database named ecs" in the page and the journal. The unit does
//! not start while /run/appliance-failed exists.
//!
//! The call log: every simulated command appends one JSON line to
//! DIR/hosts/labK/lab/calls.jsonl (/var/lib/ecs-lab/calls.jsonl on the host):
//! `{"time":"2025-01-01T12:00:00.123Z","host":"lab1","argv":["salt-call","state.highstate"]}`.
//! argv[0] is the command's name; every argument is a JSON string, byte for
//! byte for valid UTF-8 (quote, backslash and control characters escaped).
//!
//! # Control
//! The supervisor reads requests from the fifo DIR/hosts/labK/lab/ctl and
//! acknowledges them in lab/ctl.ack; `lab down` sends SIGTERM to the recorded
//! supervisor pid (DIR/hosts/labK/supervisor.pid: pid and start time, so a
//! reused pid is never signalled), then SIGKILLs whatever is still in the
//! host's recorded mount namespace (checked by its /app bind mount), never
//! anything found by name. (A namespace's inode is reused once the namespace
//! is gone, hence the check of its /app mount.)
//!
//! # Faults
//! Switches kept as files in lab/faults (`lab status` lists them), until
//! switched off; they survive reboots:
//! - slow-boot: a reboot keeps the host down for `--slow-boot-delay` (30 s)
//!   instead of `--boot-delay`; switching it off ends a slow boot at once.
//! - highstate-fails: salt-call's highstate fails its first state (a package
//!   install, salt-style comment), the others fail as "One or more requisite
//!   failed"; exit 2 with `--retcode-passthrough` (0 without, as salt does);
//!   nothing is installed. appliance-update fails too.
//! - disk-full: a 1 MiB tmpfs over /app holding a copy of /app's files (its
//!   subdirectories bound back in) and filled up: writes directly in /app fail
//!   with ENOSPC. Off copies /app's files back to the host's /app.
//! - hostkey-change: a new host key, sshd restarted (sessions stay); DIR/
//!   known_hosts keeps the old key. Off restores the old key.
//! - unreachable: sshd and every session stopped; connections are refused.
//! - drop-mid-transfer: sshd and every session are killed when a transfer
//!   into /app starts: at once when a temp file is made under /app with
//!   mktemp, or when `head` or `dd` starts writing a file under /app
//!   (wrappers in /usr/local/sbin while the fault is on; ecsfleet's trees and
//!   uploads receive their bytes that way, so none slips through), and by a
//!   watcher polling every 20 ms for new files under /app (two levels) named
//!   *tmp*, *.part or .ecsfleet-*. sshd is back within a second. Every
//!   transfer is dropped until the fault is switched off.

mod fault;
mod host_settings;
mod lab_dir;
mod lab_host;
mod preflight;
pub mod process;
mod scripts;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};
use crate::lab::fault::{Fault, Switch};
use crate::lab::host_settings::HostSettings;
use crate::lab::lab_dir::LabDir;
use crate::lab::lab_host::HostStatus;

/// The highest host index: 127.0.0.(10+K) must stay an address.
const MAX_INDEX: u32 = 245;
const READY_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start lab hosts (idempotent: running hosts are kept, their settings updated)
    #[command(after_help = "Example:\n  sudo ecsfleet lab up --hosts 5\n  \
        ecsfleet -i lab/inventory/hosts.yml exec --all -- 'hostname; cat /etc/os-release'")]
    Up(UpArgs),
    /// Stop every host of the lab and remove what `lab up` made
    #[command(
        after_help = "Example:\n  sudo ecsfleet lab down\n  sudo ecsfleet lab down --dir /tmp/lab2"
    )]
    Down(DirArg),
    /// The lab's hosts as a table (host, address, state, sshd, postgres, appliance, faults)
    #[command(after_help = "Example:\n  ecsfleet lab status\n  ecsfleet lab status --json")]
    Status(DirArg),
    /// Switch a fault on a host on or off
    #[command(after_help = "Example:\n  sudo ecsfleet lab fault lab2 unreachable on")]
    Fault {
        /// Host name (lab1, lab2, ...)
        host: String,
        /// What goes wrong
        kind: Fault,
        /// on or off
        switch: Switch,
        #[command(flatten)]
        dir: DirArg,
    },
}

#[derive(Debug, Args)]
pub struct DirArg {
    /// The lab directory
    #[arg(long, default_value = "lab", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Number of hosts
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub hosts: u32,
    /// Index of the first host: labK listens on 127.0.0.(10+K)
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub first: u32,
    #[command(flatten)]
    pub dir: DirArg,
    /// Memory a host reports (/proc/meminfo)
    #[arg(long, default_value_t = 4096, value_name = "MB")]
    pub memory_mb: u64,
    /// Cores a host reports (/proc/cpuinfo, nproc)
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub cores: u32,
    /// Seconds a rebooting host stays down
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    pub boot_delay: f64,
    /// Seconds a rebooting host stays down under the slow-boot fault
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub slow_boot_delay: f64,
    /// Seconds the appliance takes from start to active (or failed)
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    pub start_delay: f64,
    /// Seconds the simulated highstate takes
    #[arg(long, default_value_t = 0.5, value_name = "SECS")]
    pub highstate_delay: f64,
}

pub fn run(command: LabCommand, global: &GlobalArgs) -> Result<Outcome> {
    match command {
        LabCommand::Up(args) => up(&args, global),
        LabCommand::Down(dir) => down(&dir, global),
        LabCommand::Status(dir) => status(&dir, global),
        LabCommand::Fault {
            host,
            kind,
            switch,
            dir,
        } => fault(&host, kind, switch, &dir, global),
    }
}

fn up(args: &UpArgs, global: &GlobalArgs) -> Result<Outcome> {
    preflight::require_root("lab up")?;
    if args.hosts == 0 || args.first == 0 || args.first + args.hosts - 1 > MAX_INDEX {
        return Err(Error::usage(format!(
            "--first {} --hosts {}: host indices must lie in 1..={MAX_INDEX} (labK is 127.0.0.(10+K))",
            args.first, args.hosts
        )));
    }
    for (name, value) in [
        ("--boot-delay", args.boot_delay),
        ("--slow-boot-delay", args.slow_boot_delay),
        ("--start-delay", args.start_delay),
        ("--highstate-delay", args.highstate_delay),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(Error::usage(format!(
                "{name} {value}: expected seconds >= 0"
            )));
        }
    }
    if args.cores == 0 || args.memory_mb == 0 {
        return Err(Error::usage("--cores and --memory-mb must be at least 1"));
    }
    let postgres = preflight::check_machine()?;
    preflight::ensure_mount_points()?;
    let lab = LabDir::create(&args.dir.dir)?;
    let client_key = lab.ensure_client_key()?;
    let settings = HostSettings {
        memory_mb: args.memory_mb,
        cores: args.cores,
        boot_delay: args.boot_delay,
        start_delay: args.start_delay,
        slow_boot_delay: args.slow_boot_delay,
        highstate_delay: args.highstate_delay,
        postgres,
    };
    let mut started = Vec::new();
    for index in args.first..args.first + args.hosts {
        let host = lab.host(index);
        host.prepare(&settings, &lab.root, &client_key)?;
        if host.running() {
            continue;
        }
        // Leftovers of a host whose supervisor died.
        host.stop()?;
        host.spawn()?;
        started.push(host);
    }
    let mut failed = Vec::new();
    for host in &started {
        if let Err(error) = host.wait_ready(READY_TIMEOUT) {
            failed.push(error);
        }
    }
    lab.write_inventory()?;
    if let Some(error) = failed.into_iter().next() {
        return Err(error);
    }
    if global.json {
        print_json(&lab)?;
    } else if !global.quiet {
        print_table(&lab);
        println!(
            "inventory: {}\nclient key: {}",
            lab.inventory().display(),
            lab.client_key().display()
        );
    }
    Ok(Outcome::Success)
}

fn down(dir: &DirArg, global: &GlobalArgs) -> Result<Outcome> {
    preflight::require_root("lab down")?;
    if !dir.dir.exists() {
        if !global.quiet && !global.json {
            println!("no lab at {}", dir.dir.display());
        }
        return Ok(Outcome::Success);
    }
    let lab = LabDir::open(&dir.dir)?;
    let mut errors = Vec::new();
    let hosts = lab.hosts();
    for host in &hosts {
        if let Err(error) = host.stop() {
            errors.push(error);
        }
    }
    if let Some(error) = errors.into_iter().next() {
        return Err(error);
    }
    lab.remove()?;
    if !global.quiet && !global.json {
        println!(
            "stopped {} lab hosts, removed {}",
            hosts.len(),
            lab.root.display()
        );
    }
    Ok(Outcome::Success)
}

fn status(dir: &DirArg, global: &GlobalArgs) -> Result<Outcome> {
    let lab = LabDir::open(&dir.dir)?;
    if global.json {
        print_json(&lab)?;
    } else {
        print_table(&lab);
    }
    Ok(Outcome::Success)
}

fn fault(
    host: &str,
    kind: Fault,
    switch: Switch,
    dir: &DirArg,
    global: &GlobalArgs,
) -> Result<Outcome> {
    preflight::require_root("lab fault")?;
    let lab = LabDir::open(&dir.dir)?;
    let host = lab.host_named(host)?;
    host.set_fault(kind, switch)?;
    if !global.quiet && !global.json {
        println!("{}: {} {}", host.name, kind.name(), switch.name());
    }
    Ok(Outcome::Success)
}

fn statuses(lab: &LabDir) -> Vec<HostStatus> {
    lab.hosts().iter().map(|h| h.status()).collect()
}

fn print_json(lab: &LabDir) -> Result<()> {
    for status in statuses(lab) {
        let line = serde_json::to_string(&status)
            .map_err(|e| Error::usage(format!("serializing the lab status: {e}")))?;
        println!("{line}");
    }
    Ok(())
}

fn print_table(lab: &LabDir) {
    let mut table = crate::report::table([
        "host",
        "address",
        "state",
        "sshd",
        "postgres",
        "appliance",
        "faults",
    ]);
    for s in statuses(lab) {
        table.add_row([
            s.host,
            s.address,
            s.state,
            s.sshd,
            s.postgres,
            s.appliance,
            s.faults.join(", "),
        ]);
    }
    println!("{table}");
}
