//! [`Facts`]: what a host reports about itself before a run, parsed from the
//! `KEY=value` lines that [`crate::appliance::facts`] prints, plus the facts
//! derived from them (`os`, `memory_mb`, sizes in GiB). Playbooks test facts
//! in `requires:` and `check:` steps and read them in templates as
//! `facts.NAME` (numbers as numbers, `true`/`false` as booleans).

use std::collections::BTreeMap;

/// A host's facts by name, values as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    values: BTreeMap<String, String>,
}

/// Sizes reported in KiB that also get a `_mb` and a `_gb` fact.
const KIB_FACTS: &[&str] = &[
    "memory",
    "disk_root",
    "disk_root_free",
    "disk_data",
    "disk_data_free",
    "disk_volatile",
    "disk_volatile_free",
];

impl Facts {
    /// Facts from the output of [`crate::appliance::facts`]; lines without
    /// `=` are ignored, a later line wins.
    pub fn parse(output: &str) -> Facts {
        let values = output
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        let mut facts = Facts { values };
        facts.derive();
        facts
    }

    /// Facts given directly (tests, `--plan` without a host).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Facts {
        let mut facts = Facts {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        };
        facts.derive();
        facts
    }

    fn derive(&mut self) {
        if !self.values.contains_key("os")
            && let (Some(id), Some(version)) = (self.get("os_id"), self.get("os_version"))
        {
            let os = format!("{id}-{version}");
            self.values.insert("os".to_owned(), os);
        }
        for name in KIB_FACTS {
            let Some(kib) = self.number(&format!("{name}_kb")) else {
                continue;
            };
            let kib = kib as u64;
            self.values
                .entry(format!("{name}_mb"))
                .or_insert_with(|| (kib / 1024).to_string());
            self.values
                .entry(format!("{name}_gb"))
                .or_insert_with(|| (kib / (1024 * 1024)).to_string());
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A fact read as a number.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name)?.parse().ok()
    }

    /// The kernel's boot id: it changes across a reboot.
    pub fn boot_id(&self) -> Option<&str> {
        self.get("boot_id").filter(|id| !id.is_empty())
    }

    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The facts for templates: integers as numbers, `true`/`false` as
    /// booleans, the rest as strings.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.values
            .iter()
            .map(|(k, v)| {
                let value = if let Ok(i) = v.parse::<i64>() {
                    serde_json::Value::from(i)
                } else if v == "true" || v == "false" {
                    serde_json::Value::Bool(v == "true")
                } else {
                    serde_json::Value::String(v.clone())
                };
                (k.clone(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_derives() {
        let facts = Facts::parse(
            "os_id=ubuntu\nos_version=16.04\ncores=2\nmemory_kb=4046848\n\
             disk_root_kb=52428800\nsalt_call=false\nnoise\nboot_id=abc\n",
        );
        assert_eq!(facts.get("os"), Some("ubuntu-16.04"));
        assert_eq!(facts.get("memory_mb"), Some("3952"));
        assert_eq!(facts.get("memory_gb"), Some("3"));
        assert_eq!(facts.get("disk_root_gb"), Some("50"));
        assert_eq!(facts.boot_id(), Some("abc"));
        let json = facts.to_json();
        assert_eq!(json["cores"], serde_json::json!(2));
        assert_eq!(json["salt_call"], serde_json::json!(false));
        assert_eq!(json["os"], serde_json::json!("ubuntu-16.04"));
    }
}
