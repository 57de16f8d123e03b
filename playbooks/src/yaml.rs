//! A playbook's YAML as a tree whose every node knows its line and column,
//! and a strict reader over that tree which turns shape mistakes into
//! `PATH:LINE:COL: key.path: message` errors (the same design as the
//! inventory crate's reader; the crates share no code by choice).
//!
//! Why a tree and not `#[derive(Deserialize)]` straight into structs: serde's
//! errors carry a position but not the key path, their wording is serde's
//! ("invalid type: string \"x\", expected u16"), and duplicate keys must be
//! reported by name. So serde-saphyr parses into [`Node`] (using its
//! `Spanned` support for positions, and `DuplicateKeyPolicy::PassThrough` so
//! that duplicates reach us) and the playbook code reads the tree with the
//! helpers here, building the key path as it descends.
//!
//! Positions: key errors (unknown, duplicate, bad name) point at the key;
//! value errors (wrong type, out of range) point at the value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use crate::error::PlaybookError;

/// 1-based line and column (in characters) of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    /// How a wrong value is named in messages ("found a list").
    fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "nothing",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Kind>::deserialize(deserializer)?;
        Ok(Node {
            pos: Pos {
                line: spanned.referenced.line(),
                column: spanned.referenced.column(),
            },
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        i128::try_from(v)
            .map(Kind::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        Kind::deserialize(deserializer)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

/// Parses YAML text into a tree; `None` for an empty document.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Option<Node>, PlaybookError> {
    if is_blank(text) {
        return Ok(None);
    }
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.with_snippet = false;
    // YAML 1.2 booleans only: `yes`, `no`, `on`, `y` stay strings, so a var
    // named `y` keeps its name and `become: yes` is refused, not guessed.
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Node>(text, options)
        .map(Some)
        .map_err(|err| {
            let location = err.location();
            PlaybookError::Syntax {
                path: path.to_path_buf(),
                line: location.map_or(0, |l| l.line()),
                column: location.map_or(0, |l| l.column()),
                message: syntax_message(&err),
            }
        })
}

/// True for text with nothing but whitespace, comments and document markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

/// serde-saphyr's message without its snippet and without the position it
/// appends (we print the position ourselves, first).
fn syntax_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = match first.rfind(" at line ") {
        Some(at) => &first[..at],
        None => first,
    };
    let first = first.trim_end_matches(':').trim();
    if first.is_empty() {
        "invalid YAML".to_owned()
    } else {
        first.to_owned()
    }
}

/// Where errors go: the file, for messages.
pub(crate) struct Reader<'a> {
    pub path: &'a Path,
}

/// One entry of a mapping: its key as a string, where the key is, the value.
pub(crate) struct Entry<'a> {
    pub key: String,
    pub pos: Pos,
    pub value: &'a Node,
}

/// `parent.key`, or `key` at the top.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Reader<'_> {
    pub fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> PlaybookError {
        PlaybookError::Invalid {
            path: self.path.to_path_buf(),
            line: pos.line,
            column: pos.column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub fn expected(&self, node: &Node, key: &str, what: &str) -> PlaybookError {
        self.error(node.pos, key, format!("expected {what}"))
    }

    /// The entries of a mapping in file order (`null` reads as empty).
    /// Keys must be scalars; a repeated key is an error naming both lines;
    /// `noun` names the keys in that message ("key", "host", "group").
    pub fn mapping<'n>(
        &self,
        node: &'n Node,
        path: &str,
        noun: &str,
    ) -> Result<Vec<Entry<'n>>, PlaybookError> {
        let pairs = match &node.kind {
            Kind::Map(pairs) => pairs,
            Kind::Null => return Ok(Vec::new()),
            other => {
                return Err(self.error(
                    node.pos,
                    path,
                    format!("expected a mapping, found {}", other.describe()),
                ));
            }
        };
        let mut entries: Vec<Entry<'n>> = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let name = match &key.kind {
                Kind::Str(s) => s.clone(),
                Kind::Int(i) => i.to_string(),
                Kind::Bool(b) => b.to_string(),
                Kind::Float(f) => f.to_string(),
                _ => return Err(self.error(key.pos, path, "expected a plain key")),
            };
            if let Some(first) = entries.iter().find(|e| e.key == name) {
                return Err(self.error(
                    key.pos,
                    &join(path, &name),
                    format!(
                        "duplicate {noun} `{name}` (first at line {})",
                        first.pos.line
                    ),
                ));
            }
            entries.push(Entry {
                key: name,
                pos: key.pos,
                value,
            });
        }
        Ok(entries)
    }

    /// The error for a key that is not one of `known`, with a suggestion.
    pub fn unknown_key(&self, entry: &Entry, path: &str, known: &[&str]) -> PlaybookError {
        let mut message = format!("unknown key `{}`", entry.key);
        if let Some(close) = did_you_mean(&entry.key, known) {
            message.push_str(&format!(", did you mean `{close}`?"));
        }
        self.error(entry.pos, &join(path, &entry.key), message)
    }

    /// A duration: whole seconds (`90`) or a number with a unit
    /// (`90s`, `10m`, `2h`); `null` means "not set".
    pub fn duration(&self, node: &Node, path: &str) -> Result<Option<Duration>, PlaybookError> {
        let what = "a duration such as 90, 90s, 10m or 2h";
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Int(i) => u64::try_from(*i)
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| self.expected(node, path, what)),
            Kind::Str(s) => parse_duration(s)
                .map(Some)
                .ok_or_else(|| self.expected(node, path, what)),
            _ => Err(self.expected(node, path, what)),
        }
    }

    /// A scalar as text: strings as they are, numbers and booleans as YAML
    /// wrote them; `null` means "not set".
    pub fn scalar(&self, node: &Node, path: &str) -> Result<Option<String>, PlaybookError> {
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Str(s) => Ok(Some(s.clone())),
            Kind::Int(i) => Ok(Some(i.to_string())),
            Kind::Bool(b) => Ok(Some(b.to_string())),
            Kind::Float(f) => Ok(Some(f.to_string())),
            _ => Err(self.expected(node, path, "a single value")),
        }
    }

    /// `true` or `false`; `null` means "not set".
    pub fn boolean(&self, node: &Node, path: &str) -> Result<Option<bool>, PlaybookError> {
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Bool(b) => Ok(Some(*b)),
            _ => Err(self.expected(node, path, "true or false")),
        }
    }

    /// A list of strings with their positions; `null` reads as empty.
    pub fn strings(&self, node: &Node, path: &str) -> Result<Vec<(String, Pos)>, PlaybookError> {
        let items = match &node.kind {
            Kind::Null => return Ok(Vec::new()),
            Kind::Seq(items) => items,
            _ => return Err(self.expected(node, path, "a list")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match &item.kind {
                Kind::Str(s) => Ok((s.clone(), item.pos)),
                _ => Err(self.expected(item, &format!("{path}[{i}]"), "a string")),
            })
            .collect()
    }

    /// A mapping of arbitrary YAML values, as JSON.
    pub fn vars(
        &self,
        node: &Node,
        path: &str,
    ) -> Result<BTreeMap<String, serde_json::Value>, PlaybookError> {
        let mut vars = BTreeMap::new();
        for entry in self.mapping(node, path, "key")? {
            let key = join(path, &entry.key);
            vars.insert(entry.key, self.json(entry.value, &key)?);
        }
        Ok(vars)
    }

    /// Any YAML value as JSON. Map keys become strings; non-finite floats
    /// and integers beyond 64 bits are refused (JSON cannot hold them).
    pub fn json(&self, node: &Node, path: &str) -> Result<serde_json::Value, PlaybookError> {
        use serde_json::Value;
        Ok(match &node.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => {
                if let Ok(i) = i64::try_from(*i) {
                    Value::from(i)
                } else if let Ok(u) = u64::try_from(*i) {
                    Value::from(u)
                } else {
                    return Err(self.error(node.pos, path, "integer out of range"));
                }
            }
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| self.expected(node, path, "a finite number"))?,
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Map(_) => Value::Object(self.vars(node, path)?.into_iter().collect()),
        })
    }
}

/// The known name closest to `key`, if it is close enough to be a typo:
/// at most two edits (a swap of neighbours counts as one), ignoring case.
pub(crate) fn did_you_mean<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&key, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= 2 && *d < key.chars().count().max(k.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `90`, `90s`, `10m`, `2h` as a duration.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    number.checked_mul(factor).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        parse(text, Path::new("t.yml")).unwrap().unwrap()
    }

    #[test]
    fn nodes_know_their_positions() {
        let node = tree("a:\n  b: 5\n");
        let Kind::Map(top) = &node.kind else {
            panic!("{node:?}")
        };
        let Kind::Map(inner) = &top[0].1.kind else {
            panic!()
        };
        assert_eq!(inner[0].1.pos, Pos { line: 2, column: 6 });
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("2d"), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn suggestions_for_typos_only() {
        let known = ["become", "timeout", "creates"];
        assert_eq!(did_you_mean("becmoe", &known), Some("become"));
        assert_eq!(did_you_mean("colour", &known), None);
    }
}
