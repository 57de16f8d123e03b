//! cloud-init NoCloud seeds: the `cidata` image with `user-data` and
//! `meta-data`, either an env.yml (the appliance's prepare-env reads it from
//! the drive) or a bare `#cloud-config` that lets a stock Xenial cloud image
//! accept the operator's SSH keys (the manual's first install route).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::{Error, Result};
use crate::iso::{IsoFile, IsoTime, iso9660};

/// Key types a Xenial host's OpenSSH 7.2 accepts by default.
const KEY_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

/// The seed image: volume id `cidata`, files `user-data` and `meta-data`.
pub fn seed_iso(user_data: &[u8], meta_data: &[u8], time: IsoTime) -> Result<Vec<u8>> {
    let files = [
        IsoFile {
            name: "user-data",
            data: user_data,
        },
        IsoFile {
            name: "meta-data",
            data: meta_data,
        },
    ];
    iso9660("cidata", &files, time)
}

/// NoCloud's `meta-data`. Both values must be plain words (a DNS name, an
/// `iid-...`), so no YAML quoting is needed.
pub fn meta_data(instance_id: &str, hostname: &str) -> String {
    format!("instance-id: {instance_id}\nlocal-hostname: {hostname}\n")
}

/// A `#cloud-config` that puts `keys` into the default user's and (with
/// `disable_root: false`) root's authorized_keys, as the appliance's own
/// create-seed-iso.sh does.
pub fn key_user_data(keys: &[String]) -> String {
    let mut text = String::from(
        "#cloud-config\n\
         # ecsfleet cidata: the operator's keys for the default user and root\n\
         ssh_authorized_keys:\n",
    );
    for key in keys {
        // Single-quoted YAML: only `'` needs escaping, by doubling.
        text.push_str(&format!("  - '{}'\n", key.replace('\'', "''")));
    }
    text.push_str("disable_root: false\nssh_pwauth: false\n");
    text
}

/// The OpenSSH public key lines of a `.pub` or authorized_keys-style file
/// (blank and `#` lines skipped). An error names the line and what is
/// wrong, never the line's text: a private key pasted by mistake must not
/// reach the screen.
pub fn ssh_public_keys(text: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: &str| Err(Error::SshKey(format!("line {}: {message}", n + 1)));
        if line.starts_with("-----BEGIN") && line.contains("PRIVATE KEY") {
            return fail(
                "this is a PRIVATE key; pass its public half (the .pub file, \
                 or `ssh-keygen -y -f KEY > KEY.pub`)",
            );
        }
        if line.starts_with("---- BEGIN SSH2 PUBLIC KEY") {
            return fail("an RFC 4716 (SSH2) public key; convert it with `ssh-keygen -i -f FILE`");
        }
        if line.chars().any(char::is_control) {
            return fail("the line holds a control character");
        }
        let mut fields = line.split_whitespace();
        let kind = fields.next().unwrap_or_default();
        if kind == "ssh-dss" {
            return fail(
                "a DSA (ssh-dss) key, which OpenSSH 7.0 and later refuse; \
                 use an ed25519 or RSA key",
            );
        }
        if !KEY_TYPES.contains(&kind) {
            return fail(&format!(
                "expected an OpenSSH public key `TYPE BASE64 [COMMENT]` with TYPE one of {} \
                 (authorized_keys options are not accepted here)",
                KEY_TYPES.join(", ")
            ));
        }
        let Some(data) = fields.next() else {
            return fail(&format!("{kind}: the key data is missing"));
        };
        let Ok(blob) = BASE64.decode(data) else {
            return fail(&format!("{kind}: the key data is not valid base64"));
        };
        match blob_type(&blob) {
            Some(inner) if inner == kind.as_bytes() => {}
            Some(inner) if KEY_TYPES.iter().any(|t| t.as_bytes() == inner) => {
                return fail(&format!(
                    "the line says {kind} but its key data is a {} key",
                    String::from_utf8_lossy(inner)
                ));
            }
            _ => return fail(&format!("{kind}: the key data is not an SSH public key")),
        }
        keys.push(line.to_string());
    }
    if keys.is_empty() {
        return Err(Error::SshKey(
            "no public key in the file (only blank or comment lines); expected a line \
             such as `ssh-ed25519 AAAA... you@host`"
                .to_string(),
        ));
    }
    Ok(keys)
}

/// The key type string that opens an SSH public key blob (RFC 4253 6.6).
fn blob_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let kind = blob.get(4..4 + len)?;
    // A blob holds more than its type: the key itself follows.
    (blob.len() > 4 + len).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed25519(comment: &str) -> String {
        let mut blob = Vec::new();
        blob.extend(11u32.to_be_bytes());
        blob.extend(b"ssh-ed25519");
        blob.extend(32u32.to_be_bytes());
        blob.extend([7u8; 32]);
        format!("ssh-ed25519 {} {comment}", BASE64.encode(blob))
    }

    #[test]
    fn keys_are_read_and_comments_skipped() {
        let text = format!("# ops\n\n{}\n  {}  \n", ed25519("a@b"), ed25519("it's me"));
        let keys = ssh_public_keys(&text).unwrap();
        assert_eq!(keys, [ed25519("a@b"), ed25519("it's me")]);
        let user_data = key_user_data(&keys);
        assert!(user_data.starts_with("#cloud-config\n"));
        assert!(user_data.contains(&format!("  - '{}'\n", ed25519("it''s me"))));
        assert!(user_data.contains("disable_root: false\n"));
        // What cloud-init will read: the keys, unchanged, and the flag.
        assert_eq!(
            crate::load(&user_data)
                .unwrap()
                .at("disable_root")
                .map(|n| &n.value),
            Some(&crate::Value::Bool(false))
        );
        let doc = crate::load(&user_data).unwrap();
        let Some(crate::Value::Seq(listed)) = doc.at("ssh_authorized_keys").map(|n| &n.value)
        else {
            panic!("ssh_authorized_keys is not a list");
        };
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].as_str(), Some(ed25519("it's me").as_str()));
        let meta = crate::load(&meta_data("iid-0123", "ecs.example.org")).unwrap();
        assert_eq!(
            meta.at("local-hostname").and_then(|n| n.as_str()),
            Some("ecs.example.org")
        );
    }

    #[test]
    fn each_kind_of_wrong_file_has_its_message() {
        let message = |text: &str| ssh_public_keys(text).unwrap_err().to_string();
        assert_eq!(
            message("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"),
            "line 1: this is a PRIVATE key; pass its public half (the .pub file, \
             or `ssh-keygen -y -f KEY > KEY.pub`)"
        );
        assert!(message("\n---- BEGIN SSH2 PUBLIC KEY ----\n").starts_with("line 2: an RFC 4716"));
        assert!(message("ssh-dss AAAA x\n").contains("DSA"));
        assert!(
            message("from=\"x\" ssh-ed25519 AAAA\n").starts_with("line 1: expected an OpenSSH")
        );
        assert_eq!(
            message("ssh-ed25519\n"),
            "line 1: ssh-ed25519: the key data is missing"
        );
        assert_eq!(
            message("ssh-ed25519 not*base64\n"),
            "line 1: ssh-ed25519: the key data is not valid base64"
        );
        let swapped = ed25519("x").replacen("ssh-ed25519", "ssh-rsa", 1);
        assert_eq!(
            message(&swapped),
            "line 1: the line says ssh-rsa but its key data is a ssh-ed25519 key"
        );
        assert_eq!(
            message("ssh-rsa AAAA\n"),
            "line 1: ssh-rsa: the key data is not an SSH public key"
        );
        assert!(message("# nothing\n\n").starts_with("no public key in the file"));
    }

    #[test]
    fn a_message_never_quotes_the_line() {
        let secret = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";
        let e = ssh_public_keys(&format!("{secret} ssh-ed25519\n")).unwrap_err();
        assert!(!e.to_string().contains(secret));
    }
}
