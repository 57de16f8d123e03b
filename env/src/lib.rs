//! ecsfleet-env: the env.yml lifecycle of an ECS appliance, without network.
//!
//! - [`load`]: YAML text to a [`Node`] tree with YAML 1.1 (PyYAML) semantics.
//! - [`flatten`]: the appliance's `flatyaml.py`, byte for byte.
//! - [`check`]: findings with position and key path, never a secret.
//! - [`generate`]: a new env with fresh secrets; [`write_new_file_0600`].
//! - [`mask`] and [`diff_masked`]: show changes, not secrets.
//! - [`package`]: an encrypted `.tar.gz.gpg` of the env.

mod check;
mod diff;
mod emit;
mod error;
mod file;
mod flatten;
mod generate;
mod loader;
mod mask;
mod node;
mod package;
mod python;
mod resolve;
mod schema;
mod secrets;

pub use check::{Finding, Severity, check, has_errors};
pub use diff::diff_masked;
pub use emit::emit;
pub use error::{Error, Result};
pub use file::write_new_file_0600;
pub use flatten::{FlattenOptions, Flattened, flatten, flatten_text, parse_roots};
pub use generate::{GeneratedEnv, PGP_KEYS, TEMPLATE, generate, merge, valid_domain};
pub use loader::load;
pub use mask::{mask, mask_with_salt};
pub use node::{Date, DateTime, Entry, Node, Pos, Value};
pub use package::{package, package_name, package_plain, plain_package_name};
pub use secrets::{DkimKey, pgp_secret_key, random_base64};
