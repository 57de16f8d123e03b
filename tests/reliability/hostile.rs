//! Hostile input against real hosts: any string a playbook renders into a
//! command reaches the remote argv byte for byte (the simulator's call log
//! records argv), a NUL is refused before anything runs; path traversal in
//! uploads, fetches and pushed trees (`..`, absolute paths, symlinks) is
//! refused; glob metacharacters in host names and selections; over-long
//! lines and non-UTF-8 output from a host. The parsers' own property tests
//! live beside them (inventory/, playbooks/, env/ src/proptests.rs).
//! Lab hosts 184..=186.

use std::fs;
use std::os::unix::fs::symlink;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::json;

use super::rig::{Ran, Rig, figure, run_measured, yaml_quote};
use crate::support::lab::ecsfleet;

/// What shells, YAML and templates like to interpret.
const CORPUS: &[&str] = &[
    "",
    " ",
    "'",
    "\"",
    "''",
    "O'Brien; touch /tmp/pwned",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "${HOME}",
    "$HOME",
    "a\nb",
    "\n",
    "line1\r\nline2",
    "tab\there",
    "back\\slash",
    "\\'",
    "'\\''",
    "*",
    "?",
    "[a-z]*",
    "~root",
    "-n",
    "--",
    "a;b|c&d>e<f",
    "#comment",
    "{{ host }}",
    "{% raw %}",
    "%s%n",
    "ümlaut ß € 𝄞",
    "\u{202e}rtl",
    "\u{7f}\u{1}\u{1b}[31m",
    "!!",
    "x=$((1+1))",
];

#[test]
fn any_string_reaches_the_remote_argv_byte_for_byte_and_nul_is_refused() {
    let rig = Rig::up(184, 1);
    let host = rig.names().remove(0);
    let mut values: Vec<String> = CORPUS.iter().map(|s| (*s).to_owned()).collect();
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::arbitrary::any::<String>().prop_map(|s| s.replace('\0', ""));
    for _ in 0..200 {
        values.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    let mut yaml = String::from("name: argv\nvars:\n");
    for (i, v) in values.iter().enumerate() {
        yaml.push_str(&format!("  v{i}: {}\n", yaml_quote(v)));
    }
    let words: Vec<String> = (0..values.len())
        .map(|i| format!("{{{{ v{i} }}}}"))
        .collect();
    yaml.push_str(&format!(
        "steps:\n- name: argv\n  run: gosu root true {}\n",
        words.join(" ")
    ));
    rig.write_playbook("argv", &yaml);
    rig.ok(&["run", "argv", &host, "--yes"]);
    let calls: Vec<Vec<String>> = rig
        .lab
        .calls(&host)
        .into_iter()
        .filter(|c| c[0] == "gosu")
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let argv = &calls[0][3..];
    assert_eq!(argv.len(), values.len());
    for (i, (got, want)) in argv.iter().zip(&values).enumerate() {
        assert_eq!(got, want, "value {i} changed on its way");
    }
    assert!(!rig.lab.host_file_exists(&host, "/root/pwned"));

    rig.write_playbook(
        "nul",
        "name: nul\nvars: {v: \"a\\0b\"}\nsteps:\n- name: nul\n  run: gosu root true {{ v }}\n",
    );
    let ran = rig.run(&["run", "nul", &host, "--yes"]);
    assert_ne!(ran.code, Some(0), "{ran:#?}");
    assert!(ran.stderr.contains("NUL"), "{ran:#?}");
    assert_eq!(
        rig.lab
            .calls(&host)
            .iter()
            .filter(|c| c[0] == "gosu")
            .count(),
        1,
        "nothing ran"
    );
    figure(
        json!({"parser": "remote argv (lab call log)", "inputs": values.len() + 1,
        "failures": 0}),
    );
}

/// Every way out of the fleet and playbook directories is refused, and
/// nothing reaches the host.
#[test]
fn path_traversal_in_uploads_fetches_and_trees_is_refused() {
    let rig = Rig::up(185, 1);
    let host = rig.names().remove(0);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("outside-secret");
    fs::write(&secret, "OUTSIDE-SECRET\n").unwrap();
    let playbooks = rig.lab.dir().join("playbooks");
    fs::create_dir_all(playbooks.join("tree/sub")).unwrap();
    fs::write(playbooks.join("tree/sub/ok"), "ok").unwrap();
    symlink(&secret, playbooks.join("link-out")).unwrap();
    symlink(outside.path(), playbooks.join("tree/sub/escape")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "dotdot src",
            "upload: {src: ../../../../etc/passwd, dest: /root/leak}".into(),
            "..",
        ),
        (
            "absolute src",
            format!("upload: {{src: {}, dest: /root/leak}}", secret.display()),
            "outside",
        ),
        (
            "dotdot dest",
            "upload: {content: x, dest: /app/../root/leak}".into(),
            "..",
        ),
        (
            "relative dest",
            "upload: {content: x, dest: root/leak}".into(),
            "absolute",
        ),
        (
            "symlink src",
            "upload: {src: link-out, dest: /root/leak}".into(),
            "outside",
        ),
        (
            "fetch dotdot dest",
            "fetch: {src: /etc/hostname, dest: ../../leak}".into(),
            "..",
        ),
    ];
    for (what, step, expect) in &cases {
        rig.write_playbook(
            "escape",
            &format!("name: escape\nsteps:\n- name: escape\n  {step}\n"),
        );
        let ran = rig.run(&["run", "escape", &host, "--yes"]);
        assert_ne!(ran.code, Some(0), "{what}: {ran:#?}");
        assert!(ran.stderr.contains(expect), "{what}: {ran:#?}");
        assert!(!ran.all().contains("OUTSIDE-SECRET"), "{what}");
        assert!(!rig.lab.host_file_exists(&host, "/root/leak"), "{what}");
        assert!(!rig.lab.dir().join("../leak").exists(), "{what}");
        rig.assert_unlocked(&host);
    }
    // A link in a pushed tree goes as a link, never followed: what it
    // points at on this machine is not read (the appliance's own tree has
    // pillar/custom-env.sls -> /run/active-env.yml, which must arrive so).
    rig.write_playbook(
        "tree",
        "name: tree\nsteps:\n- name: tree\n  push_tree: {src: tree, dest: /root/tree}\n",
    );
    let ran = rig.run(&["run", "tree", &host, "--yes"]);
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(!ran.all().contains("OUTSIDE-SECRET"));
    // (An old-lab host shares this machine's file system, so only the link
    // itself is checked: it arrived as a link with its target unchanged.)
    let link = rig.lab.ssh_ok(&host, "readlink /root/tree/sub/escape");
    assert_eq!(link, format!("{}\n", outside.path().display()));
    rig.assert_unlocked(&host);
    figure(
        json!({"parser": "playbook paths (upload, fetch, push_tree)",
        "inputs": cases.len(), "failures": 1, "fixed": 1}),
    );
}

/// Glob metacharacters in host names are refused with a position; in a
/// selection they select or fail with the list of what exists, never panic.
#[test]
fn glob_metacharacters_in_host_names_and_selections() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("inventory")).unwrap();
    let inventory = dir.path().join("inventory/hosts.yml");
    let run = |args: &[&str]| {
        Ran::from(
            ecsfleet()
                .arg("-i")
                .arg(&inventory)
                .arg("--no-ssh-config")
                .args(args)
                .output()
                .unwrap(),
        )
    };
    let mut inputs = 0;
    for name in [
        "a*b", "web[1]", "x?y", "{a,b}", "a b", "a/b", "$(x)", "a\nb",
    ] {
        inputs += 1;
        fs::write(
            &inventory,
            format!(
                "hosts:\n  ok: {{address: 192.0.2.1}}\n  {}: {{address: 192.0.2.2}}\n",
                yaml_quote(name)
            ),
        )
        .unwrap();
        let ran = run(&["hosts"]);
        assert_eq!(ran.code, Some(2), "{name}: {ran:#?}");
        assert!(
            ran.stderr.contains("hosts.yml:3:3: "),
            "{name}: no position: {ran:#?}"
        );
    }
    fs::write(
        &inventory,
        "hosts:\n  web1: {address: 192.0.2.1}\n  web2: {address: 192.0.2.2}\n  db: {address: 192.0.2.3}\n",
    )
    .unwrap();
    for (pattern, expect) in [
        ("web*", Some(vec!["web1", "web2"])),
        ("web[12]", Some(vec!["web1", "web2"])),
        ("web?", Some(vec!["web1", "web2"])),
        ("*", Some(vec!["web1", "web2", "db"])),
        ("web[", None),
        ("[", None),
        ("[!w]*", Some(vec!["db"])),
        ("{web1,db}", None),
        ("\\", None),
        ("**", Some(vec!["web1", "web2", "db"])),
        ("nothing*", None),
    ] {
        inputs += 1;
        let ran = run(&["--json", "hosts", pattern]);
        match expect {
            Some(hosts) => {
                assert_eq!(ran.code, Some(0), "{pattern}: {ran:#?}");
                for host in hosts {
                    assert!(
                        ran.stdout.contains(&format!("\"{host}\"")),
                        "{pattern}: {ran:#?}"
                    );
                }
            }
            None => {
                assert_eq!(ran.code, Some(2), "{pattern}: {ran:#?}");
                // Names the bad pattern, or lists what exists.
                assert!(
                    ran.stderr.contains(&format!("`{pattern}`"))
                        && ran.stderr.starts_with("error: "),
                    "{ran:#?}"
                );
            }
        }
    }
    figure(json!({"parser": "host names and selections (CLI)", "inputs": inputs, "failures": 0}));
}

/// Long lines, a line without end, bytes that are not UTF-8 and a
/// character split across two writes.
#[test]
fn over_long_lines_and_non_utf8_output() {
    let rig = Rig::up(186, 1);
    let host = rig.names().remove(0);
    let ran = rig.ok(&[
        "--json",
        "exec",
        &host,
        "--",
        "head -c 3000000 /dev/zero | tr '\\0' x; printf '\\n\\377\\376 end\\n'",
    ]);
    let line: serde_json::Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    let stdout = line["stdout"].as_str().unwrap();
    assert!(
        stdout.starts_with(&"x".repeat(3_000_000)),
        "{}",
        stdout.len()
    );
    assert!(
        stdout.ends_with("\n\u{fffd}\u{fffd} end\n"),
        "{:?}",
        &stdout[3_000_000..]
    );

    rig.write_playbook(
        "split",
        "name: split\nsteps:\n- name: split\n  run: printf 'caf\\303'; sleep 0.3; printf '\\251\\n\\377\\n'\n",
    );
    let ran = rig.ok(&["--json", "run", "split", &host, "--yes"]);
    let lines: Vec<String> = ran
        .events()
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| e["line"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(lines, ["café", "\u{fffd}"], "{ran:#?}");

    // 700 MB on one line that never ends: ecsfleet keeps a bounded tail.
    rig.write_playbook(
        "endless",
        "name: endless\nsteps:\n- name: endless\n  run: head -c 700000000 /dev/zero | tr '\\0' x\n",
    );
    let mut command = rig.command(&["run", "endless", &host, "--yes"]);
    command.arg("-v");
    let (ran, peak_kib) = run_measured(command);
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(
        peak_kib < 500 * 1024,
        "a 700 MB line took {} MiB of memory",
        peak_kib / 1024
    );
    figure(
        json!({"parser": "host output (long lines, non-UTF-8)", "inputs": 3, "failures": 1,
        "fixed": 1, "peak_rss_mib_700mb_line": peak_kib / 1024}),
    );
}
