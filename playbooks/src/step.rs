//! [`Step`]: one step of a playbook as written, before rendering: its kind
//! ([`StepKind`]), the templates it holds ([`Text`], each with its line),
//! and the common keys `name`, `become`, `timeout`, `when` and `tags`.
//! Reading a step refuses unknown keys, a step with no kind or two kinds,
//! and keys that belong to another kind.

use std::time::Duration;

use crate::condition::Condition;
use crate::error::PlaybookError;
use crate::yaml::{Entry, Kind, Node, Pos, Reader, join};

/// A template as written, with the position of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub line: u64,
    pub column: u64,
}

impl Text {
    fn at(text: String, pos: Pos) -> Text {
        Text {
            text,
            line: pos.line,
            column: pos.column,
        }
    }
}

/// Where an upload's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadFrom {
    /// A local file, sent as is (`src:`).
    Src(Text),
    /// Inline text, rendered as a template (`content:`).
    Content(Text),
    /// A local template file, rendered (`template:`).
    Template(Text),
}

/// What a `wait` step waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    Running,
    Stopped,
    Failed,
    /// appliance-update has ended (see [`crate::WaitUntil::UpdateDone`]).
    UpdateDone,
    /// A shell command (a template, quoted like `run`) that exits 0 when done.
    Command(Text),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Run {
        command: Text,
        creates: Option<Text>,
        unless: Option<Text>,
        stdin: Option<Text>,
        env: Vec<(String, Text)>,
    },
    Upload {
        from: UploadFrom,
        dest: Text,
        mode: Option<u32>,
        owner: Option<Text>,
        group: Option<Text>,
    },
    PushTree {
        src: Text,
        dest: Text,
        exclude: Vec<String>,
        owner: Option<Text>,
        group: Option<Text>,
    },
    Fetch {
        src: Text,
        dest: Text,
    },
    Reboot {
        timeout: Option<Duration>,
    },
    Wait {
        until: Until,
        timeout: Option<Duration>,
        interval: Option<Duration>,
    },
    Check {
        conditions: Vec<Condition>,
    },
}

/// One step as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based position in the playbook.
    pub index: usize,
    pub name: String,
    /// Line of the step's first key.
    pub line: u64,
    /// `become: true`: run as root through sudo.
    pub sudo: bool,
    pub timeout: Option<Duration>,
    /// A jinja expression; the step is skipped when it is false.
    pub when: Option<Text>,
    pub tags: Vec<String>,
    pub kind: StepKind,
}

const KINDS: &[&str] = &[
    "run",
    "upload",
    "push_tree",
    "fetch",
    "reboot",
    "wait",
    "check",
];
const COMMON: &[&str] = &["name", "become", "timeout", "when", "tags"];
const RUN_ONLY: &[&str] = &["creates", "unless", "stdin", "env"];

impl Step {
    pub(crate) fn read(
        reader: &Reader,
        node: &Node,
        index: usize,
        path: &str,
    ) -> Result<Step, PlaybookError> {
        if !matches!(node.kind, Kind::Map(_)) {
            return Err(reader.expected(node, path, "a step (a mapping with `name` and one of run, upload, push_tree, fetch, reboot, wait, check)"));
        }
        let entries = reader.mapping(node, path, "key")?;
        let known: Vec<&str> = KINDS
            .iter()
            .chain(COMMON)
            .chain(RUN_ONLY)
            .copied()
            .collect();
        let mut name = None;
        let mut sudo = false;
        let mut timeout = None;
        let mut when = None;
        let mut tags = Vec::new();
        let mut kind_entry: Option<&Entry> = None;
        for entry in &entries {
            let key = join(path, &entry.key);
            match entry.key.as_str() {
                "name" => name = reader.scalar(entry.value, &key)?,
                "become" => sudo = reader.boolean(entry.value, &key)?.unwrap_or(false),
                "timeout" => timeout = reader.duration(entry.value, &key)?,
                "when" => when = text(reader, entry.value, &key)?,
                "tags" => {
                    tags = reader
                        .strings(entry.value, &key)?
                        .into_iter()
                        .map(|(s, _)| s)
                        .collect()
                }
                k if KINDS.contains(&k) => {
                    if let Some(first) = kind_entry {
                        return Err(reader.error(
                            entry.pos,
                            &key,
                            format!("a step has one kind; this one already has `{}`", first.key),
                        ));
                    }
                    kind_entry = Some(entry);
                }
                k if RUN_ONLY.contains(&k) => {}
                _ => return Err(reader.unknown_key(entry, path, &known)),
            }
        }
        let Some(kind_entry) = kind_entry else {
            return Err(reader.error(
                node.pos,
                path,
                "a step needs one of run, upload, push_tree, fetch, reboot, wait, check",
            ));
        };
        if kind_entry.key != "run"
            && let Some(stray) = entries.iter().find(|e| RUN_ONLY.contains(&e.key.as_str()))
        {
            return Err(reader.error(
                stray.pos,
                &join(path, &stray.key),
                format!(
                    "`{}` belongs to `run` steps, not `{}`",
                    stray.key, kind_entry.key
                ),
            ));
        }
        let name = name.ok_or_else(|| reader.error(node.pos, path, "a step needs a `name`"))?;
        let kind = read_kind(reader, kind_entry, &entries, path)?;
        Ok(Step {
            index,
            name,
            line: entries.first().map_or(node.pos.line, |e| e.pos.line),
            sudo,
            timeout,
            when,
            tags,
            kind,
        })
    }

    /// The step's kind as written (`run`, `upload`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            StepKind::Run { .. } => "run",
            StepKind::Upload { .. } => "upload",
            StepKind::PushTree { .. } => "push_tree",
            StepKind::Fetch { .. } => "fetch",
            StepKind::Reboot { .. } => "reboot",
            StepKind::Wait { .. } => "wait",
            StepKind::Check { .. } => "check",
        }
    }
}

/// A scalar as a template with its position.
fn text(reader: &Reader, node: &Node, path: &str) -> Result<Option<Text>, PlaybookError> {
    Ok(reader.scalar(node, path)?.map(|s| Text::at(s, node.pos)))
}

fn required(
    reader: &Reader,
    found: Option<Text>,
    node: &Node,
    path: &str,
    key: &str,
) -> Result<Text, PlaybookError> {
    found.ok_or_else(|| reader.error(node.pos, path, format!("`{key}` is required")))
}

fn read_kind(
    reader: &Reader,
    entry: &Entry,
    siblings: &[Entry],
    path: &str,
) -> Result<StepKind, PlaybookError> {
    let key = join(path, &entry.key);
    let node = entry.value;
    match entry.key.as_str() {
        "run" => {
            let command = required(reader, text(reader, node, &key)?, node, &key, "run")?;
            let mut creates = None;
            let mut unless = None;
            let mut stdin = None;
            let mut env = Vec::new();
            for sib in siblings {
                let sib_key = join(path, &sib.key);
                match sib.key.as_str() {
                    "creates" => creates = text(reader, sib.value, &sib_key)?,
                    "unless" => unless = text(reader, sib.value, &sib_key)?,
                    "stdin" => stdin = text(reader, sib.value, &sib_key)?,
                    "env" => {
                        for var in reader.mapping(sib.value, &sib_key, "variable")? {
                            let var_key = join(&sib_key, &var.key);
                            let value = text(reader, var.value, &var_key)?.unwrap_or(Text {
                                text: String::new(),
                                line: var.pos.line,
                                column: var.pos.column,
                            });
                            env.push((var.key, value));
                        }
                    }
                    _ => {}
                }
            }
            Ok(StepKind::Run {
                command,
                creates,
                unless,
                stdin,
                env,
            })
        }
        "upload" => {
            let known = [
                "src", "content", "template", "dest", "mode", "owner", "group",
            ];
            let (mut from, mut dest, mut mode, mut owner, mut group) =
                (None, None, None, None, None);
            for e in reader.mapping(node, &key, "key")? {
                let k = join(&key, &e.key);
                let source = |t: Option<Text>, make: fn(Text) -> UploadFrom| t.map(make);
                let found = match e.key.as_str() {
                    "src" => source(text(reader, e.value, &k)?, UploadFrom::Src),
                    "content" => source(text(reader, e.value, &k)?, UploadFrom::Content),
                    "template" => source(text(reader, e.value, &k)?, UploadFrom::Template),
                    "dest" => {
                        dest = text(reader, e.value, &k)?;
                        None
                    }
                    "mode" => {
                        mode = Some(read_mode(reader, e.value, &k)?);
                        None
                    }
                    "owner" => {
                        owner = text(reader, e.value, &k)?;
                        None
                    }
                    "group" => {
                        group = text(reader, e.value, &k)?;
                        None
                    }
                    _ => return Err(reader.unknown_key(&e, &key, &known)),
                };
                if let Some(found) = found {
                    if from.is_some() {
                        return Err(reader.error(
                            e.pos,
                            &k,
                            "an upload has one of src, content, template",
                        ));
                    }
                    from = Some(found);
                }
            }
            let from = from.ok_or_else(|| {
                reader.error(
                    node.pos,
                    &key,
                    "an upload needs one of src, content, template",
                )
            })?;
            Ok(StepKind::Upload {
                from,
                dest: required(reader, dest, node, &key, "dest")?,
                mode,
                owner,
                group,
            })
        }
        "push_tree" => {
            let known = ["src", "dest", "exclude", "owner", "group"];
            let (mut src, mut dest, mut owner, mut group) = (None, None, None, None);
            let mut exclude = vec![".git".to_owned()];
            for e in reader.mapping(node, &key, "key")? {
                let k = join(&key, &e.key);
                match e.key.as_str() {
                    "src" => src = text(reader, e.value, &k)?,
                    "dest" => dest = text(reader, e.value, &k)?,
                    "owner" => owner = text(reader, e.value, &k)?,
                    "group" => group = text(reader, e.value, &k)?,
                    "exclude" => {
                        exclude = reader
                            .strings(e.value, &k)?
                            .into_iter()
                            .map(|(s, _)| s)
                            .collect()
                    }
                    _ => return Err(reader.unknown_key(&e, &key, &known)),
                }
            }
            Ok(StepKind::PushTree {
                src: required(reader, src, node, &key, "src")?,
                dest: required(reader, dest, node, &key, "dest")?,
                exclude,
                owner,
                group,
            })
        }
        "fetch" => {
            let known = ["src", "dest"];
            let (mut src, mut dest) = (None, None);
            for e in reader.mapping(node, &key, "key")? {
                let k = join(&key, &e.key);
                match e.key.as_str() {
                    "src" => src = text(reader, e.value, &k)?,
                    "dest" => dest = text(reader, e.value, &k)?,
                    _ => return Err(reader.unknown_key(&e, &key, &known)),
                }
            }
            Ok(StepKind::Fetch {
                src: required(reader, src, node, &key, "src")?,
                dest: required(reader, dest, node, &key, "dest")?,
            })
        }
        "reboot" => {
            let mut timeout = None;
            for e in reader.mapping(node, &key, "key")? {
                let k = join(&key, &e.key);
                match e.key.as_str() {
                    "timeout" => timeout = reader.duration(e.value, &k)?,
                    _ => return Err(reader.unknown_key(&e, &key, &["timeout"])),
                }
            }
            Ok(StepKind::Reboot { timeout })
        }
        "wait" => {
            let known = ["until", "timeout", "interval"];
            let (mut until, mut timeout, mut interval) = (None, None, None);
            for e in reader.mapping(node, &key, "key")? {
                let k = join(&key, &e.key);
                match e.key.as_str() {
                    "until" => {
                        until = text(reader, e.value, &k)?.map(|t| match t.text.trim() {
                            "running" => Until::Running,
                            "stopped" => Until::Stopped,
                            "failed" => Until::Failed,
                            "update_done" => Until::UpdateDone,
                            _ => Until::Command(t),
                        })
                    }
                    "timeout" => timeout = reader.duration(e.value, &k)?,
                    "interval" => interval = reader.duration(e.value, &k)?,
                    _ => return Err(reader.unknown_key(&e, &key, &known)),
                }
            }
            let until = until.ok_or_else(|| {
                reader.error(
                    node.pos,
                    &key,
                    "`until` is required (running, stopped, failed or a command)",
                )
            })?;
            Ok(StepKind::Wait {
                until,
                timeout,
                interval,
            })
        }
        "check" => Ok(StepKind::Check {
            conditions: read_conditions(reader, node, &key)?,
        }),
        _ => unreachable!("only kinds reach read_kind"),
    }
}

/// `{fact: condition, ...}` as conditions (for `requires:` and `check:`).
pub(crate) fn read_conditions(
    reader: &Reader,
    node: &Node,
    path: &str,
) -> Result<Vec<Condition>, PlaybookError> {
    let mut conditions = Vec::new();
    for e in reader.mapping(node, path, "fact")? {
        let k = join(path, &e.key);
        let condition = match &e.value.kind {
            Kind::Seq(_) => Some(Condition::one_of(
                &e.key,
                reader
                    .strings(e.value, &k)?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            )),
            _ => match reader.scalar(e.value, &k)? {
                Some(v) => Condition::parse(&e.key, &v),
                None => None,
            },
        };
        let condition = condition.ok_or_else(|| {
            reader.expected(
                e.value,
                &k,
                "a value, a list of values, or `>= N`, `> N`, `<= N`, `< N`, `!= V`",
            )
        })?;
        conditions.push(condition);
    }
    Ok(conditions)
}

/// A file mode: `"0600"` or `0600` as octal digits (YAML 1.2 reads a bare
/// `0600` as the decimal 600, so its digits are taken as octal too).
fn read_mode(reader: &Reader, node: &Node, path: &str) -> Result<u32, PlaybookError> {
    let what = "a file mode such as \"0600\"";
    let digits = reader
        .scalar(node, path)?
        .ok_or_else(|| reader.expected(node, path, what))?;
    let digits = digits.trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o7777 && !digits.is_empty())
        .ok_or_else(|| reader.expected(node, path, what))
}
