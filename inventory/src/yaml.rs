//! The inventory's YAML as a tree whose every node knows its line and column,
//! and a strict reader over that tree which turns shape mistakes into
//! `PATH:LINE:COL: key.path: message` errors.
//!
//! Why a tree and not `#[derive(Deserialize)]` straight into structs: serde's
//! errors carry a position but not the key path, their wording is serde's
//! ("invalid type: string \"x\", expected u16"), and duplicate keys must be
//! reported by name. So serde-saphyr parses into [`Node`] (using its
//! `Spanned` support for positions, and `DuplicateKeyPolicy::PassThrough` so
//! that duplicates reach us) and the inventory code reads the tree with the
//! helpers here, building the key path as it descends.
//!
//! Positions: key errors (unknown, duplicate, bad name) point at the key;
//! value errors (wrong type, out of range) point at the value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Spanned};

use crate::error::InventoryError;

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
pub(crate) fn parse(text: &str, path: &Path) -> Result<Option<Node>, InventoryError> {
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
            InventoryError::Syntax {
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
    pub fn error(&self, pos: Pos, key: &str, message: impl Into<String>) -> InventoryError {
        InventoryError::Invalid {
            path: self.path.to_path_buf(),
            line: pos.line,
            column: pos.column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn expected(&self, node: &Node, key: &str, what: &str) -> InventoryError {
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
    ) -> Result<Vec<Entry<'n>>, InventoryError> {
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
    pub fn unknown_key(&self, entry: &Entry, path: &str, known: &[&str]) -> InventoryError {
        let mut message = format!("unknown key `{}`", entry.key);
        if let Some(close) = did_you_mean(&entry.key, known) {
            message.push_str(&format!(", did you mean `{close}`?"));
        }
        self.error(entry.pos, &join(path, &entry.key), message)
    }

    /// A string; `null` means "not set".
    pub fn string(&self, node: &Node, path: &str) -> Result<Option<String>, InventoryError> {
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Str(s) => Ok(Some(s.clone())),
            _ => Err(self.expected(node, path, "a string")),
        }
    }

    /// A TCP port; `null` means "not set".
    pub fn port(&self, node: &Node, path: &str) -> Result<Option<u16>, InventoryError> {
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Int(i) => match u16::try_from(*i) {
                Ok(port) if port > 0 => Ok(Some(port)),
                _ => Err(self.expected(node, path, "a port number between 1 and 65535")),
            },
            _ => Err(self.expected(node, path, "an integer")),
        }
    }

    /// `true` or `false`; `null` means "not set".
    pub fn boolean(&self, node: &Node, path: &str) -> Result<Option<bool>, InventoryError> {
        match &node.kind {
            Kind::Null => Ok(None),
            Kind::Bool(b) => Ok(Some(*b)),
            _ => Err(self.expected(node, path, "true or false")),
        }
    }

    /// A list of strings with their positions; `null` reads as empty.
    pub fn strings(&self, node: &Node, path: &str) -> Result<Vec<(String, Pos)>, InventoryError> {
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
    ) -> Result<BTreeMap<String, serde_json::Value>, InventoryError> {
        let mut vars = BTreeMap::new();
        for entry in self.mapping(node, path, "key")? {
            let key = join(path, &entry.key);
            vars.insert(entry.key, self.json(entry.value, &key)?);
        }
        Ok(vars)
    }

    /// Any YAML value as JSON. Map keys become strings; non-finite floats
    /// and integers beyond 64 bits are refused (JSON cannot hold them).
    pub fn json(&self, node: &Node, path: &str) -> Result<serde_json::Value, InventoryError> {
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

    /// A path relative to the inventory file's directory, `~` expanded.
    pub fn file(&self, node: &Node, path: &str) -> Result<Option<PathBuf>, InventoryError> {
        Ok(self
            .string(node, path)?
            .map(|s| crate::inventory::resolve_path(self.path, &s)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        parse(text, Path::new("t.yml")).unwrap().unwrap()
    }

    #[test]
    fn nodes_know_their_positions() {
        let node = tree("a:\n  b: 5\n  c: [x, 'y']\n");
        let Kind::Map(top) = &node.kind else {
            panic!("{node:?}")
        };
        assert_eq!(top[0].0.pos, Pos { line: 1, column: 1 });
        let Kind::Map(inner) = &top[0].1.kind else {
            panic!()
        };
        assert_eq!(inner[0].1.pos, Pos { line: 2, column: 6 });
        let Kind::Seq(items) = &inner[1].1.kind else {
            panic!()
        };
        assert_eq!(
            items[1].pos,
            Pos {
                line: 3,
                column: 10
            }
        );
    }

    #[test]
    fn scalars_keep_their_yaml_types() {
        let node = tree("[1, '1', true, ~, 1.5, x]");
        let Kind::Seq(items) = node.kind else {
            panic!()
        };
        let kinds: Vec<&str> = items.iter().map(|n| n.kind.describe()).collect();
        assert_eq!(
            kinds,
            [
                "an integer",
                "a string",
                "a boolean",
                "nothing",
                "a number",
                "a string"
            ]
        );
    }

    #[test]
    fn duplicate_keys_reach_the_reader() {
        let node = tree("a: 1\nb: 2\na: 3\n");
        let reader = Reader {
            path: Path::new("t.yml"),
        };
        let err = reader.mapping(&node, "", "key").err().unwrap();
        assert_eq!(
            err.to_string(),
            "t.yml:3:1: a: duplicate key `a` (first at line 1)"
        );
    }

    #[test]
    fn blank_documents_are_empty() {
        assert!(parse("", Path::new("t")).unwrap().is_none());
        assert!(parse("# nothing\n---\n", Path::new("t")).unwrap().is_none());
    }

    #[test]
    fn syntax_errors_have_a_position_and_no_snippet() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n", Path::new("t.yml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("t.yml:"), "{text}");
        assert!(!text.contains('\n'), "{text}");
        assert!(!text.contains("c: 3"), "{text}");
        let err = parse("a: [1", Path::new("t.yml")).unwrap_err();
        assert_eq!(err.to_string(), "t.yml:1:4: unclosed bracket '['");
        let err = parse("a: 'x", Path::new("t.yml")).unwrap_err();
        assert_eq!(err.to_string(), "t.yml:1:4: unclosed quote");
    }

    #[test]
    fn suggestions_for_typos_only() {
        let known = ["port", "user", "identity"];
        assert_eq!(did_you_mean("prot", &known), Some("port"));
        assert_eq!(did_you_mean("usr", &known), Some("user"));
        assert_eq!(did_you_mean("Identiy", &known), Some("identity"));
        assert_eq!(did_you_mean("colour", &known), None);
    }
}
