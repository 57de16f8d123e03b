//! ecsfleet's playbooks, the pure half of the playbook engine: YAML
//! playbooks ([`Playbook`], [`Step`]) rendered for one host
//! ([`render`], [`RenderContext`]) into a [`Plan`] of concrete actions whose
//! commands are data ([`RemoteCommand`]). This crate has no transport on
//! purpose: cargo then checks that building a command never runs one.
//!
//! The executor (in the binary) gathers [`Facts`] with [`appliance::facts`],
//! renders, and walks the plan's [`Action`]s over SSH.

pub mod appliance;
mod condition;
pub mod django_shell;
mod error;
mod facts;
mod paths;
mod plan;
mod playbook;
#[cfg(test)]
mod proptests;
mod quote;
mod remote_command;
mod render;
pub mod session;
mod step;
pub mod stock;
pub mod transfer;
mod yaml;

pub use condition::{Condition, Expected, Unmet};
pub use error::{PlaybookError, QuoteError, RenderError};
pub use facts::Facts;
pub use plan::{Action, Plan, PlannedStep, UploadSource, WaitOutcome, WaitUntil};
pub use playbook::Playbook;
pub use quote::{is_bare, quote};
pub use remote_command::{Arg, Body, Op, RemoteCommand, Stdin, Token, any, chain, pipe, sequence};
pub use render::{RenderContext, render};
pub use step::{Step, StepKind, Text, Until, UploadFrom};
