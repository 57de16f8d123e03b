//! `stats`: every container, as a table and as JSON.

use super::*;

#[test]
fn stats_shows_every_container_as_a_table_and_as_json() {
    let fleet = LabFleet::up(71, 2);
    let (up, idle) = (fleet.name(0), fleet.name(1));
    make_running(&fleet, &up);

    let out = run_ok(&fleet, &["stats", "--all"]);
    let table = stdout(&out);
    for header in [
        "container",
        "cpu",
        "memory (use / limit)",
        "net i/o (in / out)",
        "disk i/o (read / write)",
    ] {
        assert!(table.contains(header), "{table}");
    }
    let web = table
        .lines()
        .find(|l| l.contains(&up) && l.contains("ecs_ecs.web_1"))
        .unwrap_or_else(|| panic!("{table}"));
    for value in [
        "7.13%",
        "57.5MiB / 3.859GiB",
        "3.1MB / 2.4MB",
        "11.2MB / 5.0MB",
    ] {
        assert!(web.contains(value), "{web}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.contains(&idle) && l.contains("(no container running)")),
        "{table}"
    );
    assert!(has_call(
        &fleet,
        &up,
        &["docker", "stats", "--no-stream", "--format", "{{json .}}"]
    ));

    let out = run_ok(&fleet, &["--json", "stats", "--all"]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let containers: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["host"] == up.as_str()).collect();
    assert_eq!(containers.len(), 8, "{lines:?}");
    assert_eq!(containers[0]["container"], "ecs_ecs.web_1");
    assert_eq!(containers[0]["cpu_percent"], 7.13);
    assert_eq!(containers[0]["memory_percent"], 0.11);
    assert_eq!(containers[0]["block_io"], "11.2MB / 5.0MB");
    assert_eq!(containers[0]["pids"], 5);
    let idle_line: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["host"] == idle.as_str())
        .collect();
    assert_eq!(idle_line.len(), 1, "{lines:?}");
    assert!(idle_line[0]["container"].is_null(), "{lines:?}");
}
