//! POSIX shell quoting: the one function every value passes through on its
//! way into a remote command line.
//!
//! Why not the `shell-quote` crate: its Sh/Bash quoting writes `$'..'` forms
//! and escapes that read badly in `--plan` output and in logs. The POSIX rule
//! is short enough to own and to prove: a word made only of
//! `A-Za-z0-9_@%+=:,./-` is left bare (as Python's `shlex.quote` does), the
//! empty string is `''`, anything else is wrapped in single quotes with an
//! embedded `'` written as `'\''`. Inside single quotes no character is
//! special to a POSIX shell, so this holds for every byte but NUL, which no
//! shell word can carry: it is refused.

use crate::error::QuoteError;

/// True for characters that need no quoting anywhere in a word.
fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)
}

/// True when `s` is printed bare by [`quote`].
pub fn is_bare(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_safe)
}

/// Quotes `s` as one shell word; a NUL byte is an error.
pub fn quote(s: &str) -> Result<String, QuoteError> {
    if s.contains('\0') {
        return Err(QuoteError::Nul);
    }
    Ok(quote_unchecked(s))
}

/// [`quote`] for text already known to hold no NUL. A NUL that slips through
/// stays inside single quotes, where the remote `sh -c` (a C string) cuts the
/// command at it and is left with an unterminated quote: a syntax error, so
/// nothing runs.
pub(crate) fn quote_unchecked(s: &str) -> String {
    if is_bare(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    #[test]
    fn bare_words_stay_bare() {
        assert_eq!(quote("de_DE.utf8").unwrap(), "de_DE.utf8");
        assert_eq!(quote("a@b.example").unwrap(), "a@b.example");
        assert_eq!(quote("/app/env.yml").unwrap(), "/app/env.yml");
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(quote("").unwrap(), "''");
        assert_eq!(quote("a b").unwrap(), "'a b'");
        assert_eq!(
            quote("O'Brien; touch /tmp/x").unwrap(),
            "'O'\\''Brien; touch /tmp/x'"
        );
        assert_eq!(quote("$(id)`id`\n").unwrap(), "'$(id)`id`\n'");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(quote("a\0b"), Err(QuoteError::Nul));
    }

    /// Runs `printf '%s\0' WORD...` in /bin/sh and splits its output.
    fn through_sh(words: &[String]) -> Vec<Vec<u8>> {
        let quoted: Vec<String> = words.iter().map(|w| quote(w).unwrap()).collect();
        let script = format!("printf '%s\\0' {}", quoted.join(" "));
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run /bin/sh");
        assert!(out.status.success(), "{script}");
        let mut parts: Vec<Vec<u8>> = out.stdout.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
        parts.pop(); // after the last NUL
        parts
    }

    #[test]
    fn hostile_words_survive_sh() {
        let words: Vec<String> = [
            "O'Brien; touch /tmp/x",
            "'",
            "''",
            "\\",
            "$HOME",
            "*",
            "-n",
            "a\nb",
            "",
            "ü €",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let back = through_sh(&words);
        let expected: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        assert_eq!(back, expected);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_string_without_nul_survives_sh(words in prop::collection::vec("[^\u{0}]*", 1..8)) {
            let back = through_sh(&words);
            let expected: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
            prop_assert_eq!(back, expected);
        }
    }
}
