//! Remote halves of file transfer, as command data: the shell that receives an
//! upload atomically and the one that sends a file back.
//!
//! Why the upload looks like this: the content arrives on stdin, so it never
//! appears in a command line; the temp file is created exclusively, 0600, in
//! the target directory (same filesystem, so the rename is atomic) and the
//! final mode is set before the first byte; `dd` of exactly LEN bytes,
//! fsynced, plus a sha256 comparison make a cut-off transfer (dropped
//! connection, full disk) fail instead of renaming a truncated file into
//! place; the trap removes the temp file on every exit.

use crate::error::QuoteError;
use crate::quote::quote;
use crate::remote_command::RemoteCommand;

/// What the remote side needs to know about an upload besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    pub dest: String,
    pub mode: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub len: u64,
    pub sha256_hex: String,
    pub make_parents: bool,
}

/// Exit status the upload script uses when the received bytes do not match.
pub const UPLOAD_INCOMPLETE: u32 = 3;

pub fn upload_command(spec: &UploadSpec) -> Result<RemoteCommand, QuoteError> {
    let dest = quote(&spec.dest)?;
    // The directory is worked out here, not by `dirname` on the host: one
    // process less per upload (they add up over 50 hosts on 2 cores).
    let parent = match std::path::Path::new(&spec.dest).parent() {
        Some(p) if p.as_os_str().is_empty() => ".".to_owned(),
        Some(p) => p.to_string_lossy().into_owned(),
        None => "/".to_owned(),
    };
    let mut script = String::from(
        "set -u; tmp=; trap '[ -z \"$tmp\" ] || rm -f \"$tmp\"' EXIT; trap 'exit 1' HUP INT TERM PIPE; ",
    );
    script.push_str(&format!("dest={dest}; dir={}; ", quote(&parent)?));
    if spec.make_parents {
        script.push_str("[ -d \"$dir\" ] || mkdir -p \"$dir\" || exit 1; ");
    }
    // A killed upload (SIGKILL: no trap runs) leaves its temp file, part of
    // the content. The temp name carries the uploading shell's pid, so the
    // next upload into the directory removes those whose shell is gone.
    script.push_str(
        "for old in \"$dir\"/.ecsfleet-upload.*; do p=${old##*/.ecsfleet-upload.}; p=${p%%.*}; \
         case $p in ''|*[!0-9]*) continue ;; esac; \
         [ -f \"$old\" ] && ! kill -0 \"$p\" 2>/dev/null && rm -f \"$old\"; done; ",
    );
    // The temp file is made by the shell itself, not mktemp (one process
    // less): noclobber refuses an existing regular file (or a symlink to
    // one), and what it would open anyway (a device, a FIFO, a symlink to
    // one) fails the regular-file test, so the next name is tried and
    // nothing is written through. umask 077, set after the parents exist,
    // makes it 0600 whatever the login's umask: a 0600 upload needs no
    // chmod.
    script.push_str(
        "umask 077; n=0; until t=\"$dir/.ecsfleet-upload.$$.$n\"; { set -C; printf '' > \"$t\"; } 2>/dev/null && [ -f \"$t\" ] && [ ! -L \"$t\" ]; do \
         n=$((n + 1)); [ $n -lt 100 ] || { echo \"cannot create a temp file in $dir\" >&2; exit 1; }; done; \
         set +C; tmp=$t; ",
    );
    let mode = spec.mode & 0o7777;
    if mode != 0o600 {
        script.push_str(&format!("chmod {mode:04o} \"$tmp\" || exit 1; "));
    }
    match (&spec.owner, &spec.group) {
        (Some(owner), Some(group)) => script.push_str(&format!(
            "chown {} \"$tmp\" || exit 1; ",
            quote(&format!("{owner}:{group}"))?
        )),
        (Some(owner), None) => {
            script.push_str(&format!("chown {} \"$tmp\" || exit 1; ", quote(owner)?))
        }
        (None, Some(group)) => {
            script.push_str(&format!("chgrp {} \"$tmp\" || exit 1; ", quote(group)?))
        }
        (None, None) => {}
    }
    // dd reads exactly LEN bytes (never more: the rest of stdin may be the
    // session's next request) and fsyncs them: one process for what `head`
    // and `sync` did.
    script.push_str(&format!(
        "dd of=\"$tmp\" bs=64K count={} iflag=count_bytes,fullblock conv=fsync status=none || exit 1; ",
        spec.len
    ));
    script.push_str(&format!(
        "sum=$(sha256sum < \"$tmp\") || exit 1; [ \"${{sum%% *}}\" = {} ] || {{ echo \"upload incomplete: received bytes do not match\" >&2; exit {UPLOAD_INCOMPLETE}; }}; ",
        quote(&spec.sha256_hex)?
    ));
    script.push_str("mv -f \"$tmp\" \"$dest\" || exit 1; tmp=");
    Ok(RemoteCommand::script(script))
}

/// Prints a remote file on stdout.
pub fn download_command(src: &str) -> Result<RemoteCommand, QuoteError> {
    Ok(RemoteCommand::script(format!("cat -- {}", quote(src)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dest: &str) -> UploadSpec {
        UploadSpec {
            dest: dest.into(),
            mode: 0o600,
            owner: Some("root".into()),
            group: None,
            len: 5,
            sha256_hex: "ab".into(),
            make_parents: true,
        }
    }

    #[test]
    fn upload_sets_mode_before_content_and_checks_the_sum() {
        let text = upload_command(&spec("/app/env.yml")).unwrap().to_shell();
        let umask = text.find("umask 077; n=0").unwrap();
        let dd = text.find("dd of=\"$tmp\" bs=64K count=5 ").unwrap();
        let mv = text.find("mv -f").unwrap();
        assert!(umask < dd && dd < mv, "{text}");
        assert!(
            text.contains("conv=fsync"),
            "durable before the rename: {text}"
        );
        assert!(!text.contains("chmod"), "umask 077 makes it 0600: {text}");
        assert!(text.contains("dest=/app/env.yml; dir=/app;"), "{text}");
        let mut other = spec("/app/x");
        other.mode = 0o640;
        let text = upload_command(&other).unwrap().to_shell();
        let chmod = text.find("chmod 0640").unwrap();
        assert!(chmod < text.find("dd of=").unwrap(), "{text}");
        assert!(text.contains("sha256sum"), "{text}");
    }

    #[test]
    fn hostile_destination_is_quoted() {
        let text = upload_command(&spec("/tmp/x'; touch /tmp/pwned; '"))
            .unwrap()
            .to_shell();
        assert!(
            text.contains(r#"dest='/tmp/x'\''; touch /tmp/pwned; '\''';"#),
            "{text}"
        );
    }

    #[test]
    fn upload_really_is_atomic_in_a_local_shell() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let dir = std::env::temp_dir().join(format!("ecsfleet-transfer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("f");
        std::fs::write(&dest, "old").unwrap();
        let full = b"hello";
        let sum = sha256_hex(full);
        let mut s = spec(dest.to_str().unwrap());
        s.owner = None;
        s.sha256_hex = sum;
        let script = upload_command(&s).unwrap().to_shell();
        // Cut off after 3 bytes: the old file must survive.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&full[..3]).unwrap();
        assert!(!child.wait().unwrap().success());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "temp file left behind");
        // Whole content: replaced, with the mode.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(full).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read(&dest).unwrap(), full);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A symlink to a file or to a device already named like the temp file
    /// is never written through: the next name is taken; the result is a
    /// regular 0600 file under umask 0 as well.
    #[test]
    fn the_temp_file_is_created_exclusively_and_private() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        use std::process::{Command, Stdio};
        let dir = std::env::temp_dir().join(format!("ecsfleet-excl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        let dest = dir.join("f");
        let content = b"new content";
        let mut s = spec(dest.to_str().unwrap());
        s.owner = None;
        s.len = content.len() as u64;
        s.sha256_hex = sha256_hex(content);
        let script = upload_command(&s).unwrap().to_shell();
        // `$$` is the same shell the upload script then runs in.
        let trap = format!(
            "umask 0; ln -s {0} {1}/.ecsfleet-upload.$$.0; ln -s /dev/null {1}/.ecsfleet-upload.$$.1; {script}",
            victim.display(),
            dir.display()
        );
        for shell in ["/bin/sh", "/bin/bash"] {
            let mut child = Command::new(shell)
                .arg("-c")
                .arg(&trap)
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(content).unwrap();
            assert!(child.wait().unwrap().success(), "{shell}");
            assert_eq!(std::fs::read(&victim).unwrap(), b"untouched", "{shell}");
            assert_eq!(std::fs::read(&dest).unwrap(), content, "{shell}");
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o600, "{shell}");
            assert!(
                std::fs::symlink_metadata(&dest).unwrap().is_file(),
                "{shell}"
            );
            std::fs::remove_file(&dest).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn sha256_hex(data: &[u8]) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(data).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}
