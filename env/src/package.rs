//! `env package`: env.yml in a `.tar.gz`, encrypted to OpenPGP recipients
//! (`DOMAIN.env.DATE.tar.gz.gpg`, readable by `gpg --decrypt`), or plain.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use pgp::composed::{Deserializable as _, MessageBuilder, SignedPublicKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::KeyDetails as _;

use crate::error::{Error, Result};

/// `DOMAIN.env.DATE.tar.gz` (the plain package's file name).
pub fn plain_package_name(domain: &str, date: &str) -> String {
    format!("{domain}.env.{date}.tar.gz")
}

/// `DOMAIN.env.DATE.tar.gz.gpg`.
pub fn package_name(domain: &str, date: &str) -> String {
    format!("{}.gpg", plain_package_name(domain, date))
}

/// A gzipped tar holding `env.yml` (mode 0600), unencrypted.
pub fn package_plain(env_text: &str) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
    let mut header = tar::Header::new_gnu();
    header.set_size(env_text.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "env.yml", env_text.as_bytes())
        .map_err(Error::Archive)?;
    let gz = tar.into_inner().map_err(Error::Archive)?;
    let mut gz_out = gz.finish().map_err(Error::Archive)?;
    gz_out.flush().map_err(Error::Archive)?;
    Ok(gz_out)
}

/// The plain package, encrypted (binary OpenPGP, SEIPD v1, AES-256) to every
/// recipient's encryption key. Recipients are armored public keys. The
/// literal data is named [`plain_package_name`], so
/// `gpg --decrypt --use-embedded-filename` restores the `.tar.gz`.
pub fn package(env_text: &str, domain: &str, date: &str, recipients: &[&str]) -> Result<Vec<u8>> {
    let crypto = |message: String| Error::Crypto {
        what: "package",
        message,
    };
    if recipients.is_empty() {
        return Err(crypto("no recipients: use the plain package".to_string()));
    }
    let mut certs = Vec::new();
    for (i, armored) in recipients.iter().enumerate() {
        let (cert, _) = SignedPublicKey::from_string(armored).map_err(|e| {
            crypto(format!(
                "recipient {}: not an armored public key: {e}",
                i + 1
            ))
        })?;
        certs.push(cert);
    }
    let tar_gz = package_plain(env_text)?;
    let mut rng = rand::rngs::OsRng;
    let mut builder = MessageBuilder::from_bytes(plain_package_name(domain, date), tar_gz)
        .seipd_v1(rng, SymmetricKeyAlgorithm::AES256);
    for (i, cert) in certs.iter().enumerate() {
        let subkey = cert.public_subkeys.iter().find(|k| {
            k.key.algorithm().can_encrypt()
                && k.signatures.iter().any(|s| {
                    let f = s.key_flags();
                    f.encrypt_comms() || f.encrypt_storage()
                })
        });
        match subkey {
            Some(k) => builder.encrypt_to_key(&mut rng, k),
            None if cert.primary_key.algorithm().can_encrypt() => {
                builder.encrypt_to_key(&mut rng, &cert.primary_key)
            }
            None => {
                return Err(crypto(format!(
                    "recipient {}: has no encryption key",
                    i + 1
                )));
            }
        }
        .map_err(|e| crypto(format!("recipient {}: {e}", i + 1)))?;
    }
    builder.to_vec(rng).map_err(|e| crypto(e.to_string()))
}
