//! Reads YAML text into a [`Node`] tree the way PyYAML's `safe_load` would,
//! using granit-parser's event stream for the syntax and `resolve` for the
//! YAML 1.1 meaning of scalars. Anchors, aliases and `<<` merge keys are
//! followed; duplicate keys are an error (PyYAML silently keeps the last).
//! Errors carry a 1-based position and our own message, never input text.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, StrInput};

use crate::error::{Error, Result};
use crate::node::{Entry, Node, Pos, Value};
use crate::resolve;

/// Parse one YAML document. An empty stream is `null`, like `safe_load`.
pub fn load(text: &str) -> Result<Node> {
    let mut loader = Loader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        last: Pos { line: 1, col: 1 },
    };
    loader.stream()
}

struct Loader<'a> {
    parser: Parser<'a, StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    last: Pos,
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
                Err(error(
                    Pos {
                        line: m.line(),
                        col: m.col() + 1,
                    },
                    scan_message(&e),
                ))
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

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    /// Turn one event (and what follows it) into a node. `key` says it is a
    /// mapping key, where PyYAML reads a plain `=` as a string.
    fn item(&mut self, event: Event<'a>, span: Span, key: bool) -> Result<Item> {
        let at = pos(&span);
        let bytes = span.byte_range().unwrap_or(0..0);
        let node = match event {
            Event::MappingEnd | Event::SequenceEnd => return Ok(Item::End),
            Event::Alias(id) => {
                let mut node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| error(at, "found undefined alias"))?;
                node.pos = at;
                node
            }
            Event::Scalar(text, style, anchor, tag) => {
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
                self.remember(anchor, &node);
                node
            }
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", at)?;
                let mut items = Vec::new();
                let end = loop {
                    let (event, span) = self.next()?;
                    let end = span.byte_range().map_or(bytes.end, |r| r.end);
                    match self.item(event, span, false)? {
                        Item::Node(n) => items.push(n),
                        Item::End => break end,
                    }
                };
                let node = Node {
                    value: Value::Seq(items),
                    pos: at,
                    span: bytes.start..end,
                    block: false,
                };
                self.remember(anchor, &node);
                node
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", at)?;
                let (entries, end) = self.mapping(bytes.end)?;
                let node = Node {
                    value: Value::Map(entries),
                    pos: at,
                    span: bytes.start..end,
                    block: false,
                };
                self.remember(anchor, &node);
                node
            }
            _ => return Err(error(at, "unexpected event")),
        };
        Ok(Item::Node(node))
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
}
