//! Fresh key material for a new env, made in Rust (no `openssl`, no `gpg`):
//! random base64 secrets, the RSA-2048 DKIM key with its DNS TXT record,
//! and the appliance's OpenPGP secret keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder, SubkeyParamsBuilder};
use pgp::crypto::{hash::HashAlgorithm, sym::SymmetricKeyAlgorithm};
use pgp::types::CompressionAlgorithm;
use rand::RngCore as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::EncodePublicKey as _;

use crate::error::{Error, Result};

/// Bytes of randomness in SECRET_KEY, REGISTRATION_SECRET, PASSWORD_RESET_SECRET
/// (the appliance's `openssl rand -base64 39`: 52 base64 characters).
pub const RANDOM_SECRET_BYTES: usize = 39;

/// `openssl rand -base64 39`.
pub fn random_base64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    BASE64.encode(buf)
}

/// The DKIM signing key and what goes into DNS.
#[derive(Clone)]
pub struct DkimKey {
    /// PKCS#1 PEM, `-----BEGIN RSA PRIVATE KEY-----`, as `openssl genrsa` writes it.
    pub private_pem: String,
    /// Base64 of the DER SubjectPublicKeyInfo (the `p=` of the TXT record).
    pub public_base64: String,
}

impl DkimKey {
    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<DkimKey> {
        let crypto = |message: String| Error::Crypto {
            what: "dkim key",
            message,
        };
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| crypto(e.to_string()))?;
        let private_pem = key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .map_err(|e| crypto(e.to_string()))?
            .to_string();
        let der = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| crypto(e.to_string()))?;
        Ok(DkimKey {
            private_pem,
            public_base64: BASE64.encode(der.as_bytes()),
        })
    }

    /// The TXT record value, as env-create.sh's hint has it:
    /// `v=DKIM1; k=rsa; s=email; p=...`.
    pub fn txt_record(&self) -> String {
        self.txt_strings().concat()
    }

    /// The TXT record as DNS character-strings of at most 255 bytes each:
    /// the tags, then `p=` with the first 250 base64 characters, then the
    /// rest in pieces of 250 (env-template.yml:55-57).
    pub fn txt_strings(&self) -> Vec<String> {
        let key = self.public_base64.as_bytes();
        let mut strings = vec!["v=DKIM1; k=rsa; s=email; ".to_string()];
        for (i, piece) in key.chunks(250).enumerate() {
            // Base64 is ASCII: every chunk is a str.
            let piece = std::str::from_utf8(piece).unwrap_or_default();
            strings.push(if i == 0 {
                format!("p={piece}")
            } else {
                piece.to_string()
            });
        }
        strings
    }
}

/// An ASCII-armored OpenPGP secret key (v4, unprotected) for `owner`: an
/// RSA-2048 primary for certifying and signing, and an RSA-2048 subkey for
/// encryption, with user id `owner <owner>` as the appliance's gpg batch
/// (`Name-Real` and `Name-Email` both set to the owner) makes it.
pub fn pgp_secret_key(owner: &str) -> Result<String> {
    let crypto = |message: String| Error::Crypto {
        what: "openpgp key",
        message,
    };
    let mut encrypt = SubkeyParamsBuilder::default();
    encrypt
        .key_type(KeyType::Rsa(2048))
        .can_encrypt(EncryptionCaps::All);
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Rsa(2048))
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(format!("{owner} <{owner}>"))
        .preferred_symmetric_algorithms(
            vec![SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128].into(),
        )
        .preferred_hash_algorithms(vec![HashAlgorithm::Sha256, HashAlgorithm::Sha512].into())
        .preferred_compression_algorithms(
            vec![CompressionAlgorithm::ZLIB, CompressionAlgorithm::ZIP].into(),
        )
        .subkeys(vec![encrypt.build().map_err(|e| crypto(e.to_string()))?]);
    let key = params
        .build()
        .map_err(|e| crypto(e.to_string()))?
        .generate(rand::rngs::OsRng)
        .map_err(|e| crypto(e.to_string()))?;
    key.to_armored_string(Default::default())
        .map_err(|e| crypto(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dkim_txt_strings_fit_dns_and_join_to_the_record() {
        let key = DkimKey::generate().unwrap();
        let strings = key.txt_strings();
        assert_eq!(strings[0], "v=DKIM1; k=rsa; s=email; ");
        assert!(strings[1].starts_with("p=MIIB"), "{strings:?}");
        // RSA-2048: 392 base64 characters, as "p=" + 250 and 142.
        assert_eq!(
            strings.iter().map(String::len).collect::<Vec<_>>(),
            [25, 252, 142]
        );
        assert!(strings.iter().all(|s| s.len() <= 255));
        assert_eq!(
            key.txt_record(),
            format!("v=DKIM1; k=rsa; s=email; p={}", key.public_base64)
        );
    }

    #[test]
    fn random_secret_is_52_base64_chars() {
        let s = random_base64(RANDOM_SECRET_BYTES);
        assert_eq!(s.len(), 52);
        assert_ne!(s, random_base64(RANDOM_SECRET_BYTES));
    }
}
