//! From one host's facts to pass / warn / fail rows, without SSH: the
//! install playbook's own preflight conditions (one definition, read from
//! install.yml), then the manual's minimum and the sizing for the studies
//! per month, the filesystem labels the env asks for, and the domain.

use ecsfleet_playbooks::{Condition, Facts};
use serde::Serialize;

use crate::cmd::size::model::{Sizing, num};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub check: String,
    pub result: Level,
    pub detail: String,
}

fn row(check: &str, result: Level, detail: impl Into<String>) -> Row {
    Row {
        check: check.to_owned(),
        result,
        detail: detail.into(),
    }
}

/// What the workstation knows about the host besides its facts.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The sizing to hold the host to, if studies per month are known.
    pub sizing: Option<Sizing>,
    /// The env turns on Prometheus or Grafana: the manual's larger minimum.
    pub monitoring: bool,
    /// The env sets `appliance.storage.ignore.data` / `.volatile` to false.
    pub wants_data_label: bool,
    pub wants_volatile_label: bool,
    /// The appliance's domain (inventory `domain:` or the env's).
    pub domain: Option<String>,
    /// The addresses the workstation reaches the host at.
    pub reached_at: Vec<String>,
}

/// MemTotal is a little under the machine's memory (the kernel keeps some):
/// install.yml accepts 2800 MiB as "3 GiB", and the same share is taken of
/// every larger figure here.
const MEMTOTAL_SHARE: f64 = 2800.0 / 3072.0;

fn memtotal_floor_mb(gib: f64) -> f64 {
    (gib * 1024.0 * MEMTOTAL_SHARE).floor()
}

/// The rows for one host.
pub fn rows(facts: &Facts, preflight: &[Condition], context: &Context) -> Vec<Row> {
    let mut out = Vec::new();
    for condition in preflight {
        out.push(match condition.check(facts) {
            Ok(()) => row(
                &condition.fact,
                Level::Pass,
                format!(
                    "{} (install needs {})",
                    facts.get(&condition.fact).unwrap_or("?"),
                    condition.expected
                ),
            ),
            Err(unmet) => row(
                &condition.fact,
                Level::Fail,
                format!("{unmet} (install's preflight refuses this host)"),
            ),
        });
    }
    out.push(cores(facts, context));
    out.push(memory(facts, context));
    out.push(disk(facts, context));
    out.extend(labels(facts, context));
    out.push(flag(
        facts,
        "salt_call",
        "salt",
        "salt-call present",
        "salt-call absent (install brings it)",
    ));
    out.push(flag(
        facts,
        "appliance_tree",
        "appliance",
        "installed (/app/appliance present)",
        "not installed",
    ));
    out.push(dns(facts, context));
    out
}

fn cores(facts: &Facts, context: &Context) -> Row {
    let Some(have) = facts.number("cores") else {
        return row("cores", Level::Fail, "the host did not report its cores");
    };
    let minimum = if context.monitoring { 2.0 } else { 1.0 };
    if have < minimum {
        return row(
            "cores",
            Level::Fail,
            format!(
                "{} cores; the manual's minimum is {} {}",
                num(have),
                num(minimum),
                monitoring_words(context)
            ),
        );
    }
    match &context.sizing {
        Some(s) if have < f64::from(s.cores) => row(
            "cores",
            Level::Fail,
            format!(
                "{} cores; {} studies/month need {}",
                num(have),
                s.studies_per_month,
                s.cores
            ),
        ),
        Some(s) => row(
            "cores",
            Level::Pass,
            format!(
                "{} cores; {} studies/month need {}",
                num(have),
                s.studies_per_month,
                s.cores
            ),
        ),
        None => row(
            "cores",
            Level::Pass,
            format!(
                "{} cores; the manual's minimum is {}",
                num(have),
                num(minimum)
            ),
        ),
    }
}

fn monitoring_words(context: &Context) -> &'static str {
    if context.monitoring {
        "with monitoring (the env enables metric.server or metric.gui)"
    } else {
        "without monitoring"
    }
}

fn memory(facts: &Facts, context: &Context) -> Row {
    let Some(have_mb) = facts.number("memory_mb") else {
        return row("memory", Level::Fail, "the host did not report MemTotal");
    };
    let have = format!("{} MiB", num(have_mb));
    let minimum_gib = if context.monitoring { 4.0 } else { 3.0 };
    if have_mb < memtotal_floor_mb(minimum_gib) {
        return row(
            "memory",
            Level::Fail,
            format!(
                "{have}; the manual's minimum is {} GiB {} (MemTotal >= {} MiB)",
                num(minimum_gib),
                monitoring_words(context),
                num(memtotal_floor_mb(minimum_gib))
            ),
        );
    }
    match &context.sizing {
        Some(s) => {
            let floor = memtotal_floor_mb(s.memory_gb);
            let level = if have_mb < floor {
                Level::Fail
            } else {
                Level::Pass
            };
            row(
                "memory",
                level,
                format!(
                    "{have}; {} studies/month need {}+ GiB (MemTotal >= {} MiB)",
                    s.studies_per_month,
                    num(s.memory_gb),
                    num(floor)
                ),
            )
        }
        None => row(
            "memory",
            Level::Pass,
            format!("{have}; the manual's minimum is {} GiB", num(minimum_gib)),
        ),
    }
}

/// The sizing's 10-year disk against the filesystem /data lives on.
fn disk(facts: &Facts, context: &Context) -> Row {
    let data_mounted = facts.get("data_mounted") == Some("true");
    let (fs, size, free) = if data_mounted {
        ("/data", "disk_data_gb", "disk_data_free_gb")
    } else {
        ("/ (no separate /data)", "disk_root_gb", "disk_root_free_gb")
    };
    let (Some(size), Some(free)) = (facts.number(size), facts.number(free)) else {
        return row("disk", Level::Fail, format!("the host did not report {fs}"));
    };
    let have = format!("{fs}: {} GiB, {} GiB free", num(size), num(free));
    match &context.sizing {
        Some(s) if size < s.disk_gb => row(
            "disk",
            Level::Fail,
            format!(
                "{have}; {} studies/month over {} years need {} GiB",
                s.studies_per_month,
                s.years,
                num(s.disk_gb)
            ),
        ),
        Some(s) => row(
            "disk",
            Level::Pass,
            format!(
                "{have}; {} studies/month over {} years need {} GiB",
                s.studies_per_month,
                s.years,
                num(s.disk_gb)
            ),
        ),
        None => row("disk", Level::Pass, have),
    }
}

fn labels(facts: &Facts, context: &Context) -> Vec<Row> {
    let mut out = Vec::new();
    for (wanted, label, fact, key) in [
        (context.wants_data_label, "ecs-data", "data_label", "data"),
        (
            context.wants_volatile_label,
            "ecs-volatile",
            "volatile_label",
            "volatile",
        ),
    ] {
        if !wanted {
            continue;
        }
        out.push(if facts.get(fact) == Some("true") {
            row(
                &format!("label {label}"),
                Level::Pass,
                format!("a filesystem labelled {label} exists"),
            )
        } else {
            row(
                &format!("label {label}"),
                Level::Fail,
                format!(
                    "the env sets appliance.storage.ignore.{key}: false but no filesystem is labelled {label} (/dev/disk/by-label/{label})"
                ),
            )
        });
    }
    out
}

fn flag(facts: &Facts, fact: &str, check: &str, yes: &str, no: &str) -> Row {
    match facts.get(fact) {
        Some("true") => row(check, Level::Pass, yes),
        Some(_) => row(check, Level::Pass, no),
        None => row(
            check,
            Level::Warn,
            format!("the host did not report {fact}"),
        ),
    }
}

/// The domain should name this host: it is where the appliance answers and
/// where Let's Encrypt looks for it.
fn dns(facts: &Facts, context: &Context) -> Row {
    let fqdn = facts.get("fqdn").filter(|f| !f.is_empty()).unwrap_or("?");
    let Some(domain) = &context.domain else {
        return row(
            "dns",
            Level::Warn,
            format!(
                "no domain (inventory `domain:` or the env's appliance.domain); hostname -f: {fqdn}"
            ),
        );
    };
    let resolved: Vec<&str> = facts
        .get("domain_addresses")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if resolved.is_empty() {
        return row(
            "dns",
            Level::Warn,
            format!("{domain} does not resolve on the host; hostname -f: {fqdn}"),
        );
    }
    let own: Vec<&str> = facts
        .get("host_addresses")
        .unwrap_or("")
        .split_whitespace()
        .chain(context.reached_at.iter().map(String::as_str))
        .collect();
    let list = resolved.join(" ");
    if resolved.iter().any(|a| own.contains(a)) {
        row(
            "dns",
            Level::Pass,
            format!("{domain} resolves to {list}, this host; hostname -f: {fqdn}"),
        )
    } else {
        row(
            "dns",
            Level::Warn,
            format!(
                "{domain} resolves to {list}, not to this host ({}); hostname -f: {fqdn}",
                own.join(" ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_facts() -> Facts {
        Facts::parse(
            "os_id=ubuntu\nos_version=16.04\ncores=2\nmemory_kb=4194304\n\
             disk_root_kb=264212084\ndisk_root_free_kb=75716508\n\
             disk_data_kb=264212084\ndisk_data_free_kb=75716508\n\
             data_mounted=true\nvolatile_mounted=true\ndata_label=false\nvolatile_label=false\n\
             salt_call=false\nappliance_tree=false\nboot_id=x\n\
             fqdn=lab90.ecs.test\nhost_addresses=192.0.2.2\ndomain_addresses=127.0.0.100 \n",
        )
    }

    fn preflight() -> Vec<Condition> {
        vec![
            Condition::parse("os", "ubuntu-16.04").unwrap(),
            Condition::parse("memory_mb", ">= 2800").unwrap(),
        ]
    }

    fn find<'r>(rows: &'r [Row], check: &str) -> &'r Row {
        rows.iter()
            .find(|r| r.check == check)
            .unwrap_or_else(|| panic!("no row {check}: {rows:?}"))
    }

    #[test]
    fn a_4_gib_2_core_host_carries_the_minimum_but_not_100_studies() {
        let mut context = Context {
            domain: Some("lab90.ecs.test".into()),
            reached_at: vec!["127.0.0.100".into()],
            ..Context::default()
        };
        let rows_min = rows(&lab_facts(), &preflight(), &context);
        assert!(
            rows_min.iter().all(|r| r.result == Level::Pass),
            "{rows_min:?}"
        );
        assert_eq!(
            find(&rows_min, "memory_mb").detail,
            "4096 (install needs >= 2800)"
        );

        context.sizing = Some(Sizing::new(100, 10));
        let rows_100 = rows(&lab_facts(), &preflight(), &context);
        let cores = find(&rows_100, "cores");
        assert_eq!(cores.result, Level::Fail);
        assert_eq!(cores.detail, "2 cores; 100 studies/month need 6");
        let memory = find(&rows_100, "memory");
        assert_eq!(memory.result, Level::Fail);
        assert_eq!(
            memory.detail,
            "4096 MiB; 100 studies/month need 16+ GiB (MemTotal >= 14933 MiB)"
        );
        let disk = find(&rows_100, "disk");
        assert_eq!(disk.result, Level::Fail);
        assert_eq!(
            disk.detail,
            "/data: 251 GiB, 72 GiB free; 100 studies/month over 10 years need 253 GiB"
        );
        context.sizing = Some(Sizing::new(20, 10));
        let disk = rows(&lab_facts(), &preflight(), &context);
        assert_eq!(find(&disk, "disk").result, Level::Pass);
    }

    #[test]
    fn small_memory_fails_the_manuals_minimum_and_install_preflight() {
        let mut facts = lab_facts();
        facts.insert("memory_mb", "2048");
        let context = Context {
            monitoring: true,
            ..Context::default()
        };
        let out = rows(&facts, &preflight(), &context);
        assert_eq!(find(&out, "memory_mb").result, Level::Fail);
        assert_eq!(
            find(&out, "memory_mb").detail,
            "memory_mb is 2048, needs >= 2800 (install's preflight refuses this host)"
        );
        let memory = find(&out, "memory");
        assert_eq!(memory.result, Level::Fail);
        assert!(
            memory.detail.contains("minimum is 4 GiB with monitoring"),
            "{}",
            memory.detail
        );
    }

    #[test]
    fn labels_only_when_the_env_asks() {
        let context = Context {
            wants_data_label: true,
            ..Context::default()
        };
        let out = rows(&lab_facts(), &[], &context);
        assert_eq!(find(&out, "label ecs-data").result, Level::Fail);
        assert!(!out.iter().any(|r| r.check == "label ecs-volatile"));
        let mut facts = lab_facts();
        facts.insert("data_label", "true");
        assert_eq!(
            find(&rows(&facts, &[], &context), "label ecs-data").result,
            Level::Pass
        );
    }

    #[test]
    fn dns_names_this_host_or_says_where_it_points() {
        let mut context = Context {
            domain: Some("lab90.ecs.test".into()),
            reached_at: vec!["10.1.1.1".into()],
            ..Context::default()
        };
        let out = rows(&lab_facts(), &[], &context);
        let dns = find(&out, "dns");
        assert_eq!(dns.result, Level::Warn);
        assert_eq!(
            dns.detail,
            "lab90.ecs.test resolves to 127.0.0.100, not to this host (192.0.2.2 10.1.1.1); hostname -f: lab90.ecs.test"
        );
        context.reached_at = vec!["127.0.0.100".into()];
        assert_eq!(
            find(&rows(&lab_facts(), &[], &context), "dns").result,
            Level::Pass
        );
        let mut facts = lab_facts();
        facts.insert("domain_addresses", "");
        assert!(
            find(&rows(&facts, &[], &context), "dns")
                .detail
                .starts_with("lab90.ecs.test does not resolve on the host")
        );
    }
}
