//! Plan cases: each tests/cases/*.yml renders a playbook (stock by name, or
//! inline) for a host with vars and facts and states the exact `--plan` text
//! (`plan:`) or error (`error:`). One driver runs them all. With
//! ECSFLEET_BLESS=1 the driver rewrites each case's last key (`plan: |` or
//! `error: |`) with what it got.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ecsfleet_playbooks::{Facts, Playbook, RenderContext, render};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// A stock playbook's name ...
    playbook: Option<String>,
    /// ... or a playbook's text.
    playbook_text: Option<String>,
    host: String,
    #[serde(default)]
    root_login: bool,
    #[serde(default)]
    vars: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    facts: BTreeMap<String, String>,
    plan: Option<String>,
    error: Option<String>,
}

fn run(case: &Case, name: &str) -> String {
    let fleet = PathBuf::from("/fleet");
    let playbook = match (&case.playbook, &case.playbook_text) {
        (Some(stock), None) => Playbook::resolve(stock, None),
        (None, Some(text)) => Playbook::parse(
            text,
            Path::new(&format!("{name}.yml")),
            Some(PathBuf::from("/fleet/playbooks")),
        ),
        _ => panic!("{name}: give one of playbook, playbook_text"),
    };
    let playbook = match playbook {
        Ok(p) => p,
        Err(e) => return format!("{e}\n"),
    };
    let ctx = RenderContext {
        host: case.host.clone(),
        vars: case.vars.clone(),
        facts: Facts::from_pairs(case.facts.clone()),
        fleet_dir: Some(fleet),
        local_roots: vec![PathBuf::from("/src/ecs-appliance")],
        root_login: case.root_login,
    };
    match render(&playbook, &ctx) {
        Ok(plan) => plan.to_string(),
        Err(e) => format!("{e}\n"),
    }
}

#[test]
fn plan_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let bless = std::env::var_os("ECSFLEET_BLESS").is_some();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let case: Case =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let actual = run(&case, &name);
        let (key, expected) = match (&case.plan, &case.error) {
            (Some(plan), None) => ("plan", plan),
            (None, Some(error)) => ("error", error),
            _ => panic!("{name}: give one of plan, error"),
        };
        if &actual == expected {
            continue;
        }
        if bless {
            let cut = text.rfind(&format!("\n{key}: ")).unwrap() + 1;
            let body: String = actual
                .lines()
                .map(|l| format!("  {l}\n").replace("  \n", "\n"))
                .collect();
            std::fs::write(file, format!("{}{key}: |\n{body}", &text[..cut])).unwrap();
        }
        failures.push(format!("--- {name}: expected\n{expected}--- got\n{actual}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
