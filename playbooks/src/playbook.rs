//! [`Playbook`]: a YAML file of steps, read strictly (unknown keys are
//! errors with `file:line:col: key.path: message`), and found by name among
//! the fleet's own playbooks and the stock ones.
//!
//! ```yaml
//! name: activate
//! description: create the database, activate the env, reboot, wait
//! requires: {os: ubuntu-16.04}     # facts the host must meet
//! vars: {env_path: /app/env.yml}   # defaults, below every inventory var
//! steps:
//!   - name: create the ecs database
//!     run: sudo -u postgres createdb ecs -T template0 -l de_DE.utf8
//!     unless: ...
//! ```

use std::path::{Path, PathBuf};

use crate::condition::Condition;
use crate::error::PlaybookError;
use crate::step::{Step, StepKind, UploadFrom, read_conditions};
use crate::yaml::{self, Kind, Reader, join};

#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub description: String,
    /// Facts a host must meet before any step runs (`--force` may skip).
    pub requires: Vec<Condition>,
    /// The playbook's defaults; inventory, group, host and extra vars
    /// override them.
    pub vars: serde_json::Map<String, serde_json::Value>,
    pub steps: Vec<Step>,
    /// Where it came from, for messages: the file, or `stock/NAME.yml`.
    pub path: PathBuf,
    /// The directory relative local paths resolve against: the file's
    /// directory; `None` for stock playbooks (they use the fleet directory).
    pub dir: Option<PathBuf>,
    /// The text names `facts` somewhere (a template may read them).
    mentions_facts: bool,
}

const KEYS: &[&str] = &["name", "description", "requires", "vars", "steps"];

impl Playbook {
    /// Reads a playbook from text; `path` names it in messages, `dir` is
    /// where its relative local paths point.
    pub fn parse(text: &str, path: &Path, dir: Option<PathBuf>) -> Result<Playbook, PlaybookError> {
        let reader = Reader { path };
        let Some(root) = yaml::parse(text, path)? else {
            return Err(PlaybookError::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                key: "steps".to_owned(),
                message: "the playbook is empty".to_owned(),
            });
        };
        if !matches!(root.kind, Kind::Map(_)) {
            return Err(reader.expected(
                &root,
                "",
                "a mapping with name, description, requires, vars, steps",
            ));
        }
        let mut playbook = Playbook {
            name: String::new(),
            description: String::new(),
            requires: Vec::new(),
            vars: serde_json::Map::new(),
            steps: Vec::new(),
            path: path.to_path_buf(),
            dir,
            mentions_facts: text.contains("facts"),
        };
        let mut has_steps = false;
        for entry in reader.mapping(&root, "", "key")? {
            let key = entry.key.as_str();
            match key {
                "name" => playbook.name = reader.scalar(entry.value, key)?.unwrap_or_default(),
                "description" => {
                    playbook.description = reader.scalar(entry.value, key)?.unwrap_or_default()
                }
                "requires" => playbook.requires = read_conditions(&reader, entry.value, key)?,
                "vars" => playbook.vars = reader.vars(entry.value, key)?.into_iter().collect(),
                "steps" => {
                    has_steps = true;
                    let items = match &entry.value.kind {
                        Kind::Seq(items) => items,
                        Kind::Null => continue,
                        _ => return Err(reader.expected(entry.value, key, "a list of steps")),
                    };
                    for (i, item) in items.iter().enumerate() {
                        let step_path = format!("{}[{i}]", join("", key));
                        playbook
                            .steps
                            .push(Step::read(&reader, item, i + 1, &step_path)?);
                    }
                }
                _ => return Err(reader.unknown_key(&entry, "", KEYS)),
            }
        }
        if !has_steps {
            return Err(reader.error(root.pos, "steps", "a playbook needs `steps`"));
        }
        if playbook.name.is_empty() {
            playbook.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        Ok(playbook)
    }

    /// Whether rendering may need the host's facts: `requires`, a template
    /// that names them, or a template file (which the playbook's text does
    /// not show). Gathering them costs about 15 processes on the host, so
    /// the executor skips it when this is false.
    pub fn uses_facts(&self) -> bool {
        self.mentions_facts
            || !self.requires.is_empty()
            || self.steps.iter().any(|step| {
                matches!(
                    step.kind,
                    StepKind::Upload {
                        from: UploadFrom::Template(_),
                        ..
                    }
                )
            })
    }

    /// Reads a playbook file.
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlaybookError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Playbook::parse(&text, path, path.parent().map(Path::to_path_buf))
    }

    /// Finds a playbook by name: a path (anything with `/` or ending in
    /// `.yml`/`.yaml`) is read as is; otherwise
    /// `<fleet_dir>/playbooks/NAME.yml` when it exists, else the stock
    /// playbook NAME.
    pub fn resolve(name: &str, fleet_dir: Option<&Path>) -> Result<Playbook, PlaybookError> {
        if name.contains('/') || name.ends_with(".yml") || name.ends_with(".yaml") {
            return Playbook::load(Path::new(name));
        }
        if let Some(fleet) = fleet_dir {
            for ext in ["yml", "yaml"] {
                let candidate = fleet.join("playbooks").join(format!("{name}.{ext}"));
                if candidate.is_file() {
                    return Playbook::load(&candidate);
                }
            }
        }
        match crate::stock::get(name) {
            Some(text) => Playbook::parse(text, &crate::stock::path(name), None),
            None => Err(PlaybookError::NotFound {
                name: name.to_owned(),
                known: crate::stock::list().join(", "),
            }),
        }
    }

    /// The step with this 1-based index.
    pub fn step(&self, index: usize) -> Option<&Step> {
        index.checked_sub(1).and_then(|i| self.steps.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Until;

    fn parse(text: &str) -> Result<Playbook, PlaybookError> {
        Playbook::parse(text, Path::new("pb.yml"), None)
    }

    #[test]
    fn facts_are_needed_only_where_something_reads_them() {
        let uses = |text: &str| parse(text).unwrap().uses_facts();
        assert!(!uses(
            "steps:\n- {name: a, run: hostname}\n- {name: b, run: cat /etc/os-release}\n"
        ));
        assert!(uses("steps:\n- {name: a, run: 'echo {{ facts.cores }}'}\n"));
        assert!(uses(
            "steps:\n- name: a\n  run: hostname\n  when: facts.salt_call\n"
        ));
        assert!(uses(
            "requires: {os: ubuntu-16.04}\nsteps:\n- {name: a, run: hostname}\n"
        ));
        assert!(uses(
            "steps:\n- {name: a, upload: {template: t.j2, dest: /x}}\n"
        ));
    }

    #[test]
    fn reads_every_step_kind() {
        let pb = parse(
            "name: t\nrequires: {os: ubuntu-16.04, memory_mb: '>= 3072'}\nvars: {a: 1}\nsteps:\n\
             - name: r\n  run: echo hi\n  creates: /x\n  become: true\n  timeout: 10m\n  tags: [a]\n\
             - name: u\n  upload: {content: hi, dest: /etc/x, mode: '0600', owner: root}\n\
             - name: p\n  push_tree: {src: tree, dest: /app/appliance, owner: app}\n\
             - name: f\n  fetch: {src: /root/x, dest: out/x}\n\
             - name: b\n  reboot: {timeout: 15m}\n\
             - name: w\n  wait: {until: running, timeout: 30m, interval: 5s}\n\
             - name: c\n  check: {salt_call: true}\n",
        )
        .unwrap();
        assert_eq!(pb.requires.len(), 2);
        assert_eq!(pb.steps.len(), 7);
        assert!(pb.steps[0].sudo);
        assert_eq!(pb.steps[0].line, 5);
        assert!(matches!(
            &pb.steps[1].kind,
            StepKind::Upload {
                from: UploadFrom::Content(_),
                mode: Some(0o600),
                ..
            }
        ));
        assert!(
            matches!(&pb.steps[2].kind, StepKind::PushTree { exclude, .. } if exclude == &[".git"])
        );
        assert!(matches!(
            &pb.steps[5].kind,
            StepKind::Wait {
                until: Until::Running,
                ..
            }
        ));
    }

    #[test]
    fn unknown_keys_name_file_line_column_and_path() {
        let err = parse("name: t\nsteps:\n  - name: r\n    run: x\n    becom: true\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pb.yml:5:5: steps[0].becom: unknown key `becom`, did you mean `become`?"
        );
        let err = parse(
            "name: t\nsteps:\n  - name: u\n    upload: {content: x, dest: /x, mod: '0600'}\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pb.yml:4:36: steps[0].upload.mod: unknown key `mod`, did you mean `mode`?"
        );
        let err = parse("nmae: t\nsteps: []\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pb.yml:1:1: nmae: unknown key `nmae`, did you mean `name`?"
        );
    }

    #[test]
    fn shape_mistakes_are_reported() {
        let two = parse("steps:\n  - name: x\n    run: a\n    reboot: {}\n").unwrap_err();
        assert_eq!(
            two.to_string(),
            "pb.yml:4:5: steps[0].reboot: a step has one kind; this one already has `run`"
        );
        let stray = parse("steps:\n  - name: x\n    reboot: {}\n    creates: /x\n").unwrap_err();
        assert_eq!(
            stray.to_string(),
            "pb.yml:4:5: steps[0].creates: `creates` belongs to `run` steps, not `reboot`"
        );
        let none = parse("steps:\n  - name: x\n").unwrap_err();
        assert!(none.to_string().contains("needs one of run"), "{none}");
        let unnamed = parse("steps:\n  - run: x\n").unwrap_err();
        assert_eq!(
            unnamed.to_string(),
            "pb.yml:2:5: steps[0]: a step needs a `name`"
        );
        let mode = parse("steps:\n  - name: u\n    upload: {content: x, dest: /x, mode: '0999'}\n")
            .unwrap_err();
        assert!(mode.to_string().contains("file mode"), "{mode}");
    }

    #[test]
    fn resolve_prefers_the_fleet_copy() {
        let dir = std::env::temp_dir().join(format!("ecsfleet-pb-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("playbooks")).unwrap();
        std::fs::write(dir.join("playbooks/status.yml"), "name: mine\nsteps: []\n").unwrap();
        assert_eq!(
            Playbook::resolve("status", Some(&dir)).unwrap().name,
            "mine"
        );
        assert_eq!(Playbook::resolve("status", None).unwrap().name, "status");
        assert_eq!(
            Playbook::resolve("start", Some(&dir)).unwrap().name,
            "start"
        );
        let missing = Playbook::resolve("nope", None).unwrap_err().to_string();
        assert!(
            missing.starts_with("no playbook named `nope` (stock playbooks: "),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
