//! Reads YAML text into a [`Node`] tree the way PyYAML's `safe_load` would,
//! using granit-parser's event stream for the syntax and `resolve` for the
//! YAML 1.1 meaning of scalars. Anchors, aliases and `<<` merge keys are
//! followed; duplicate keys are an error (PyYAML silently keeps the last).
//! Errors carry a 1-based position and our own message, never input text.
//!
//! Following an alias copies the anchored tree, so a few hundred bytes of
//! nested aliases ("billion laughs") would expand to gigabytes. Every load
//! therefore runs on a [`Budget`] with the limits the inventory's loader gets
//! from serde-saphyr's defaults (its `budget breached: ...` wording too): the
//! cost of an alias is known before it is copied, so a hostile env fails at
//! the alias that would cross a limit, having used little memory.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, StrInput};

use crate::error::{Error, Result};
use crate::node::{Entry, Node, Pos, Value};
use crate::resolve;

/// Largest input accepted, in bytes (serde-saphyr's `max_reader_input_bytes`).
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;
/// Most alias (`*name`) uses in one document (`max_aliases`).
pub const MAX_ALIASES: usize = 50_000;
/// Most nodes (scalars, lists, mappings, keys included) in the loaded tree,
/// every alias counted with the size of what it copies (`max_nodes`).
pub const MAX_NODES: usize = 250_000;
/// Deepest nesting of lists and mappings, aliases expanded (`max_depth`).
pub const MAX_DEPTH: usize = 64;
/// Most bytes of scalar text in the loaded tree, aliases expanded
/// (`max_total_scalar_bytes`).
pub const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;
/// Most nodes copied into the anchor table (`max_recorded_anchor_events`).
pub const MAX_ANCHOR_NODES: usize = 1_000_000;
/// Most scalar bytes copied into the anchor table (`max_recorded_anchor_bytes`).
pub const MAX_ANCHOR_BYTES: usize = 64 * 1024 * 1024;

/// Parse one YAML document. An empty stream is `null`, like `safe_load`.
pub fn load(text: &str) -> Result<Node> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(error(
            position_of(text, MAX_INPUT_BYTES),
            format!("budget breached: the input is larger than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    let mut loader = Loader {
        parser: Parser::new_from_str(text),
        text,
        anchors: HashMap::new(),
        last: Pos { line: 1, col: 1 },
        budget: Budget::default(),
    };
    loader.stream()
}

/// The 1-based position of byte `offset` (or the char boundary before it).
fn position_of(text: &str, offset: usize) -> Pos {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos {
        line: before.matches('\n').count() + 1,
        col: before[line_start..].chars().count() + 1,
    }
}

/// What an anchored tree costs each time an alias copies it.
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    bytes: usize,
    /// Levels of lists and mappings in it (0 for a scalar).
    height: usize,
}

/// What this load has spent so far.
#[derive(Debug, Default)]
struct Budget {
    aliases: usize,
    nodes: usize,
    bytes: usize,
    anchor_nodes: usize,
    anchor_bytes: usize,
    /// Lists and mappings around the node being read.
    depth: usize,
    /// The deepest level reached inside the node being read.
    reach: usize,
}

impl Budget {
    /// Charge `weight` more nodes and bytes for a node placed at `at`.
    fn spend(&mut self, weight: Weight, at: Pos) -> Result<()> {
        self.nodes = self.nodes.saturating_add(weight.nodes);
        if self.nodes > MAX_NODES {
            return Err(error(
                at,
                format!("budget breached: more than {MAX_NODES} nodes with aliases expanded"),
            ));
        }
        self.bytes = self.bytes.saturating_add(weight.bytes);
        if self.bytes > MAX_SCALAR_BYTES {
            return Err(error(
                at,
                format!(
                    "budget breached: more than {MAX_SCALAR_BYTES} bytes of scalars with aliases expanded"
                ),
            ));
        }
        let reach = self.depth + weight.height;
        if reach > MAX_DEPTH {
            return Err(error(
                at,
                format!("budget breached: nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.reach = self.reach.max(reach);
        Ok(())
    }
}

struct Anchored {
    node: Node,
    weight: Weight,
}

struct Loader<'a> {
    parser: Parser<'a, StrInput<'a>>,
    text: &'a str,
    anchors: HashMap<usize, Anchored>,
    last: Pos,
    budget: Budget,
}

fn pos(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

fn error(at: Pos, message: impl Into<String>) -> Error {
    Error::Yaml {
        line: at.line,
        col: at.col,
        message: message.into(),
    }
}

/// Our words for a scanner error: its kind, minus any quoted character.
fn scan_message(e: &granit_parser::ScanError) -> String {
    match e.kind() {
        granit_parser::ErrorKind::UnexpectedCharacter { .. } => "unexpected character".to_string(),
        granit_parser::ErrorKind::Custom(_) => "invalid YAML".to_string(),
        kind => {
            let text = kind.to_string();
            if text.is_empty() {
                "invalid YAML".to_string()
            } else {
                text
            }
        }
    }
}

/// A scanner error about a tab character.
fn tab_error(e: &granit_parser::ScanError) -> bool {
    use granit_parser::ErrorKind as K;
    matches!(
        e.kind(),
        K::TabNotAllowed
            | K::TabInBlockIndentation
            | K::TabAtBlockScalarStart
            | K::TabInIndentation
            | K::TabInPlainScalar
    )
}

/// Where the first tab on `from`'s line or after it stands (the scanner's
/// mark may be past the tab, or at the start of the scalar before it).
fn first_tab_from(text: &str, from: Pos) -> Option<Pos> {
    text.lines()
        .enumerate()
        .skip(from.line.saturating_sub(1))
        .find_map(|(i, line)| {
            let col = line.chars().position(|c| c == '\t')?;
            Some(Pos {
                line: i + 1,
                col: col + 1,
            })
        })
}

enum Item {
    Node(Node),
    End,
}

impl<'a> Loader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span)> {
        match self.parser.next() {
            Some(Ok((event, span))) => {
                self.last = pos(&span);
                Ok((event, span))
            }
            Some(Err(e)) => {
                let m = e.marker();
                let mut at = Pos {
                    line: m.line(),
                    col: m.col() + 1,
                };
                // The scanner may stand where the scalar or line started;
                // the tab it complains about is what the reader must find.
                if tab_error(&e) {
                    at = first_tab_from(self.text, at).unwrap_or(at);
                }
                Err(error(at, scan_message(&e)))
            }
            None => Err(error(self.last, "unexpected end of input")),
        }
    }

    fn stream(&mut self) -> Result<Node> {
        let mut doc = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) => {
                    if doc.is_some() {
                        return Err(error(
                            pos(&span),
                            "expected a single document in the stream, but found another document",
                        ));
                    }
                    self.anchors.clear();
                    let (event, span) = self.next()?;
                    match self.item(event, span, false)? {
                        Item::Node(n) => doc = Some(n),
                        Item::End => return Err(error(self.last, "expected a node")),
                    }
                }
                _ => return Err(error(pos(&span), "unexpected event")),
            }
        }
        Ok(doc.unwrap_or(Node {
            value: Value::Null,
            pos: Pos { line: 1, col: 1 },
            span: 0..0,
            block: false,
        }))
    }

    /// Keep a copy of an anchored node for its aliases, within the budget.
    fn remember(&mut self, anchor: usize, node: &Node, weight: Weight) -> Result<()> {
        if anchor == 0 {
            return Ok(());
        }
        let b = &mut self.budget;
        b.anchor_nodes = b.anchor_nodes.saturating_add(weight.nodes);
        b.anchor_bytes = b.anchor_bytes.saturating_add(weight.bytes);
        if b.anchor_nodes > MAX_ANCHOR_NODES {
            return Err(error(
                node.pos,
                format!("budget breached: anchors copied more than {MAX_ANCHOR_NODES} nodes"),
            ));
        }
        if b.anchor_bytes > MAX_ANCHOR_BYTES {
            return Err(error(
                node.pos,
                format!("budget breached: anchors copied more than {MAX_ANCHOR_BYTES} bytes"),
            ));
        }
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                weight,
            },
        );
        Ok(())
    }

    /// Turn one event (and what follows it) into a node. `key` says it is a
    /// mapping key, where PyYAML reads a plain `=` as a string.
    fn item(&mut self, event: Event<'a>, span: Span, key: bool) -> Result<Item> {
        if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
            return Ok(Item::End);
        }
        // The weight of this node is what the budget spends while reading it.
        let (nodes, bytes) = (self.budget.nodes, self.budget.bytes);
        let outer_reach = std::mem::replace(&mut self.budget.reach, self.budget.depth);
        let node = self.node(event, span, key);
        let height = self.budget.reach - self.budget.depth;
        self.budget.reach = self.budget.reach.max(outer_reach);
        let (node, anchor) = node?;
        let weight = Weight {
            nodes: self.budget.nodes - nodes,
            bytes: self.budget.bytes - bytes,
            height,
        };
        self.remember(anchor, &node, weight)?;
        Ok(Item::Node(node))
    }

    /// One node and its anchor id (0 for none); the caller remembers it.
    fn node(&mut self, event: Event<'a>, span: Span, key: bool) -> Result<(Node, usize)> {
        let at = pos(&span);
        let bytes = span.byte_range().unwrap_or(0..0);
        let node = match event {
            Event::Alias(id) => {
                self.budget.aliases += 1;
                if self.budget.aliases > MAX_ALIASES {
                    return Err(error(
                        at,
                        format!("budget breached: more than {MAX_ALIASES} aliases"),
                    ));
                }
                let anchored = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| error(at, "found undefined alias"))?;
                let weight = anchored.weight;
                // Charged before the copy is made.
                self.budget.spend(weight, at)?;
                let mut node = self.anchors[&id].node.clone();
                node.pos = at;
                (node, 0)
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.budget.spend(
                    Weight {
                        nodes: 1,
                        bytes: text.len(),
                        height: 0,
                    },
                    at,
                )?;
                let value = match (&tag, style) {
                    (Some(tag), _) if tag.handle() == "!" && tag.suffix().is_empty() => {
                        Value::Str(text.to_string())
                    }
                    (Some(tag), _)
                        if tag.is_yaml_core_schema() || tag.handle() == "tag:yaml.org,2002:" =>
                    {
                        resolve::tagged(tag.suffix(), &text).map_err(|m| error(at, m))?
                    }
                    (Some(_), _) => {
                        return Err(error(at, "could not determine a constructor for this tag"));
                    }
                    (None, ScalarStyle::Plain) if key && (text == "=" || text == "<<") => {
                        Value::Str(text.to_string())
                    }
                    (None, ScalarStyle::Plain) => {
                        resolve::plain(&text).map_err(|m| error(at, m))?
                    }
                    (None, _) => Value::Str(text.to_string()),
                };
                let node = Node {
                    value,
                    pos: at,
                    span: bytes,
                    block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
                };
                (node, anchor)
            }
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", at)?;
                self.open(at)?;
                let mut items = Vec::new();
                let end = loop {
                    let (event, span) = self.next()?;
                    let end = span.byte_range().map_or(bytes.end, |r| r.end);
                    match self.item(event, span, false)? {
                        Item::Node(n) => items.push(n),
                        Item::End => break end,
                    }
                };
                self.budget.depth -= 1;
                let node = Node {
                    value: Value::Seq(items),
                    pos: at,
                    span: bytes.start..end,
                    block: false,
                };
                (node, anchor)
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", at)?;
                self.open(at)?;
                let (entries, end) = self.mapping(bytes.end)?;
                self.budget.depth -= 1;
                let node = Node {
                    value: Value::Map(entries),
                    pos: at,
                    span: bytes.start..end,
                    block: false,
                };
                (node, anchor)
            }
            _ => return Err(error(at, "unexpected event")),
        };
        Ok(node)
    }

    /// A list or mapping starts at `at`: one node, one level deeper.
    fn open(&mut self, at: Pos) -> Result<()> {
        self.budget.spend(
            Weight {
                nodes: 1,
                bytes: 0,
                height: 1,
            },
            at,
        )?;
        self.budget.depth += 1;
        Ok(())
    }

    fn mapping(&mut self, mut end: usize) -> Result<(Vec<Entry>, usize)> {
        let mut own: Vec<Entry> = Vec::new();
        let mut merged: Vec<Entry> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            end = span.byte_range().map_or(end, |r| r.end);
            let is_merge =
                matches!(&event, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
            let key = match self.item(event, span, true)? {
                Item::Node(n) => n,
                Item::End => break,
            };
            let (event, span) = self.next()?;
            let value = match self.item(event, span, false)? {
                Item::Node(n) => n,
                Item::End => return Err(error(self.last, "expected a mapping value")),
            };
            if is_merge {
                merge_into(&mut merged, &value)?;
                continue;
            }
            if let Some(first) = own.iter().find(|e| e.key.value.same_key(&key.value)) {
                return Err(error(
                    key.pos,
                    format!(
                        "duplicate key {} (first defined at {})",
                        key_name(&key),
                        first.key.pos
                    ),
                ));
            }
            own.push(Entry { key, value });
        }
        // Merged entries come first and own keys override them (PyYAML's
        // flatten_mapping then dict construction: first position, last value).
        let mut entries: Vec<Entry> = Vec::new();
        for entry in merged.into_iter().chain(own) {
            match entries
                .iter_mut()
                .find(|e| e.key.value.same_key(&entry.key.value))
            {
                Some(existing) => existing.value = entry.value,
                None => entries.push(entry),
            }
        }
        Ok((entries, end))
    }
}

/// A key as shown in messages: the string itself for string keys.
fn key_name(key: &Node) -> String {
    match &key.value {
        Value::Str(s) => format!("'{s}'"),
        other => other.kind().to_string(),
    }
}

fn check_collection_tag(tag: Option<&granit_parser::Tag>, expected: &str, at: Pos) -> Result<()> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle() == "!" && t.suffix().is_empty() => Ok(()),
        Some(t) if t.handle() == "tag:yaml.org,2002:" && t.suffix() == expected => Ok(()),
        Some(_) => Err(error(at, "could not determine a constructor for this tag")),
    }
}

/// `<<: *a` or `<<: [*a, *b]`: entries to merge, earlier sources winning.
fn merge_into(merged: &mut Vec<Entry>, value: &Node) -> Result<()> {
    let sources: Vec<&Node> = match &value.value {
        Value::Map(_) => vec![value],
        Value::Seq(items) => items.iter().rev().collect(),
        _ => {
            return Err(error(
                value.pos,
                "expected a mapping or list of mappings for merging",
            ));
        }
    };
    for source in sources {
        let Value::Map(entries) = &source.value else {
            return Err(error(source.pos, "expected a mapping for merging"));
        };
        merged.extend(entries.iter().cloned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let doc = load("a:\n  b: 1\n  c: [x, y]\n").unwrap();
        let b = doc.get("a").unwrap().entry("b").unwrap();
        assert_eq!(b.key.pos, Pos { line: 2, col: 3 });
        assert_eq!(b.value.pos, Pos { line: 2, col: 6 });
        assert_eq!(b.value.value, Value::Int(1));
    }

    #[test]
    fn quoted_scalars_are_strings() {
        let doc = load("a: 'yes'\nb: \"1\"\nc: yes\nd: |\n  no\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Str("yes".into()));
        assert_eq!(doc.get("b").unwrap().value, Value::Str("1".into()));
        assert_eq!(doc.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(doc.get("d").unwrap().value, Value::Str("no\n".into()));
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let e = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "3:1: duplicate key 'a' (first defined at 1:1)"
        );
    }

    #[test]
    fn a_tab_error_points_at_the_tab() {
        let e = load("a:\n  b: 1\n\tc: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "3:1: while scanning a plain scalar, found a tab"
        );
        let e = load("a:\n  b:\n\tc: 1\n").unwrap_err().to_string();
        assert!(e.starts_with("3:1: "), "{e}");
    }

    #[test]
    fn errors_never_quote_the_input() {
        let e = load("a: 'secret\n").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
        let e = load("a: b: c\n").unwrap_err().to_string();
        assert!(e.starts_with("1:"), "{e}");
    }

    #[test]
    fn merge_keys_and_aliases() {
        let doc = load("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n").unwrap();
        let c = doc.get("c").unwrap();
        assert_eq!(c.get("x").unwrap().value, Value::Int(1));
        assert_eq!(c.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn tags_and_empty() {
        let doc = load("a: !!str 12\nb: !!int \"0x10\"\nc:\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Str("12".into()));
        assert_eq!(doc.get("b").unwrap().value, Value::Int(16));
        assert_eq!(doc.get("c").unwrap().value, Value::Null);
        assert_eq!(load("").unwrap().value, Value::Null);
        assert!(load("a: 1\n---\nb: 2\n").is_err());
        assert!(load("a: =\n").is_err());
        assert_eq!(
            load("=: 1\n").unwrap().get("=").unwrap().value,
            Value::Int(1)
        );
    }

    /// Ten levels of ten aliases each: 10^10 nodes if expanded.
    fn billion_laughs() -> String {
        let mut text = String::from(
            "#cloud-config\nappliance:\n  domain: ecs.example.org\nlol:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        let names: Vec<char> = "abcdefghijk".chars().collect();
        for w in names.windows(2) {
            let (p, n) = (w[0], w[1]);
            let refs = vec![format!("*{p}"); 10].join(", ");
            text.push_str(&format!("  {n}: &{n} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn alias_bomb_fails_at_the_alias_that_crosses_the_node_budget() {
        let e = load(&billion_laughs()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "10:14: budget breached: more than 250000 nodes with aliases expanded"
        );
    }

    #[test]
    fn alias_count_is_bounded() {
        let mut text = String::from("a: &a x\nb: [");
        text.push_str(&"*a, ".repeat(MAX_ALIASES + 1));
        text.push_str("]\n");
        let e = load(&text).unwrap_err();
        let col = 5 + 4 * MAX_ALIASES;
        assert_eq!(
            e.to_string(),
            format!("2:{col}: budget breached: more than 50000 aliases")
        );
        // Just under the limit loads.
        let ok = text.replacen("*a, ", "", 1);
        assert!(load(&ok).is_ok());
    }

    #[test]
    fn depth_is_bounded_with_aliases_expanded() {
        let deep = |n: usize| format!("{}x{}", "[".repeat(n), "]".repeat(n));
        assert!(load(&deep(MAX_DEPTH)).is_ok());
        assert_eq!(
            load(&deep(MAX_DEPTH + 1)).unwrap_err().to_string(),
            "1:65: budget breached: nested deeper than 64 levels"
        );
        // 40 levels anchored, used 30 levels down: 70 levels in the tree.
        let text = format!(
            "a: &a {}\nb: {}*a{}\n",
            deep(40),
            "[".repeat(30),
            "]".repeat(30)
        );
        assert_eq!(
            load(&text).unwrap_err().to_string(),
            "2:34: budget breached: nested deeper than 64 levels"
        );
    }

    #[test]
    fn scalar_bytes_are_bounded_with_aliases_expanded() {
        // A 1 MiB string used 70 times: 70 MiB of text from 1 MiB of input.
        let big = "x".repeat(1024 * 1024);
        let text = format!("a: &a {big}\nb: [{}]\n", vec!["*a"; 70].join(", "));
        let e = load(&text).unwrap_err().to_string();
        assert_eq!(
            e,
            "2:253: budget breached: more than 67108864 bytes of scalars with aliases expanded"
        );
    }

    #[test]
    fn input_size_is_bounded() {
        let text = format!("a: {}\n", "x".repeat(MAX_INPUT_BYTES));
        assert_eq!(
            load(&text).unwrap_err().to_string(),
            format!(
                "1:{}: budget breached: the input is larger than 268435456 bytes",
                MAX_INPUT_BYTES + 1
            )
        );
    }

    #[test]
    fn aliases_within_budget_still_load() {
        let doc = load("a: &a {x: [1, 2]}\nb: *a\nc: [*a, *a]\n").unwrap();
        let a = doc.get("a").unwrap();
        let b = doc.get("b").unwrap();
        assert_eq!((&b.value, b.pos), (&a.value, Pos { line: 2, col: 4 }));
        let Value::Seq(c) = &doc.get("c").unwrap().value else {
            panic!("c is not a list")
        };
        assert!(c.iter().all(|n| n.value == a.value));
    }
}
