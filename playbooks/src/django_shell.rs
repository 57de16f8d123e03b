//! ECS's Django shell, driven the way the appliance's own helpers drive it,
//! but with every value a safe Python literal.
//!
//! create-internal-user.sh and create-client-certificate.sh paste their
//! arguments into Python source between quotes (create-internal-user.sh:25;
//! create-client-certificate.sh:27, DAYS as a bare expression): `O'Brien`
//! breaks the script (exit 0, no user) and a crafted name runs Python as app
//! in the container. So ecsfleet sends the same Django steps itself, through
//! the same door (`docker exec -i ecs_ecs.web_1 /start run ./manage.py shell`,
//! create-internal-user.sh:23), with values as pure-ASCII Python literals
//! ([`py_str`]), and reads the result the way it has to be read: the ECS
//! entrypoint prints three lines first and IPython prints a banner and
//! `In [n]:` prompts (maybe with colour codes) before each result, and the
//! exit status is 0 even when the Python failed (APPLIANCE.md, "Their
//! stdout"). A step counts only when its result line is found and the
//! database says it happened (the passphrase is printed before `u.save()`,
//! create-internal-user.sh:45-47), so each job ends with a verify line.

use crate::remote_command::{RemoteCommand, Stdin};

/// The door into the ECS container's Django shell.
fn django_shell(script: String) -> RemoteCommand {
    RemoteCommand::exec(
        "docker",
        [
            "exec",
            "-i",
            "ecs_ecs.web_1",
            "/start",
            "run",
            "./manage.py",
            "shell",
        ],
    )
    .stdin(Stdin::Bytes {
        data: script.into_bytes(),
        secret: false,
    })
    .secret_output()
}

/// A Python 3 string literal for `value`, in pure ASCII: quote, backslash
/// and every character outside printable ASCII escaped, so no value can end
/// the literal, start a new line of input, or depend on the container's
/// encoding.
pub fn py_str(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('\'');
    out
}

/// Gender as create-internal-user.sh takes it, case-insensitive as its `tr`
/// makes it (create-internal-user.sh:18-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    F,
    M,
}

impl std::str::FromStr for Gender {
    type Err = String;
    fn from_str(s: &str) -> Result<Gender, String> {
        match s.to_lowercase().as_str() {
            "f" => Ok(Gender::F),
            "m" => Ok(Gender::M),
            _ => Err(format!("gender must be `f` or `m`, not `{s}`")),
        }
    }
}

impl Gender {
    pub fn letter(self) -> &'static str {
        match self {
            Gender::F => "f",
            Gender::M => "m",
        }
    }
}

/// The passphrase line create-internal-user.sh prints (create-internal-user.sh:45).
pub const USER_RESULT: &str = "created/updated user ";
pub const USER_SEPARATOR: &str = " with passphrase ";
/// The passphrase line create-client-certificate.sh prints (create-client-certificate.sh:52).
pub const CERT_RESULT: &str = "Create and send certificate for ";
pub const CERT_SEPARATOR: &str = " using passphrase ";
/// Our own last line: what the database holds after the steps.
pub const VERIFY: &str = "ecsfleet-verify ";

/// create-internal-user.sh's Django steps (create-internal-user.sh:25-47),
/// values as literals, then a verify line: the user exists, the printed
/// passphrase is its password, it is internal and in EC-Office.
pub fn create_internal_user(email: &str, first: &str, last: &str, gender: Gender) -> RemoteCommand {
    let script = format!(
        "
email={}; first_name={}; last_name={}; gender={}

import math, string
from random import SystemRandom
from django.contrib.auth.models import Group, User
from ecs.users.utils import create_user

PASSPHRASE_ENTROPY = 80
PASSPHRASE_CHARS = string.ascii_lowercase + string.digits
PASSPHRASE_LEN = math.ceil(PASSPHRASE_ENTROPY / math.log2(len(PASSPHRASE_CHARS)))

u = User.objects.get(email=email) if User.objects.filter(email=email).exists() else create_user(email)
p = u.profile
p.gender = gender
p.is_internal = True
p.save()
passphrase = ''.join(SystemRandom().choice(PASSPHRASE_CHARS) for i in range(PASSPHRASE_LEN))
u.first_name=first_name
u.last_name=last_name
u.set_password(passphrase)
print(\"created/updated user {{}} with passphrase {{}}\".format (email, passphrase))
u.save()
u.groups.add(Group.objects.get(name='EC-Office'))
v = User.objects.get(email=email)
print('{VERIFY}saved={{}} internal={{}} office={{}}'.format(v.check_password(passphrase), v.profile.is_internal, v.groups.filter(name='EC-Office').exists()))
exit()

",
        py_str(email),
        py_str(first),
        py_str(last),
        py_str(gender.letter())
    );
    django_shell(script)
}

/// create-client-certificate.sh's Django steps
/// (create-client-certificate.sh:27-52), values as literals, `days` an
/// integer; the missing-user case ends the session (the real `exit(1)` does
/// not: IPython's exit takes no argument), then a verify line.
pub fn create_client_certificate(email: &str, name: &str, days: u32) -> RemoteCommand {
    let script = format!(
        "
email={}; certname={}; daysvalid={days};

import os
from django.conf import settings
from django.contrib.auth.models import Group, User
from ecs.pki.models import Certificate
from ecs.communication.mailutils import deliver

if not User.objects.filter(email=email).exists():
    print(\"Error: could not find user {{}}\".format(email))
    exit()

u = User.objects.get(email=email)
cert, passphrase = Certificate.create_for_user(
    '/tmp/user.p12', u, cn=certname, days=daysvalid)
pkcs12 = open('/tmp/user.p12', 'rb').read()
os.remove('/tmp/user.p12')

deliver(u.email,
    subject='Certificate {{}}'.format(certname),
    message='See attachment',
    from_email=settings.DEFAULT_FROM_EMAIL,
    attachments=(('{{}}.p12'.format(certname), pkcs12, 'application/x-pkcs12'),),
    nofilter=True)

print(\"Create and send certificate for {{}} using passphrase {{}}\".format(email, passphrase))
print('{VERIFY}saved={{}}'.format(Certificate.objects.filter(cn=certname).exists()))
exit()

",
        py_str(email),
        py_str(name),
    );
    django_shell(script)
}

/// `text` without ANSI escape sequences (IPython colours its prompts).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        if c == '\u{1}' || c == '\u{2}' {
            continue;
        }
        out.push(c);
    }
    out
}

/// What a Django-shell job came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The result line was found and the verify line says the database holds it.
    Done { passphrase: String },
    /// No result, or not verified: the reason, with the shell's error lines
    /// (lines that mention a passphrase are left out).
    Failed { reason: String },
}

/// Reads a job's stdout: the passphrase from `RESULT EMAIL SEPARATOR PASS`
/// found anywhere in a line (after prompts and colour codes), and the
/// verify line, whose every `key=value` must be `True`.
pub fn parse(stdout: &str, result: &str, separator: &str) -> Outcome {
    let text = strip_ansi(stdout);
    let passphrase = text.lines().find_map(|line| {
        let rest = &line[line.find(result)? + result.len()..];
        let (_who, pass) = rest.split_once(separator)?;
        let pass = pass.trim();
        (!pass.is_empty() && !pass.contains(' ')).then(|| pass.to_owned())
    });
    let verify = text.lines().find_map(|line| {
        line.find(VERIFY)
            .map(|i| line[i + VERIFY.len()..].trim().to_owned())
    });
    let errors = error_lines(&text);
    match (passphrase, verify) {
        (Some(passphrase), Some(v)) if v.split_whitespace().all(|kv| kv.ends_with("=True")) => {
            Outcome::Done { passphrase }
        }
        (Some(_), Some(v)) => Outcome::Failed {
            reason: format!("the database does not hold what was printed ({v}){errors}"),
        },
        (Some(_), None) => Outcome::Failed {
            reason: format!("a passphrase was printed but the save was not confirmed{errors}"),
        },
        (None, _) => Outcome::Failed {
            reason: format!(
                "no `{}... {}...` line{errors}",
                result.trim(),
                separator.trim()
            ),
        },
    }
}

/// The shell's error lines ("Error: ...", exceptions, tracebacks' last
/// lines), without any line that mentions a passphrase, between rulers.
fn error_lines(text: &str) -> String {
    let mut found: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.contains("passphrase") {
            continue;
        }
        let is_error = trimmed.starts_with("Error")
            || trimmed.contains("Error: ")
            || trimmed.contains("Exception")
            || trimmed.starts_with("Traceback")
            || trimmed
                .split(':')
                .next()
                .is_some_and(|head| head.ends_with("Error") && !head.contains(' '));
        if is_error && !found.contains(&trimmed) {
            found.push(trimmed);
        }
    }
    if found.is_empty() {
        return String::new();
    }
    let rule = "-".repeat(40);
    format!("\n{rule}\n{}\n{rule}", found.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs python3 on `source` and returns what it printed.
    fn python(source: &str) -> String {
        let out = std::process::Command::new("python3")
            .args(["-c", source])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn literals_round_trip_through_python() {
        for value in [
            "O'Brien",
            "Müller-Lüdenscheidt",
            "José",
            "a\\b",
            "'; import os; os.system('id'); '",
            "line\nbreak\r\u{0}nul",
            "\"double\"",
            "emoji 🧪",
            "",
        ] {
            let literal = py_str(value);
            assert!(literal.is_ascii() && !literal.contains('\n'), "{literal}");
            let back = python(&format!(
                "import sys; sys.stdout.buffer.write({literal}.encode('utf-8', 'surrogatepass'))"
            ));
            assert_eq!(back, value, "{literal}");
        }
    }

    #[test]
    fn the_script_carries_values_only_as_literals() {
        let command = create_internal_user("ob@example.org", "Dan", "O'Brien", Gender::M);
        assert_eq!(
            command.to_shell(),
            "docker exec -i ecs_ecs.web_1 /start run ./manage.py shell"
        );
        let crate::remote_command::Stdin::Bytes { data, .. } = &command.stdin else {
            panic!("the script goes on stdin");
        };
        let script = String::from_utf8(data.clone()).unwrap();
        assert!(
            script.contains(
                "email='ob@example.org'; first_name='Dan'; last_name='O\\'Brien'; gender='m'"
            ),
            "{script}"
        );
    }

    #[test]
    fn gender_is_case_insensitive() {
        assert_eq!("F".parse::<Gender>(), Ok(Gender::F));
        assert_eq!("m".parse::<Gender>(), Ok(Gender::M));
        assert_eq!(
            "x".parse::<Gender>(),
            Err("gender must be `f` or `m`, not `x`".to_string())
        );
    }

    const ENTRYPOINT: &str = "docker-entrypoint.sh called with:\"run ./manage.py shell\"\n\
docker-entrypoint.sh called with:\"_user run ./manage.py shell\"\nactivate environment\n";

    #[test]
    fn the_passphrase_is_found_after_prompts_and_colours() {
        let out = format!(
            "{ENTRYPOINT}Python 3.5.2 (default)\nIPython 4.1.1 -- An enhanced Interactive Python.\n\n\
\u{1b}[0;32mIn [\u{1b}[1;32m1\u{1b}[0;32m]: \u{1b}[0m\n\u{1b}[0;32mIn [\u{1b}[1;32m2\u{1b}[0;32m]: \u{1b}[0m\
created/updated user a@b.example with passphrase k3y5ecret0000000\n\
In [3]: In [4]: ecsfleet-verify saved=True internal=True office=True\nIn [5]: \n"
        );
        assert_eq!(
            parse(&out, USER_RESULT, USER_SEPARATOR),
            Outcome::Done {
                passphrase: "k3y5ecret0000000".into()
            }
        );
    }

    #[test]
    fn a_syntax_error_is_a_failure_with_its_text() {
        let out = format!(
            "{ENTRYPOINT}In [1]:   File \"<ipython-input-1>\", line 1\n    email='a'; last_name='O'Brien'\n\
                              ^\nSyntaxError: invalid syntax\n\nIn [2]: NameError: name 'email' is not defined\nIn [3]: \n"
        );
        let Outcome::Failed { reason } = parse(&out, USER_RESULT, USER_SEPARATOR) else {
            panic!("not a failure");
        };
        assert_eq!(
            reason,
            format!(
                "no `created/updated user... with passphrase...` line\n{r}\nSyntaxError: invalid syntax\n\
In [2]: NameError: name 'email' is not defined\n{r}",
                r = "-".repeat(40)
            )
        );
    }

    #[test]
    fn a_printed_but_unsaved_passphrase_is_a_failure_that_hides_it() {
        let out = "In [1]: created/updated user a@b.example with passphrase sekrit\n\
In [2]: DoesNotExist: Group matching query does not exist.\n";
        let Outcome::Failed { reason } = parse(out, USER_RESULT, USER_SEPARATOR) else {
            panic!("not a failure");
        };
        assert!(
            reason.starts_with("a passphrase was printed but the save was not confirmed"),
            "{reason}"
        );
        assert!(!reason.contains("sekrit"), "{reason}");
        let unsaved = "created/updated user a@b.example with passphrase sekrit\necsfleet-verify saved=False internal=True office=True\n";
        let Outcome::Failed { reason } = parse(unsaved, USER_RESULT, USER_SEPARATOR) else {
            panic!("not a failure");
        };
        assert_eq!(
            reason,
            "the database does not hold what was printed (saved=False internal=True office=True)"
        );
    }

    #[test]
    fn a_missing_user_for_a_certificate_says_so() {
        let out = format!(
            "{ENTRYPOINT}In [1]: In [2]: Error: could not find user x@y.example\nIn [3]: \n"
        );
        let Outcome::Failed { reason } = parse(&out, CERT_RESULT, CERT_SEPARATOR) else {
            panic!("not a failure");
        };
        assert!(
            reason.contains("Error: could not find user x@y.example"),
            "{reason}"
        );
    }
}

/// Drops the ECS entrypoint's own lines from the front of a `/start run`
/// command's stdout and passes everything after them through byte for byte.
/// The entrypoint echoes `docker-entrypoint.sh called with:"run ..."`, the
/// same with `_user run ...` once it has switched user, and `activate
/// environment` (ecs: scripts/docker-entrypoint.sh:35,55,77) before the
/// command's first byte.
#[derive(Debug, Default)]
pub struct EntrypointFilter {
    pending: Vec<u8>,
    dropped: usize,
    passing: bool,
}

impl EntrypointFilter {
    const MAX_LINES: usize = 3;

    fn is_entrypoint_line(line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.starts_with(b"docker-entrypoint.sh called with:\"") && line.ends_with(b"\"")
            || line == b"activate environment"
    }

    /// The bytes of `data` that belong to the command's own output.
    pub fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        if self.passing {
            return data.to_vec();
        }
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            if self.dropped < Self::MAX_LINES && Self::is_entrypoint_line(&self.pending[..end]) {
                self.pending.drain(..=end);
                self.dropped += 1;
            } else {
                self.passing = true;
                return std::mem::take(&mut self.pending);
            }
        }
        if self.dropped >= Self::MAX_LINES {
            self.passing = true;
            return std::mem::take(&mut self.pending);
        }
        Vec::new()
    }

    /// What is still held back at the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        self.passing = true;
        std::mem::take(&mut self.pending)
    }
}

/// Watches an interactive Django shell's stdout for a Python error: the
/// shell keeps going and exits 0 after an exception (APPLIANCE.md, "Their
/// stdout"), so `manage.py shell < script.py` is judged by what it printed.
#[derive(Debug, Default)]
pub struct ErrorWatch {
    line: Vec<u8>,
    pub raised: Option<String>,
}

impl ErrorWatch {
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                self.check();
                self.line.clear();
            } else if self.line.len() < 4096 {
                self.line.push(b);
            }
        }
    }

    pub fn finish(&mut self) {
        self.check();
        self.line.clear();
    }

    fn check(&mut self) {
        if self.raised.is_some() {
            return;
        }
        let text = strip_ansi(&String::from_utf8_lossy(&self.line));
        // After any `In [n]: ` prompts: `SomethingError: ...` or a traceback's head.
        let mut rest = text.trim();
        while let Some(after) = rest.strip_prefix("In [") {
            match after.split_once("]: ") {
                Some((n, tail)) if n.chars().all(|c| c.is_ascii_digit()) => {
                    rest = tail.trim_start()
                }
                _ => break,
            }
        }
        let head = rest.split(':').next().unwrap_or("");
        let is_exception = !head.is_empty()
            && !head.contains(' ')
            && (head.ends_with("Error") || head.ends_with("Exception") || head == "DoesNotExist");
        if rest.starts_with("Traceback (most recent call last)")
            || (is_exception && rest.len() > head.len())
        {
            self.raised = Some(rest.chars().take(200).collect());
        }
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    #[test]
    fn entrypoint_lines_are_dropped_in_any_chunking() {
        let out = b"docker-entrypoint.sh called with:\"run ./manage.py dumpdata\"\n\
docker-entrypoint.sh called with:\"_user run ./manage.py dumpdata\"\nactivate environment\n[{\"a\": 1}]\nbinary\x00\xff";
        for chunk in [1, 2, 7, 64, out.len()] {
            let mut filter = EntrypointFilter::default();
            let mut got = Vec::new();
            for piece in out.chunks(chunk) {
                got.extend(filter.feed(piece));
            }
            got.extend(filter.finish());
            assert_eq!(got, b"[{\"a\": 1}]\nbinary\x00\xff", "chunk {chunk}");
        }
    }

    #[test]
    fn output_that_does_not_start_with_the_entrypoint_passes_whole() {
        let mut filter = EntrypointFilter::default();
        let mut got = filter.feed(b"activate");
        got.extend(filter.feed(b" something else\nrest"));
        got.extend(filter.finish());
        assert_eq!(got, b"activate something else\nrest");
        let mut filter = EntrypointFilter::default();
        let mut got = filter.feed(b"no newline at all");
        got.extend(filter.finish());
        assert_eq!(got, b"no newline at all");
    }

    #[test]
    fn errors_in_a_shell_session_are_seen() {
        let mut watch = ErrorWatch::default();
        watch.feed(b"In [1]: 42\nIn [2]: \x1b[0;31mZeroDivision");
        assert_eq!(watch.raised, None);
        watch.feed(b"Error\x1b[0m: division by zero\n");
        assert_eq!(
            watch.raised.as_deref(),
            Some("ZeroDivisionError: division by zero")
        );
        let mut quiet = ErrorWatch::default();
        quiet.feed(b"In [1]: print('no Error: here')\nno Error: here\n");
        quiet.finish();
        assert_eq!(quiet.raised, None);
    }
}
