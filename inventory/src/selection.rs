//! Host selection: turning the operator's SELECT words into hosts.
//!
//! Each pattern is a host name, a group name (all its members), or a shell
//! glob (`ecs-*`, `lab[12]`, `?`) matched against host names and group
//! names. The result is de-duplicated and in inventory order. A selection
//! that selects nothing, or a pattern that matches nothing, is an error that
//! lists what exists: a typo must not quietly shrink a fleet-wide update.

use crate::error::SelectError;
use crate::host::Host;
use crate::inventory::Inventory;

impl Inventory {
    /// The hosts `patterns` name (or every host when `all`).
    pub fn select(&self, patterns: &[String], all: bool) -> Result<Vec<&Host>, SelectError> {
        if all {
            return Ok(self.hosts.iter().collect());
        }
        if patterns.is_empty() {
            return Err(SelectError::Nothing {
                hosts: self.host_names(),
                groups: self.group_names(),
            });
        }
        let mut chosen = vec![false; self.hosts.len()];
        for pattern in patterns {
            let matched = self.mark(pattern, &mut chosen)?;
            if !matched {
                if self.groups.contains_key(pattern) {
                    return Err(SelectError::EmptyGroup {
                        group: pattern.clone(),
                    });
                }
                return Err(SelectError::NoMatch {
                    pattern: pattern.clone(),
                    hosts: self.host_names(),
                    groups: self.group_names(),
                });
            }
        }
        Ok(self
            .hosts
            .iter()
            .zip(chosen)
            .filter_map(|(host, chosen)| chosen.then_some(host))
            .collect())
    }

    /// Marks the hosts `pattern` selects; false if it selects none.
    fn mark(&self, pattern: &str, chosen: &mut [bool]) -> Result<bool, SelectError> {
        let is_glob = pattern.contains(['*', '?', '[']);
        let glob = if is_glob {
            Some(
                glob::Pattern::new(pattern).map_err(|err| SelectError::BadPattern {
                    pattern: pattern.to_owned(),
                    message: err.msg.to_owned(),
                })?,
            )
        } else {
            None
        };
        let matches = |name: &str| match &glob {
            Some(glob) => glob.matches(name),
            None => name == pattern,
        };
        let groups: Vec<&str> = self
            .groups
            .keys()
            .map(String::as_str)
            .filter(|g| matches(g))
            .collect();
        let mut any = false;
        for (host, chosen) in self.hosts.iter().zip(chosen.iter_mut()) {
            if matches(&host.name) || groups.iter().any(|g| host.in_group(g)) {
                *chosen = true;
                any = true;
            }
        }
        Ok(any)
    }

    fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    fn group_names(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fleet() -> Inventory {
        Inventory::parse(
            "hosts:\n  ecs-vienna: {groups: [prod]}\n  ecs-graz: {groups: [prod]}\n  \
             lab1: {groups: [lab]}\n  lab2: {groups: [lab]}\n  lab3: {}\n  x: {}\n\
             groups:\n  empty: {}\n",
            Path::new("hosts.yml"),
        )
        .unwrap()
    }

    fn names(inventory: &Inventory, patterns: &[&str]) -> Vec<String> {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        inventory
            .select(&patterns, false)
            .unwrap()
            .iter()
            .map(|h| h.name.clone())
            .collect()
    }

    fn error(inventory: &Inventory, patterns: &[&str]) -> String {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        inventory.select(&patterns, false).unwrap_err().to_string()
    }

    #[test]
    fn by_name() {
        assert_eq!(names(&fleet(), &["lab2", "ecs-graz"]), ["ecs-graz", "lab2"]);
    }

    #[test]
    fn by_group() {
        assert_eq!(names(&fleet(), &["lab"]), ["lab1", "lab2"]);
        assert_eq!(names(&fleet(), &["prod"]), ["ecs-vienna", "ecs-graz"]);
    }

    #[test]
    fn by_glob_over_hosts_and_groups() {
        let fleet = fleet();
        assert_eq!(names(&fleet, &["ecs-*"]), ["ecs-vienna", "ecs-graz"]);
        assert_eq!(names(&fleet, &["lab[13]"]), ["lab1", "lab3"]);
        assert_eq!(names(&fleet, &["?"]), ["x"]);
        assert_eq!(names(&fleet, &["pr*"]), ["ecs-vienna", "ecs-graz"]);
    }

    #[test]
    fn de_duplicated_in_inventory_order() {
        assert_eq!(
            names(&fleet(), &["lab2", "lab", "ecs-vienna", "prod", "lab*"]),
            ["ecs-vienna", "ecs-graz", "lab1", "lab2", "lab3"]
        );
    }

    #[test]
    fn all_selects_everything() {
        let fleet = fleet();
        assert_eq!(fleet.select(&[], true).unwrap().len(), 6);
    }

    #[test]
    fn nothing_selected_lists_what_exists() {
        assert_eq!(
            error(&fleet(), &[]),
            "no hosts selected: name hosts, groups or globs, or select all; \
             hosts: ecs-vienna, ecs-graz, lab1, lab2, lab3, x; groups: empty, lab, prod"
        );
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_even_beside_others() {
        assert_eq!(
            error(&fleet(), &["lab1", "foo"]),
            "no host or group matches `foo`; \
             hosts: ecs-vienna, ecs-graz, lab1, lab2, lab3, x; groups: empty, lab, prod"
        );
        assert_eq!(
            error(&fleet(), &["web-*"]),
            "no host or group matches `web-*`; \
             hosts: ecs-vienna, ecs-graz, lab1, lab2, lab3, x; groups: empty, lab, prod"
        );
    }

    #[test]
    fn empty_group_and_empty_inventory() {
        assert_eq!(error(&fleet(), &["empty"]), "group `empty` has no hosts");
        let none = Inventory::empty(Path::new("hosts.yml"));
        assert_eq!(
            error(&none, &["foo"]),
            "no host or group matches `foo`; the inventory has no hosts"
        );
        assert!(none.select(&[], true).unwrap().is_empty());
    }

    #[test]
    fn bad_glob_is_an_error() {
        assert!(error(&fleet(), &["lab[1"]).starts_with("bad pattern `lab[1`: "));
    }
}
