//! [`render`]: a [`Playbook`] and one host's [`RenderContext`] in, a
//! [`Plan`] out. Pure: no network; the only I/O is reading a local
//! `template:` file.
//!
//! Templates are minijinja with `UndefinedBehavior::Strict`: an undefined
//! variable is an error naming the playbook file, the line, the step and the
//! variable. The context is the playbook's `vars`, overridden by the
//! caller's merged vars (inventory < group < host < extra), plus `host` (the
//! host's name) and `facts` (see [`Facts::to_json`]), which vars cannot
//! shadow.
//!
//! The quoting rule. In shell templates (`run`, `unless`, `wait.until`
//! commands) every `{{ value }}` is shell-quoted as one word on output, like
//! HTML auto-escaping: `run: useradd {{ user }}` with user `O'Brien; x`
//! gives `useradd 'O'\''Brien; x'`. A list becomes one quoted word per item.
//! `| quote` quotes explicitly (and is not quoted twice); `| safe` or
//! `| raw` inserts text unquoted, as shell code: only for values the
//! playbook author controls. `| secret` quotes like the default and marks
//! the value secret: `--plan`, logs and errors show `<secret>`. Literal text
//! of the template is shell code written by the playbook author. Other
//! templates (paths, owners, `content:`, `stdin:`, `env:` values, template
//! files) are not shell and are not quoted; there `| secret` marks the
//! upload, stdin or variable as secret.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};

use crate::error::RenderError;
use crate::facts::Facts;
use crate::paths;
use crate::plan::{
    Action, DEFAULT_REBOOT_TIMEOUT, DEFAULT_WAIT_INTERVAL, DEFAULT_WAIT_TIMEOUT, Plan, PlannedStep,
    UploadSource, WaitUntil,
};
use crate::playbook::Playbook;
use crate::quote::quote;
use crate::remote_command::{Arg, RemoteCommand, Stdin, Token};
use crate::step::{Step, StepKind, Text, Until, UploadFrom};

/// What a playbook is rendered with, for one host.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// The host's inventory name, `{{ host }}` in templates.
    pub host: String,
    /// Merged vars: inventory defaults < group vars < host vars < extra vars.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// The host's facts, `{{ facts.NAME }}`; empty for a plan without a host.
    pub facts: Facts,
    /// Relative local paths of stock playbooks resolve here.
    pub fleet_dir: Option<PathBuf>,
    /// Local directories besides the playbook's and the fleet's that local
    /// paths may name (e.g. `--appliance-source DIR`).
    pub local_roots: Vec<PathBuf>,
    /// The login user is root: `become` is then a no-op (a host without
    /// sudo still works). Leave false for sudo-capable users such as
    /// `vagrant`.
    pub root_login: bool,
}

impl RenderContext {
    pub fn new(host: impl Into<String>) -> RenderContext {
        RenderContext {
            host: host.into(),
            ..RenderContext::default()
        }
    }
}

const SHELL: &str = "shell";

/// Renders `playbook` for the host in `ctx`.
pub fn render(playbook: &Playbook, ctx: &RenderContext) -> Result<Plan, RenderError> {
    let renderer = Renderer::new(playbook, ctx);
    let steps = playbook
        .steps
        .iter()
        .map(|step| renderer.step(step))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Plan {
        host: ctx.host.clone(),
        playbook: playbook.name.clone(),
        path: playbook.path.clone(),
        requires: playbook.requires.clone(),
        steps,
    })
}

struct Renderer<'a> {
    playbook: &'a Playbook,
    ctx: &'a RenderContext,
    env: Environment<'static>,
    context: serde_json::Value,
    /// `context` for minijinja.
    values: Value,
    /// Values passed through `| secret` during the current template.
    secrets: Arc<Mutex<Vec<String>>>,
}

/// A rendered non-shell template and whether a secret went into it.
struct Rendered {
    text: String,
    secret: bool,
}

impl<'a> Renderer<'a> {
    fn new(playbook: &'a Playbook, ctx: &'a RenderContext) -> Renderer<'a> {
        let secrets: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.starts_with("shell:") {
                AutoEscape::Custom(SHELL.into())
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            if is_shell(state) && !value.is_safe() {
                out.write_str(&shell_words(value)?)?;
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.add_filter("quote", |value: Value| -> Result<Value, Error> {
            Ok(Value::from_safe_string(shell_words(&value)?))
        });
        // `{{ command('NAME') }}`: a command built in appliance.rs, inserted
        // as the shell code it is (never quoted again), so stock playbooks
        // name a builder instead of spelling its shell a second time.
        env.add_function("command", |name: String| -> Result<Value, Error> {
            crate::appliance::by_name(&name)
                .map(|command| Value::from_safe_string(command.to_shell()))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("no command named {name:?} (appliance::by_name)"),
                    )
                })
        });
        env.add_filter("raw", |value: Value| {
            Value::from_safe_string(value.to_string())
        });
        let recorded = Arc::clone(&secrets);
        env.add_filter(
            "secret",
            move |state: &State, value: Value| -> Result<Value, Error> {
                let text = value.to_string();
                recorded
                    .lock()
                    .map_err(|_| Error::new(ErrorKind::InvalidOperation, "secret store poisoned"))?
                    .push(text.clone());
                if is_shell(state) {
                    Ok(Value::from_safe_string(shell_words(&value)?))
                } else {
                    Ok(Value::from(text))
                }
            },
        );
        let mut vars = playbook.vars.clone();
        vars.extend(ctx.vars.clone());
        vars.insert("host".to_owned(), serde_json::Value::from(ctx.host.clone()));
        vars.insert(
            "facts".to_owned(),
            serde_json::Value::Object(ctx.facts.to_json()),
        );
        let context = serde_json::Value::Object(vars);
        Renderer {
            playbook,
            ctx,
            env,
            values: Value::from(minijinja::value::Serde(&context)),
            context,
            secrets,
        }
    }

    fn error(&self, step: &Step, field: &str, line: u64, message: String) -> RenderError {
        RenderError {
            path: self.playbook.path.clone(),
            line,
            place: format!("step {} ({}), {field}", step.index, step.name),
            message,
        }
    }

    fn template_error(&self, step: &Step, field: &str, text: &Text, err: &Error) -> RenderError {
        let line = text.line + err.line().map_or(0, |l| l as u64 - 1);
        let message = match err.kind() {
            ErrorKind::UndefinedError => match self.missing_variable(&text.text) {
                Some(name) => format!("undefined variable `{name}`"),
                None => "undefined value".to_owned(),
            },
            kind => match err.detail() {
                Some(detail) => format!("{kind}: {detail}"),
                None => kind.to_string(),
            },
        };
        self.error(step, field, line, message)
    }

    /// The first variable the template names that the context lacks.
    fn missing_variable(&self, source: &str) -> Option<String> {
        let template = self.env.template_from_str(source).ok();
        let expression = self.env.compile_expression(source).ok();
        let mut names: Vec<String> = match (template, expression) {
            (Some(t), _) if source.contains("{{") || source.contains("{%") => {
                t.undeclared_variables(true).into_iter().collect()
            }
            (_, Some(e)) => e.undeclared_variables(true).into_iter().collect(),
            (Some(t), None) => t.undeclared_variables(true).into_iter().collect(),
            (None, None) => Vec::new(),
        };
        names.sort();
        names.into_iter().find(|name| {
            let mut node = &self.context;
            for part in name.split('.') {
                match node.get(part) {
                    Some(next) => node = next,
                    None => return !self.env.globals().any(|(g, _)| g == part),
                }
            }
            false
        })
    }

    fn take_secrets(&self) -> Vec<String> {
        self.secrets
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// A shell template as a command: values quoted, secrets marked.
    fn shell(&self, step: &Step, field: &str, text: &Text) -> Result<RemoteCommand, RenderError> {
        self.take_secrets();
        let name = format!("shell:{}:{}", self.playbook.path.display(), text.line);
        let rendered = self
            .env
            .template_from_named_str(&name, &text.text)
            .and_then(|t| t.render(&self.values))
            .map_err(|e| self.template_error(step, field, text, &e))?;
        let mut secrets = self.take_secrets();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut tokens = vec![Token::Code(rendered.trim_end().to_owned())];
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            let quoted =
                quote(secret).map_err(|e| self.error(step, field, text.line, e.to_string()))?;
            tokens = tokens
                .into_iter()
                .flat_map(|token| match token {
                    Token::Code(code) => split_code(&code, &quoted, secret),
                    other => vec![other],
                })
                .collect();
        }
        let mut command = RemoteCommand::shell(tokens);
        if step.sudo && !self.ctx.root_login {
            command = command.sudo();
        }
        Ok(command)
    }

    /// A plain template (not shell).
    fn text(&self, step: &Step, field: &str, text: &Text) -> Result<Rendered, RenderError> {
        self.take_secrets();
        let name = format!("text:{}:{}", self.playbook.path.display(), text.line);
        let rendered = self
            .env
            .template_from_named_str(&name, &text.text)
            .and_then(|t| t.render(&self.values))
            .map_err(|e| self.template_error(step, field, text, &e))?;
        Ok(Rendered {
            text: rendered,
            secret: !self.take_secrets().is_empty(),
        })
    }

    fn remote_path(&self, step: &Step, field: &str, text: &Text) -> Result<String, RenderError> {
        let rendered = self.text(step, field, text)?.text;
        paths::remote(rendered.trim()).map_err(|m| self.error(step, field, text.line, m))
    }

    fn local_path(&self, step: &Step, field: &str, text: &Text) -> Result<PathBuf, RenderError> {
        let rendered = self.text(step, field, text)?.text;
        let base = self
            .playbook
            .dir
            .as_deref()
            .or(self.ctx.fleet_dir.as_deref());
        let roots: Vec<PathBuf> = self
            .playbook
            .dir
            .iter()
            .chain(self.ctx.fleet_dir.iter())
            .chain(self.ctx.local_roots.iter())
            .cloned()
            .collect();
        paths::local(rendered.trim(), base, &roots)
            .map_err(|m| self.error(step, field, text.line, m))
    }

    fn account(
        &self,
        step: &Step,
        field: &str,
        text: &Option<Text>,
    ) -> Result<Option<String>, RenderError> {
        let Some(text) = text else { return Ok(None) };
        let name = self.text(step, field, text)?.text.trim().to_owned();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && !name.starts_with('-');
        if valid {
            Ok(Some(name))
        } else {
            Err(self.error(
                step,
                field,
                text.line,
                format!("`{name}` is not a user or group name"),
            ))
        }
    }

    fn step(&self, step: &Step) -> Result<PlannedStep, RenderError> {
        let planned = |action| PlannedStep {
            index: step.index,
            name: step.name.clone(),
            line: step.line,
            tags: step.tags.clone(),
            sudo: step.sudo && !self.ctx.root_login,
            action,
        };
        if let Some(when) = &step.when {
            let value = self
                .env
                .compile_expression(&when.text)
                .and_then(|e| e.eval(&self.values))
                .map_err(|e| self.template_error(step, "when", when, &e))?;
            if !value.is_true() {
                return Ok(planned(Action::Skip {
                    reason: format!("when: {}", when.text),
                }));
            }
        }
        let action = match &step.kind {
            StepKind::Run {
                command,
                creates,
                unless,
                stdin,
                env,
            } => {
                let mut cmd = self.shell(step, "run", command)?;
                for (name, value) in env {
                    let rendered = self.text(step, &format!("env.{name}"), value)?;
                    let arg = if rendered.secret {
                        Arg::Secret(rendered.text)
                    } else {
                        Arg::Plain(rendered.text)
                    };
                    cmd = inner_env(cmd, name, arg);
                }
                if let Some(stdin) = stdin {
                    let rendered = self.text(step, "stdin", stdin)?;
                    cmd = cmd.stdin(Stdin::Bytes {
                        data: rendered.text.into_bytes(),
                        secret: rendered.secret,
                    });
                }
                if let Some(timeout) = step.timeout {
                    cmd = cmd.timeout(timeout);
                }
                cmd.validate()
                    .map_err(|e| self.error(step, "run", command.line, e.to_string()))?;
                let creates = creates
                    .as_ref()
                    .map(|c| self.remote_path(step, "creates", c))
                    .transpose()?;
                let unless = match unless {
                    Some(u) => {
                        let guard = self.shell(step, "unless", u)?;
                        guard
                            .validate()
                            .map_err(|e| self.error(step, "unless", u.line, e.to_string()))?;
                        Some(guard)
                    }
                    None => None,
                };
                Action::Run {
                    command: cmd,
                    creates,
                    unless,
                }
            }
            StepKind::Upload {
                from,
                dest,
                mode,
                owner,
                group,
            } => {
                let source = match from {
                    UploadFrom::Src(src) => {
                        UploadSource::LocalFile(self.local_path(step, "upload.src", src)?)
                    }
                    UploadFrom::Content(content) => {
                        let rendered = self.text(step, "upload.content", content)?;
                        UploadSource::Bytes {
                            data: rendered.text.into_bytes(),
                            secret: rendered.secret,
                        }
                    }
                    UploadFrom::Template(template) => {
                        let path = self.local_path(step, "upload.template", template)?;
                        let source = std::fs::read_to_string(&path).map_err(|e| {
                            self.error(
                                step,
                                "upload.template",
                                template.line,
                                format!("{}: {e}", path.display()),
                            )
                        })?;
                        let file = Text {
                            text: source,
                            line: template.line,
                            column: template.column,
                        };
                        let rendered =
                            self.text(step, &format!("upload.template {}", path.display()), &file)?;
                        UploadSource::Bytes {
                            data: rendered.text.into_bytes(),
                            secret: rendered.secret,
                        }
                    }
                };
                Action::Upload {
                    source,
                    dest: self.remote_path(step, "upload.dest", dest)?,
                    mode: mode.unwrap_or(0o644),
                    owner: self.account(step, "upload.owner", owner)?,
                    group: self.account(step, "upload.group", group)?,
                }
            }
            StepKind::PushTree {
                src,
                dest,
                exclude,
                owner,
                group,
            } => Action::PushTree {
                src: self.local_path(step, "push_tree.src", src)?,
                dest: self.remote_path(step, "push_tree.dest", dest)?,
                exclude: exclude.clone(),
                owner: self.account(step, "push_tree.owner", owner)?,
                group: self.account(step, "push_tree.group", group)?,
            },
            StepKind::Fetch { src, dest } => Action::Fetch {
                src: self.remote_path(step, "fetch.src", src)?,
                dest: self.local_path(step, "fetch.dest", dest)?,
            },
            StepKind::Reboot { timeout } => Action::Reboot {
                timeout: timeout.or(step.timeout).unwrap_or(DEFAULT_REBOOT_TIMEOUT),
            },
            StepKind::Wait {
                until,
                timeout,
                interval,
            } => Action::Wait {
                until: match until {
                    Until::Running => WaitUntil::Running,
                    Until::Stopped => WaitUntil::Stopped,
                    Until::Failed => WaitUntil::Failed,
                    Until::UpdateDone => WaitUntil::UpdateDone,
                    Until::Command(text) => {
                        let probe = self.shell(step, "wait.until", text)?;
                        probe.validate().map_err(|e| {
                            self.error(step, "wait.until", text.line, e.to_string())
                        })?;
                        WaitUntil::Command(probe)
                    }
                },
                timeout: timeout.or(step.timeout).unwrap_or(DEFAULT_WAIT_TIMEOUT),
                interval: interval
                    .unwrap_or(DEFAULT_WAIT_INTERVAL)
                    .max(Duration::from_secs(1)),
            },
            StepKind::Check { conditions } => Action::Check {
                conditions: conditions.clone(),
            },
        };
        Ok(planned(action))
    }
}

/// Adds an environment variable inside `sudo` (which resets the environment).
fn inner_env(mut command: RemoteCommand, name: &str, value: Arg) -> RemoteCommand {
    if command.sudo {
        command.sudo = false;
        command.env(name, value).sudo()
    } else {
        command.env(name, value)
    }
}

fn is_shell(state: &State) -> bool {
    matches!(state.auto_escape(), AutoEscape::Custom(name) if name == SHELL)
}

/// A value as shell words: a list gives one quoted word per item.
fn shell_words(value: &Value) -> Result<String, Error> {
    let one = |v: &Value| -> Result<String, Error> {
        match v.kind() {
            ValueKind::None | ValueKind::Undefined => Err(Error::new(
                ErrorKind::InvalidOperation,
                "a null value cannot go into a shell command",
            )),
            ValueKind::Map => Err(Error::new(
                ErrorKind::InvalidOperation,
                "a mapping cannot go into a shell command",
            )),
            _ => quote(&v.to_string())
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string())),
        }
    };
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value
                .try_iter()?
                .map(|v| one(&v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(items.join(" "))
        }
        _ => one(value),
    }
}

/// Splits shell code at each occurrence of a quoted secret.
fn split_code(code: &str, quoted: &str, secret: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(quoted) {
        if at > 0 {
            out.push(Token::Code(rest[..at].to_owned()));
        }
        out.push(Token::Arg(Arg::Secret(secret.to_owned())));
        rest = &rest[at + quoted.len()..];
    }
    if !rest.is_empty() {
        out.push(Token::Code(rest.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn plan(text: &str, vars: serde_json::Value) -> Result<Plan, RenderError> {
        let playbook = Playbook::parse(text, Path::new("t.yml"), None).unwrap();
        let ctx = RenderContext {
            vars: vars.as_object().cloned().unwrap(),
            ..RenderContext::new("h1")
        };
        render(&playbook, &ctx)
    }

    fn command(plan: &Plan, step: usize) -> &RemoteCommand {
        match &plan.steps[step].action {
            Action::Run { command, .. } => command,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostile_values_reach_the_shell_as_single_words() {
        let plan = plan(
            "steps:\n  - name: p\n    run: printf '[%s]\\n' {{ name }} {{ items }} {{ pw | secret }}\n",
            serde_json::json!({
                "name": "O'Brien; touch /tmp/x",
                "items": ["a b", "$(id)", "`id`"],
                "pw": "it's \"secret\"",
            }),
        )
        .unwrap();
        let cmd = command(&plan, 0);
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd.to_shell())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "[O'Brien; touch /tmp/x]\n[a b]\n[$(id)]\n[`id`]\n[it's \"secret\"]\n"
        );
        assert!(!cmd.to_string().contains("secret\""), "{cmd}");
        assert!(cmd.to_string().ends_with(" <secret>"), "{cmd}");
        assert_eq!(cmd.secrets(), ["it's \"secret\""]);
    }

    #[test]
    fn nul_and_null_values_are_refused() {
        let err = plan(
            "steps:\n  - name: n\n    run: echo {{ x }}\n",
            serde_json::json!({"x": "a\u{0}b"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = plan(
            "steps:\n  - name: n\n    run: echo {{ x }}\n",
            serde_json::json!({"x": null}),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yml:3: step 1 (n), run: invalid operation: a null value cannot go into a shell command"
        );
    }

    #[test]
    fn vars_override_playbook_defaults_but_not_facts_or_host() {
        let plan = plan(
            "vars: {a: default, b: kept}\nsteps:\n  - name: v\n    run: echo {{ a }} {{ b }} {{ host }}\n",
            serde_json::json!({"a": "mine", "host": "spoofed"}),
        )
        .unwrap();
        assert_eq!(command(&plan, 0).to_shell(), "echo mine kept h1");
    }

    #[test]
    fn root_login_drops_become() {
        let playbook = Playbook::parse(
            "steps:\n  - name: r\n    become: true\n    run: id\n",
            Path::new("t.yml"),
            None,
        )
        .unwrap();
        let mut ctx = RenderContext::new("h1");
        assert_eq!(
            command(&render(&playbook, &ctx).unwrap(), 0).to_shell(),
            "sudo -n -- sh -c id"
        );
        ctx.root_login = true;
        assert_eq!(
            command(&render(&playbook, &ctx).unwrap(), 0).to_shell(),
            "id"
        );
    }
}
