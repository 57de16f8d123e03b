//! ecsfleet-env: the env.yml lifecycle of an ECS appliance, without network.
//!
//! - [`load`]: YAML text to a [`Node`] tree with YAML 1.1 (PyYAML) semantics.
//! - [`flatten`]: the appliance's `flatyaml.py`, byte for byte.
//! - [`check`]: findings with position and key path, never a secret.
//! - [`generate`]: a new env with fresh secrets; [`write_new_file_0600`];
//!   [`dns_records`]: the zone-file lines (A, MX, SPF, DMARC, DKIM) to publish.
//! - [`mask`] and [`diff_masked`]: show changes, not secrets.
//! - [`package`]: an encrypted `.tar.gz.gpg` of the env.
//! - [`paper_pdf`]: the printable paper backup (text and QR codes in the
//!   appliance's data2qrpdf format); [`env_from_qr_lines`] reads it back.
//! - [`seed_iso`]: a cloud-init `cidata` image (a small ISO 9660 + Joliet
//!   writer, [`iso9660`]); [`ssh_public_keys`] and [`key_user_data`] for the
//!   bare seed that accepts the operator's keys.

mod check;
mod cidata;
mod diff;
mod dns;
mod emit;
mod error;
mod file;
mod flatten;
mod generate;
mod iso;
mod loader;
mod mask;
mod node;
mod package;
mod paper;
#[cfg(test)]
mod proptests;
mod python;
mod qr;
mod resolve;
mod schema;
mod secrets;

pub use check::{Finding, Severity, check, has_errors};
pub use cidata::{key_user_data, meta_data, seed_iso, ssh_public_keys};
pub use diff::diff_masked;
pub use dns::{EXAMPLE_ADDRESS, dns_records};
pub use emit::emit;
pub use error::{Error, Result};
pub use file::write_new_file_0600;
pub use flatten::{FlattenOptions, Flattened, flatten, flatten_text, parse_roots};
pub use generate::{GeneratedEnv, PGP_KEYS, TEMPLATE, generate, merge, valid_domain};
pub use iso::{IsoFile, IsoTime, iso9660};
pub use loader::load;
pub use mask::{mask, mask_with_salt};
pub use node::{Date, DateTime, Entry, Node, Pos, Value};
pub use package::{package, package_name, package_plain, plain_package_name};
pub use paper::paper_pdf;
pub use qr::{env_from_qr_lines, qr_payloads};
pub use secrets::{DkimKey, pgp_secret_key, random_base64};
