//! Hostile input for env.yml (issue 7): the loader, `env check` and flatten
//! must never panic on any text, every error must carry a position inside
//! the text, and no message may quote a value: env files hold secrets, so
//! a secret planted anywhere in the input must never come back in an error
//! or a finding.

use std::path::Path;

use proptest::prelude::*;

use crate::{Error, FlattenOptions, check, flatten_text, load};

/// A planted secret: if it shows up in a message, a value leaked.
const SECRET: &str = "Zq7SecretValueNeverShown";

fn valid() -> String {
    format!(
        "#cloud-config\n\
         ssh_authorized_keys: []\n\
         disable_root: false\n\
         appliance:\n  domain: ecs.example.org\n  allowed_hosts: ecs.example.org\n  \
         ssl: {{letsencrypt: {{enabled: true}}, client_certs_mandatory: false}}\n  \
         backup: {{url: 'file:///volatile/backup', encrypt: {SECRET}}}\n  \
         extra: {{files: [{{path: /x, contents: \"{SECRET}\\n\", owner: app, permissions: '0600'}}]}}\n\
         ecs:\n  database: ecs\n  git: {{branch: stable, source: 'https://x/ecs.git'}}\n  \
         settings: |\n    DOMAIN = 'ecs.example.org'\n    SECRET_KEY = '{SECRET}'\n  \
         vault_encrypt: {SECRET}\n  vault_sign: {SECRET}\n"
    )
}

const TOKENS: &[&str] = &[
    "#cloud-config\n",
    "appliance:",
    "ecs:",
    "domain:",
    "settings:",
    "backup:",
    "extra:",
    "files:",
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
    "<<: *a",
    "!!str ",
    "!!binary ",
    "!!python/object ",
    "? ",
    "|",
    ">-",
    "'",
    "\"",
    "#",
    "---\n",
    "...\n",
    "~",
    "yes",
    "no",
    "on",
    "0o17",
    "0x1F",
    "1_000",
    "2001-12-14",
    "12:30:45",
    "1e400",
    ".inf",
    "99999999999999999999",
    SECRET,
    "\u{feff}",
    "\u{0}",
    "\r\n",
    "\t",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "\\u0000",
    "&",
    "*",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn mutated() -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<char>());
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut chars: Vec<char> = valid().chars().collect();
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
    prop_oneof![
        any::<String>(),
        token_soup(),
        mutated(),
        // Secrets next to arbitrary text.
        (any::<String>(), any::<String>()).prop_map(|(a, b)| format!("{a}{SECRET}{b}")),
    ]
}

/// Was a panic: `exponent_ok` sliced inside a multi-byte character.
#[test]
fn multibyte_after_a_float_is_not_a_panic() {
    for text in ["x: .0\u{e9}\n", "x: 1.0\u{1d7ce}\n", ".0\u{1fdd}"] {
        let _ = load(text);
        let _ = check(text, Path::new("env.yml"), None);
    }
}

fn lines(text: &str) -> usize {
    text.split('\n').count() + 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn load_never_panics_and_errors_have_a_position_and_no_value(text in input()) {
        if let Err(error) = load(&text) {
            match &error {
                Error::Yaml { line, col, .. } | Error::Flatten { line, col, .. } => {
                    prop_assert!(*line >= 1 && *line <= lines(&text) && *col >= 1, "{error}");
                }
                other => prop_assert!(false, "unexpected error kind: {other}"),
            }
            prop_assert!(!error.to_string().contains(SECRET), "{error}");
        }
    }

    #[test]
    fn flatten_never_panics_nor_quotes_a_value_in_errors(text in input()) {
        if let Err(error) = flatten_text(&text, "ecs,appliance", &FlattenOptions::default()) {
            prop_assert!(!error.to_string().contains(SECRET), "{error}");
        }
    }
}

proptest! {
    // `env check` parses keys and PEM blocks: fewer cases.
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn check_never_panics_and_findings_have_a_position_and_no_value(text in input()) {
        for finding in check(&text, Path::new("env.yml"), Some(0o600)) {
            let shown = finding.to_string();
            prop_assert!(finding.line >= 1 && finding.line <= lines(&text), "{shown}");
            prop_assert!(finding.col >= 1, "{shown}");
            prop_assert!(shown.starts_with("env.yml:"), "{shown}");
            // Key paths are shown by design (a key is a name, not a value);
            // the message itself never quotes the file.
            prop_assert!(!finding.message.contains(SECRET), "{shown}");
        }
    }
}

#[test]
fn a_megabyte_line_is_checked_without_quoting_it() {
    let long = format!("{SECRET}{}", "x".repeat(1 << 20));
    for text in [
        format!("#cloud-config\nappliance:\n  domain: {long}\n"),
        format!("#cloud-config\n{long}\n"),
    ] {
        for finding in check(&text, Path::new("env.yml"), None) {
            assert!(!finding.message.contains(SECRET), "{finding}");
            assert!(finding.line <= lines(&text), "{finding}");
        }
    }
}
