//! `ecsfleet stats SELECT|--all`: CPU, memory, network and block (disk) I/O
//! of every running container on the selected hosts, from one
//! `docker stats --no-stream` per host, all hosts at once. A table, or with
//! `--json` one object per container (and one per failed host).

use clap::Args;
use ecsfleet_playbooks::RemoteCommand;
use serde::Deserialize;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Outcome, Result};
use crate::fleet::Fleet;
use crate::ssh::Connection;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ecsfleet stats --all
  ecsfleet stats ecs-vienna --json")]
pub struct StatsArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Hosts asked at the same time
    #[arg(short, long, default_value_t = 50)]
    pub forks: usize,
}

/// One line of `docker stats --format '{{json .}}'`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerStats {
    pub name: String,
    #[serde(rename = "CPUPerc")]
    pub cpu_perc: String,
    pub mem_usage: String,
    pub mem_perc: String,
    #[serde(rename = "NetIO")]
    pub net_io: String,
    #[serde(rename = "BlockIO")]
    pub block_io: String,
    #[serde(rename = "PIDs", default)]
    pub pids: String,
}

/// `docker stats --no-stream --format '{{json .}}'`.
fn stats_command() -> RemoteCommand {
    RemoteCommand::exec("docker", ["stats", "--no-stream", "--format", "{{json .}}"])
}

/// The containers in `docker stats` JSON lines; other lines are an error.
fn parse(output: &str) -> std::result::Result<Vec<ContainerStats>, String> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| format!("unexpected `docker stats` output `{}`: {e}", l.trim()))
        })
        .collect()
}

/// "12.5%" as 12.5.
fn percent(text: &str) -> Option<f64> {
    text.trim().trim_end_matches('%').parse().ok()
}

type HostStats = std::result::Result<Vec<ContainerStats>, String>;

pub fn run(args: StatsArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&args.select)?;
    let options = fleet.ssh_options(global)?;
    let mut jobs = Vec::with_capacity(hosts.len());
    for host in &hosts {
        let root_login = host.user == "root" || host.become_;
        let command = if root_login {
            stats_command()
        } else {
            stats_command().sudo()
        };
        jobs.push((host.name.clone(), fleet.target(host)?, command.to_shell()));
    }
    let results: Vec<(String, HostStats)> = crate::run::runtime().block_on(
        crate::run::for_each_host(jobs, args.forks, move |(name, target, line)| {
            let options = options.clone();
            async move {
                let result = async {
                    let connection = Connection::open(&target, &options)
                        .await
                        .map_err(|e| e.to_string())?;
                    let output = connection.exec(&line, None).await;
                    connection.close().await;
                    let output = output.map_err(|e| e.to_string())?;
                    if !output.status.success() {
                        return Err(format!(
                            "`docker stats` failed ({}): {}",
                            output.status,
                            String::from_utf8_lossy(&output.stderr).trim()
                        ));
                    }
                    parse(&String::from_utf8_lossy(&output.stdout))
                }
                .await;
                (name, result)
            }
        }),
    );
    let failed = results.iter().any(|(_, r)| r.is_err());
    if global.json {
        for (host, result) in &results {
            match result {
                Ok(containers) if containers.is_empty() => {
                    println!("{}", serde_json::json!({"host": host, "container": null}));
                }
                Ok(containers) => {
                    for c in containers {
                        println!(
                            "{}",
                            serde_json::json!({
                                "host": host,
                                "container": c.name,
                                "cpu_percent": percent(&c.cpu_perc),
                                "memory": c.mem_usage,
                                "memory_percent": percent(&c.mem_perc),
                                "net_io": c.net_io,
                                "block_io": c.block_io,
                                "pids": c.pids.parse::<u64>().ok(),
                            })
                        );
                    }
                }
                Err(error) => println!("{}", serde_json::json!({"host": host, "error": error})),
            }
        }
    } else {
        for (host, result) in &results {
            if let Err(error) = result {
                eprintln!("error: {host}: {error}");
            }
        }
        if !global.quiet {
            println!("{}", table(&results));
        }
    }
    Ok(if failed {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}

fn table(results: &[(String, HostStats)]) -> comfy_table::Table {
    let mut table = crate::report::table([
        "host",
        "container",
        "cpu",
        "memory (use / limit)",
        "mem %",
        "net i/o (in / out)",
        "disk i/o (read / write)",
    ]);
    for (host, result) in results {
        match result {
            Ok(containers) if containers.is_empty() => {
                table.add_row([host.as_str(), "(no container running)", "", "", "", "", ""]);
            }
            Ok(containers) => {
                for c in containers {
                    table.add_row([
                        host.as_str(),
                        &c.name,
                        &c.cpu_perc,
                        &c.mem_usage,
                        &c.mem_perc,
                        &c.net_io,
                        &c.block_io,
                    ]);
                }
            }
            Err(_) => {
                table.add_row([host.as_str(), "(failed, see above)", "", "", "", "", ""]);
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_and_parsing() {
        assert_eq!(
            stats_command().to_shell(),
            "docker stats --no-stream --format '{{json .}}'"
        );
        let line = r#"{"BlockIO":"11.2MB / 5.0MB","CPUPerc":"7.13%","Container":"ab","ID":"ab","MemPerc":"0.11%","MemUsage":"57.5MiB / 3.859GiB","Name":"ecs_ecs.web_1","NetIO":"3.1MB / 2.4MB","PIDs":"5"}"#;
        let parsed = parse(&format!("{line}\n\n")).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "ecs_ecs.web_1");
        assert_eq!(parsed[0].block_io, "11.2MB / 5.0MB");
        assert_eq!(percent(&parsed[0].cpu_perc), Some(7.13));
        assert_eq!(percent("--"), None);
        let error = parse("Cannot connect to the Docker daemon").unwrap_err();
        assert!(
            error.starts_with("unexpected `docker stats` output"),
            "{error}"
        );
        assert_eq!(parse("").unwrap(), Vec::new());
    }
}
