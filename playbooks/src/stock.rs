//! The stock playbooks (playbooks/stock/*.yml), embedded in the binary.
//! A fleet overrides one by putting `playbooks/NAME.yml` in its directory
//! (see [`crate::Playbook::resolve`]).

use std::path::PathBuf;

const STOCK: &[(&str, &str)] = &[
    ("install", include_str!("../stock/install.yml")),
    ("activate", include_str!("../stock/activate.yml")),
    ("push-env", include_str!("../stock/push-env.yml")),
    ("update", include_str!("../stock/update.yml")),
    ("status", include_str!("../stock/status.yml")),
    ("start", include_str!("../stock/start.yml")),
    ("stop", include_str!("../stock/stop.yml")),
    ("restart", include_str!("../stock/restart.yml")),
    ("recover", include_str!("../stock/recover.yml")),
    ("db-recreate", include_str!("../stock/db-recreate.yml")),
    ("restore", include_str!("../stock/restore.yml")),
    ("bench", include_str!("../stock/bench.yml")),
];

/// The text of the stock playbook `name`.
pub fn get(name: &str) -> Option<&'static str> {
    STOCK
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The stock playbooks' names, in lifecycle order.
pub fn list() -> Vec<&'static str> {
    STOCK.iter().map(|(n, _)| *n).collect()
}

/// How a stock playbook is named in messages.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(format!("stock/{name}.yml"))
}
