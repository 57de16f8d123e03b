//! `ecsfleet size` and `ecsfleet init` (issue 6), run as the built binary.
//! No network, no root.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What one run of the binary left behind.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ecsfleet(dir: &Path, args: &[&str]) -> Ran {
    let output = Command::new(env!("CARGO_BIN_EXE_ecsfleet"))
        .current_dir(dir)
        .env_remove("ECSFLEET_INVENTORY")
        .env_remove("ECSFLEET_LOG")
        .args(args)
        .output()
        .expect("run ecsfleet");
    Ran {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

fn size_json(studies: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path(), &["size", "--studies", studies, "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("one JSON object")
}

fn quantity<'v>(sizing: &'v Value, name: &str) -> &'v Value {
    sizing["quantities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap_or_else(|| panic!("no quantity {name}"))
}

#[test]
fn size_100_json_matches_the_manuals_row() {
    let sizing = size_json("100");
    assert_eq!(sizing["studies_per_month"], 100);
    assert_eq!(sizing["years"], 10);
    assert_eq!(sizing["cores"], 6);
    assert_eq!(sizing["memory_gb"], 16.0);
    assert_eq!(sizing["database_gb"], 8.0);
    assert_eq!(sizing["documents_gb"], 195.0);
    assert_eq!(sizing["disk_gb"], 253.0);
    assert_eq!(sizing["backup_gb"], 444.0);
    for name in ["cores", "memory", "disk", "backup"] {
        let q = quantity(&sizing, name);
        assert_eq!(q["manual"], q["value"], "{name}");
        assert_eq!(q["manual_differs"], false, "{name}");
    }
}

#[test]
fn size_250_json_says_where_the_manual_departs_from_its_formula() {
    let sizing = size_json("250");
    let backup = quantity(&sizing, "backup");
    assert_eq!(backup["value"], 1033.0);
    assert_eq!(backup["manual"], 1332.0);
    assert_eq!(backup["manual_differs"], true);
    assert!(backup["note"].as_str().unwrap().contains("3 × 444 = 1332"));
    assert_eq!(quantity(&sizing, "disk")["manual_differs"], true);
    assert_eq!(quantity(&sizing, "memory")["manual_differs"], false);
}

#[test]
fn size_table_shows_each_formula_and_its_working() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path(), &["size", "--studies", "40"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for text in [
        "2 GB + 1 GB × cores + database",
        "2 + 4 + 3.2 = 9.2 → 9.5 GB",
        "50 GB base and temp + database + documents",
        "50 + 3.2 + 78 = 131.2 → 131 GB",
        "2 × documents + base + documents ÷ months × 2",
        "444 × 40 ÷ 100 = 177.6 → 178",
        "DIFFERS",
    ] {
        assert!(
            ran.stdout.contains(text),
            "missing {text:?} in\n{}",
            ran.stdout
        );
    }
}

#[test]
fn size_needs_at_least_one_study() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path(), &["size", "--studies", "0"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stdout.is_empty());
}

const SCAFFOLD: [&str; 5] = [
    "inventory/hosts.yml",
    "env/.gitignore",
    "known_hosts",
    "playbooks/README.md",
    "README.md",
];

#[test]
fn init_creates_the_fleet_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path(), &["init", "fleet", "--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let printed: Value = serde_json::from_str(&ran.stdout).expect("one JSON object");
    assert_eq!(
        printed,
        serde_json::json!({"dir": "fleet", "files": SCAFFOLD})
    );
    let fleet = dir.path().join("fleet");
    for file in SCAFFOLD {
        assert!(fleet.join(file).is_file(), "{file}");
    }
    let gitignore = std::fs::read_to_string(fleet.join("env/.gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "*"), "{gitignore}");
    assert!(gitignore.lines().any(|l| l == "!.gitignore"), "{gitignore}");
    assert_eq!(std::fs::read(fleet.join("known_hosts")).unwrap(), b"");
    let readme = std::fs::read_to_string(fleet.join("README.md")).unwrap();
    for step in ["ecsfleet trust", "ecsfleet check", "ecsfleet env new"] {
        assert!(readme.contains(step), "{step}");
    }
}

#[test]
fn init_defaults_to_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path(), &["init"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(dir.path().join("inventory/hosts.yml").is_file());
}

#[test]
fn init_refuses_a_second_time_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ecsfleet(dir.path(), &["init", "fleet"]).code, 0);
    let hosts = dir.path().join("fleet/inventory/hosts.yml");
    std::fs::write(&hosts, "hosts: {}\n").unwrap();
    let before: Vec<Vec<u8>> = SCAFFOLD
        .iter()
        .map(|f| std::fs::read(dir.path().join("fleet").join(f)).unwrap())
        .collect();

    let ran = ecsfleet(dir.path(), &["init", "fleet"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("fleet/inventory/hosts.yml"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("never overwrites"), "{}", ran.stderr);
    let after: Vec<Vec<u8>> = SCAFFOLD
        .iter()
        .map(|f| std::fs::read(dir.path().join("fleet").join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn init_with_one_file_present_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("known_hosts"), "mine\n").unwrap();
    let ran = ecsfleet(dir.path(), &["init"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("known_hosts already exists"),
        "{}",
        ran.stderr
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["known_hosts"]);
}

#[test]
fn help_has_examples() {
    let dir = tempfile::tempdir().unwrap();
    for (command, example) in [
        ("size", "ecsfleet size --studies 100"),
        ("init", "ecsfleet init myfleet"),
    ] {
        let ran = ecsfleet(dir.path(), &[command, "--help"]);
        assert_eq!(ran.code, 0);
        assert!(ran.stdout.contains(example), "{}", ran.stdout);
    }
}

#[test]
fn init_inventory_is_read_by_hosts_with_and_without_the_example() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ecsfleet(dir.path(), &["init"]).code, 0);
    let ran = ecsfleet(dir.path(), &["--no-ssh-config", "hosts"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    // Uncomment the example: indented `# ` lines become YAML.
    let path = dir.path().join("inventory/hosts.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let uncommented: String = text
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            match line.trim_start().strip_prefix("# ") {
                Some(rest) if indent > 0 => format!("{}{rest}\n", &line[..indent]),
                _ => format!("{line}\n"),
            }
        })
        .collect();
    std::fs::write(&path, uncommented).unwrap();
    let ran = ecsfleet(dir.path(), &["--no-ssh-config", "hosts"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("ecs-vienna"), "{}", ran.stdout);
    assert!(ran.stdout.contains("ecs.example.org"), "{}", ran.stdout);
}
