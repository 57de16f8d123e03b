//! Hostile input for playbooks (issue 7). The parser must never panic and
//! every error must name the file and a position inside the text. A value
//! rendered into a `run:` line must reach the shell as exactly one word,
//! byte for byte, whatever it holds (quotes, `$()`, backticks, newlines,
//! globs); a NUL is refused with an error naming the place, never sent.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use crate::{Action, Playbook, RenderContext, render};

const VALID: &str = "\
name: sample
description: a bit of everything
requires: {os: ubuntu-16.04, memory_mb: \">= 2800\"}
vars: {user: app, items: [a, b]}
steps:
  - name: run it
    become: true
    run: echo {{ user }} {{ items }}
    unless: id -u {{ user }}
    timeout: 5m
  - name: upload
    upload: {content: \"x\\n\", dest: /app/x, mode: \"0600\"}
  - name: wait
    wait: {until: running, timeout: 1h, interval: 10s}
  - name: reboot
    reboot: {timeout: 15m}
";

const TOKENS: &[&str] = &[
    "name:",
    "steps:",
    "vars:",
    "requires:",
    "run:",
    "upload:",
    "push_tree:",
    "fetch:",
    "reboot:",
    "wait:",
    "check:",
    "when:",
    "unless:",
    "creates:",
    "become:",
    "timeout:",
    "dest:",
    "src:",
    "mode:",
    "content:",
    "until:",
    "  ",
    "    ",
    "\n",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "'",
    "\"",
    "#",
    "---\n",
    "~",
    "{{",
    "}}",
    "{%",
    "%}",
    "{{ x }}",
    "| safe",
    "| secret",
    "0777",
    "99999999999999999999",
    "-1s",
    "1e9h",
    "..",
    "/",
    "../etc",
    "\u{0}",
    "\r\n",
    "\t",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn mutated() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<char>());
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut chars: Vec<char> = VALID.chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(chars.len().max(1)).min(chars.len());
            match kind {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                _ if i < chars.len() => chars[i] = c,
                _ => chars.push(c),
            }
        }
        chars.into_iter().collect()
    })
}

fn input() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), token_soup(), mutated()]
}

fn position(message: &str, file: &str) -> (u64, u64) {
    let rest = message
        .strip_prefix(&format!("{file}:"))
        .unwrap_or_else(|| panic!("no file in {message:?}"));
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    (line, column)
}

/// Strings that a shell would love to interpret.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(
        &[
            "'",
            "\"",
            "$(touch /tmp/x)",
            "`id`",
            "\n",
            "\\",
            "$HOME",
            "${x:-y}",
            "*",
            "?",
            "[a]",
            "~",
            "&&",
            ";",
            "|",
            ">",
            "<",
            "#",
            " ",
            "\t",
            "!",
            "'\\''",
            "%s",
            "é",
            "\u{202e}",
            "{{ x }}",
            "-n",
            "--",
            "\r",
        ][..],
    );
    prop_oneof![
        any::<String>().prop_map(|s| s.replace('\0', "")),
        prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat()),
    ]
}

fn rendered_run(value: &str) -> Result<String, String> {
    let playbook = Playbook::parse(
        "name: q\nsteps:\n  - name: say\n    run: printf '%s' {{ v }}\n",
        Path::new("q.yml"),
        None,
    )
    .expect("a valid playbook");
    let mut ctx = RenderContext::new("h1");
    ctx.root_login = true;
    ctx.vars.insert("v".into(), value.into());
    let plan = render(&playbook, &ctx).map_err(|e| e.to_string())?;
    match &plan.steps[0].action {
        Action::Run { command, .. } => Ok(command.to_shell()),
        other => panic!("not a run step: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn playbook_parse_never_panics_and_errors_have_a_position(text in input()) {
        if let Err(error) = Playbook::parse(&text, Path::new("pb.yml"), None) {
            let message = error.to_string();
            let (line, column) = position(&message, "pb.yml");
            let lines = text.split('\n').count() as u64 + 1;
            prop_assert!(line >= 1 && line <= lines && column >= 1, "{message}");
        }
    }

    #[test]
    fn a_parsed_playbook_renders_without_panicking(text in mutated(), value in hostile()) {
        if let Ok(playbook) = Playbook::parse(&text, Path::new("pb.yml"), None) {
            let mut ctx = RenderContext::new("h1");
            ctx.vars.insert("user".into(), value.clone().into());
            ctx.vars.insert("items".into(), vec![value].into());
            if let Err(error) = render(&playbook, &ctx) {
                prop_assert!(error.to_string().starts_with("pb.yml:"), "{error}");
            }
        }
    }
}

proptest! {
    // Each case runs /bin/sh: fewer cases.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_rendered_value_reaches_the_shell_as_one_word_byte_for_byte(value in hostile()) {
        let shell = rendered_run(&value).expect("renders");
        let out = Command::new("/bin/sh").arg("-c").arg(&shell).output().unwrap();
        prop_assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), value);
    }

    #[test]
    fn a_nul_is_refused_with_the_place(head in "[a-z]{0,8}", tail in "[a-z]{0,8}") {
        let error = rendered_run(&format!("{head}\0{tail}")).unwrap_err();
        prop_assert!(error.starts_with("q.yml:4: step 1 (say)"), "{error}");
        prop_assert!(error.contains("NUL"), "{error}");
    }
}

#[test]
fn a_megabyte_line_parses_or_fails_with_a_position() {
    let long = "x".repeat(1 << 20);
    for text in [
        format!("name: p\nsteps:\n  - name: s\n    run: echo {long}\n"),
        format!("name: {long}\nsteps: []\n"),
        format!("{long}\n"),
    ] {
        if let Err(error) = Playbook::parse(&text, Path::new("pb.yml"), None) {
            let (line, _) = position(&error.to_string(), "pb.yml");
            assert!((1..=4).contains(&line), "{error}");
        }
    }
    let value = "y".repeat(1 << 20);
    assert_eq!(
        rendered_run(&value).unwrap(),
        format!("printf '%s' {value}")
    );
}
