//! Which paths a rendered playbook may name. Checked after rendering, on the
//! final text, so a variable cannot smuggle in what a literal could not.
//!
//! Remote paths (upload and push_tree `dest`, fetch `src`) must be absolute
//! and have no `..` component. Local paths (upload and push_tree `src`,
//! fetch `dest`) that are relative resolve against the base (the playbook's
//! own directory, else the fleet directory) and may not contain `..`; every
//! local path, relative or absolute, must then lie inside one of the allowed
//! roots (the playbook's directory, the fleet directory, and the roots the
//! caller adds, such as `--appliance-source DIR`). The check is lexical:
//! symlinks inside a root are the operator's own business.

use std::path::{Component, Path, PathBuf};

/// A remote path, or why it is refused.
pub(crate) fn remote(path: &str) -> Result<String, String> {
    if path.contains('\0') {
        return Err("a path cannot contain a NUL byte".to_owned());
    }
    if !path.starts_with('/') {
        return Err(format!("remote path `{path}` must be absolute"));
    }
    if Path::new(path)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(format!("remote path `{path}` must not contain `..`"));
    }
    Ok(path.to_owned())
}

/// A local path resolved against `base` and kept inside `roots`.
pub(crate) fn local(path: &str, base: Option<&Path>, roots: &[PathBuf]) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("the local path is empty (is a variable unset?)".to_owned());
    }
    if path.contains('\0') {
        return Err("a path cannot contain a NUL byte".to_owned());
    }
    let given = Path::new(path);
    let resolved = if given.is_absolute() {
        normalize(given)
    } else {
        if given
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(format!("local path `{path}` must not contain `..`"));
        }
        let Some(base) = base else {
            return Err(format!(
                "relative local path `{path}` needs a playbook or fleet directory"
            ));
        };
        normalize(&base.join(given))
    };
    if roots
        .iter()
        .any(|root| resolved.starts_with(normalize(root)))
    {
        Ok(resolved)
    } else {
        Err(format!(
            "local path `{}` is outside the playbook and fleet directories",
            resolved.display()
        ))
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_are_absolute_without_parent() {
        assert_eq!(remote("/app/env.yml").unwrap(), "/app/env.yml");
        assert!(remote("app/env.yml").unwrap_err().contains("absolute"));
        assert!(remote("/app/../etc/shadow").unwrap_err().contains(".."));
        assert!(remote("/app/a\0").is_err());
    }

    #[test]
    fn local_paths_stay_inside_roots() {
        let fleet = PathBuf::from("/fleet");
        let roots = [fleet.clone(), PathBuf::from("/src/appliance")];
        assert_eq!(
            local("env/a/env.yml", Some(&fleet), &roots).unwrap(),
            PathBuf::from("/fleet/env/a/env.yml")
        );
        assert!(
            local("../etc/passwd", Some(&fleet), &roots)
                .unwrap_err()
                .contains("..")
        );
        assert!(local("a/../../x", Some(&fleet), &roots).is_err());
        assert!(
            local("/etc/passwd", Some(&fleet), &roots)
                .unwrap_err()
                .contains("outside")
        );
        assert!(local("/fleet/../etc/passwd", Some(&fleet), &roots).is_err());
        assert!(local("/src/appliance", Some(&fleet), &roots).is_ok());
        assert!(local("/src/appliance-evil", Some(&fleet), &roots).is_err());
        assert!(local("x", None, &roots).unwrap_err().contains("needs"));
    }
}
