//! Command-line definitions (clap derive). Thin: each subcommand's arguments
//! live here, what they do lives in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cmd::check::CheckArgs;
use crate::cmd::cidata::CidataArgs;
use crate::cmd::completions::{CompletionsArgs, ManArgs};
use crate::cmd::disaster::{BackupCommand, DbCommand, RestoreArgs};
use crate::cmd::ecs::EcsArgs;
use crate::cmd::env::EnvCommand;
use crate::cmd::init::InitArgs;
use crate::cmd::lifecycle::{ActivateArgs, InstallArgs, OperateArgs, UpdateArgs};
use crate::cmd::logs::LogsArgs;
use crate::cmd::push_env::PushEnvArgs;
use crate::cmd::run::RunArgs;
use crate::cmd::shell::ShellArgs;
use crate::cmd::size::SizeArgs;
use crate::cmd::stats::StatsArgs;
use crate::cmd::status::StatusArgs;
use crate::cmd::tunnel::TunnelArgs;
use crate::cmd::user::{CertCommand, UserCommand};
use crate::cmd::vagrant::VagrantCommand;
use crate::lab::LabCommand;

#[derive(Debug, Parser)]
#[command(
    name = "ecsfleet",
    version,
    about = "Install, configure, update and repair a fleet of ECS appliances over SSH",
    long_about = "ecsfleet drives a fleet of ECS appliances (Ubuntu 16.04 hosts set up by the \
ecs-appliance salt states) over SSH from one workstation.\n\n\
Exit status: 0 all good, 1 some host failed, 2 usage or configuration error \
(nothing was sent), 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Inventory file (hosts, groups, known_hosts)
    #[arg(
        short = 'i',
        long,
        global = true,
        env = "ECSFLEET_INVENTORY",
        default_value = "inventory/hosts.yml"
    )]
    pub inventory: PathBuf,
    /// OpenSSH client config that fills HostName, Port, User, IdentityFile and
    /// ProxyJump for hosts that do not set them [default: ~/.ssh/config]
    #[arg(long, global = true, value_name = "PATH")]
    pub ssh_config: Option<PathBuf>,
    /// Ignore ~/.ssh/config
    #[arg(long, global = true, conflicts_with = "ssh_config")]
    pub no_ssh_config: bool,
    /// Seconds to wait for a TCP connection and SSH handshake
    #[arg(long, global = true, default_value_t = 10, value_name = "SECS")]
    pub connect_timeout: u64,
    /// SSH handshakes in flight at once over all hosts, apart from --forks
    /// (sshd's default MaxStartups 10:30:100 drops unauthenticated connections beyond 10;
    /// dropped handshakes are retried with jittered backoff)
    #[arg(long, global = true, default_value_t = 8, value_name = "N")]
    pub max_handshakes: usize,
    /// Key exchange algorithms to offer, in order of preference (comma separated)
    #[arg(long, global = true, value_name = "LIST")]
    pub kex: Option<String>,
    /// Playbook runs: open an SSH channel for every command instead of
    /// sending them all to one session shell per host (slower: each channel
    /// costs the host a fork and a login shell)
    #[arg(long, global = true)]
    pub channel_per_command: bool,
    /// Machine-readable output: one JSON object per line on stdout, nothing else
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More logging on stderr (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args, Clone)]
pub struct Selection {
    /// Host names, group names or shell globs (`ecs-*`)
    #[arg(value_name = "SELECT")]
    pub patterns: Vec<String>,
    /// Every host in the inventory
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the inventory as a table
    #[command(
        after_help = "Example:\n  ecsfleet hosts production\n  ecsfleet -i lab/inventory/hosts.yml hosts --json"
    )]
    Hosts {
        /// Host names, group names or globs (default: all)
        #[arg(value_name = "SELECT")]
        patterns: Vec<String>,
    },
    /// Fetch, show and pin host keys into the inventory's known_hosts
    #[command(after_help = "Example:\n  ecsfleet trust --all --yes\n  ecsfleet trust ecs-vienna")]
    Trust {
        #[command(flatten)]
        select: Selection,
        /// Pin without asking
        #[arg(short, long)]
        yes: bool,
    },
    /// Run a shell command on every selected host in parallel
    #[command(
        after_help = "Example:\n  ecsfleet exec --all -- uptime\n  ecsfleet exec 'ecs-*' --json -- 'systemctl is-active appliance'"
    )]
    Exec {
        #[command(flatten)]
        select: Selection,
        /// Hosts worked on at the same time
        #[arg(short, long, default_value_t = 50)]
        forks: usize,
        /// Read this machine's stdin once and send it to the command on every host
        #[arg(long)]
        stdin: bool,
        /// The command, run by the remote user's shell
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Upload a local file to every selected host, atomically
    #[command(
        after_help = "The file is written to a temporary name in the target directory with its final mode set before any content, checked by length and sha256, then renamed: an interrupted copy leaves the old file as it was.

Example:
  ecsfleet copy --all motd.txt /etc/motd --mode 0644"
    )]
    Copy {
        /// Local file
        source: std::path::PathBuf,
        /// Absolute path on the hosts
        dest: String,
        #[command(flatten)]
        select: Selection,
        /// Octal file mode, set before any content arrives
        #[arg(long, default_value = "0600")]
        mode: String,
        /// Owner (user or user:group) of the file on the host
        #[arg(long)]
        owner: Option<String>,
        /// Hosts worked on at the same time
        #[arg(short, long, default_value_t = 50)]
        forks: usize,
    },
    /// Create, check, flatten, compare and package env.yml files
    #[command(subcommand)]
    Env(EnvCommand),
    /// Scaffold a fleet directory: inventory, env/, known_hosts, playbooks/
    Init(InitArgs),
    /// The manual's sizing calculation for a number of studies per month
    Size(SizeArgs),
    /// Run a playbook (built-in or the fleet's own) on selected hosts
    Run(RunArgs),
    /// Turn empty Ubuntu 16.04 hosts into ECS appliances (push source, salt, highstate)
    Install(InstallArgs),
    /// Create the database, activate the env, reboot and wait until running
    Activate(ActivateArgs),
    /// Upload env.yml atomically (0600) after checking it; optionally apply it
    PushEnv(PushEnvArgs),
    /// Update appliance and ECS, host by host or in rolling batches
    Update(UpdateArgs),
    /// The fleet dashboard: state, versions, env, disk, pending reboot
    Status(StatusArgs),
    /// Start the appliance and wait until it runs
    Start(OperateArgs),
    /// Stop the appliance
    Stop(OperateArgs),
    /// Restart the appliance and wait until it runs
    Restart(OperateArgs),
    /// Clear the failed flag, reset-failed, restart, wait until running
    Recover(OperateArgs),
    /// Internal users of ECS
    #[command(subcommand)]
    User(UserCommand),
    /// Client certificates of ECS users
    #[command(subcommand)]
    Cert(CertCommand),
    /// Disaster recovery: restore the newest backup onto an installed host
    Restore(RestoreArgs),
    /// The appliance's database
    #[command(subcommand)]
    Db(DbCommand),
    /// The appliance's backup
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Show (or follow) a host's systemd journal
    Logs(LogsArgs),
    /// Forward a local port to a host's metrics, alerts, grafana or pghero
    Tunnel(TunnelArgs),
    /// An interactive shell on a host, or in one of its ECS containers
    Shell(ShellArgs),
    /// Run an ECS command (manage.py, celery) in the host's web container
    Ecs(EcsArgs),
    /// Container CPU, memory, network and disk of selected hosts
    Stats(StatsArgs),
    /// Preflight: can the selected hosts carry the appliance (and N studies a month)?
    Check(CheckArgs),
    /// Vagrant boxes provisioned by ecsfleet
    #[command(subcommand)]
    Vagrant(VagrantCommand),
    /// A cloud-init seed ISO that lets a stock Xenial cloud image accept your key
    Cidata(CidataArgs),
    /// Shell completions for bash, zsh or fish
    Completions(CompletionsArgs),
    /// The manual page (roff) on stdout
    Man(ManArgs),
    /// A local fleet of simulated ECS appliances on real sshd (needs root)
    #[command(subcommand)]
    Lab(LabCommand),
}
