//! The local run journal: JSON lines appended to
//! `<fleet dir>/.ecsfleet/journal.jsonl`, one per run start, finished step
//! and finished host, and one when the run ends (interrupted or not): run
//! id, time, host, playbook, step index and name, result, seconds. Never
//! command lines, output, vars or error text: those may hold secrets.
//! `--resume RUN_ID` reads it back ([`Journal::finished`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::events::{Event, StepResult};

pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    run: String,
}

/// What the journal says about an earlier run.
#[derive(Debug, Default)]
pub struct EarlierRun {
    pub playbook: String,
    /// Per host, the step indexes that finished.
    pub finished: BTreeMap<String, BTreeSet<usize>>,
}

/// The fleet directory of an inventory file: the parent of `inventory/`
/// when the file sits in a folder of that name, else the file's folder.
pub fn fleet_dir(inventory: &Path) -> PathBuf {
    let parent = inventory
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if parent.file_name().is_some_and(|n| n == "inventory") {
        parent
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

impl Journal {
    pub fn path_in(fleet_dir: &Path) -> PathBuf {
        fleet_dir.join(".ecsfleet").join("journal.jsonl")
    }

    /// A journal for run `run`; the file is created on the first record.
    pub fn new(path: PathBuf, run: &str) -> Journal {
        Journal {
            path,
            file: None,
            run: run.to_owned(),
        }
    }

    fn append(&mut self, value: serde_json::Value) -> std::io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&self.path)?,
            );
        }
        let file = self.file.as_mut().expect("opened above");
        // One write per line so concurrent runs do not interleave records.
        let mut line = serde_json::to_vec(&value)?;
        line.push(b'\n');
        file.write_all(&line)
    }

    /// Appends the record for `event`, if it is one the journal keeps.
    pub fn record(&mut self, playbook: &str, event: &Event) -> std::io::Result<()> {
        let time = now_rfc3339();
        let value = match event {
            Event::RunStarted { hosts, resumed, .. } => json!({
                "run": self.run, "time": time, "kind": "run",
                "playbook": playbook, "hosts": hosts, "resumed": resumed,
            }),
            Event::StepFinished {
                host,
                step,
                name,
                result,
                seconds,
                ..
            } => json!({
                "run": self.run, "time": time, "kind": "step", "playbook": playbook,
                "host": host, "step": step, "name": name, "result": result.as_str(),
                "seconds": round(*seconds),
            }),
            Event::HostFinished {
                host,
                result,
                seconds,
                ..
            } => json!({
                "run": self.run, "time": time, "kind": "host", "playbook": playbook,
                "host": host, "result": result.as_str(), "seconds": round(*seconds),
            }),
            // Whether the run ended by itself or was interrupted (Ctrl-C,
            // SIGTERM): the one record that says so for the whole run.
            Event::RunFinished {
                ok,
                failed,
                interrupted,
                ..
            } => json!({
                "run": self.run, "time": time, "kind": "run_finished", "playbook": playbook,
                "ok": ok, "failed": failed, "interrupted": interrupted,
            }),
            _ => return Ok(()),
        };
        self.append(value)
    }

    /// Reads what run `run` finished; `None` when the journal never saw it.
    pub fn earlier(path: &Path, run: &str) -> std::io::Result<Option<EarlierRun>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut found: Option<EarlierRun> = None;
        for line in BufReader::new(file).lines() {
            let line = line?;
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if value["run"].as_str() != Some(run) {
                continue;
            }
            let earlier = found.get_or_insert_with(EarlierRun::default);
            if let Some(playbook) = value["playbook"].as_str() {
                earlier.playbook = playbook.to_owned();
            }
            if value["kind"] != "step" {
                continue;
            }
            let (Some(host), Some(step), Some(result)) = (
                value["host"].as_str(),
                value["step"].as_u64(),
                value["result"].as_str().and_then(StepResult::parse),
            ) else {
                continue;
            };
            let steps = earlier.finished.entry(host.to_owned()).or_default();
            if result.finished() {
                steps.insert(step as usize);
            } else {
                steps.remove(&(step as usize));
            }
        }
        Ok(found)
    }
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// A new run id: UTC time plus 4 random hex digits, `20261101-101500-3fa2`.
pub fn new_run_id() -> String {
    let (date, time) = utc_parts(std::time::SystemTime::now());
    let tag: u16 = rand::random();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{tag:04x}",
        date.0, date.1, date.2, time.0, time.1, time.2
    )
}

/// Now as `2026-11-01T10:15:00Z`.
pub fn now_rfc3339() -> String {
    let (date, time) = utc_parts(std::time::SystemTime::now());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.0, date.1, date.2, time.0, time.1, time.2
    )
}

fn utc_parts(t: std::time::SystemTime) -> ((i64, u32, u32), (u64, u64, u64)) {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    (
        crate::report::civil_from_days(days),
        (rest / 3600, (rest % 3600) / 60, rest % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_dir_is_above_inventory() {
        assert_eq!(
            fleet_dir(Path::new("/f/inventory/hosts.yml")),
            PathBuf::from("/f")
        );
        assert_eq!(fleet_dir(Path::new("/f/hosts.yml")), PathBuf::from("/f"));
        assert_eq!(
            fleet_dir(Path::new("inventory/hosts.yml")),
            PathBuf::from(".")
        );
        assert_eq!(fleet_dir(Path::new("hosts.yml")), PathBuf::from("."));
    }

    #[test]
    fn records_round_trip_for_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = Journal::path_in(dir.path());
        let mut journal = Journal::new(path.clone(), "r1");
        let step = |step, result| Event::StepFinished {
            host: "h1".into(),
            step,
            total: 3,
            name: format!("s{step}"),
            result,
            seconds: 0.5,
            note: Some("secret output never goes here".into()),
        };
        journal
            .record(
                "pb",
                &Event::RunStarted {
                    run: "r1".into(),
                    playbook: "pb".into(),
                    hosts: vec!["h1".into()],
                    resumed: false,
                },
            )
            .unwrap();
        journal.record("pb", &step(1, StepResult::Changed)).unwrap();
        journal.record("pb", &step(2, StepResult::Skipped)).unwrap();
        journal.record("pb", &step(3, StepResult::Failed)).unwrap();
        journal
            .record(
                "pb",
                &Event::RunFinished {
                    run: "r1".into(),
                    ok: 0,
                    failed: 1,
                    interrupted: true,
                },
            )
            .unwrap();
        let mut other = Journal::new(path.clone(), "r2");
        other.record("pb", &step(3, StepResult::Ok)).unwrap();
        let earlier = Journal::earlier(&path, "r1").unwrap().unwrap();
        assert_eq!(earlier.playbook, "pb");
        assert_eq!(earlier.finished["h1"], BTreeSet::from([1, 2]));
        assert!(Journal::earlier(&path, "nope").unwrap().is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret output"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.contains(r#""kind":"run_finished""#)
                    && l.contains(r#""interrupted":true"#)),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
