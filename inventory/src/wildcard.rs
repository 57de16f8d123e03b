//! OpenSSH host patterns: `*` and `?` wildcards (nothing else is special,
//! `[` included) and pattern lists where `!pattern` excludes. Shared by
//! ssh_config `Host` lines and known_hosts host fields. Matching ignores
//! ASCII case, as OpenSSH lowercases host names before matching.

/// Whether `text` matches `pattern` (`*` any run, `?` one character).
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matcher with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// OpenSSH `match_pattern_list`: `Some(true)` if a plain pattern matches
/// and no negated one does, `Some(false)` if a negated pattern matches
/// (a veto), `None` if nothing matches.
pub(crate) fn match_list<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
    text: &str,
) -> Option<bool> {
    let mut found = None;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if matches(negated, text) => return Some(false),
            Some(_) => {}
            None if matches(pattern, text) => found = Some(true),
            None => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.example.org", "ecs.example.org"));
        assert!(!matches("*.example.org", "example.org"));
        assert!(matches("lab?", "lab1"));
        assert!(!matches("lab?", "lab12"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("[*.lab]:2222", "[h1.lab]:2222"));
        assert!(!matches("[h1]:2222", "h1"));
        assert!(matches("ECS", "ecs"));
    }

    #[test]
    fn negation_vetoes() {
        let list = ["*.example.org", "!bad.example.org"];
        assert_eq!(match_list(list, "good.example.org"), Some(true));
        assert_eq!(match_list(list, "bad.example.org"), Some(false));
        assert_eq!(match_list(list, "other.net"), None);
        assert_eq!(match_list(["!x"], "y"), None);
    }
}
