//! The appliance's `flatyaml.py` (ecs-appliance, salt/common/flatyaml.py):
//! a YAML document flattened to shell assignments. Matched to its source:
//!
//! - mapping keys joined with `combine` (default `_`); list items are
//!   `KEY_0`, `KEY_1`, ... plus `KEY_len` (upper-cased to `KEY_LEN`); a key
//!   is only prefixed when the parent key is non-empty (Python truthiness),
//!   but `len` always gets `combine` before it;
//! - strings are stripped and `shlex.quote`d; booleans are `true`/`false`;
//!   null is empty; other scalars print as Python's `str()`;
//! - when two paths flatten to the same key the later one wins (`dict()`);
//! - per root, lines are sorted by the flattened key before upper-casing,
//!   then printed as `{prefix}{ROOT_}{KEY}{assign}{value}{postfix}`;
//! - root `.` is the whole document; another root is looked up among the
//!   top-level keys and prefixed with `ROOT` + `combine`; a missing root is
//!   reported (flatyaml prints an error to stderr and goes on).
//!
//! Where flatyaml would crash with a Python traceback (a non-string key, a
//! document that is not a mapping while roots are named) this returns an
//! [`Error::Flatten`] with the position instead.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::node::{Node, Value};
use crate::python;

/// flatyaml's command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlattenOptions {
    /// Printed before each line (`--prefix`, default empty).
    pub prefix: String,
    /// Printed after each value (`--postfix`, default empty).
    pub postfix: String,
    /// Joins key parts (`--combine`, default `_`).
    pub combine: String,
    /// Between key and value (`--assign`, default `=`).
    pub assign: String,
}

impl Default for FlattenOptions {
    fn default() -> Self {
        FlattenOptions {
            prefix: String::new(),
            postfix: String::new(),
            combine: "_".to_string(),
            assign: "=".to_string(),
        }
    }
}

/// The result of flattening: `(KEY, value)` pairs in output order, and the
/// roots that were not found (flatyaml's `Error: key "x" not found in data`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flattened {
    pub pairs: Vec<(String, String)>,
    pub missing_roots: Vec<String>,
}

impl Flattened {
    /// The text flatyaml prints on stdout: one line per pair.
    pub fn render(&self, options: &FlattenOptions) -> String {
        let mut out = String::new();
        for (key, value) in &self.pairs {
            out.push_str(&options.prefix);
            out.push_str(key);
            out.push_str(&options.assign);
            out.push_str(value);
            out.push_str(&options.postfix);
            out.push('\n');
        }
        out
    }

    /// flatyaml's stderr line for each missing root.
    pub fn missing_messages(&self) -> Vec<String> {
        self.missing_roots
            .iter()
            .map(|r| format!("Error: key \"{r}\" not found in data"))
            .collect()
    }
}

/// Split a roots argument (`ecs,appliance` or `.`) the way flatyaml does.
pub fn parse_roots(spec: &str) -> Vec<String> {
    spec.split(',').map(str::to_string).collect()
}

/// Flatten `doc` under `roots`, in the roots' order.
pub fn flatten(doc: &Node, roots: &[String], options: &FlattenOptions) -> Result<Flattened> {
    let mut out = Flattened::default();
    for root in roots {
        let (node, keyroot) = if root == "." {
            (doc, String::new())
        } else {
            let Value::Map(_) = &doc.value else {
                return Err(Error::Flatten {
                    line: doc.pos.line,
                    col: doc.pos.col,
                    key_path: root.clone(),
                    message: format!("the document is {}, not a mapping", doc.value.kind()),
                });
            };
            match doc.get(root) {
                Some(node) => (node, format!("{}{}", root.to_uppercase(), options.combine)),
                None => {
                    out.missing_roots.push(root.clone());
                    continue;
                }
            }
        };
        let mut items = BTreeMap::new();
        walk(node, String::new(), root, &options.combine, &mut items)?;
        for (key, value) in items {
            out.pairs
                .push((format!("{keyroot}{}", key.to_uppercase()), value));
        }
    }
    Ok(out)
}

/// Parse `text` and flatten it: `flatyaml --file FILE ROOTS`.
pub fn flatten_text(text: &str, roots: &str, options: &FlattenOptions) -> Result<Flattened> {
    let doc = crate::loader::load(text)?;
    flatten(&doc, &parse_roots(roots), options)
}

fn join(parent: &str, sep: &str, part: &str) -> String {
    if parent.is_empty() {
        part.to_string()
    } else {
        format!("{parent}{sep}{part}")
    }
}

fn walk(
    node: &Node,
    key: String,
    path: &str,
    sep: &str,
    out: &mut BTreeMap<String, String>,
) -> Result<()> {
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                let Value::Str(k) = &entry.key.value else {
                    // Python fails on `parent + sep + k` for a non-str key,
                    // unless nothing below it is ever printed.
                    if matches!(&entry.value.value, Value::Map(m) if m.is_empty()) {
                        continue;
                    }
                    return Err(Error::Flatten {
                        line: entry.key.pos.line,
                        col: entry.key.pos.col,
                        key_path: path.to_string(),
                        message: format!(
                            "key is {}, flatyaml needs string keys (quote it)",
                            entry.key.value.kind()
                        ),
                    });
                };
                let child_path = if path == "." {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&entry.value, join(&key, sep, k), &child_path, sep, out)?;
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let index = i.to_string();
                walk(
                    item,
                    join(&key, sep, &index),
                    &format!("{path}.{i}"),
                    sep,
                    out,
                )?;
            }
            out.insert(format!("{key}{sep}len"), items.len().to_string());
        }
        scalar => {
            out.insert(key, scalar_text(scalar));
        }
    }
    Ok(())
}

/// How flatyaml prints a scalar.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Str(s) => python::shlex_quote(python::strip(s)),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => python::float_repr(*f),
        Value::Date(d) => d.to_string(),
        Value::DateTime(d) => d.to_string(),
        Value::Seq(_) | Value::Map(_) => unreachable!("collections are walked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(yaml: &str, roots: &str) -> String {
        flatten_text(yaml, roots, &FlattenOptions::default())
            .unwrap()
            .render(&FlattenOptions::default())
    }

    #[test]
    fn nested_mappings_and_roots() {
        let yaml = "ecs:\n  b: 1\n  a:\n    x: hello\nappliance:\n  domain: ecs.example.org\n";
        assert_eq!(
            flat(yaml, "ecs,appliance"),
            "ECS_A_X=hello\nECS_B=1\nAPPLIANCE_DOMAIN=ecs.example.org\n"
        );
        assert_eq!(
            flat(yaml, "."),
            "APPLIANCE_DOMAIN=ecs.example.org\nECS_A_X=hello\nECS_B=1\n"
        );
        assert_eq!(
            flat(yaml, "appliance,ecs"),
            "APPLIANCE_DOMAIN=ecs.example.org\nECS_A_X=hello\nECS_B=1\n"
        );
    }

    #[test]
    fn lists_nested_lists_and_lists_of_maps() {
        let yaml = "l:\n  - a\n  - [b, c]\n  - {path: /x, owner: 'app:app'}\n  - []\n";
        assert_eq!(
            flat(yaml, "."),
            "L_0=a\nL_1_0=b\nL_1_1=c\nL_1_LEN=2\nL_2_OWNER=app:app\nL_2_PATH=/x\nL_3_LEN=0\nL_LEN=4\n"
        );
    }

    #[test]
    fn strings_are_stripped_and_quoted() {
        let yaml = concat!(
            "a: '  padded  '\n",
            "b: \"it's\"\n",
            "c: ''\n",
            "d: |\n  line one\n  line two\n",
            "e: ümlaut\n",
            "f: $HOME\n",
            "g: a=b,c:d/e.f@g%h+i-j\n",
            "h: \"   \"\n",
        );
        assert_eq!(
            flat(yaml, "."),
            concat!(
                "A=padded\n",
                "B='it'\"'\"'s'\n",
                "C=''\n",
                "D='line one\nline two'\n",
                "E='ümlaut'\n",
                "F='$HOME'\n",
                "G=a=b,c:d/e.f@g%h+i-j\n",
                "H=''\n",
            )
        );
    }

    #[test]
    fn scalars_print_as_python_str() {
        let yaml = concat!(
            "a: yes\nb: Off\nc: ~\nd:\ne: 0755\nf: 1_000\ng: 1:30\nh: 1.0\n",
            "i: 1.0e+20\nj: 2001-12-14\nk: 0x1F\nl: .inf\nm: -.5\nn: y\n",
        );
        assert_eq!(
            flat(yaml, "."),
            concat!(
                "A=true\nB=false\nC=\nD=\nE=493\nF=1000\nG=90\nH=1.0\n",
                "I=1e+20\nJ=2001-12-14\nK=31\nL=inf\nM=-.5\nN=y\n",
            )
        );
    }

    #[test]
    fn sorted_by_key_as_spelled_before_upper_casing() {
        // 'B' < 'a' < 'b_x' in plain string order; dashes stay.
        let yaml = "a: 1\nB: 2\nb-x: 3\nb_y: 4\nZ: 5\n";
        assert_eq!(flat(yaml, "."), "B=2\nZ=5\nA=1\nB-X=3\nB_Y=4\n");
    }

    #[test]
    fn later_duplicate_flattened_key_wins() {
        assert_eq!(flat("a_b: 1\na:\n  b: 2\n", "."), "A_B=2\n");
        assert_eq!(flat("a:\n  b: 2\na_b: 1\n", "."), "A_B=1\n");
    }

    #[test]
    fn options_and_missing_roots() {
        let options = FlattenOptions {
            prefix: "export ".into(),
            postfix: ";".into(),
            combine: "__".into(),
            assign: ":=".into(),
        };
        let f = flatten_text("ecs:\n  a:\n    b: [1]\n", "ecs,nope", &options).unwrap();
        assert_eq!(
            f.render(&options),
            "export ECS__A__B__0:=1;\nexport ECS__A__B__LEN:=1;\n"
        );
        assert_eq!(
            f.missing_messages(),
            ["Error: key \"nope\" not found in data"]
        );
    }

    #[test]
    fn scalar_root_and_empty_mapping() {
        assert_eq!(flat("ecs: hello\nx: {}\n", "ecs,x"), "ECS_=hello\n");
        assert_eq!(flat("[a, b]\n", "."), "0=a\n1=b\n_LEN=2\n");
    }

    #[test]
    fn non_string_keys_are_an_error_with_position() {
        let e = flatten_text("ecs:\n  1: a\n", "ecs", &FlattenOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "2:3: ecs: key is an integer, flatyaml needs string keys (quote it)"
        );
    }
}
