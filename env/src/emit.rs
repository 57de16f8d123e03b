//! Writes a [`Node`] tree back as block-style YAML that PyYAML reads as the
//! same values (strings that would resolve to something else are quoted;
//! multi-line strings become literal blocks). Used when `--extra` values
//! are merged into a generated env; comments do not survive this.

use crate::node::{Node, Value};
use crate::python;
use crate::resolve::{Implicit, implicit};

/// The YAML text of `node` as a whole document (ends with a newline).
pub fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => map(node, 0, &mut out),
        Value::Seq(s) if !s.is_empty() => seq(node, 0, &mut out),
        _ => {
            out.push_str(&inline(node));
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn map(node: &Node, indent: usize, out: &mut String) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    for e in entries {
        out.push_str(&pad(indent));
        out.push_str(&inline(&e.key));
        out.push(':');
        value(&e.value, indent, out);
    }
}

fn seq(node: &Node, indent: usize, out: &mut String) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    for item in items {
        out.push_str(&pad(indent));
        out.push('-');
        value(item, indent, out);
    }
}

/// The rest of a line after `key:` or `-`, and any lines below it.
fn value(node: &Node, indent: usize, out: &mut String) {
    match &node.value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            map(node, indent + 2, out);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            seq(node, indent + 2, out);
        }
        Value::Str(s) if literal_ok(s) => {
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") {
                "+"
            } else {
                ""
            };
            out.push_str(&format!(" |{chomp}\n"));
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                if !line.is_empty() {
                    out.push_str(&pad(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(node));
            out.push('\n');
        }
    }
}

/// A multi-line string that a literal block keeps exactly.
fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && s.chars()
            .all(|c| c == '\n' || (!c.is_control() && c != '\u{feff}'))
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
}

fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/' || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./@%+=,-".contains(c))
        && implicit(s) == Implicit::Str
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar (or empty collection) on one line.
fn inline(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => ".nan".to_string(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.to_string(),
        Value::Float(f) => {
            let r = python::float_repr(*f);
            match r.find('e') {
                Some(i) if !r[..i].contains('.') => format!("{}.0{}", &r[..i], &r[i..]),
                _ => r,
            }
        }
        Value::Date(d) => d.to_string(),
        Value::DateTime(d) => d.to_string(),
        Value::Str(s) if plain_ok(s) => s.clone(),
        Value::Str(s) => double_quoted(s),
        Value::Seq(_) => "[]".to_string(),
        Value::Map(_) => "{}".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::load;

    fn strip_pos(node: &Node) -> Node {
        let value = match &node.value {
            Value::Seq(items) => Value::Seq(items.iter().map(strip_pos).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| crate::node::Entry {
                        key: strip_pos(&e.key),
                        value: strip_pos(&e.value),
                    })
                    .collect(),
            ),
            v => v.clone(),
        };
        Node::synthetic(value)
    }

    #[test]
    fn round_trips_through_the_loader() {
        let text = concat!(
            "a: 'yes'\nb: yes\nc: '0755'\nd: 0755\ne: 1.0e+20\nf: 2001-12-14\n",
            "g: |\n  multi\n   line\n\n  end\n",
            "h: \"no newline\\nat end\"\ni: \" lead\"\nj: 'it''s: \"x\"'\nk: [1, [2, {x: ~}], []]\n",
            "l: {}\nm: ümlaut\nn: 'tab\there'\no: ''\n1: int key\np: '\\'\nq: \"a\\x01b\"\n",
        );
        let doc = load(text).unwrap();
        let again = load(&emit(&doc)).unwrap();
        assert_eq!(strip_pos(&doc), strip_pos(&again), "{}", emit(&doc));
    }
}
