//! `env diff`: a unified diff of two env texts after masking, so it shows
//! that a secret changed but never the secret.
//!
//! When either side does not parse, masking cannot know which bytes are
//! values, so neither side's text is shown: a note says where the parse
//! failed, and the diff runs over one salted hash per line (both sides
//! hashed, so unchanged lines still line up as context).

use std::fmt::Write as _;

use crate::loader::load;
use crate::mask::{line_hashes, mask_doc, process_salt, unparsed_reason};

/// Unified diff (3 lines of context) of the masked texts; empty when equal.
pub fn diff_masked(left: &str, right: &str, left_label: &str, right_label: &str) -> String {
    diff_masked_with_salt(left, right, left_label, right_label, process_salt())
}

/// [`diff_masked`] with a given salt (for stable test output).
pub(crate) fn diff_masked_with_salt(
    left: &str,
    right: &str,
    left_label: &str,
    right_label: &str,
    salt: &[u8],
) -> String {
    match (load(left), load(right)) {
        (Ok(l), Ok(r)) => {
            let (l, r) = (mask_doc(left, &l, salt), mask_doc(right, &r, salt));
            if l == r {
                return String::new();
            }
            similar::TextDiff::from_lines(&l, &r)
                .unified_diff()
                .context_radius(3)
                .header(left_label, right_label)
                .to_string()
        }
        (l, r) => {
            let note = |label: &str, parsed: &crate::Result<crate::Node>| match parsed {
                Err(e) => format!(
                    "{label}: not shown, {}; each line is shown as a salted hash\n",
                    unparsed_reason(e)
                ),
                Ok(_) => format!(
                    "{label}: each line is shown as a salted hash, to line up with the other side\n"
                ),
            };
            hashed_diff(
                &line_hashes(left, salt),
                &line_hashes(right, salt),
                &(note(left_label, &l) + &note(right_label, &r)),
                left_label,
                right_label,
            )
        }
    }
}

/// A unified diff over line hashes, each line shown as `line N: <hash>`
/// with its number on its own side; empty when the hashes are equal.
fn hashed_diff(
    left: &[String],
    right: &[String],
    notes: &str,
    left_label: &str,
    right_label: &str,
) -> String {
    if left == right {
        return String::new();
    }
    let left: Vec<&str> = left.iter().map(String::as_str).collect();
    let right: Vec<&str> = right.iter().map(String::as_str).collect();
    let diff = similar::TextDiff::configure().diff_slices(&left, &right);
    let mut out = format!("{notes}--- {left_label}\n+++ {right_label}\n");
    for group in diff.grouped_ops(3) {
        let _ = writeln!(out, "{}", similar::udiff::UnifiedHunkHeader::new(&group));
        for op in &group {
            for change in diff.iter_changes(op) {
                let (sign, n) = match change.tag() {
                    similar::ChangeTag::Equal => (' ', change.old_index()),
                    similar::ChangeTag::Delete => ('-', change.old_index()),
                    similar::ChangeTag::Insert => ('+', change.new_index()),
                };
                let n = n.map_or(0, |i| i + 1);
                let _ = writeln!(out, "{sign}line {n}: {}", change.value());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &[u8] = b"test";

    #[test]
    fn a_tab_on_either_side_shows_where_and_line_hashes_only() {
        let good = "a:\n  b: 1\n  c: sftp://u:TOPSECRET@h/x\n  d: 2\n";
        let bad = "a:\n  b: 1\n\tc: sftp://u:TOPSECRET@h/x\n  d: 3\n";
        let diff = diff_masked_with_salt(good, bad, "left", "right", SALT);
        assert!(!diff.contains("TOPSECRET"), "{diff}");
        assert!(!diff.contains("b: 1"), "{diff}");
        let h = line_hashes(good, SALT);
        let hb = line_hashes(bad, SALT);
        assert_eq!(
            diff,
            format!(
                "left: each line is shown as a salted hash, to line up with the other side\n\
                 right: not shown, not valid YAML at line 3, column 1: {}; each line is shown as a salted hash\n\
                 --- left\n\
                 +++ right\n\
                 @@ -1,4 +1,4 @@\n \
                 line 1: {}\n \
                 line 2: {}\n\
                 -line 3: {}\n\
                 -line 4: {}\n\
                 +line 3: {}\n\
                 +line 4: {}\n",
                tab_message(bad),
                h[0],
                h[1],
                h[2],
                h[3],
                hb[2],
                hb[3]
            )
        );
        // The other way round: the note moves with the broken side.
        let diff = diff_masked_with_salt(bad, good, "left", "right", SALT);
        assert!(
            diff.starts_with("left: not shown, not valid YAML at line 3, column 1: "),
            "{diff}"
        );
        // Equal broken texts: no diff.
        assert_eq!(diff_masked_with_salt(bad, bad, "l", "r", SALT), "");
    }

    fn tab_message(text: &str) -> String {
        match load(text).unwrap_err() {
            crate::Error::Yaml { message, .. } => message,
            other => panic!("{other}"),
        }
    }
}
