//! The persistent remote shell, as data: one SSH channel per host runs
//! [`DRIVER`], and every command of a host's run is sent to it instead of
//! opening a channel of its own. Why: each new channel costs sshd a fork,
//! a login shell and its rc files (~5 ms of host CPU here), and a playbook
//! run sends 5 to 100 commands per host; on a 2-core machine with 50 hosts
//! that was most of a run's wall time (bench/RESULTS.md).
//!
//! The protocol (all of it is here; the transport only moves bytes):
//! - The client sends the session's marker, a random token, on the first
//!   line. It is never in a command line, so `ps` output cannot fake it.
//!   The driver answers `MARKER ready` on stdout and on stderr; what came
//!   before (an rc file's chatter) is dropped.
//! - A request ([`request`]) is a header `LINES STDIN_LEN`, the command's
//!   lines, then STDIN_LEN bytes of its standard input.
//! - The driver runs the command in a subshell (`exit`, `cd`, `set -e`
//!   stay inside it) with stdin from /dev/null, or from exactly STDIN_LEN
//!   bytes (`head -c`; the rest drained if the command stopped early,
//!   with `cat` only when a first `read` finds more), then
//!   writes `\nMARKER STATUS\n` to stdout and `\nMARKER\n` to stderr. The
//!   leading newline is always added, so output ends exactly where it did.
//! - The driver's own variables are unset inside the subshell: a command
//!   sees the environment it would have seen in a channel of its own.
//!
//! [`Frames`] splits each stream back into the command's bytes and the
//! end mark, holding back only a tail that may be the start of a mark.

/// The driver, a POSIX shell program: it runs under the login shell (as a
/// channel's command would) or `sudo -n -- sh -c` for a `become` host.
/// Only builtins read the requests (`read` takes one byte at a time from a
/// pipe, never more than the line), so the command's stdin is still there
/// for `head -c` to pass on.
pub const DRIVER: &str = r#"IFS= read -r __ef_m || exit 97
printf '%s ready\n' "$__ef_m"; printf '%s ready\n' "$__ef_m" >&2
while IFS=' ' read -r __ef_n __ef_s; do
  __ef_c=
  while [ "$__ef_n" -gt 0 ]; do
    IFS= read -r __ef_l || exit 97
    __ef_c="$__ef_c$__ef_l
"
    __ef_n=$((__ef_n - 1))
  done
  if [ "$__ef_s" -eq 0 ]; then
    (unset __ef_m __ef_n __ef_s __ef_l; eval "$__ef_c") </dev/null
  else
    head -c "$__ef_s" | { (unset __ef_m __ef_n __ef_s __ef_l; eval "$__ef_c"); __ef_r=$?; if IFS= read -r __ef_l 2>/dev/null; then cat >/dev/null; fi; exit $__ef_r; }
  fi
  __ef_r=$?
  printf '\n%s %s\n' "$__ef_m" "$__ef_r"
  printf '\n%s\n' "$__ef_m" >&2
done
exit 0"#;

/// The first line the client sends: the marker.
pub fn greeting(marker: &str) -> Vec<u8> {
    format!("{marker}\n").into_bytes()
}

/// A request for `command` with `stdin_len` bytes of standard input, which
/// the caller sends right after it. A plain program call (see
/// [`plain_program`]) is sent as `exec PROGRAM ...`: the subshell then
/// becomes the program instead of forking once more for it (bash does not
/// spare that fork after `eval`).
pub fn request(command: &str, stdin_len: usize) -> Vec<u8> {
    let command = if plain_program(command) {
        std::borrow::Cow::Owned(format!("exec {command}"))
    } else {
        std::borrow::Cow::Borrowed(command)
    };
    let lines: Vec<&str> = command.split('\n').collect();
    let mut out = format!("{} {stdin_len}\n", lines.len()).into_bytes();
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Words of the shell's own (keywords and builtins): `exec` in front of
/// them would change what runs, or fail.
const SHELL_WORDS: &[&str] = &[
    ".",
    ":",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
];

/// One external program with plain words: only letters, digits, spaces and
/// `-_./:,+@%=` (no quoting, expansion, redirection, globbing, comment or
/// second command), no assignment in front, and not a word of the shell's
/// own. For those, `exec COMMAND` runs exactly what `COMMAND` runs.
pub fn plain_program(command: &str) -> bool {
    let Some(first) = command.split(' ').find(|w| !w.is_empty()) else {
        return false;
    };
    command
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" -_./:,+@%=".contains(&b))
        && !first.contains('=')
        && !SHELL_WORDS.contains(&first)
}

/// Which end mark a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `\nMARKER STATUS\n`.
    Stdout,
    /// `\nMARKER\n`.
    Stderr,
}

/// One stream of the session, split into commands' output and end marks.
#[derive(Debug)]
pub struct Frames {
    kind: Kind,
    ready: Vec<u8>,
    end: Vec<u8>,
    state: State,
    pending: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `MARKER ready`: dropped.
    Greeting,
    /// A command's output.
    Body,
    /// After the end mark, reading the status up to the newline.
    Status,
    /// The command's end was seen; the next [`Frames::next_command`] resets.
    Done,
}

impl Frames {
    pub fn new(kind: Kind, marker: &str) -> Frames {
        let end = match kind {
            Kind::Stdout => format!("\n{marker} "),
            Kind::Stderr => format!("\n{marker}\n"),
        };
        Frames {
            kind,
            ready: format!("{marker} ready\n").into_bytes(),
            end: end.into_bytes(),
            state: State::Greeting,
            pending: Vec::new(),
        }
    }

    /// The driver said it is ready (on this stream).
    pub fn is_ready(&self) -> bool {
        self.state != State::Greeting
    }

    /// The current command's end mark was seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Starts reading the next command's output.
    pub fn next_command(&mut self) {
        if self.state == State::Done {
            self.state = State::Body;
        }
    }

    /// Feeds bytes as they arrive; the command's own output goes to
    /// `output`, without any part of a mark. Returns the command's status
    /// once its end mark is seen (0 on stderr, whose mark has none).
    /// Bytes after the end (a background process still writing) are kept
    /// for the next command.
    pub fn feed(&mut self, data: &[u8], output: &mut dyn FnMut(&[u8])) -> Option<u32> {
        self.pending.extend_from_slice(data);
        loop {
            match self.state {
                State::Greeting => {
                    let (_, found) = take_until(&mut self.pending, &self.ready);
                    if !found {
                        return None;
                    }
                    self.state = State::Body;
                }
                State::Body => {
                    let (before, found) = take_until(&mut self.pending, &self.end);
                    if !before.is_empty() {
                        output(&before);
                    }
                    if !found {
                        return None;
                    }
                    match self.kind {
                        Kind::Stdout => self.state = State::Status,
                        Kind::Stderr => {
                            self.state = State::Done;
                            return Some(0);
                        }
                    }
                }
                State::Status => {
                    let newline = self.pending.iter().position(|&b| b == b'\n')?;
                    let text: Vec<u8> = self.pending.drain(..=newline).collect();
                    self.state = State::Done;
                    let status = std::str::from_utf8(&text[..newline])
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(255);
                    return Some(status);
                }
                State::Done => return None,
            }
        }
    }
}

/// Splits `pending` at the first `pattern`: returns the bytes before it and
/// whether it was found (then `pending` keeps what follows the pattern).
/// Not found: returns all but the longest tail that could begin it.
fn take_until(pending: &mut Vec<u8>, pattern: &[u8]) -> (Vec<u8>, bool) {
    let first = pattern[0];
    let mut from = 0;
    while let Some(offset) = pending[from..].iter().position(|&b| b == first) {
        let at = from + offset;
        let rest = &pending[at..];
        if rest.starts_with(pattern) {
            let before = pending[..at].to_vec();
            pending.drain(..at + pattern.len());
            return (before, true);
        }
        if pattern.starts_with(rest) {
            // A mark may be arriving: keep it back.
            let before = pending[..at].to_vec();
            pending.drain(..at);
            return (before, false);
        }
        from = at + 1;
    }
    (std::mem::take(pending), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    const MARKER: &str = "ecsfleet-0123456789abcdef";

    /// Feeds `bytes` in chunks of `size`; returns the output and the ends.
    fn split(kind: Kind, bytes: &[u8], size: usize) -> (Vec<Vec<u8>>, Vec<u32>) {
        let mut frames = Frames::new(kind, MARKER);
        let (mut outputs, mut ends) = (vec![Vec::new()], Vec::new());
        for chunk in bytes.chunks(size) {
            let mut data = chunk;
            loop {
                let mut seen = Vec::new();
                let event = frames.feed(data, &mut |b| seen.extend_from_slice(b));
                outputs.last_mut().unwrap().extend(seen);
                match event {
                    Some(status) => {
                        ends.push(status);
                        outputs.push(Vec::new());
                        frames.next_command();
                        data = b"";
                    }
                    None => break,
                }
            }
        }
        (outputs, ends)
    }

    #[test]
    fn output_is_exact_in_any_chunking() {
        let stream = format!(
            "motd noise\n{MARKER} ready\nhello\nno newline\n{MARKER} 0\n\n\nblank lines\n\n{MARKER} 7\n\n{MARKER} 0\n"
        );
        for size in 1..=stream.len() {
            let (outputs, ends) = split(Kind::Stdout, stream.as_bytes(), size);
            assert_eq!(ends, [0, 7, 0], "chunk {size}");
            assert_eq!(outputs[0], b"hello\nno newline", "chunk {size}");
            assert_eq!(outputs[1], b"\n\nblank lines\n", "chunk {size}");
            assert_eq!(outputs[2], b"", "chunk {size}");
        }
    }

    #[test]
    fn near_misses_of_the_mark_are_output() {
        let fake = format!("{MARKER}x 3\n\n{}\n{MARKER}", &MARKER[..10]);
        let stream = format!("{MARKER} ready\n{fake}\n{MARKER} 1\n");
        for size in [1, 2, 5, 64] {
            let (outputs, ends) = split(Kind::Stdout, stream.as_bytes(), size);
            assert_eq!(ends, [1]);
            assert_eq!(String::from_utf8_lossy(&outputs[0]), fake, "chunk {size}");
        }
    }

    #[test]
    fn stderr_marks_carry_no_status() {
        let stream = format!("{MARKER} ready\nwarning\n\n{MARKER}\n\n{MARKER}\n");
        let (outputs, ends) = split(Kind::Stderr, stream.as_bytes(), 3);
        assert_eq!(ends, [0, 0]);
        assert_eq!(outputs[0], b"warning\n");
        assert_eq!(outputs[1], b"");
    }

    #[test]
    fn requests_count_lines() {
        assert_eq!(request("true", 0), b"1 0\ntrue\n");
        assert_eq!(request("a\n\nb\n", 5), b"4 5\na\n\nb\n\n");
        assert_eq!(request("cp /a /b", 0), b"1 0\nexec cp /a /b\n");
    }

    #[test]
    fn only_plain_program_calls_are_execed() {
        for plain in [
            "cp /app/env.yml /app/active-env.yml",
            "systemctl start appliance-update",
            "df -P /app",
            "/usr/bin/env",
            "dd bs=64K count=3",
        ] {
            assert!(plain_program(plain), "{plain}");
        }
        for not in [
            "echo hi",
            "cd /",
            "exit 3",
            "FOO=1 env",
            "a; b",
            "a && b",
            "cat $HOME",
            "ls *",
            "cat ~/x",
            "x # note",
            "cat 'q'",
            "a\nb",
            "a > f",
            "",
            "  ",
            "read x",
            "test -e /x",
            "kill 1",
            "printf %s x",
        ] {
            assert!(!plain_program(not), "{not:?}");
        }
    }

    /// Runs the driver in a local shell with the given requests; returns
    /// (stdout, stderr).
    fn drive(shell: &str, requests: &[(&str, &[u8])]) -> (Vec<u8>, Vec<u8>) {
        let mut child = Command::new(shell)
            .arg("-c")
            .arg(DRIVER)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&greeting(MARKER)).unwrap();
        for (command, input) in requests {
            stdin.write_all(&request(command, input.len())).unwrap();
            stdin.write_all(input).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        (out.stdout, out.stderr)
    }

    fn shells() -> Vec<&'static str> {
        ["/bin/sh", "/bin/bash", "/bin/dash"]
            .into_iter()
            .filter(|s| std::path::Path::new(s).exists())
            .collect()
    }

    #[test]
    fn the_driver_runs_commands_with_their_own_stdin_status_and_scope() {
        let input: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        for shell in shells() {
            let (stdout, stderr) = drive(
                shell,
                &[
                    ("echo one; echo two >&2; exit 3", b""),
                    ("cd /; x=1; set -e; false; echo unreached", b""),
                    ("pwd; echo \"x=${x-unset} m=${__ef_m-unset}\"", b""),
                    ("wc -c", &input),
                    ("head -c 3; echo; exit 4", b"abcdefgh"),
                    ("cat", b""),
                    ("printf 'multi\\nline'\nprintf ' script'", b""),
                    ("if then fi", b""),
                    ("echo still here", b""),
                ],
            );
            let (outs, ends) = split(Kind::Stdout, &stdout, 4096);
            let text: Vec<String> = outs
                .iter()
                .map(|o| String::from_utf8_lossy(o).into_owned())
                .collect();
            assert_eq!(ends[..6], [3, 1, 0, 0, 4, 0], "{shell}: {text:?}");
            assert_eq!(text[0], "one\n", "{shell}");
            assert_eq!(text[1], "", "{shell}");
            assert_eq!(
                text[2],
                format!(
                    "{}\nx=unset m=unset\n",
                    std::env::current_dir().unwrap().display()
                ),
                "{shell}"
            );
            assert_eq!(text[3].trim(), "70000", "{shell}");
            assert_eq!(text[4], "abc\n", "{shell}");
            assert_eq!(text[5], "", "{shell}");
            assert_eq!(text[6], "multi\nline script", "{shell}");
            assert_ne!(
                ends[7], 0,
                "{shell}: a syntax error fails that command only"
            );
            assert_eq!((ends[8], text[8].as_str()), (0, "still here\n"), "{shell}");
            let (errs, err_ends) = split(Kind::Stderr, &stderr, 4096);
            assert_eq!(err_ends.len(), 9, "{shell}");
            assert_eq!(errs[0], b"two\n", "{shell}");
        }
    }
}
