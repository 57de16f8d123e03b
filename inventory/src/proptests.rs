//! Hostile input for the inventory parser (issue 7): arbitrary text, YAML
//! token soup, and mutations of a valid inventory must never panic, and
//! every error must name the file and a position inside the text, so an
//! operator can find the mistake. Errors must never quote a value either:
//! the file may sit next to secrets.

use std::path::Path;

use proptest::prelude::*;

use crate::{Inventory, KnownHosts, SshConfig};

const VALID: &str = "\
defaults: {user: root, port: 22, identity: keys/ops_ed25519, become: false}
known_hosts: known_hosts
hosts:
  ecs-vienna:
    address: ecs.example.org
    proxy_jump: bastion
    domain: ecs.example.org
    env: env/ecs.example.org/env.yml
    groups: [production, vienna]
    vars: {studies_per_month: 100}
  bastion: {address: 192.0.2.1, port: 2222}
groups:
  production: {vars: {serial: 2}}
";

/// Pieces that YAML and the inventory reader treat specially.
const TOKENS: &[&str] = &[
    "hosts:",
    "groups:",
    "defaults:",
    "known_hosts:",
    "vars:",
    "port:",
    "address:",
    "user:",
    "become:",
    "proxy_jump:",
    "env:",
    "domain:",
    "identity:",
    "  ",
    "    ",
    "\n",
    "\t",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "<<: *a",
    "? ",
    "|",
    ">-",
    "'",
    "\"",
    "#",
    "---\n",
    "...\n",
    "~",
    "null",
    "yes",
    "0x1F",
    "99999999999999999999999",
    "-1",
    "1e400",
    ".nan",
    "*",
    "ecs-*",
    "[a-z]",
    "h\u{301}",
    "\u{feff}",
    "\u{0}",
    "\r\n",
    "%YAML 1.1\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

/// A valid inventory with a few characters replaced, inserted or cut.
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

/// `PATH:LINE:COL: ...` with the position inside the text (one past the
/// last line allowed: the end of input).
fn assert_positioned(message: &str, text: &str) {
    let rest = message
        .strip_prefix("inventory/hosts.yml:")
        .unwrap_or_else(|| panic!("no file in {message:?}"));
    let mut parts = rest.splitn(3, ':');
    let line: u64 = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let column: u64 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let lines = text.split('\n').count() as u64 + 1;
    assert!(
        line >= 1 && line <= lines && column >= 1,
        "bad position in {message:?} for {lines} lines"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn inventory_parse_never_panics_and_errors_have_a_position(text in input()) {
        let path = Path::new("inventory/hosts.yml");
        if let Err(error) = Inventory::parse(&text, path) {
            assert_positioned(&error.to_string(), &text);
        }
    }

    #[test]
    fn inventory_errors_never_quote_a_value(secret in "[A-Za-z0-9]{24}") {
        let token = format!("Zq{secret}");
        // The secret sits where a value is expected but the wrong type.
        for text in [
            format!("hosts:\n  a: {{port: {token}}}\n"),
            format!("hosts:\n  a: {{become: {token}}}\n"),
            format!("defaults: {{port: {token}}}\n"),
            format!("hosts:\n  a: {{address: [{token}]}}\n"),
            format!("hosts:\n  a: {{groups: {token}: x}}\n"),
        ] {
            if let Err(error) = Inventory::parse(&text, Path::new("inventory/hosts.yml")) {
                let message = error.to_string();
                prop_assert!(!message.contains(&token), "{message}");
            }
        }
    }

    #[test]
    fn selection_never_panics_on_glob_metacharacters(pattern in "[a-z0-9*?\\[\\]!{}^\\\\-]{0,16}") {
        let inventory = Inventory::parse(VALID, Path::new("inventory/hosts.yml")).unwrap();
        let _ = inventory.select(&[pattern], false);
    }

    #[test]
    fn ssh_config_and_known_hosts_never_panic(text in input()) {
        let _ = SshConfig::parse(&text);
        let _ = KnownHosts::parse(&text, Path::new("known_hosts"));
    }
}

#[test]
fn a_megabyte_line_is_an_error_with_a_position_not_a_hang() {
    let long = "x".repeat(1 << 20);
    for text in [
        format!("hosts:\n  a: {{address: {long}}}\n"),
        format!("hosts:\n  {long}: {{address: 192.0.2.1}}\n"),
        format!("{long}\n"),
    ] {
        if let Err(error) = Inventory::parse(&text, Path::new("inventory/hosts.yml")) {
            assert_positioned(&error.to_string(), &text);
        }
    }
}
