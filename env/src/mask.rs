//! Masking: env text with every secret value replaced by a marker
//! `<secret sha256:1a2b3c4d>`. The marker's hash is salted per process, so
//! two masked texts from one run show *that* a secret changed, while the
//! short hash gives nothing to brute-force a weak password against.
//!
//! Only a parse tree says which bytes are values, so text that does not
//! parse is never shown: it becomes the parse error's position and one
//! salted hash per line (`line 12: <sha256:1a2b3c4d>`), which still shows
//! which lines changed. There is no guessing fallback: a tab or a broken
//! indent would otherwise put a sentry DSN or a backup password on screen.

use std::ops::Range;
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::loader::load;
use crate::node::{Node, Value};

/// This process's salt for markers.
pub(crate) fn process_salt() -> &'static [u8; 32] {
    static SALT: OnceLock<[u8; 32]> = OnceLock::new();
    SALT.get_or_init(rand::random)
}

/// The marker for one secret value.
pub fn marker(salt: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("<secret sha256:{hex}>")
}

/// `text` with every secret masked, with this process's salt.
pub fn mask(text: &str) -> String {
    mask_with_salt(text, process_salt())
}

/// Key names whose values are secret wherever they appear.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "key" | "encrypt" | "vault_encrypt" | "vault_sign" | "dsn"
    ) || [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "_key",
        "private",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `scheme://user[:pass]@host`: a URL carrying credentials.
fn url_with_credentials(s: &str) -> bool {
    s.match_indices("://").any(|(i, _)| {
        let rest = &s[i + 3..];
        let authority = rest.split(['/', ' ', '\'', '"', '\n']).next().unwrap_or("");
        authority.contains('@')
    })
}

fn secret_value(s: &str) -> bool {
    s.contains("-----BEGIN")
        || url_with_credentials(s)
        || s.contains("pass=")
        || s.contains("password=")
}

/// Same as [`mask`] with a given salt (for stable test output).
pub fn mask_with_salt(text: &str, salt: &[u8]) -> String {
    match load(text) {
        Ok(doc) => mask_doc(text, &doc, salt),
        Err(e) => {
            let mut out = format!("# not shown: {}\n", unparsed_reason(&e));
            out.push_str("# each line below is a salted hash of that line, never its text\n");
            for (n, hash) in line_hashes(text, salt).iter().enumerate() {
                out.push_str(&format!("line {}: {hash}\n", n + 1));
            }
            out
        }
    }
}

/// `text`, which parsed to `doc`, with every secret masked.
pub(crate) fn mask_doc(text: &str, doc: &Node, salt: &[u8]) -> String {
    let mut ranges = Vec::new();
    collect(doc, "", false, text, &mut ranges);
    mask_assignments(&replace(text, ranges, salt), salt)
}

/// Why a text is not shown: where and how it fails to parse (the loader's
/// messages never quote the input).
pub(crate) fn unparsed_reason(e: &Error) -> String {
    match e {
        Error::Yaml { line, col, message } => {
            format!("not valid YAML at line {line}, column {col}: {message}")
        }
        other => format!("not valid YAML: {other}"),
    }
}

/// One salted hash per line (`<sha256:1a2b3c4d>`): equal lines give equal
/// hashes within this salt, and nothing of the line's text shows.
pub(crate) fn line_hashes(text: &str, salt: &[u8]) -> Vec<String> {
    text.lines()
        .map(|line| {
            let mut h = Sha256::new();
            h.update(salt);
            h.update(b"line\0");
            h.update(line.as_bytes());
            let digest = h.finalize();
            let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!("<sha256:{hex}>")
        })
        .collect()
}

fn collect(node: &Node, name: &str, secret: bool, text: &str, out: &mut Vec<Range<usize>>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                let key = e.key.as_str().unwrap_or("");
                collect(&e.value, key, secret || secret_name(key), text, out);
            }
        }
        Value::Seq(items) => {
            for item in items {
                collect(item, name, secret, text, out);
            }
        }
        // ecs.settings is masked line by line (mask_assignments), unless it
        // holds a key block.
        Value::Str(s)
            if (name != "settings" || s.contains("-----BEGIN"))
                && (secret || secret_value(s))
                && !s.is_empty()
                && !node.span.is_empty() =>
        {
            let mut range = node.span.clone();
            // Keep the line break after a block scalar.
            let trimmed = text[range.clone()].trim_end_matches([' ', '\t', '\r', '\n']);
            range.end = range.start + trimmed.len();
            out.push(range);
        }
        Value::Int(_) | Value::Float(_) if secret && !node.span.is_empty() => {
            out.push(node.span.clone());
        }
        _ => {}
    }
}

fn replace(text: &str, mut ranges: Vec<Range<usize>>, salt: &[u8]) -> String {
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue; // inside one already masked (an alias of an anchor)
        }
        out.push_str(&text[at..r.start]);
        out.push_str(&marker(salt, &text[r.clone()]));
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Python assignments (ecs.settings) with a secret name or a URL with
/// credentials: `SECRET_KEY = '...'` becomes `SECRET_KEY = <secret ...>`.
fn mask_assignments(text: &str, salt: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_assignment(line, salt).unwrap_or_else(|| line.to_string()));
    }
    out
}

fn mask_assignment(line: &str, salt: &[u8]) -> Option<String> {
    let body = line.trim_end_matches(['\n', '\r']);
    let ending = &line[body.len()..];
    let indent = body.len() - body.trim_start().len();
    let stmt = &body[indent..];
    let name_len = stmt
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_[]'\".".contains(c)))
        .unwrap_or(stmt.len());
    let name = &stmt[..name_len];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let after = &stmt[name_len..];
    let eq = after.find('=')?;
    if !after[..eq].trim().is_empty() || after[eq + 1..].starts_with('=') {
        return None;
    }
    let value = after[eq + 1..].trim();
    if value.is_empty() || value.starts_with("<secret ") || matches!(value, "None" | "''" | "\"\"")
    {
        return None;
    }
    if !(secret_name(name)
        || name.to_ascii_uppercase().contains("KEY")
        || name.to_ascii_uppercase().contains("DSN")
        || url_with_credentials(value))
    {
        return None;
    }
    Some(format!(
        "{}{} = {}{ending}",
        &body[..indent],
        name,
        marker(salt, value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &[u8] = b"test";

    #[test]
    fn masks_secret_paths_blocks_urls_and_settings() {
        let text = concat!(
            "#cloud-config\n",
            "appliance:\n",
            "  domain: ecs.example.org\n",
            "  dkim:\n",
            "    key: |\n",
            "      -----BEGIN RSA PRIVATE KEY-----\n",
            "      TOPSECRETPEM\n",
            "      -----END RSA PRIVATE KEY-----\n",
            "  sentry:\n",
            "    dsn: https://pub:TOPSECRETDSN@sentry.example.org/1\n",
            "  backup:\n",
            "    url: sftp://user:TOPSECRETPASS@backup.example.org/x\n",
            "    mount:\n",
            "      options: user=u,pass=TOPSECRETMOUNT\n",
            "ecs:\n",
            "  settings: |\n",
            "    DOMAIN = 'ecs.example.org'\n",
            "    SECRET_KEY = 'TOPSECRETKEY'\n",
            "    EMAIL_HOST_PASSWORD = \"TOPSECRETMAIL\"\n",
            "    SENTRY_DSN = 'https://k:TOPSECRETS@h/1'\n",
            "    DEBUG = False\n",
        );
        let masked = mask_with_salt(text, SALT);
        assert!(!masked.contains("TOPSECRET"), "{masked}");
        assert!(masked.contains("  domain: ecs.example.org\n"));
        assert!(masked.contains("    DOMAIN = 'ecs.example.org'\n"));
        assert!(masked.contains("    DEBUG = False\n"));
        assert!(
            masked.contains("    key: |\n      <secret sha256:"),
            "{masked}"
        );
        assert!(masked.contains("\n  sentry:\n"), "{masked}");
        assert!(
            masked.contains("    SECRET_KEY = <secret sha256:"),
            "{masked}"
        );
    }

    #[test]
    fn same_secret_same_marker_changed_secret_other_marker() {
        let a = mask_with_salt("ecs:\n  vault_sign: abc\n", SALT);
        let b = mask_with_salt("ecs:\n  vault_sign: abc\n", SALT);
        let c = mask_with_salt("ecs:\n  vault_sign: abd\n", SALT);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn broken_yaml_is_a_parse_error_and_line_hashes_only() {
        let text = "a: [\n  -----BEGIN PGP PRIVATE KEY BLOCK-----\n  xyzSECRET\n  -----END PGP PRIVATE KEY BLOCK-----\nSECRET_KEY = 'SECRET2'\n";
        let masked = mask_with_salt(text, SALT);
        assert!(!masked.contains("SECRET"), "{masked}");
        assert!(!masked.contains("BEGIN"), "{masked}");
        let lines: Vec<&str> = masked.lines().collect();
        assert_eq!(lines.len(), 2 + 5, "{masked}");
        assert_eq!(
            lines[0], "# not shown: not valid YAML at line 1, column 4: unclosed bracket '['",
            "{masked}"
        );
        assert_eq!(
            lines[1],
            "# each line below is a salted hash of that line, never its text"
        );
        for (i, line) in lines[2..].iter().enumerate() {
            let rest = line
                .strip_prefix(&format!("line {}: <sha256:", i + 1))
                .unwrap_or_else(|| panic!("{line}"));
            assert_eq!(rest.len(), 9, "{line}");
            assert!(rest.ends_with('>'), "{line}");
        }
        // The same line hashes the same; another salt hashes differently.
        assert_eq!(masked, mask_with_salt(text, SALT));
        assert_ne!(masked, mask_with_salt(text, b"other"));
    }
}
