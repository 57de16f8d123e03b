//! [`Condition`]: one requirement on a fact, as written in a playbook's
//! `requires:` and in `check:` steps, and its verdict against [`Facts`].
//!
//! Forms: `os: ubuntu-16.04` (equal), `os: [ubuntu-16.04, ubuntu-18.04]`
//! (one of), `salt_call: false` (equal, as text), `memory_mb: ">= 3072"`
//! (numeric: `>=`, `>`, `<=`, `<`), `os: "!= debian-9"` and `"== x"`.
//! A fact the host did not report fails every condition on it.

use std::fmt;

use crate::facts::Facts;

#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Equal(String),
    NotEqual(String),
    OneOf(Vec<String>),
    AtLeast(f64),
    Above(f64),
    AtMost(f64),
    Below(f64),
}

/// `FACT OP VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub fact: String,
    pub expected: Expected,
}

/// A condition a host does not meet, with what it has.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmet {
    pub condition: Condition,
    pub actual: Option<String>,
}

impl Condition {
    /// From `fact: text`; `None` for a numeric operator without a number.
    pub fn parse(fact: &str, text: &str) -> Option<Condition> {
        let text = text.trim();
        let numeric = |rest: &str| rest.trim().parse::<f64>().ok();
        let expected = if let Some(rest) = text.strip_prefix(">=") {
            Expected::AtLeast(numeric(rest)?)
        } else if let Some(rest) = text.strip_prefix("<=") {
            Expected::AtMost(numeric(rest)?)
        } else if let Some(rest) = text.strip_prefix("!=") {
            Expected::NotEqual(rest.trim().to_owned())
        } else if let Some(rest) = text.strip_prefix("==") {
            Expected::Equal(rest.trim().to_owned())
        } else if let Some(rest) = text.strip_prefix('>') {
            Expected::Above(numeric(rest)?)
        } else if let Some(rest) = text.strip_prefix('<') {
            Expected::Below(numeric(rest)?)
        } else {
            Expected::Equal(text.to_owned())
        };
        Some(Condition {
            fact: fact.to_owned(),
            expected,
        })
    }

    pub fn one_of(fact: &str, values: Vec<String>) -> Condition {
        Condition {
            fact: fact.to_owned(),
            expected: Expected::OneOf(values),
        }
    }

    /// Whether `facts` meet this condition.
    pub fn check(&self, facts: &Facts) -> Result<(), Unmet> {
        let actual = facts.get(&self.fact);
        let number = actual.and_then(|a| a.trim().parse::<f64>().ok());
        let met = match (&self.expected, actual) {
            (_, None) => false,
            (Expected::Equal(want), Some(a)) => a == want,
            (Expected::NotEqual(want), Some(a)) => a != want,
            (Expected::OneOf(wants), Some(a)) => wants.iter().any(|w| w == a),
            (Expected::AtLeast(n), _) => number.is_some_and(|a| a >= *n),
            (Expected::Above(n), _) => number.is_some_and(|a| a > *n),
            (Expected::AtMost(n), _) => number.is_some_and(|a| a <= *n),
            (Expected::Below(n), _) => number.is_some_and(|a| a < *n),
        };
        if met {
            Ok(())
        } else {
            Err(Unmet {
                condition: self.clone(),
                actual: actual.map(str::to_owned),
            })
        }
    }

    /// Every condition of `conditions` that `facts` do not meet.
    pub fn check_all(conditions: &[Condition], facts: &Facts) -> Vec<Unmet> {
        conditions
            .iter()
            .filter_map(|c| c.check(facts).err())
            .collect()
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Equal(v) => write!(f, "== {v}"),
            Expected::NotEqual(v) => write!(f, "!= {v}"),
            Expected::OneOf(vs) => write!(f, "in [{}]", vs.join(", ")),
            Expected::AtLeast(n) => write!(f, ">= {n}"),
            Expected::Above(n) => write!(f, "> {n}"),
            Expected::AtMost(n) => write!(f, "<= {n}"),
            Expected::Below(n) => write!(f, "< {n}"),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fact, self.expected)
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.actual {
            Some(a) => write!(
                f,
                "{} is {a}, needs {}",
                self.condition.fact, self.condition.expected
            ),
            None => write!(
                f,
                "{} was not reported, needs {}",
                self.condition.fact, self.condition.expected
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts::from_pairs([("os", "ubuntu-16.04"), ("memory_mb", "2000")])
    }

    #[test]
    fn conditions_and_messages() {
        let os = Condition::parse("os", "ubuntu-16.04").unwrap();
        assert!(os.check(&facts()).is_ok());
        let mem = Condition::parse("memory_mb", ">= 3072").unwrap();
        assert_eq!(mem.to_string(), "memory_mb >= 3072");
        assert_eq!(
            mem.check(&facts()).unwrap_err().to_string(),
            "memory_mb is 2000, needs >= 3072"
        );
        let cores = Condition::parse("cores", "> 1").unwrap();
        assert_eq!(
            cores.check(&facts()).unwrap_err().to_string(),
            "cores was not reported, needs > 1"
        );
        let one = Condition::one_of("os", vec!["debian-9".into(), "ubuntu-16.04".into()]);
        assert!(one.check(&facts()).is_ok());
        assert!(Condition::parse("x", ">= many").is_none());
        assert_eq!(Condition::check_all(&[os, mem, cores], &facts()).len(), 2);
    }
}
