//! [`RemoteCommand`]: one command for a host, as data. Nothing here runs
//! anything; the transport takes [`RemoteCommand::to_shell`] (the exact line
//! for `sh -c`, secrets included) and everything else (`--plan`, logs, the
//! journal, error messages) prints it through `Display`, which quotes the same
//! way and shows secret arguments as `<secret>`.
//!
//! A command is a program with arguments, a shell script made of code tokens
//! (shell syntax we or a playbook author wrote) and argument tokens (values,
//! always quoted), or a join of commands (`&&`, `||`, `|`, `;`). Joins keep
//! their parts as commands, so secrets stay marked however deep they sit.
//! Around the body: environment variables, stdin, `sudo` (`become`), a
//! timeout, and whether the output itself is secret (passphrases).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::QuoteError;
use crate::quote::quote_unchecked;

/// One argument: a plain value, or a secret shown as `<secret>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Plain(String),
    Secret(String),
}

impl Arg {
    pub fn plain(value: impl Into<String>) -> Arg {
        Arg::Plain(value.into())
    }

    pub fn secret(value: impl Into<String>) -> Arg {
        Arg::Secret(value.into())
    }

    /// The raw value.
    pub fn value(&self) -> &str {
        match self {
            Arg::Plain(v) | Arg::Secret(v) => v,
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Arg::Secret(_))
    }

    fn write(&self, mask: bool) -> String {
        match self {
            Arg::Secret(_) if mask => "<secret>".to_owned(),
            _ => quote_unchecked(self.value()),
        }
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Plain(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Plain(value)
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Arg {
        Arg::Plain(value.clone())
    }
}

/// A piece of a shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Shell syntax, written as is. Never a value from outside.
    Code(String),
    /// A value, quoted as one word.
    Arg(Arg),
}

/// What the command reads on stdin; the transport sends it, then EOF.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Stdin {
    #[default]
    None,
    /// Bytes from memory; `secret` keeps them out of every output.
    Bytes { data: Vec<u8>, secret: bool },
    /// A file on the workstation, streamed.
    LocalFile(PathBuf),
}

/// How a join connects its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `a && b`
    And,
    /// `a || b`
    Or,
    /// `a | b`
    Pipe,
    /// `a; b`
    Seq,
}

impl Op {
    fn separator(self) -> &'static str {
        match self {
            Op::And => " && ",
            Op::Or => " || ",
            Op::Pipe => " | ",
            Op::Seq => "; ",
        }
    }
}

/// The command proper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Exec { program: String, args: Vec<Arg> },
    Shell(Vec<Token>),
    Join { op: Op, parts: Vec<RemoteCommand> },
}

/// One command for one host, as data. See the module comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommand {
    pub body: Body,
    /// Exported before the body runs (inside `sudo`, which resets the
    /// environment).
    pub env: Vec<(String, Arg)>,
    pub stdin: Stdin,
    /// Run as root: `sudo -n -- sh -c '...'` (the playbook key `become`).
    pub sudo: bool,
    /// For the transport to enforce; `None` means no limit.
    pub timeout: Option<Duration>,
    /// The command prints secrets (a passphrase): its output goes to the
    /// operator only, never to logs, the journal or `--json`.
    pub secret_output: bool,
}

/// Whether a rendered piece can stand inside a join without braces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Simple,
    Joined(Op),
    Script,
}

impl RemoteCommand {
    fn with_body(body: Body) -> RemoteCommand {
        RemoteCommand {
            body,
            env: Vec::new(),
            stdin: Stdin::None,
            sudo: false,
            timeout: None,
            secret_output: false,
        }
    }

    /// `program` with no arguments yet.
    pub fn new(program: impl Into<String>) -> RemoteCommand {
        RemoteCommand::with_body(Body::Exec {
            program: program.into(),
            args: Vec::new(),
        })
    }

    /// `program args...`.
    pub fn exec<A: Into<Arg>>(
        program: impl Into<String>,
        args: impl IntoIterator<Item = A>,
    ) -> RemoteCommand {
        RemoteCommand::new(program).args(args)
    }

    /// A shell script from tokens.
    pub fn shell(tokens: Vec<Token>) -> RemoteCommand {
        RemoteCommand::with_body(Body::Shell(tokens))
    }

    /// A shell script we wrote ourselves, with no values in it.
    pub fn script(code: impl Into<String>) -> RemoteCommand {
        RemoteCommand::shell(vec![Token::Code(code.into())])
    }

    /// Appends an argument (only to a program; a script or join gets the
    /// value as a quoted word at its end).
    pub fn arg(mut self, arg: impl Into<Arg>) -> RemoteCommand {
        let arg = arg.into();
        match &mut self.body {
            Body::Exec { args, .. } => args.push(arg),
            Body::Shell(tokens) => {
                tokens.push(Token::Code(" ".to_owned()));
                tokens.push(Token::Arg(arg));
            }
            Body::Join { parts, .. } => {
                if let Some(last) = parts.pop() {
                    parts.push(last.arg(arg));
                }
            }
        }
        self
    }

    pub fn args<A: Into<Arg>>(self, args: impl IntoIterator<Item = A>) -> RemoteCommand {
        args.into_iter().fold(self, |cmd, arg| cmd.arg(arg))
    }

    pub fn secret_arg(self, value: impl Into<String>) -> RemoteCommand {
        self.arg(Arg::Secret(value.into()))
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<Arg>) -> RemoteCommand {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn stdin(mut self, stdin: Stdin) -> RemoteCommand {
        self.stdin = stdin;
        self
    }

    pub fn sudo(mut self) -> RemoteCommand {
        self.sudo = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> RemoteCommand {
        self.timeout = Some(timeout);
        self
    }

    pub fn secret_output(mut self) -> RemoteCommand {
        self.secret_output = true;
        self
    }

    /// `cd DIR && self`.
    pub fn in_dir(self, dir: impl Into<Arg>) -> RemoteCommand {
        chain([RemoteCommand::exec("cd", [dir]), self])
    }

    /// `self && next`
    pub fn and(self, next: RemoteCommand) -> RemoteCommand {
        chain([self, next])
    }

    /// `self || next`
    pub fn or(self, next: RemoteCommand) -> RemoteCommand {
        any([self, next])
    }

    /// `self | next`
    pub fn pipe(self, next: RemoteCommand) -> RemoteCommand {
        pipe([self, next])
    }

    /// `self; next`
    pub fn then(self, next: RemoteCommand) -> RemoteCommand {
        sequence([self, next])
    }

    /// The exact command line for the transport's `exec`, secrets included.
    /// Call [`validate`](Self::validate) first (or use
    /// [`try_to_shell`](Self::try_to_shell)); rendered plans are validated.
    pub fn to_shell(&self) -> String {
        self.render(false).0
    }

    /// [`to_shell`](Self::to_shell) after [`validate`](Self::validate).
    pub fn try_to_shell(&self) -> Result<String, QuoteError> {
        self.validate()?;
        Ok(self.to_shell())
    }

    /// Refuses what no shell line can carry: NUL bytes, bad variable names.
    pub fn validate(&self) -> Result<(), QuoteError> {
        let check = |s: &str| {
            if s.contains('\0') {
                Err(QuoteError::Nul)
            } else {
                Ok(())
            }
        };
        for (name, value) in &self.env {
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(QuoteError::EnvName(name.clone()));
            }
            check(value.value())?;
        }
        match &self.body {
            Body::Exec { program, args } => {
                check(program)?;
                args.iter().try_for_each(|a| check(a.value()))
            }
            Body::Shell(tokens) => tokens.iter().try_for_each(|t| match t {
                Token::Code(code) => check(code),
                Token::Arg(arg) => check(arg.value()),
            }),
            Body::Join { parts, .. } => parts.iter().try_for_each(RemoteCommand::validate),
        }
    }

    /// Every secret value in the command (arguments, environment, secret
    /// stdin), for masking them in output the remote side echoes back.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .env
            .iter()
            .filter(|(_, v)| v.is_secret())
            .map(|(_, v)| v.value())
            .collect();
        match &self.body {
            Body::Exec { args, .. } => {
                out.extend(args.iter().filter(|a| a.is_secret()).map(Arg::value));
            }
            Body::Shell(tokens) => out.extend(tokens.iter().filter_map(|t| match t {
                Token::Arg(a) if a.is_secret() => Some(a.value()),
                _ => None,
            })),
            Body::Join { parts, .. } => parts.iter().for_each(|p| out.extend(p.secrets())),
        }
        if let Stdin::Bytes { data, secret: true } = &self.stdin
            && let Ok(text) = std::str::from_utf8(data)
        {
            out.push(text);
        }
        out
    }

    /// True when the command line itself holds a secret.
    pub fn has_secret_args(&self) -> bool {
        let stdin_secret = matches!(self.stdin, Stdin::Bytes { secret: true, .. });
        self.secrets().len() > usize::from(stdin_secret)
    }

    fn render(&self, mask: bool) -> (String, Shape) {
        let (mut text, mut shape) = match &self.body {
            Body::Exec { program, args } => {
                let mut text = quote_unchecked(program);
                for arg in args {
                    text.push(' ');
                    text.push_str(&arg.write(mask));
                }
                (text, Shape::Simple)
            }
            Body::Shell(tokens) => {
                let mut text = String::new();
                let mut compound = false;
                for token in tokens {
                    match token {
                        Token::Code(code) => {
                            compound |= code.contains([';', '&', '|', '\n', '#']);
                            text.push_str(code);
                        }
                        Token::Arg(arg) => text.push_str(&arg.write(mask)),
                    }
                }
                (
                    text,
                    if compound {
                        Shape::Script
                    } else {
                        Shape::Simple
                    },
                )
            }
            Body::Join { op, parts } => {
                let pieces: Vec<String> = parts
                    .iter()
                    .map(|part| {
                        let (text, shape) = part.render(mask);
                        match shape {
                            Shape::Simple => text,
                            Shape::Joined(inner) if inner == *op => text,
                            _ => brace(&text),
                        }
                    })
                    .collect();
                (pieces.join(op.separator()), Shape::Joined(*op))
            }
        };
        if !self.env.is_empty() {
            let assignments: Vec<String> = self
                .env
                .iter()
                .map(|(name, value)| format!("{name}={}", value.write(mask)))
                .collect();
            let assignments = assignments.join(" ");
            text = if matches!(self.body, Body::Exec { .. }) {
                format!("{assignments} {text}")
            } else {
                shape = Shape::Script;
                format!("export {assignments}; {text}")
            };
        }
        if self.sudo {
            text = format!("sudo -n -- sh -c {}", quote_unchecked(&text));
            shape = Shape::Simple;
        }
        (text, shape)
    }
}

/// `{ text; }`, or with a newline when `text` could end in a comment.
fn brace(text: &str) -> String {
    if text.contains(['\n', '#']) {
        format!("{{ {text}\n}}")
    } else {
        format!("{{ {text}; }}")
    }
}

fn join(op: Op, commands: impl IntoIterator<Item = RemoteCommand>) -> RemoteCommand {
    let mut parts = Vec::new();
    let mut stdin = Stdin::None;
    let mut timeout: Option<Duration> = None;
    let mut secret_output = false;
    for mut command in commands {
        if matches!(stdin, Stdin::None) {
            stdin = std::mem::take(&mut command.stdin);
        }
        if let Some(t) = command.timeout.take() {
            timeout = Some(timeout.unwrap_or_default() + t);
        }
        secret_output |= command.secret_output;
        let plain_wrapper = command.env.is_empty() && !command.sudo;
        match command.body {
            Body::Join {
                op: inner,
                parts: inner_parts,
            } if inner == op && plain_wrapper => {
                parts.extend(inner_parts);
            }
            _ => parts.push(command),
        }
    }
    if parts.len() == 1 && matches!(stdin, Stdin::None) && timeout.is_none() && !secret_output {
        return parts.pop().expect("one part");
    }
    RemoteCommand {
        stdin,
        timeout,
        secret_output,
        ..RemoteCommand::with_body(Body::Join { op, parts })
    }
}

/// `a && b && ...`. The result takes the first part's stdin, the sum of the
/// parts' timeouts, and secret output when any part has it (so do the other
/// combinators).
pub fn chain(commands: impl IntoIterator<Item = RemoteCommand>) -> RemoteCommand {
    join(Op::And, commands)
}

/// `a || b || ...`
pub fn any(commands: impl IntoIterator<Item = RemoteCommand>) -> RemoteCommand {
    join(Op::Or, commands)
}

/// `a | b | ...`
pub fn pipe(commands: impl IntoIterator<Item = RemoteCommand>) -> RemoteCommand {
    join(Op::Pipe, commands)
}

/// `a; b; ...`
pub fn sequence(commands: impl IntoIterator<Item = RemoteCommand>) -> RemoteCommand {
    join(Op::Seq, commands)
}

impl fmt::Display for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(true).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "O'Brien; touch /tmp/x";

    #[test]
    fn exec_quotes_each_argument() {
        let cmd = RemoteCommand::exec("echo", ["a b", HOSTILE, ""]);
        assert_eq!(cmd.to_shell(), "echo 'a b' 'O'\\''Brien; touch /tmp/x' ''");
    }

    #[test]
    fn secrets_are_masked_in_display_only() {
        let cmd = RemoteCommand::new("login")
            .arg("user")
            .secret_arg("hunter 2");
        assert_eq!(cmd.to_shell(), "login user 'hunter 2'");
        assert_eq!(cmd.to_string(), "login user <secret>");
        assert_eq!(cmd.secrets(), ["hunter 2"]);
        assert!(cmd.has_secret_args());
    }

    #[test]
    fn sudo_wraps_in_sh_c() {
        let cmd = RemoteCommand::exec("echo", [HOSTILE]).sudo();
        assert_eq!(
            cmd.to_shell(),
            "sudo -n -- sh -c 'echo '\\''O'\\''\\'\\'''\\''Brien; touch /tmp/x'\\'''"
        );
        let masked = RemoteCommand::new("x").secret_arg("s").sudo();
        assert_eq!(masked.to_string(), "sudo -n -- sh -c 'x <secret>'");
        assert_eq!(masked.to_shell(), "sudo -n -- sh -c 'x s'");
    }

    #[test]
    fn env_prefixes_programs_and_exports_for_scripts() {
        let cmd =
            RemoteCommand::exec("env-update.sh", Vec::<Arg>::new()).env("ENV_YML", "/tmp/e v");
        assert_eq!(cmd.to_shell(), "ENV_YML='/tmp/e v' env-update.sh");
        let script = RemoteCommand::script("a && b").env("K", Arg::secret("v"));
        assert_eq!(script.to_string(), "export K=<secret>; a && b");
    }

    #[test]
    fn combinators_flatten_and_brace() {
        let a = RemoteCommand::new("a");
        let b = RemoteCommand::new("b");
        let c = RemoteCommand::new("c");
        assert_eq!(
            a.clone().and(b.clone()).and(c.clone()).to_shell(),
            "a && b && c"
        );
        assert_eq!(
            a.clone().or(b.clone().and(c.clone())).to_shell(),
            "a || { b && c; }"
        );
        assert_eq!(
            pipe([a.clone().then(b.clone()), c.clone()]).to_shell(),
            "{ a; b; } | c"
        );
        assert_eq!(
            RemoteCommand::script("x # note").and(c.clone()).to_shell(),
            "{ x # note\n} && c"
        );
        assert_eq!(
            c.in_dir("/app/appliance").to_shell(),
            "cd /app/appliance && c"
        );
    }

    #[test]
    fn joins_keep_stdin_and_sum_timeouts() {
        let a = RemoteCommand::new("a")
            .stdin(Stdin::Bytes {
                data: b"x".to_vec(),
                secret: true,
            })
            .timeout(Duration::from_secs(5));
        let b = RemoteCommand::new("b").timeout(Duration::from_secs(7));
        let joined = a.and(b);
        assert_eq!(joined.timeout, Some(Duration::from_secs(12)));
        assert!(matches!(joined.stdin, Stdin::Bytes { .. }));
        assert!(!joined.has_secret_args());
    }

    #[test]
    fn validate_refuses_nul_and_bad_names() {
        let nul = RemoteCommand::script("true").and(RemoteCommand::exec("echo", ["a\0b"]));
        assert_eq!(nul.validate(), Err(QuoteError::Nul));
        assert_eq!(nul.try_to_shell(), Err(QuoteError::Nul));
        let bad = RemoteCommand::new("x").env("A B", "1");
        assert_eq!(bad.validate(), Err(QuoteError::EnvName("A B".into())));
    }

    #[test]
    fn arguments_after_a_join_go_to_its_last_part() {
        let cmd = RemoteCommand::new("a")
            .and(RemoteCommand::new("b"))
            .arg("x y");
        assert_eq!(cmd.to_shell(), "a && b 'x y'");
    }
}
