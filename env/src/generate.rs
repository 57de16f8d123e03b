//! `env new`: a fresh env.yml for a domain, rendered from
//! `env/template/env.yml.j2` (minijinja, strict undefined) with secrets made
//! in Rust, optionally with operator values deep-merged over it.

use minijinja::{Environment, UndefinedBehavior};

use crate::dns::{dns_records, header_hint};
use crate::emit::emit;
use crate::error::{Error, Result};
use crate::loader::load;
use crate::node::{Node, Value};
use crate::secrets::{DkimKey, RANDOM_SECRET_BYTES, pgp_secret_key, random_base64};

/// The env template shipped with ecsfleet.
pub const TEMPLATE: &str = include_str!("../template/env.yml.j2");

/// Why the header line is there (no appliance code reads it).
const HEADER_NOTE: &str = "# keep \"#cloud-config\" as the first line: cloud-init reads the file as user-data\n\
                           # (a cidata seed) only with it; the appliance itself does not need it\n";

/// A generated env and the secrets it holds.
#[derive(Clone)]
pub struct GeneratedEnv {
    text: String,
    dkim_txt: String,
    dns_records: String,
    secrets: Vec<String>,
}

impl std::fmt::Debug for GeneratedEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedEnv")
            .field("text", &"<secret>")
            .field("dkim_txt", &self.dkim_txt)
            .finish()
    }
}

impl GeneratedEnv {
    /// The env.yml text (write it with [`crate::write_new_file_0600`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The DKIM DNS TXT record value, `v=DKIM1; k=rsa; s=email; p=...`
    /// (public; safe to print). Longer than one DNS character-string: in a
    /// zone file use [`GeneratedEnv::dns_records`].
    pub fn dkim_txt(&self) -> &str {
        &self.dkim_txt
    }

    /// Zone-file lines for the domain: A, MX, SPF, DMARC and the DKIM key
    /// split into strings of at most 255 bytes (public; safe to print). The
    /// env's header holds the same lines as comments.
    pub fn dns_records(&self) -> &str {
        &self.dns_records
    }

    /// Every secret value placed in the env: the three random settings
    /// secrets, the DKIM private key PEM and the three armored PGP keys.
    pub fn secrets(&self) -> Vec<String> {
        self.secrets.clone()
    }
}

/// The owners of the three OpenPGP keys, and where each one goes.
pub const PGP_KEYS: [(&str, &str); 3] = [
    ("ecs_backup", "appliance.backup.encrypt"),
    ("ecs_mediaserver", "ecs.vault_encrypt"),
    ("ecs_authority", "ecs.vault_sign"),
];

/// A domain name we are willing to write into YAML and Python unquoted.
pub fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && domain.chars().any(|c| c.is_ascii_alphabetic())
}

/// Render a new env for `domain`. `extra` is YAML text of a mapping that is
/// deep-merged over the result (mappings merge key by key; anything else
/// replaces); the merged file is re-emitted, so template comments other
/// than the header and DNS hint are dropped in that case.
pub fn generate(domain: &str, extra: Option<&str>) -> Result<GeneratedEnv> {
    if !valid_domain(domain) {
        return Err(Error::Template(
            "the domain must be a DNS name (letters, digits, '-', '.')".to_string(),
        ));
    }
    let extra = match extra {
        Some(text) => {
            let node = load(text).map_err(|e| Error::Extra(e.to_string()))?;
            match node.value {
                Value::Map(_) => Some(node),
                Value::Null => None,
                ref other => {
                    return Err(Error::Extra(format!(
                        "expected a mapping, found {}",
                        other.kind()
                    )));
                }
            }
        }
        None => None,
    };

    let secret_key = random_base64(RANDOM_SECRET_BYTES);
    let registration_secret = random_base64(RANDOM_SECRET_BYTES);
    let password_reset_secret = random_base64(RANDOM_SECRET_BYTES);
    // Key generation is the slow part: one thread per key.
    let (dkim, pgp) = std::thread::scope(|s| {
        let dkim = s.spawn(DkimKey::generate);
        let pgp: Vec<_> = PGP_KEYS
            .iter()
            .map(|(owner, _)| s.spawn(move || pgp_secret_key(owner)))
            .collect();
        let pgp: Vec<Result<String>> = pgp
            .into_iter()
            .map(|h| h.join().expect("key generation thread panicked"))
            .collect();
        (dkim.join().expect("key generation thread panicked"), pgp)
    });
    let dkim = dkim?;
    let pgp = pgp.into_iter().collect::<Result<Vec<String>>>()?;

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("env.yml.j2", TEMPLATE)
        .map_err(|e| Error::Template(e.to_string()))?;
    let records = dns_records(domain, &dkim);
    let dns_hint = header_hint(&records, &dkim);
    let ctx = minijinja::context! {
        domain => domain,
        dkim_key => dkim.private_pem.as_str(),
        dns_hint => dns_hint.trim_end(),
        secret_key => secret_key.as_str(),
        registration_secret => registration_secret.as_str(),
        password_reset_secret => password_reset_secret.as_str(),
        backup_key => pgp[0].as_str(),
        vault_encrypt_key => pgp[1].as_str(),
        vault_sign_key => pgp[2].as_str(),
    };
    let mut text = env
        .get_template("env.yml.j2")
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error::Template(e.to_string()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }

    if let Some(extra) = extra {
        let mut tree = load(&text).map_err(|e| Error::Template(e.to_string()))?;
        merge(&mut tree, &extra);
        text = format!(
            "#cloud-config\n{HEADER_NOTE}\
             # env.yml for {domain}, made by `ecsfleet env new` with --extra values merged\n\
             # DNS records (replace 192.0.2.1 with the host's address):\n{dns_hint}{}",
            emit(&tree)
        );
    }

    let mut secrets = vec![
        secret_key,
        registration_secret,
        password_reset_secret,
        dkim.private_pem.clone(),
    ];
    secrets.extend(pgp);
    Ok(GeneratedEnv {
        text,
        dkim_txt: dkim.txt_record(),
        dns_records: records,
        secrets,
    })
}

/// Deep-merge `over` into `base`: mappings merge by key, the rest replaces.
pub fn merge(base: &mut Node, over: &Node) {
    match (&mut base.value, &over.value) {
        (Value::Map(base_entries), Value::Map(over_entries)) => {
            for entry in over_entries {
                match base_entries
                    .iter_mut()
                    .find(|e| e.key.value.same_key(&entry.key.value))
                {
                    Some(existing) => merge(&mut existing.value, &entry.value),
                    None => base_entries.push(entry.clone()),
                }
            }
        }
        _ => *base = over.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_and_merged_header_say_the_same_about_cloud_config() {
        assert!(TEMPLATE.starts_with(&format!("#cloud-config\n{HEADER_NOTE}")));
    }
}
