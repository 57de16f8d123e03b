//! ecsfleet-lab: the appliance twin, a local fleet of ECS appliances for
//! tests, newcomers and rehearsals. Each host is a Debian 12 container with
//! real systemd (systemd-nspawn over an overlay of one cached base image),
//! real sshd, PostgreSQL, duply and gpg, running the real ecs-appliance
//! scripts and unit files once `ecsfleet install` has put them there; only
//! salt's highstate, docker and what needs the network are stood in for
//! (lab/TWIN.md). Not linked into the operator's `ecsfleet`.

mod appliance;
mod base;
mod command;
mod demo;
mod error;
mod fault;
mod lab_dir;
mod twin_host;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::fault::{Fault, Switch};
use crate::lab_dir::LabDir;
use crate::twin_host::{BootDelays, HostStatus};

/// The highest host index: 127.0.0.(10+K) must stay an address.
const MAX_INDEX: u32 = 245;
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const STOP_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(
    name = "ecsfleet-lab",
    version,
    about = "The appliance twin: local ECS appliances in containers with real systemd"
)]
struct Cli {
    /// Machine-readable output: one JSON object per host
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing but errors
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: LabCommand,
}

#[derive(Debug, Subcommand)]
enum LabCommand {
    /// Start twin hosts (idempotent: running hosts are kept); builds the base image once
    #[command(after_help = "Example:\n  sudo ecsfleet-lab up --hosts 3\n  \
        ecsfleet -i lab/inventory/hosts.yml exec --all -- 'hostname; cat /etc/os-release'")]
    Up(UpArgs),
    /// Stop every host of the lab and remove what `up` made
    #[command(
        after_help = "Example:\n  sudo ecsfleet-lab down\n  sudo ecsfleet-lab down --dir /tmp/lab2"
    )]
    Down(DirArg),
    /// The lab's hosts as a table (host, address, state, sshd, postgres, appliance, boot id, faults)
    #[command(after_help = "Example:\n  ecsfleet-lab status\n  ecsfleet-lab status --json")]
    Status(DirArg),
    /// The main job end to end: up, install the real appliance, envs, push, activate, first user, status
    #[command(after_help = "Example:\n  sudo ecsfleet-lab demo --hosts 2")]
    Demo {
        /// Number of hosts (lab1 ...)
        #[arg(long, default_value_t = 3, value_name = "N")]
        hosts: u32,
        /// Index of the first host: labK listens on 127.0.0.(10+K)
        #[arg(long, default_value_t = 1, value_name = "K")]
        first: u32,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Clone the real ecs-appliance at the pinned commit to DIR/ecs-appliance (origin = upstream, branch master)
    #[command(
        after_help = "Example:\n  ecsfleet-lab checkout && ecsfleet -i lab/inventory/hosts.yml install lab1 --appliance-source lab/ecs-appliance"
    )]
    Checkout(DirArg),
    /// Switch a fault on a host on or off
    #[command(after_help = "Example:\n  sudo ecsfleet-lab fault lab2 unreachable on")]
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
struct DirArg {
    /// The lab directory
    #[arg(long, default_value = "lab", value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
struct UpArgs {
    /// Number of hosts
    #[arg(long, default_value_t = 3, value_name = "N")]
    hosts: u32,
    /// Index of the first host: labK listens on 127.0.0.(10+K)
    #[arg(long, default_value_t = 1, value_name = "K")]
    first: u32,
    #[command(flatten)]
    dir: DirArg,
    /// Seconds a rebooting host stays down
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    boot_delay: f64,
    /// Seconds a rebooting host stays down under the slow-boot fault
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    slow_boot_delay: f64,
    /// Memory the host shows in /proc/meminfo (default: the machine's)
    #[arg(long, value_name = "MB")]
    memory_mb: Option<u64>,
    /// Cores the host shows in /proc/cpuinfo and nproc (default: the machine's)
    #[arg(long, value_name = "N")]
    cores: Option<u32>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ecsfleet-lab: error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        LabCommand::Up(args) => up(args, cli),
        LabCommand::Down(dir) => down(dir, cli),
        LabCommand::Status(dir) => status(dir, cli),
        LabCommand::Demo { hosts, first, dir } => {
            check_range(*first, *hosts)?;
            demo::run(*hosts, *first, &dir.dir, cli.quiet)
        }
        LabCommand::Checkout(dir) => {
            let target = dir.dir.join("ecs-appliance");
            std::fs::create_dir_all(&dir.dir)
                .map_err(|e| Error::io(format!("creating {}", dir.dir.display()), e))?;
            appliance::clone(&target, false)?;
            if !cli.quiet {
                println!("{}", target.display());
            }
            Ok(())
        }
        LabCommand::Fault {
            host,
            kind,
            switch,
            dir,
        } => {
            require_root("fault")?;
            let lab = LabDir::open(&dir.dir)?;
            let host = lab.host_named(host)?;
            fault::set(&host, *kind, *switch)?;
            if !cli.quiet && !cli.json {
                println!(
                    "{}: {} {}",
                    host.name,
                    kind.name(),
                    if *switch == Switch::On { "on" } else { "off" }
                );
            }
            Ok(())
        }
    }
}

fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::Usage(format!(
            "`ecsfleet-lab {what}` needs root (it mounts overlays and boots containers)"
        )));
    }
    Ok(())
}

fn check_range(first: u32, hosts: u32) -> Result<()> {
    if hosts == 0 || first == 0 || first + hosts - 1 > MAX_INDEX {
        return Err(Error::Usage(format!(
            "--first {first} --hosts {hosts}: host indices must lie in 1..={MAX_INDEX} (labK is 127.0.0.(10+K))"
        )));
    }
    Ok(())
}

fn millis(name: &str, secs: f64) -> Result<u64> {
    if secs.is_finite() && secs >= 0.0 {
        Ok((secs * 1000.0).round() as u64)
    } else {
        Err(Error::Usage(format!(
            "{name} {secs}: expected seconds >= 0"
        )))
    }
}

fn up(args: &UpArgs, cli: &Cli) -> Result<()> {
    require_root("up")?;
    check_range(args.first, args.hosts)?;
    if args.memory_mb == Some(0) || args.cores == Some(0) {
        return Err(Error::Usage(
            "--memory-mb and --cores must be at least 1".into(),
        ));
    }
    let delays = BootDelays {
        boot_ms: millis("--boot-delay", args.boot_delay)?,
        slow_boot_ms: millis("--slow-boot-delay", args.slow_boot_delay)?,
    };
    for program in ["systemd-nspawn", "ssh-keygen", "git", "nsenter"] {
        if !std::path::Path::new("/usr/bin").join(program).exists() {
            return Err(Error::Usage(format!(
                "{program} is missing on this machine (scripts/setup.sh installs what the lab needs)"
            )));
        }
    }
    let base = base::ensure(cli.quiet)?;
    let lab = LabDir::create(&args.dir.dir)?;
    let client_key = lab.ensure_client_key()?;
    let mut started = Vec::new();
    for index in args.first..args.first + args.hosts {
        let host = lab.host(index);
        if host.running() {
            continue;
        }
        // Leftovers of a host whose supervisor died.
        host.stop(STOP_GRACE)?;
        host.mount(&base)?;
        host.prepare(&client_key, delays)?;
        host.set_hardware(args.memory_mb, args.cores)?;
        appliance::clone(
            &host.path("/var/lib/ecs-lab/mirror/ecs-appliance.git"),
            true,
        )?;
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
    if cli.json {
        print_json(&lab)?;
    } else if !cli.quiet {
        print_table(&lab);
        println!(
            "inventory: {}\nclient key: {}",
            lab.inventory().display(),
            lab.client_key().display()
        );
    }
    Ok(())
}

fn down(dir: &DirArg, cli: &Cli) -> Result<()> {
    require_root("down")?;
    if !dir.dir.exists() {
        if !cli.quiet && !cli.json {
            println!("no lab at {}", dir.dir.display());
        }
        return Ok(());
    }
    let lab = LabDir::open(&dir.dir)?;
    let hosts = lab.hosts();
    let errors: Vec<Error> = hosts
        .iter()
        .filter_map(|h| h.stop(STOP_GRACE).err())
        .collect();
    if let Some(error) = errors.into_iter().next() {
        return Err(error);
    }
    lab.remove()?;
    if !cli.quiet && !cli.json {
        println!(
            "stopped {} twin hosts, removed {}",
            hosts.len(),
            lab.root.display()
        );
    }
    Ok(())
}

fn status(dir: &DirArg, cli: &Cli) -> Result<()> {
    let lab = LabDir::open(&dir.dir)?;
    if cli.json {
        print_json(&lab)
    } else {
        print_table(&lab);
        Ok(())
    }
}

fn statuses(lab: &LabDir) -> Vec<HostStatus> {
    lab.hosts().iter().map(|h| h.status()).collect()
}

fn print_json(lab: &LabDir) -> Result<()> {
    for status in statuses(lab) {
        let line = serde_json::to_string(&status)
            .map_err(|e| Error::Usage(format!("serializing the lab status: {e}")))?;
        println!("{line}");
    }
    Ok(())
}

fn print_table(lab: &LabDir) {
    let rows: Vec<[String; 8]> = statuses(lab)
        .into_iter()
        .map(|s| {
            [
                s.host,
                s.address,
                s.state,
                s.sshd,
                s.postgres,
                s.appliance,
                s.boot_id,
                s.faults.join(","),
            ]
        })
        .collect();
    let header = [
        "host",
        "address",
        "state",
        "sshd",
        "postgres",
        "appliance",
        "boot id",
        "faults",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.to_vec()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
