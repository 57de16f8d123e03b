//! A group: a name hosts list in their `groups:`, with vars for its members.
//!
//! Groups are implicit: a host may name a group that has no entry under the
//! inventory's `groups:`. [`crate::Inventory::groups`] holds every group,
//! defined or only named, so listings and selection see them all.

use std::collections::BTreeMap;

/// A group's settings (its members are the hosts that name it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// Vars every member gets, unless the host sets the same var.
    pub vars: BTreeMap<String, serde_json::Value>,
}
