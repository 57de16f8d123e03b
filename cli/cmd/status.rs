//! `ecsfleet status`: the fleet dashboard. One round trip per host (the
//! [`appliance::status`] script), all hosts in parallel, one table (or one
//! JSON object per host). The only local work is the sha256 of each host's
//! env file from the inventory, to say whether the host has the env we have.

use std::io::Write as _;

use clap::Args;
use ecsfleet_playbooks::Facts;
use ecsfleet_playbooks::appliance;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Outcome, Result};
use crate::fleet::Fleet;
use crate::run::{for_each_host, runtime};
use crate::ssh::Connection;

use super::push_env::sha256_hex;

#[derive(Debug, Args)]
#[command(after_help = "Without SELECT, every host of the inventory.\n\n\
Columns: state is running, starting (with the appliance's status text), failed \
(with its reason), stopped, or not installed; env says whether /app/env.yml is the \
inventory's env file for the host (sha256), active whether /run/active-env.yml is \
/app/env.yml.\n\n\
Exit status: 0 every host reachable and none failed; 1 otherwise.\n\n\
Example:\n  ecsfleet status\n  ecsfleet status production --json")]
pub struct StatusArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Hosts asked at the same time
    #[arg(short, long, default_value_t = 50)]
    pub forks: usize,
}

/// One host's line of the dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
struct HostStatus {
    host: String,
    reachable: bool,
    error: Option<String>,
    /// running, starting, failed, stopped, not installed, unknown.
    state: String,
    status_text: Option<String>,
    /// What a prepare unit said last before the generic failure page.
    failure_cause: Option<String>,
    ecs_version: Option<String>,
    appliance_version: Option<String>,
    /// /app/env.yml equals the local env file; `None` when unknown.
    env_matches_local: Option<bool>,
    env_present: bool,
    /// /run/active-env.yml equals /app/env.yml; `None` when unknown.
    active_env_matches: Option<bool>,
    uptime_seconds: Option<u64>,
    disk_data_used_pct: Option<u32>,
    disk_volatile_used_pct: Option<u32>,
    reboot_required: Option<bool>,
}

impl HostStatus {
    fn bad(&self) -> bool {
        !self.reachable || self.state == "failed"
    }

    /// The dashboard line from the status script's output and the sha256 of
    /// the host's local env (if the inventory names one that can be read).
    fn from_output(host: &str, output: &str, local_sha256: Option<&str>) -> HostStatus {
        let (facts, text) = appliance::parse_status(output);
        let nonempty = |name: &str| facts.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        let installed = facts.get("installed") != Some("false");
        let state = match facts.get("state") {
            Some("stopped") if !installed => "not installed".to_owned(),
            Some(s @ ("running" | "starting" | "failed" | "stopped")) => s.to_owned(),
            _ => "unknown".to_owned(),
        };
        let env = nonempty("env_sha256");
        let active = nonempty("active_env_sha256");
        // prepare-env derives the active env from /app/env.yml; it is never
        // byte-equal to it (appliance::ACTIVE_FROM_ENV_PROBE).
        let active_from_env = nonempty("active_from_env_sha256");
        HostStatus {
            host: host.to_owned(),
            reachable: true,
            error: None,
            status_text: text,
            failure_cause: facts
                .get("failure_cause")
                .and_then(appliance::parse_failure_cause),
            ecs_version: nonempty("tag_last_running_ecs"),
            appliance_version: nonempty("tag_last_running_appliance"),
            env_matches_local: match (&env, local_sha256) {
                (_, None) => None,
                (None, Some(_)) => Some(false),
                (Some(remote), Some(local)) => Some(remote == local),
            },
            env_present: env.is_some(),
            active_env_matches: match (&active_from_env, &active) {
                (Some(wanted), Some(active)) => Some(wanted == active),
                (None, None) => None,
                _ => Some(false),
            },
            uptime_seconds: number(&facts, "uptime_seconds"),
            disk_data_used_pct: number(&facts, "disk_data_used_pct"),
            disk_volatile_used_pct: number(&facts, "disk_volatile_used_pct"),
            reboot_required: facts.get("reboot_required").map(|v| v == "true"),
            state,
        }
    }

    fn unreachable(host: &str, error: String) -> HostStatus {
        HostStatus {
            host: host.to_owned(),
            reachable: false,
            error: Some(error),
            state: "unreachable".to_owned(),
            ..HostStatus::default()
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.host,
            "reachable": self.reachable,
            "state": self.state,
            "status_text": self.status_text,
            "failure_cause": self.failure_cause,
            "ecs_version": self.ecs_version,
            "appliance_version": self.appliance_version,
            "env_present": self.env_present,
            "env_matches_local": self.env_matches_local,
            "active_env_matches": self.active_env_matches,
            "uptime_seconds": self.uptime_seconds,
            "disk_data_used_pct": self.disk_data_used_pct,
            "disk_volatile_used_pct": self.disk_volatile_used_pct,
            "reboot_required": self.reboot_required,
            "error": self.error,
        })
    }

    fn row(&self) -> Vec<String> {
        let dash = || "-".to_owned();
        let detail = match (&self.error, &self.status_text) {
            (Some(error), _) => first_line(error),
            (None, Some(text)) if self.state == "failed" && self.failure_cause.is_some() => {
                format!(
                    "{} (cause: {})",
                    text,
                    self.failure_cause.as_deref().unwrap_or_default()
                )
            }
            (None, Some(text)) if self.state != "running" => text.clone(),
            _ => String::new(),
        };
        let env = match (self.reachable, self.env_present, self.env_matches_local) {
            (false, _, _) => dash(),
            (true, false, _) => "absent".to_owned(),
            (true, true, Some(true)) => "= local".to_owned(),
            (true, true, Some(false)) => "differs".to_owned(),
            (true, true, None) => "present".to_owned(),
        };
        let active = match (self.reachable, self.active_env_matches) {
            (false, _) | (true, None) => dash(),
            (true, Some(true)) => "yes".to_owned(),
            (true, Some(false)) => "no".to_owned(),
        };
        let pct = |p: Option<u32>| p.map(|p| format!("{p}%")).unwrap_or_else(dash);
        vec![
            self.host.clone(),
            self.state.clone(),
            detail,
            short_version(self.ecs_version.as_deref()),
            short_version(self.appliance_version.as_deref()),
            env,
            active,
            self.uptime_seconds.map(uptime).unwrap_or_else(dash),
            pct(self.disk_data_used_pct),
            pct(self.disk_volatile_used_pct),
            match self.reboot_required {
                Some(true) => "yes".to_owned(),
                Some(false) => "no".to_owned(),
                None => dash(),
            },
        ]
    }
}

fn number<T: std::str::FromStr>(facts: &Facts, name: &str) -> Option<T> {
    facts.get(name).and_then(|v| v.trim().parse().ok())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}

/// Version tags are git hashes: the first 12 characters say enough.
fn short_version(version: Option<&str>) -> String {
    match version {
        None => "-".to_owned(),
        Some(v) => v.chars().take(12).collect(),
    }
}

/// `3d 4h`, `5h 12m`, `7m`.
fn uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else {
        format!("{minutes}m")
    }
}

pub fn run(args: StatusArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let mut selection = args.select.clone();
    if selection.patterns.is_empty() {
        selection.all = true;
    }
    let hosts = fleet.select(&selection)?;
    let options = fleet.ssh_options(global)?;
    let mut work = Vec::new();
    for host in &hosts {
        let local = host
            .env
            .as_deref()
            .and_then(|path| std::fs::read(path).ok())
            .map(|bytes| sha256_hex(&bytes));
        // The probe reads root-only files (/app/env.yml, /run/active-env.yml
        // are 0600, the journal): a login other than root goes through sudo.
        let probe = if host.user == "root" {
            appliance::status()
        } else {
            appliance::status().sudo()
        };
        work.push((fleet.target(host)?, local, probe.to_shell()));
    }
    let statuses = runtime().block_on(for_each_host(
        work,
        args.forks,
        move |(target, local, probe)| {
            let options = options.clone();
            async move {
                let connection = match Connection::open(&target, &options).await {
                    Ok(connection) => connection,
                    Err(error) => return HostStatus::unreachable(&target.name, error.to_string()),
                };
                let output = connection.exec(&probe, None).await;
                connection.close().await;
                match output {
                    Ok(output) => HostStatus::from_output(
                        &target.name,
                        &String::from_utf8_lossy(&output.stdout),
                        local.as_deref(),
                    ),
                    Err(error) => HostStatus::unreachable(&target.name, error.to_string()),
                }
            }
        },
    ));

    if global.json {
        let mut out = std::io::stdout().lock();
        for status in &statuses {
            let _ = writeln!(out, "{}", status.json());
        }
    } else {
        for status in statuses.iter().filter(|s| !s.reachable) {
            if let Some(error) = &status.error {
                eprintln!("error: {}: {error}", status.host);
            }
        }
        if !global.quiet {
            let mut table = crate::report::table([
                "host",
                "state",
                "detail",
                "ecs",
                "appliance",
                "env",
                "active",
                "uptime",
                "/data",
                "/volatile",
                "reboot",
            ]);
            for status in &statuses {
                table.add_row(status.row());
            }
            println!("{table}");
        }
    }
    Ok(if statuses.iter().any(HostStatus::bad) {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = "state=running\ntag_last_running_ecs=0123456789abcdef0123\n\
tag_last_build_ecs=x\ntag_last_running_appliance=fedcba9876543210\ntag_last_running_ecs_image=\n\
tag_last_failed_ecs=\nenv_sha256=aaaa\nactive_env_sha256=dddd\nactive_from_env_sha256=dddd\nuptime_seconds=93784\n\
disk_data_used_pct=12\ndisk_volatile_used_pct=3\nreboot_required=false\nboot_id=b\ninstalled=true\n--\n";

    #[test]
    fn a_running_host() {
        let s = HostStatus::from_output("lab1", RUNNING, Some("aaaa"));
        assert_eq!(s.state, "running");
        assert_eq!(s.env_matches_local, Some(true));
        assert_eq!(s.active_env_matches, Some(true));
        assert_eq!(s.uptime_seconds, Some(93784));
        assert!(!s.bad());
        assert_eq!(
            s.row(),
            [
                "lab1",
                "running",
                "",
                "0123456789ab",
                "fedcba987654",
                "= local",
                "yes",
                "1d 2h",
                "12%",
                "3%",
                "no"
            ]
        );
    }

    #[test]
    fn a_failed_host_shows_the_prepare_units_cause_behind_the_generic_page() {
        let out = "state=failed\nenv_sha256=aa\nactive_env_sha256=bb\nactive_from_env_sha256=bb\ninstalled=true\n\
failure_cause=INFO: appliance status: Appliance Standby : Appliance is in standby, no postgresql database named ecs\n--\n\
<h2>Appliance Error</h2><p>Appliance (appliance.service) failed to start, system in standby</p>";
        let s = HostStatus::from_output("lab4", out, None);
        assert_eq!(
            s.failure_cause.as_deref(),
            Some("Appliance Standby: Appliance is in standby, no postgresql database named ecs")
        );
        assert_eq!(
            s.row()[2],
            "Appliance Error: Appliance (appliance.service) failed to start, system in standby \
(cause: Appliance Standby: Appliance is in standby, no postgresql database named ecs)"
        );
        assert_eq!(
            s.json()["failure_cause"],
            "Appliance Standby: Appliance is in standby, no postgresql database named ecs"
        );
    }

    #[test]
    fn a_failed_host_says_why() {
        let out = "state=failed\nenv_sha256=aaaa\nactive_env_sha256=bbbb\nactive_from_env_sha256=dddd\ninstalled=true\n--\n\
<html><head><title>Appliance Standby</title></head><body><h1>Appliance Standby</h1>\
<p>Appliance is in standby, no postgresql database named ecs</p></body></html>";
        let s = HostStatus::from_output("lab2", out, Some("cccc"));
        assert_eq!(s.state, "failed");
        assert_eq!(
            s.status_text.as_deref(),
            Some("Appliance Standby: Appliance is in standby, no postgresql database named ecs")
        );
        assert_eq!(s.env_matches_local, Some(false));
        assert_eq!(s.active_env_matches, Some(false));
        assert!(s.bad());
        assert_eq!(s.json()["state"], "failed");
    }

    #[test]
    fn not_installed_and_unreachable() {
        let s = HostStatus::from_output("lab3", "state=stopped\ninstalled=false\n--\n", None);
        assert_eq!(s.state, "not installed");
        assert_eq!(s.env_matches_local, None);
        assert_eq!(s.row()[5], "absent");
        let u = HostStatus::unreachable("lab4", "cannot connect".into());
        assert!(u.bad());
        assert_eq!(u.row()[1], "unreachable");
        assert_eq!(u.json()["reachable"], false);
    }

    #[test]
    fn uptime_reads_well() {
        assert_eq!(uptime(59), "0m");
        assert_eq!(uptime(3600 * 5 + 60 * 12), "5h 12m");
        assert_eq!(uptime(86400 * 3 + 3600 * 4), "3d 4h");
    }
}
