//! `push_tree`: a local directory as a deterministic tar.gz (sorted entries,
//! fixed times and owners, so the same files give the same bytes and the
//! same sha256), and the remote shell that receives it: into a temp
//! directory beside `dest`, sha256 checked, unpacked, chowned, then swapped
//! into place by two renames (the old tree is removed afterwards; a failed
//! second rename puts it back). Xenial's mv has no atomic exchange, so there
//! is one instant without `dest`; never a half-written tree.
//!
//! The archive's sum is kept in `dest/.ecsfleet-tree.sha256`: a second push
//! of the same files is skipped ([`unchanged_command`]).

use std::io;
use std::path::Path;

use ecsfleet_playbooks::{Arg, RemoteCommand, Token};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// Where the pushed archive's sum is recorded inside the tree.
pub const MARKER: &str = ".ecsfleet-tree.sha256";
/// Exit status of the receiving shell when the bytes do not match.
pub const TREE_INCOMPLETE: u32 = 3;

pub struct Archive {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub entries: usize,
}

/// Packs `src`, leaving out every entry whose name (or path relative to
/// `src`) matches one of `exclude` (`*` matches any run of characters).
pub fn pack(src: &Path, exclude: &[String]) -> io::Result<Archive> {
    if !src.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a directory", src.display()),
        ));
    }
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    let mut entries = 0;
    walk(src, Path::new(""), exclude, &mut builder, &mut entries)?;
    let bytes = builder.into_inner()?.finish()?;
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Archive {
        bytes,
        sha256,
        entries,
    })
}

fn walk<W: io::Write>(
    root: &Path,
    relative: &Path,
    exclude: &[String],
    builder: &mut tar::Builder<W>,
    entries: &mut usize,
) -> io::Result<()> {
    let dir = root.join(relative);
    let mut children: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let name = child.file_name();
        let rel = relative.join(&name);
        let rel_text = rel.to_string_lossy();
        if exclude
            .iter()
            .any(|p| glob(p, &name.to_string_lossy()) || glob(p, &rel_text))
        {
            continue;
        }
        let kind = child.file_type()?;
        *entries += 1;
        if kind.is_dir() {
            builder.append_dir(&rel, child.path())?;
            walk(root, &rel, exclude, builder, entries)?;
        } else {
            // Files and symlinks, kept as links (follow_symlinks is off):
            // nothing on this side reads through a link, whatever its target.
            // On the host a link means what it meant in the checkout: the
            // appliance's own pillar/custom-env.sls -> /run/active-env.yml
            // (pillar/env.sls:1-7) must arrive as that link.
            builder.append_path_with_name(child.path(), &rel)?;
        }
    }
    Ok(())
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

fn code(text: &str) -> Token {
    Token::Code(text.to_owned())
}

fn value(text: &str) -> Token {
    Token::Arg(Arg::plain(text))
}

/// Exit 0 when `dest` already holds the tree with this sum.
pub fn unchanged_command(dest: &str, sha256: &str) -> RemoteCommand {
    RemoteCommand::shell(vec![
        code("test \"$(cat "),
        value(&format!("{dest}/{MARKER}")),
        code(" 2>/dev/null)\" = "),
        value(sha256),
    ])
}

/// The receiving shell: the archive arrives on stdin.
pub fn unpack_command(
    dest: &str,
    owner: Option<&str>,
    group: Option<&str>,
    len: usize,
    sha256: &str,
) -> RemoteCommand {
    let mut tokens = vec![
        code(
            "set -u; tmp=; trap '[ -z \"$tmp\" ] || rm -rf \"$tmp\"' EXIT; trap 'exit 1' HUP INT TERM PIPE\ndest=",
        ),
        value(dest),
        code(&format!(
            "; parent=$(dirname \"$dest\") || exit 1\n\
mkdir -p \"$parent\" || exit 1\n\
for old in \"$parent\"/.ecsfleet-tree.*; do if [ -d \"$old\" ] && [ ! -L \"$old\" ]; then rm -rf \"$old\"; fi; done\n\
tmp=$(mktemp -d \"$parent/.ecsfleet-tree.XXXXXX\") || exit 1\n\
head -c {len} > \"$tmp/archive.tgz\" || exit 1\n\
sum=$(sha256sum < \"$tmp/archive.tgz\") || exit 1\n\
[ \"${{sum%% *}}\" = "
        )),
        value(sha256),
        code(&format!(
            " ] || {{ echo 'push_tree: the received archive is incomplete' >&2; exit {TREE_INCOMPLETE}; }}\n\
mkdir \"$tmp/tree\" && chmod 0755 \"$tmp/tree\" || exit 1\n\
tar -xzf \"$tmp/archive.tgz\" -C \"$tmp/tree\" --no-same-owner || exit 1\n\
printf '%s\\n' \"${{sum%% *}}\" > \"$tmp/tree/{MARKER}\" || exit 1\n"
        )),
    ];
    let owner = match (owner, group) {
        (Some(o), Some(g)) => Some(format!("{o}:{g}")),
        (Some(o), None) => Some(o.to_owned()),
        (None, Some(g)) => Some(format!(":{g}")),
        (None, None) => None,
    };
    if let Some(owner) = owner {
        tokens.push(code("chown -R "));
        tokens.push(value(&owner));
        tokens.push(code(" \"$tmp/tree\" || exit 1\n"));
    }
    tokens.push(code(
        "if [ -e \"$dest\" ] || [ -L \"$dest\" ]; then mv \"$dest\" \"$tmp/old\" || exit 1; fi\n\
mv \"$tmp/tree\" \"$dest\" || { if [ -e \"$tmp/old\" ]; then mv \"$tmp/old\" \"$dest\"; fi; exit 1; }",
    ));
    RemoteCommand::shell(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn sh(script: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    fn tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("salt/sub")).unwrap();
        std::fs::create_dir_all(dir.join(".git/objects")).unwrap();
        std::fs::write(dir.join("salt/minion"), "file_client: local\n").unwrap();
        std::fs::write(dir.join("salt/sub/x.sls"), "x").unwrap();
        std::fs::write(dir.join(".git/HEAD"), "ref").unwrap();
        std::fs::write(dir.join("notes.swp"), "swap").unwrap();
    }

    #[test]
    fn links_are_packed_as_links_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pillar")).unwrap();
        std::os::unix::fs::symlink(
            "/run/active-env.yml",
            dir.path().join("pillar/custom-env.sls"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/shadow", dir.path().join("pillar/shadow")).unwrap();
        let archive = pack(dir.path(), &[]).unwrap();
        let mut links = Vec::new();
        for entry in tar::Archive::new(flate2::read::GzDecoder::new(&archive.bytes[..]))
            .entries()
            .unwrap()
        {
            let entry = entry.unwrap();
            if entry.header().entry_type().is_symlink() {
                links.push((
                    entry.path().unwrap().display().to_string(),
                    entry.link_name().unwrap().unwrap().display().to_string(),
                    entry.header().size().unwrap(),
                ));
            }
        }
        links.sort();
        assert_eq!(
            links,
            [
                (
                    "pillar/custom-env.sls".to_string(),
                    "/run/active-env.yml".to_string(),
                    0
                ),
                ("pillar/shadow".to_string(), "/etc/shadow".to_string(), 0),
            ]
        );
    }

    #[test]
    fn globs() {
        assert!(glob(".git", ".git"));
        assert!(glob("*.swp", "notes.swp"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("*.swp", "notes.swap"));
    }

    #[test]
    fn packing_is_deterministic_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let exclude = vec![".git".to_owned(), "*.swp".to_owned()];
        let a = pack(dir.path(), &exclude).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("salt/sub/x.sls"), "x").unwrap();
        let b = pack(dir.path(), &exclude).unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.entries, 4);
        let mut names: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(&a.bytes[..]))
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["salt", "salt/minion", "salt/sub", "salt/sub/x.sls"]);
    }

    #[test]
    fn unpack_swaps_the_tree_and_refuses_a_cut_off_archive() {
        let src = tempfile::tempdir().unwrap();
        tree(src.path());
        let archive = pack(src.path(), &[".git".to_owned()]).unwrap();
        let target = tempfile::tempdir().unwrap();
        let dest = target.path().join("app tree");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("old-file"), "old").unwrap();
        let dest_text = dest.to_str().unwrap();
        let script =
            unpack_command(dest_text, None, None, archive.bytes.len(), &archive.sha256).to_shell();
        // Cut off: the old tree stays, nothing is left beside it.
        let out = sh(&script, &archive.bytes[..archive.bytes.len() / 2]);
        assert_eq!(out.status.code(), Some(TREE_INCOMPLETE as i32));
        assert!(dest.join("old-file").exists());
        assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 1);
        // Whole: replaced, marker written, guard then says unchanged.
        let guard = unchanged_command(dest_text, &archive.sha256).to_shell();
        assert!(!sh(&guard, b"").status.success());
        let out = sh(&script, &archive.bytes);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!dest.join("old-file").exists());
        assert_eq!(
            std::fs::read_to_string(dest.join("salt/minion")).unwrap(),
            "file_client: local\n"
        );
        assert!(!dest.join(".git").exists());
        assert!(sh(&guard, b"").status.success());
        assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 1);
    }

    /// A tar.gz whose member names are written raw, bypassing the tar
    /// crate's own checks: what a hostile or corrupted archive could hold.
    fn crafted(members: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        for (name, kind, link, data) in members {
            let mut header = tar::Header::new_old();
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            if !link.is_empty() {
                let target = &mut header.as_old_mut().linkname;
                target[..link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn unpack_never_writes_outside_the_tree_and_sweeps_stale_temp_dirs() {
        let target = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let parent = target.path().join("app");
        std::fs::create_dir_all(parent.join(".ecsfleet-tree.stale/tree")).unwrap();
        let dest = parent.join("appliance");
        let escape = format!("{}/abs-evil", outside.path().display());
        let link_to = outside.path().display().to_string();
        let bytes = crafted(&[
            ("ok.txt", tar::EntryType::Regular, "", b"fine"),
            ("../dotdot-evil", tar::EntryType::Regular, "", b"evil"),
            ("../../dotdot-evil", tar::EntryType::Regular, "", b"evil"),
            (&escape, tar::EntryType::Regular, "", b"evil"),
            ("link", tar::EntryType::Symlink, &link_to, b""),
            (
                "link/through-link-evil",
                tar::EntryType::Regular,
                "",
                b"evil",
            ),
        ]);
        let sha = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let script =
            unpack_command(dest.to_str().unwrap(), None, None, bytes.len(), &sha).to_shell();
        let _ = sh(&script, &bytes);
        let mut escaped = Vec::new();
        for dir in [outside.path(), target.path(), &parent] {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                if entry.file_name().to_string_lossy().contains("evil") {
                    escaped.push(entry.path());
                }
            }
        }
        assert!(escaped.is_empty(), "written outside the tree: {escaped:?}");
        assert!(
            !parent.join(".ecsfleet-tree.stale").exists(),
            "a temp dir of an earlier, killed push is swept"
        );
        let left: Vec<_> = std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().starts_with(".ecsfleet-tree."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
