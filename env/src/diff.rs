//! `env diff`: a unified diff of two env texts after masking, so it shows
//! that a secret changed but never the secret.

use crate::mask::mask;

/// Unified diff (3 lines of context) of the masked texts; empty when equal.
pub fn diff_masked(left: &str, right: &str, left_label: &str, right_label: &str) -> String {
    let (l, r) = (mask(left), mask(right));
    if l == r {
        return String::new();
    }
    similar::TextDiff::from_lines(&l, &r)
        .unified_diff()
        .context_radius(3)
        .header(left_label, right_label)
        .to_string()
}
