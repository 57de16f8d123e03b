//! Cross-checks `flatten` against a Python reference (PyYAML safe_load and
//! shlex.quote, as the appliance's flatyaml uses them). Skips with a message
//! when python3 or PyYAML is missing; the expected values that matter are
//! also asserted in pure Rust in src/flatten.rs.

use std::io::Write as _;
use std::process::{Command, Stdio};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flatyaml_reference.py");

fn python_flatyaml(yaml: &str, roots: &str) -> Option<String> {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .arg(roots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(yaml.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("No module named 'yaml'") {
            return None;
        }
        panic!("reference flatyaml failed: {err}");
    }
    Some(String::from_utf8(out.stdout).unwrap())
}

const CASES: &[(&str, &str)] = &[
    (
        "ecs:\n  b: 1\n  a: {x: hello, y: ' padded '}\nappliance:\n  domain: ecs.example.org\n",
        "ecs,appliance",
    ),
    (
        "l:\n  - a\n  - [b, c, [d]]\n  - {path: /x, owner: 'app:app', mode: '0600'}\n  - []\n  - {}\n",
        ".",
    ),
    (
        "multi: |\n  line one\n  it's two\n\nfolded: >\n  a\n  b\nempty: ''\nnull1:\nnull2: ~\n",
        ".",
    ),
    (
        "unicode: ümlaut ☃\nkey-with-dash: v\nKey_Upper: x\nb: '$HOME `x`'\n",
        ".",
    ),
    ("bools: [yes, No, ON, off, true, FALSE, y, n]\n", "."),
    (
        "ints: [0755, 0x1F, 1_000, '1:30', 1:30, 0b11, -0, 08, 190:20:30]\n",
        ".",
    ),
    (
        "floats: [1.0, 1.5e+3, .5, 1e3, 1.0e20, 1.0e+20, 0.00001, .inf, -.INF, .nan, 190:20:30.15, 1_0.5]\n",
        ".",
    ),
    (
        "dates: [2001-12-14, 2001-12-14 21:59:43.10, 2002-1-1]\n",
        ".",
    ),
    ("a_b: 1\na:\n  b: 2\n", "."),
    (
        "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n",
        "c,base,missing",
    ),
    ("ecs: scalar\n", "ecs"),
];

#[test]
fn flatten_matches_the_python_reference() {
    if python_flatyaml("a: 1\n", ".").is_none() {
        eprintln!("python3 with PyYAML is not available: skipping the cross-check");
        return;
    }
    let options = ecsfleet_env::FlattenOptions::default();
    for (yaml, roots) in CASES {
        let want = python_flatyaml(yaml, roots).unwrap();
        let got = ecsfleet_env::flatten_text(yaml, roots, &options)
            .unwrap()
            .render(&options);
        assert_eq!(got, want, "roots {roots} of\n{yaml}");
    }
}

#[test]
fn example_env_matches_the_python_reference() {
    let example = include_str!("../example/env.yml");
    let Some(want) = python_flatyaml(example, "ecs,appliance") else {
        eprintln!("python3 with PyYAML is not available: skipping the cross-check");
        return;
    };
    let options = ecsfleet_env::FlattenOptions::default();
    let got = ecsfleet_env::flatten_text(example, "ecs,appliance", &options)
        .unwrap()
        .render(&options);
    assert_eq!(got, want);
}
