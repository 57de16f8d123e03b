//! `ecsfleet check`: can the selected hosts carry the appliance, and N
//! studies a month? One round trip per host (the facts install reads, plus
//! the host's name and what the domain resolves to there), judged on the
//! workstation by `check/verdict.rs` against install's own preflight and the
//! manual's sizing (`size/model.rs`). `install` asks the same first
//! (`check/gate.rs`).

pub mod gate;
mod verdict;

use std::io::Write as _;
use std::net::ToSocketAddrs;
use std::path::Path;

use clap::Args;
use comfy_table::{Cell, Color, ContentArrangement};
use ecsfleet_inventory::Host;
use ecsfleet_playbooks::{
    Arg, Condition, Facts, Playbook, RemoteCommand, StepKind, Token, appliance, sequence,
};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::fleet_run::fleet_directory;
use crate::run::{for_each_host, runtime};
use crate::ssh::Connection;

use super::size::model::Sizing;
use verdict::Context;
pub use verdict::{Level, Row};

#[derive(Debug, Args)]
#[command(
    after_help = "Checks, each pass, warn or fail with the reason: install's own preflight \
(playbooks/stock/install.yml, or the fleet's override), cores and memory against the manual's \
minimum (1 core / 3 GiB, 2 / 4 GiB with monitoring) and the sizing for --studies (else the \
host's vars.studies_per_month), the disk /data lives on against the 10-year disk figure, the \
ecs-data / ecs-volatile labels when the env sets appliance.storage.ignore.* to false, salt, \
whether the appliance is installed, and whether the domain resolves to the host.

Exit status: 0 no host failed a check; 1 some host failed one or was unreachable.

Example:
  ecsfleet check ecs-vienna --studies 100
  ecsfleet check --all --json"
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Studies per month the hosts must carry [default: each host's
    /// vars.studies_per_month]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub studies: Option<u32>,
    /// Years of documents and database to keep
    #[arg(long, value_name = "Y", default_value_t = YEARS, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub years: u32,
    /// Hosts asked at the same time
    #[arg(short, long, default_value_t = 50)]
    pub forks: usize,
}

/// The manual's sizing horizon: years of documents and database to keep.
pub const YEARS: u32 = 10;

/// One host's verdict: the rows, or why the host could not be asked.
pub struct HostCheck {
    pub host: String,
    pub studies: Option<u32>,
    pub rows: Vec<Row>,
    pub facts: Facts,
    /// The host could not be reached (or did not answer).
    pub error: Option<String>,
}

impl HostCheck {
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.rows.iter().any(|r| r.result == Level::Fail)
    }

    /// The rows at `level`.
    pub fn at(&self, level: Level) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.result == level)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.host,
            "ok": !self.failed(),
            "studies_per_month": self.studies,
            "checks": self.rows,
            "facts": self.facts.to_json(),
            "error": self.error,
        })
    }
}

pub fn run(args: CheckArgs, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&args.select)?;
    let checks = judge(&fleet, &hosts, args.studies, args.years, args.forks, global)?;
    print(&checks, global);
    Ok(if checks.iter().any(HostCheck::failed) {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}

/// The verdicts on `hosts`, in their order: one round trip each, `forks`
/// at a time. `studies` overrides each host's vars.studies_per_month.
/// `install` calls this too (`check/gate.rs`), so both judge alike.
pub fn judge(
    fleet: &Fleet,
    hosts: &[&Host],
    studies: Option<u32>,
    years: u32,
    forks: usize,
    global: &GlobalArgs,
) -> Result<Vec<HostCheck>> {
    let options = fleet.ssh_options(global)?;
    let preflight = install_preflight(fleet)?;
    let mut work = Vec::new();
    for host in hosts {
        let (context, studies, notes) = context(host, studies, years)?;
        work.push((fleet.target(host)?, context, studies, notes));
    }
    Ok(runtime().block_on(for_each_host(
        work,
        forks,
        move |(target, context, studies, notes)| {
            let options = options.clone();
            let preflight = preflight.clone();
            async move {
                let mut check = HostCheck {
                    host: target.name.clone(),
                    studies,
                    rows: Vec::new(),
                    facts: Facts::default(),
                    error: None,
                };
                let command = probe(context.domain.as_deref());
                let output = match Connection::open(&target, &options).await {
                    Ok(connection) => {
                        let output = connection.exec(&command.to_shell(), None).await;
                        connection.close().await;
                        output.map_err(|e| e.to_string())
                    }
                    Err(error) => Err(error.to_string()),
                };
                match output {
                    Ok(output) => {
                        check.facts = Facts::parse(&String::from_utf8_lossy(&output.stdout));
                        check.rows = notes;
                        check
                            .rows
                            .extend(verdict::rows(&check.facts, &preflight, &context));
                    }
                    Err(error) => check.error = Some(error),
                }
                check
            }
        },
    )))
}

fn print(checks: &[HostCheck], global: &GlobalArgs) {
    if global.json {
        let mut out = std::io::stdout().lock();
        for check in checks {
            let _ = writeln!(out, "{}", check.json());
        }
        return;
    }
    for check in checks {
        if let Some(error) = &check.error {
            eprintln!("error: {}: {error}", check.host);
        }
    }
    if global.quiet {
        return;
    }
    let colors = crate::report::colors_on_stdout();
    let mut table = crate::report::table(["host", "check", "result", "detail"]);
    // Wrap to a real terminal's width; a pipe (or a pty that reports no
    // size) keeps whole lines.
    if table.width().is_some_and(|w| w >= 60) {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    for check in checks {
        if let Some(error) = &check.error {
            let first = error.lines().next().unwrap_or_default();
            table.add_row(vec![
                Cell::new(&check.host),
                Cell::new("reach"),
                result_cell(Level::Fail, colors),
                Cell::new(first),
            ]);
        }
        for (i, row) in check.rows.iter().enumerate() {
            let host = if i == 0 { check.host.as_str() } else { "" };
            table.add_row(vec![
                Cell::new(host),
                Cell::new(&row.check),
                result_cell(row.result, colors),
                Cell::new(&row.detail),
            ]);
        }
    }
    println!("{table}");
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.failed())
        .map(|c| c.host.as_str())
        .collect();
    if failed.is_empty() {
        println!("{} host(s) checked; none failed.", checks.len());
    } else {
        println!(
            "{} of {} host(s) failed a check: {}",
            failed.len(),
            checks.len(),
            failed.join(", ")
        );
    }
}

fn result_cell(level: Level, colors: bool) -> Cell {
    let cell = Cell::new(level.as_str());
    if !colors {
        return cell;
    }
    cell.fg(match level {
        Level::Pass => Color::Green,
        Level::Warn => Color::Yellow,
        Level::Fail => Color::Red,
    })
}

/// The install playbook's `requires:` and its `check:` steps (the
/// preflight), each condition once: check and install then judge a host by
/// the same definition, and a fleet that overrides install.yml overrides both.
fn install_preflight(fleet: &Fleet) -> Result<Vec<Condition>> {
    let playbook = Playbook::resolve("install", Some(&fleet_directory(fleet)))
        .map_err(|e| Error::usage(e.to_string()))?;
    let mut conditions: Vec<Condition> = playbook.requires.clone();
    for step in &playbook.steps {
        if let StepKind::Check { conditions: more } = &step.kind {
            conditions.extend(more.iter().cloned());
        }
    }
    let mut unique: Vec<Condition> = Vec::new();
    for condition in conditions {
        if !unique.contains(&condition) {
            unique.push(condition);
        }
    }
    Ok(unique)
}

/// The facts install reads, then the host's name, its addresses and what
/// the domain resolves to there: one script, one round trip.
fn probe(domain: Option<&str>) -> RemoteCommand {
    let mut parts = vec![
        appliance::facts(),
        RemoteCommand::script(
            "printf 'fqdn=%s\\n' \"$(hostname -f 2>/dev/null)\"; \
             printf 'host_addresses=%s\\n' \"$(hostname -I 2>/dev/null)\"",
        ),
    ];
    if let Some(domain) = domain {
        parts.push(RemoteCommand::shell(vec![
            Token::Code("printf 'domain_addresses=%s\\n' \"$(getent ahostsv4 -- ".into()),
            Token::Arg(Arg::plain(domain)),
            Token::Code(" | awk '{print $1}' | sort -u | tr '\\n' ' ')\"".into()),
        ]));
    }
    sequence(parts)
}

/// What the workstation knows: the sizing, the env's wishes, the domain.
/// Rows about the workstation's side (no sizing, an unreadable env) come
/// back as notes to show before the host's own rows.
fn context(
    host: &Host,
    studies: Option<u32>,
    years: u32,
) -> Result<(Context, Option<u32>, Vec<Row>)> {
    let mut notes = Vec::new();
    let mut context = Context::default();
    let (studies, source) = match studies {
        Some(n) => (Some(n), "--studies".to_owned()),
        None => match host.vars.get("studies_per_month") {
            None => (None, String::new()),
            Some(value) => {
                let n = value
                    .as_u64()
                    .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| {
                        Error::usage(format!(
                            "{}: vars.studies_per_month is {value}, expected a whole number from 1 to 100000",
                            host.name
                        ))
                    })?;
                (Some(n as u32), "vars.studies_per_month".to_owned())
            }
        },
    };
    match studies {
        Some(n) => {
            context.sizing = Some(Sizing::new(n, years));
            notes.push(Row {
                check: "sizing".into(),
                result: Level::Pass,
                detail: format!("{n} studies/month over {years} years ({source}); see `ecsfleet size --studies {n}`"),
            });
        }
        None => notes.push(Row {
            check: "sizing".into(),
            result: Level::Warn,
            detail: "no --studies N and no vars.studies_per_month: checked against the manual's minimum only".into(),
        }),
    }
    context.domain = host.domain.clone();
    if let Some(path) = &host.env {
        match read_env(path) {
            Ok(env) => {
                let is = |path: &str, want: bool| {
                    env.at(path).map(|n| &n.value) == Some(&ecsfleet_env::Value::Bool(want))
                };
                context.monitoring =
                    is("appliance.metric.server", true) || is("appliance.metric.gui", true);
                context.wants_data_label = is("appliance.storage.ignore.data", false);
                context.wants_volatile_label = is("appliance.storage.ignore.volatile", false);
                if context.domain.is_none() {
                    context.domain = env
                        .at("appliance.domain")
                        .and_then(|n| n.as_str())
                        .map(str::to_owned);
                }
            }
            Err(why) => notes.push(Row {
                check: "env".into(),
                result: Level::Warn,
                detail: why,
            }),
        }
    }
    context.reached_at = reached_at(&host.address);
    Ok((context, studies, notes))
}

/// The env file, parsed; the error never quotes its content (secrets).
fn read_env(path: &Path) -> std::result::Result<ecsfleet_env::Node, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the env {}: {e}; labels and monitoring not checked",
            path.display()
        )
    })?;
    ecsfleet_env::load(&text).map_err(|_| {
        format!(
            "cannot parse the env {} (see `ecsfleet env check {}`); labels and monitoring not checked",
            path.display(),
            path.display()
        )
    })
}

/// The address as given, and what it resolves to here.
fn reached_at(address: &str) -> Vec<String> {
    let mut out = vec![address.to_owned()];
    if let Ok(addresses) = (address, 22).to_socket_addrs() {
        for a in addresses {
            let ip = a.ip().to_string();
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_quoted_into_the_probe() {
        let shell = probe(Some("x.example.org; touch /tmp/pwned")).to_shell();
        assert!(
            shell.contains("getent ahostsv4 -- 'x.example.org; touch /tmp/pwned' |"),
            "{shell}"
        );
        assert!(!probe(None).to_shell().contains("getent"));
    }
}
