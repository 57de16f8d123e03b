//! `env check`: everything we can know about an env.yml before a host reads
//! it. Each problem is a [`Finding`] with a position and a key path; no
//! message ever contains a value from the file (they are secrets).

use std::path::Path;

use pgp::composed::{Deserializable as _, SignedSecretKey};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::DecodePrivateKey as _;

use crate::error::Error;
use crate::loader::load;
use crate::node::{Node, Pos, Value};
use crate::schema::{Field, Kind, Note, ROOT};

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
    // No appliance code reads the header; cloud-init does, when the env is
    // user-data on a cidata drive (env-package.sh).
    if text.lines().next() != Some("#cloud-config") {
        c.warning(
            TOP,
            "",
            "the first line is not '#cloud-config': the appliance does not need it, but cloud-init ignores the file as user-data (a cidata seed) without it",
        );
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
    ssl(&mut c, &doc);
    domains(&mut c, &doc);
    storage(&mut c, &doc);
    ecs(&mut c, &doc);
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
        Kind::AnyMap => "a mapping",
    }
}

/// flatyaml crashes on a key that is not a string anywhere under the roots
/// it flattens; Salt reads such keys, but keep one rule for the whole env.
fn string_keys(c: &mut Checker, node: &Node, path: &str) {
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                match &entry.key.value {
                    Value::Str(key) => string_keys(c, &entry.value, &join(path, key)),
                    other => c.error(
                        entry.key.pos,
                        path,
                        format!("key is {}; keys must be strings", other.kind()),
                    ),
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                string_keys(c, item, &format!("{path}.{i}"));
            }
        }
        _ => {}
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
            Some(Field {
                note: Note::Dead(why),
                ..
            }) => {
                c.warning(
                    entry.key.pos,
                    &here,
                    format!(
                        "nothing in the appliance reads this key (no reader): {why}; remove it"
                    ),
                );
                string_keys(c, &entry.value, &here);
            }
            Some(field) => {
                if let Note::Deprecated(instead) = field.note {
                    c.warning(entry.key.pos, &here, format!("is deprecated: {instead}"));
                }
                value(c, &entry.value, field, &here, entry.key.pos);
            }
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
        (Kind::AnyMap, Value::Map(_)) => string_keys(c, node, path),
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
        && let Err(message) = dkim_key(pem)
    {
        c.error(node.pos, "appliance.dkim.key", message);
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

/// opendkim 2.10.3 reads a key starting with `-----` by OpenSSL's
/// `PEM_read_bio_PrivateKey` (libopendkim/dkim.c:1135-1156) and signs with
/// RSA: an unencrypted RSA key as PKCS#1 (`openssl genrsa` before OpenSSL 3,
/// Xenial's) or PKCS#8 (`openssl genrsa` of OpenSSL 3) both work.
fn dkim_key(pem: &str) -> Result<(), &'static str> {
    let pem = pem.trim();
    if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || pem.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err("is an encrypted key; opendkim reads it unattended, so it must be unencrypted");
    }
    if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        return match rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            Ok(_) => Ok(()),
            Err(_) => Err(
                "is a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) but not a valid RSA private key; opendkim 2.10 signs with RSA keys only",
            ),
        };
    }
    match rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
        Ok(_) => Ok(()),
        Err(_) => Err(
            "is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)",
        ),
    }
}

/// A single-line value that names a file rather than holding PEM text.
fn looks_like_path(value: &str) -> bool {
    let v = value.trim();
    !v.contains('\n')
        && !v.contains(' ')
        && (v.starts_with('/')
            || v.starts_with("~/")
            || v.starts_with("./")
            || v.starts_with("../")
            || [".pem", ".key", ".crt", ".cert", ".cer"]
                .iter()
                .any(|ext| v.to_ascii_lowercase().ends_with(ext)))
}

/// `ssl.key` and `ssl.cert` are written as they are to files by
/// prepare-ssl.sh:15-22, and only when both are set.
fn ssl(c: &mut Checker, doc: &Node) {
    let set = |name: &str| {
        doc.at(&format!("appliance.ssl.{name}"))
            .and_then(Node::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    for (name, other, file) in [
        ("key", "cert", "/app/etc/server.key.pem"),
        ("cert", "key", "/app/etc/server.cert.pem"),
    ] {
        let path = format!("appliance.ssl.{name}");
        let Some(node) = doc.at(&path) else {
            continue;
        };
        let Some(value) = node.as_str().filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        if looks_like_path(value) {
            c.error(
                node.pos,
                &path,
                format!(
                    "is a file path; the appliance writes this value itself to {file}, so it must be the PEM text (-----BEGIN ...), not a path"
                ),
            );
        } else if !value.contains("-----BEGIN ") {
            c.error(
                node.pos,
                &path,
                format!(
                    "is not PEM text (-----BEGIN ...); the appliance writes it as it is to {file}"
                ),
            );
        }
        if !set(other) {
            c.warning(
                node.pos,
                &path,
                format!(
                    "is set but appliance.ssl.{other} is not: the appliance uses key and cert only when both are set, else Let's Encrypt or a self-signed certificate"
                ),
            );
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
    let has_setup = match doc.at("appliance.storage.setup").map(|n| &n.value) {
        Some(Value::Str(s)) => !s.trim().is_empty(),
        Some(Value::Map(entries)) => !entries.is_empty(),
        _ => false,
    };
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

/// What ECS does with `ecs.database` and `ecs.userswitcher`.
fn ecs(c: &mut Checker, doc: &Node) {
    if let Some(node) = doc.at("ecs.database")
        && let Some(name) = node.as_str()
        && !name.trim().is_empty()
        && name.trim() != "ecs"
    {
        c.error(
            node.pos,
            "ecs.database",
            "is not ecs: backup, restore and update use the database ecs whatever this says (appliance-backup.sh, recover-from-backup.sh, appliance-update.sh); remove the key or set it to ecs",
        );
    }
    let Some(ecs) = doc
        .entry("ecs")
        .filter(|e| matches!(e.value.value, Value::Map(_)))
    else {
        return;
    };
    let set = doc.at("ecs.userswitcher.enabled").is_some_and(|n| {
        !matches!(&n.value, Value::Null) && n.as_str().is_none_or(|s| !s.trim().is_empty())
    });
    if !set {
        let at = match doc.at("ecs.userswitcher.enabled") {
            Some(n) => n.pos,
            None => ecs
                .value
                .entry("userswitcher")
                .map_or(ecs.key.pos, |e| e.key.pos),
        };
        c.warning(
            at,
            "ecs.userswitcher.enabled",
            "is not set: ECS then turns the user switcher on (switching to test users, meant for development); set it to false",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../example/env.yml");

    /// Every finding for `text`, as `env check` prints them.
    fn findings(text: &str) -> Vec<String> {
        check(text, Path::new("env.yml"), Some(0o600))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The 1-based line where `needle` first stands in `text`.
    fn line_of(text: &str, needle: &str) -> usize {
        let at = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
        text[..at].matches('\n').count() + 1
    }

    /// The example with `from` replaced by `to` once (`from` must be there).
    fn edit(from: &str, to: &str) -> String {
        assert!(EXAMPLE.contains(from), "example lacks {from:?}");
        EXAMPLE.replacen(from, to, 1)
    }

    /// The example with its DKIM key replaced by `pem`.
    fn with_dkim(pem: &str) -> String {
        let start = EXAMPLE
            .find("      -----BEGIN RSA PRIVATE KEY-----")
            .unwrap();
        let end = EXAMPLE.find("-----END RSA PRIVATE KEY-----\n").unwrap()
            + "-----END RSA PRIVATE KEY-----\n".len();
        let indented: String = pem.lines().map(|l| format!("      {l}\n")).collect();
        format!("{}{indented}{}", &EXAMPLE[..start], &EXAMPLE[end..])
    }

    #[test]
    fn suggests_typos() {
        assert_eq!(
            suggest("storgae", ["storage", "ssl"].into_iter()),
            Some("storage")
        );
        assert_eq!(suggest("domian", ["domain"].into_iter()), Some("domain"));
        assert_eq!(suggest("zzz", ["domain", "ssl"].into_iter()), None);
    }

    #[test]
    fn the_example_has_no_finding() {
        assert_eq!(findings(EXAMPLE), Vec::<String>::new());
    }

    #[test]
    fn dkim_key_from_openssl3_genrsa_pkcs8_is_accepted() {
        let pem = include_str!("../tests/fixtures/dkim-genrsa-openssl3.pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(findings(&with_dkim(pem)), Vec::<String>::new());
    }

    #[test]
    fn dkim_key_as_traditional_pkcs1_is_accepted() {
        let pem = include_str!("../tests/fixtures/dkim-traditional.pem");
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert_eq!(findings(&with_dkim(pem)), Vec::<String>::new());
    }

    #[test]
    fn dkim_key_encrypted_or_not_rsa_is_an_error() {
        let line = line_of(EXAMPLE, "      -----BEGIN RSA PRIVATE KEY-----");
        let text = with_dkim(include_str!("../tests/fixtures/dkim-encrypted.pem"));
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:7: appliance.dkim.key: is an encrypted key; opendkim reads it unattended, so it must be unencrypted"
            )]
        );
        let text = with_dkim(include_str!("../tests/fixtures/dkim-ec.pem"));
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:7: appliance.dkim.key: is a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) but not a valid RSA private key; opendkim 2.10 signs with RSA keys only"
            )]
        );
        let text = edit(
            "      -----BEGIN RSA PRIVATE KEY-----\n",
            "      -----BEGIN RSA PRIVATE KEY-----\n      garbage\n",
        );
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:7: appliance.dkim.key: is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)"
            )]
        );
    }

    #[test]
    fn top_level_keys_the_appliance_reads_are_accepted() {
        let text = edit(
            "disable_root: false\n",
            "disable_root: false\n\
             http_proxy: http://proxy.example.org:3128\n\
             no_proxy: localhost,127.0.0.1\n\
             kernel:\n  xenial:\n    base: linux-generic-hwe-16.04\n\
             ssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI op@example.org\n\
             ssh_deprecated_keys:\n  - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ old@example.org\n",
        )
        .replacen("ssh_authorized_keys:\n  # - ", "# ", 1)
        .replacen("ssh_deprecated_keys:\n  # keys", "# keys", 1);
        assert_eq!(findings(&text), Vec::<String>::new());
    }

    #[test]
    fn kernel_and_storage_setup_take_any_mapping_with_string_keys() {
        let text = edit(
            "    ignore:\n      volatile: true\n      data: true\n",
            "    setup:\n      parted:\n        /dev/vdb:\n          type: gpt\n    ignore:\n      volatile: true\n      data: false\n",
        );
        assert_eq!(findings(&text), Vec::<String>::new());
        let text = edit(
            "disable_root: false\n",
            "disable_root: false\nkernel:\n  1: x\n",
        );
        let line = line_of(&text, "  1: x");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:3: kernel: key is an integer; keys must be strings"
            )]
        );
        let text = edit(
            "disable_root: false\n",
            "disable_root: false\nkernel: linux\n",
        );
        let line = line_of(&text, "kernel: linux");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:9: kernel: expected a mapping, found a string"
            )]
        );
    }

    #[test]
    fn extra_files_content_is_a_deprecated_alias_of_contents() {
        let text = edit(
            "  storage:\n",
            "  extra:\n    files:\n      - path: /etc/motd\n        content: hello\n  storage:\n",
        );
        let line = line_of(&text, "        content: hello");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:9: appliance.extra.files.0.content: warning: is deprecated: use contents (prepare-extra.sh still writes content, with a warning, and prefers it over contents)"
            )]
        );
    }

    #[test]
    fn keys_nothing_reads_are_warnings_naming_why() {
        let text = edit(
            "  domain: ecs.example.org\n",
            "  domain: ecs.example.org\n  allowed_hosts: ecs.example.org testecs\n",
        )
        .replacen(
            "  userswitcher:\n    enabled: false\n",
            "  migrate:\n    auto: true\n  userswitcher:\n    enabled: false\n    parameter: -it\n",
            1,
        )
        .replacen(
            "disable_root: false\n",
            "disable_root: false\nstorage:\n  parted: {}\n",
            1,
        );
        let at = |needle: &str| line_of(&text, needle);
        assert_eq!(
            findings(&text),
            [
                format!(
                    "env.yml:{}:1: storage: warning: nothing in the appliance reads this key (no reader): only salt/storage/init.sls reads it and no top file or include applies that state; appliance.storage.setup is the key that is read; remove it",
                    at("storage:\n  parted")
                ),
                format!(
                    "env.yml:{}:3: appliance.allowed_hosts: warning: nothing in the appliance reads this key (no reader): nginx's server_name is appliance.domain (prepare-nginx.sh) and Django's ALLOWED_HOSTS is set in ecs.settings; remove it",
                    at("  allowed_hosts:")
                ),
                format!(
                    "env.yml:{}:5: ecs.migrate.auto: warning: nothing in the appliance reads this key (no reader): prepare-ecs.sh migrates whenever the ECS commit changes, whatever this says; remove it",
                    at("    auto: true")
                ),
                format!(
                    "env.yml:{}:5: ecs.userswitcher.parameter: warning: nothing in the appliance reads this key (no reader): only ecs.userswitcher.enabled reaches ECS (ECS_USERSWITCHER_ENABLED in docker-compose.yml); remove it",
                    at("    parameter: -it")
                ),
            ]
        );
        // A dead key's value is not held to a type (nothing reads it).
        let text = edit(
            "  domain: ecs.example.org\n",
            "  domain: ecs.example.org\n  allowed_hosts: [a, b]\n",
        );
        assert_eq!(findings(&text).len(), 1, "{:?}", findings(&text));
    }

    #[test]
    fn ssl_key_and_cert_are_pem_text_not_paths() {
        let text = edit(
            "    client_certs_mandatory: false\n",
            "    client_certs_mandatory: false\n    key: /etc/ssl/private/ecs.key.pem\n    cert: server-cert.pem\n",
        );
        let (k, c) = (
            line_of(&text, "    key: /etc"),
            line_of(&text, "    cert: server"),
        );
        assert_eq!(
            findings(&text),
            [
                format!(
                    "env.yml:{k}:10: appliance.ssl.key: is a file path; the appliance writes this value itself to /app/etc/server.key.pem, so it must be the PEM text (-----BEGIN ...), not a path"
                ),
                format!(
                    "env.yml:{c}:11: appliance.ssl.cert: is a file path; the appliance writes this value itself to /app/etc/server.cert.pem, so it must be the PEM text (-----BEGIN ...), not a path"
                ),
            ]
        );
        let text = edit(
            "    client_certs_mandatory: false\n",
            "    client_certs_mandatory: false\n    cert: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n    key: not a key\n",
        );
        let k = line_of(&text, "    key: not");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{k}:10: appliance.ssl.key: is not PEM text (-----BEGIN ...); the appliance writes it as it is to /app/etc/server.key.pem"
            )]
        );
        // One without the other is ignored by the appliance.
        let text = edit(
            "    client_certs_mandatory: false\n",
            "    client_certs_mandatory: false\n    cert: |\n      -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n",
        );
        let c = line_of(&text, "      -----BEGIN CERT");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{c}:7: appliance.ssl.cert: warning: is set but appliance.ssl.key is not: the appliance uses key and cert only when both are set, else Let's Encrypt or a self-signed certificate"
            )]
        );
    }

    #[test]
    fn a_missing_cloud_config_line_is_a_warning() {
        let text = edit("#cloud-config\n", "");
        assert_eq!(
            findings(&text),
            [
                "env.yml:1:1: warning: the first line is not '#cloud-config': the appliance does not need it, but cloud-init ignores the file as user-data (a cidata seed) without it"
            ]
        );
        assert!(!has_errors(&check(&text, Path::new("env.yml"), None)));
    }

    #[test]
    fn ecs_database_other_than_ecs_is_an_error() {
        let text = edit(
            "  userswitcher:\n",
            "  database: ecs_prod\n  userswitcher:\n",
        );
        let line = line_of(&text, "  database: ecs_prod");
        assert_eq!(
            findings(&text),
            [format!(
                "env.yml:{line}:13: ecs.database: is not ecs: backup, restore and update use the database ecs whatever this says (appliance-backup.sh, recover-from-backup.sh, appliance-update.sh); remove the key or set it to ecs"
            )]
        );
        let text = edit("  userswitcher:\n", "  database: ecs\n  userswitcher:\n");
        assert_eq!(findings(&text), Vec::<String>::new());
    }

    #[test]
    fn userswitcher_not_set_is_a_warning() {
        let want = |line: usize, col: usize| {
            vec![format!(
                "env.yml:{line}:{col}: ecs.userswitcher.enabled: warning: is not set: ECS then turns the user switcher on (switching to test users, meant for development); set it to false"
            )]
        };
        let text = edit("  userswitcher:\n    enabled: false\n", "");
        assert_eq!(findings(&text), want(line_of(&text, "ecs:"), 1));
        let text = edit("    enabled: false\n", "    enabled:\n");
        let line = line_of(&text, "  userswitcher:\n    enabled:\n") + 1;
        assert_eq!(findings(&text), want(line, 12));
        let text = edit("    enabled: false\n", "    parameter: -it\n");
        let line = line_of(&text, "  userswitcher:\n    parameter");
        let mut both = want(line, 3);
        both.push(format!(
            "env.yml:{}:5: ecs.userswitcher.parameter: warning: nothing in the appliance reads this key (no reader): only ecs.userswitcher.enabled reaches ECS (ECS_USERSWITCHER_ENABLED in docker-compose.yml); remove it",
            line + 1
        ));
        assert_eq!(findings(&text), both);
    }
}
