//! `env check`: everything we can know about an env.yml before a host reads
//! it. Each problem is a [`Finding`] with a position and a key path; no
//! message ever contains a value from the file (they are secrets).

use std::path::Path;

use pgp::composed::{Deserializable as _, SignedSecretKey};
use rsa::pkcs1::DecodeRsaPrivateKey as _;

use crate::error::Error;
use crate::loader::load;
use crate::node::{Node, Pos, Value};
use crate::schema::{Field, Kind, ROOT};

/// How bad a finding is: errors stop a push, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Dotted key path (`appliance.backup.url`), empty for the whole file.
    pub key_path: String,
    pub message: String,
}

/// `file:line:col: key.path: message`, with `warning: ` before the message
/// of a warning and no key path segment for whole-file findings.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)
    }
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

struct Checker {
    file: String,
    findings: Vec<Finding>,
}

impl Checker {
    fn push(&mut self, severity: Severity, at: Pos, path: &str, message: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            file: self.file.clone(),
            line: at.line,
            col: at.col,
            key_path: path.to_string(),
            message: message.into(),
        });
    }

    fn error(&mut self, at: Pos, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, at, path, message);
    }

    fn warning(&mut self, at: Pos, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, at, path, message);
    }
}

const TOP: Pos = Pos { line: 1, col: 1 };

/// Check env text read from `path` (used only to label findings);
/// `file_mode` is the file's permission bits when it came from disk.
pub fn check(text: &str, path: &Path, file_mode: Option<u32>) -> Vec<Finding> {
    let mut c = Checker {
        file: path.display().to_string(),
        findings: Vec::new(),
    };
    if let Some(mode) = file_mode
        && mode & 0o077 != 0
    {
        c.warning(
            TOP,
            "",
            format!(
                "file mode {:04o} lets group or others read it; chmod 0600",
                mode & 0o7777
            ),
        );
    }
    if text.lines().next() != Some("#cloud-config") {
        c.error(TOP, "", "the first line must be '#cloud-config'");
    }
    let doc = match load(text) {
        Ok(doc) => doc,
        Err(Error::Yaml { line, col, message }) => {
            c.error(Pos { line, col }, "", format!("invalid YAML: {message}"));
            return c.findings;
        }
        Err(other) => {
            c.error(TOP, "", other.to_string());
            return c.findings;
        }
    };
    if !matches!(doc.value, Value::Map(_)) {
        c.error(
            doc.pos,
            "",
            format!("expected a mapping at the top, found {}", doc.value.kind()),
        );
        return c.findings;
    }
    shape(&mut c, &doc, ROOT, "", TOP);
    keys_parse(&mut c, &doc);
    domains(&mut c, &doc);
    storage(&mut c, &doc);
    c.findings.sort_by_key(|f| (f.line, f.col));
    c.findings
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest known key, when it is close enough to be a typo.
fn suggest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Bool => "a boolean (true/false)",
        Kind::StrList => "a list",
        Kind::Map(_) => "a mapping",
        Kind::MapList(_) => "a list of mappings",
    }
}

/// `owner` is where the mapping's own key stands (missing keys point there).
fn shape(c: &mut Checker, node: &Node, fields: &[Field], path: &str, owner: Pos) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for entry in entries {
        let Value::Str(key) = &entry.key.value else {
            c.error(
                entry.key.pos,
                path,
                format!("key is {}; keys must be strings", entry.key.value.kind()),
            );
            continue;
        };
        let here = join(path, key);
        match fields.iter().find(|f| f.name == key) {
            Some(field) => value(c, &entry.value, field, &here, entry.key.pos),
            None => {
                let hint = suggest(key, fields.iter().map(|f| f.name))
                    .map(|s| format!(" (did you mean '{}'?)", join(path, s)))
                    .unwrap_or_default();
                c.error(entry.key.pos, &here, format!("unknown key{hint}"));
            }
        }
    }
    for field in fields.iter().filter(|f| f.required) {
        if node.get(field.name).is_none() {
            c.error(owner, &join(path, field.name), "required key is missing");
        }
    }
}

fn value(c: &mut Checker, node: &Node, field: &Field, path: &str, owner: Pos) {
    if node.value == Value::Null {
        if field.required {
            c.error(node.pos, path, "required key has no value");
        }
        return;
    }
    let found = node.value.kind();
    match (&field.kind, &node.value) {
        (Kind::Str, Value::Str(s)) => {
            if field.required && s.trim().is_empty() {
                c.error(node.pos, path, "required key is empty");
            }
        }
        (Kind::Str, Value::Int(_) | Value::Float(_)) => c.error(
            node.pos,
            path,
            format!(
                "expected a string, found {found} (YAML 1.1 reads unquoted 0600 as octal 384 and 1:30 as 90: quote the value)"
            ),
        ),
        (Kind::Str, Value::Bool(_)) => c.error(
            node.pos,
            path,
            format!("expected a string, found {found} (YAML 1.1 reads unquoted yes/no/on/off as booleans: quote the value)"),
        ),
        (Kind::Bool, Value::Bool(_)) => {}
        (Kind::StrList, Value::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                if !matches!(item.value, Value::Str(_)) {
                    c.error(
                        item.pos,
                        &format!("{path}.{i}"),
                        format!("expected a string, found {}", item.value.kind()),
                    );
                }
            }
        }
        (Kind::Map(fields), Value::Map(_)) => shape(c, node, fields, path, owner),
        (Kind::MapList(fields), Value::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                let here = format!("{path}.{i}");
                if matches!(item.value, Value::Map(_)) {
                    shape(c, item, fields, &here, item.pos);
                } else {
                    c.error(item.pos, &here, format!("expected a mapping, found {}", item.value.kind()));
                }
            }
        }
        (kind, _) => c.error(
            node.pos,
            path,
            format!("expected {}, found {found}", kind_name(kind)),
        ),
    }
}

/// The secret keys must parse; messages say what is wrong, not what is there.
fn keys_parse(c: &mut Checker, doc: &Node) {
    if let Some(node) = doc.at("appliance.dkim.key")
        && let Some(pem) = node.as_str()
    {
        if pem.contains("-----BEGIN PRIVATE KEY-----") {
            c.error(
                node.pos,
                "appliance.dkim.key",
                "is a PKCS#8 key; the appliance expects a PKCS#1 'BEGIN RSA PRIVATE KEY' PEM",
            );
        } else if rsa::RsaPrivateKey::from_pkcs1_pem(pem.trim()).is_err() {
            c.error(
                node.pos,
                "appliance.dkim.key",
                "is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY-----)",
            );
        }
    }
    for path in [
        "appliance.backup.encrypt",
        "ecs.vault_encrypt",
        "ecs.vault_sign",
    ] {
        if let Some(node) = doc.at(path)
            && let Some(armored) = node.as_str()
        {
            let ok = SignedSecretKey::from_string(armored)
                .map(|(key, _)| key.verify_bindings().is_ok())
                .unwrap_or(false);
            if !ok {
                c.error(
                    node.pos,
                    path,
                    "is not an ASCII-armored OpenPGP secret key (-----BEGIN PGP PRIVATE KEY BLOCK-----)",
                );
            }
        }
    }
}

/// The `DOMAIN = '...'` assignment in ecs.settings, and its position.
fn settings_domain(settings: &Node) -> Option<(String, Pos)> {
    let text = settings.as_str()?;
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("DOMAIN") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim();
        let quote = rest.chars().next()?;
        if quote != '\'' && quote != '"' {
            continue;
        }
        let inner = &rest[1..];
        let end = inner.find(quote)?;
        // A block scalar's node starts at its first content line.
        let at = if settings.block {
            Pos {
                line: settings.pos.line + i,
                col: settings.pos.col + line.len() - line.trim_start().len(),
            }
        } else {
            settings.pos
        };
        return Some((inner[..end].to_string(), at));
    }
    None
}

fn domains(c: &mut Checker, doc: &Node) {
    let Some(domain_node) = doc.at("appliance.domain") else {
        return;
    };
    let Some(domain) = domain_node.as_str() else {
        return;
    };
    if !crate::generate::valid_domain(domain) {
        c.error(
            domain_node.pos,
            "appliance.domain",
            "is not a valid DNS name",
        );
    }
    if let Some(hosts) = doc.at("appliance.allowed_hosts")
        && let Some(list) = hosts.as_str()
        && !list
            .split([' ', ','])
            .filter(|h| !h.is_empty())
            .any(|h| h == domain)
    {
        c.error(
            hosts.pos,
            "appliance.allowed_hosts",
            "does not include appliance.domain",
        );
    }
    if let Some(settings) = doc.at("ecs.settings")
        && settings.as_str().is_some()
    {
        match settings_domain(settings) {
            Some((d, _)) if d == domain => {}
            Some((_, at)) => c.error(at, "ecs.settings", "DOMAIN differs from appliance.domain"),
            None => c.warning(
                settings.pos,
                "ecs.settings",
                "has no DOMAIN = '...' assignment",
            ),
        }
    }
}

fn storage(c: &mut Checker, doc: &Node) {
    let Some(storage) = doc.at("appliance.storage") else {
        return;
    };
    let flag = |name: &str| match doc.at(&format!("appliance.storage.ignore.{name}")) {
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => *b,
        _ => false,
    };
    let has_setup = matches!(doc.at("appliance.storage.setup"), Some(n) if n.as_str().is_some_and(|s| !s.trim().is_empty()));
    let looked_for: Vec<&str> = ["data", "volatile"]
        .into_iter()
        .filter(|n| !flag(n))
        .collect();
    if !has_setup {
        for name in &looked_for {
            let path = format!("appliance.storage.ignore.{name}");
            let at = doc.at(&path).map_or(storage.pos, |n| n.pos);
            c.warning(
                at,
                &path,
                format!(
                    "is not true: the appliance looks for a filesystem labelled ecs-{name} at boot and there is no appliance.storage.setup to create it; set it to true if the host has none"
                ),
            );
        }
    }
    if looked_for.is_empty() && has_setup {
        c.warning(
            storage.pos,
            "appliance.storage.setup",
            "is never run: both storage.ignore flags are true",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos() {
        assert_eq!(
            suggest("storgae", ["storage", "ssl"].into_iter()),
            Some("storage")
        );
        assert_eq!(suggest("domian", ["domain"].into_iter()), Some("domain"));
        assert_eq!(suggest("zzz", ["domain", "ssl"].into_iter()), None);
    }
}
