//! Client authentication: the host's identity file (asking for the passphrase
//! of an encrypted key on the terminal), else ssh-agent, else the default keys
//! in ~/.ssh. Records what was tried so a rejection can say so.
//!
//! Keys are read (and an encrypted one's passphrase asked) once per process,
//! not once per host: a run over 50 hosts parses the key file once and asks
//! at most one question.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use russh::client::Handle;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};

use super::error::SshError;
use super::handler::Client;
use super::target::Target;

pub async fn authenticate(handle: &mut Handle<Client>, target: &Target) -> Result<(), SshError> {
    let mut tried = Vec::new();
    let mut accepts = String::from("unknown");
    let mut rsa_hash = RsaHash::Unknown;

    let keys: Vec<PathBuf> = match &target.identity {
        Some(path) => vec![path.clone()],
        None => Vec::new(),
    };
    for path in &keys {
        let key = cached_key(path)?;
        tried.push(format!("key {}", path.display()));
        if try_key(handle, target, key, &mut rsa_hash, &mut accepts).await? {
            return Ok(());
        }
    }
    if target.identity.is_none() {
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
            let identities = agent.request_identities().await.unwrap_or_default();
            for identity in identities {
                let public = identity.public_key().into_owned();
                tried.push(format!("agent key {}", public.fingerprint(HashAlg::Sha256)));
                let hash = if public.algorithm().is_rsa() {
                    rsa_hash.get(handle).await
                } else {
                    None
                };
                match handle
                    .authenticate_publickey_with(&target.user, public, hash, &mut agent)
                    .await
                {
                    Ok(result) if result.success() => return Ok(()),
                    Ok(russh::client::AuthResult::Failure {
                        remaining_methods, ..
                    }) => accepts = methods(&remaining_methods),
                    _ => {}
                }
            }
        }
        if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = home.join(".ssh").join(name);
                if !path.exists() {
                    continue;
                }
                let key = match cached_key(&path) {
                    Ok(key) => key,
                    Err(error) => {
                        tracing::info!("skipping {}: {error}", path.display());
                        continue;
                    }
                };
                tried.push(format!("key {}", path.display()));
                if try_key(handle, target, key, &mut rsa_hash, &mut accepts).await? {
                    return Ok(());
                }
            }
        }
    }
    Err(SshError::AuthRejected {
        user: target.user.clone(),
        host: target.display_address(),
        tried: if tried.is_empty() {
            "nothing (no identity in the inventory, no ssh-agent, no ~/.ssh/id_* key)".into()
        } else {
            tried.join(", ")
        },
        accepts,
    })
}

/// The RSA signature hash the server accepts, asked only when an RSA key is
/// tried: asking waits for the server's EXT_INFO, up to a second on a server
/// that never sends one.
enum RsaHash {
    Unknown,
    Known(Option<HashAlg>),
}

impl RsaHash {
    async fn get(&mut self, handle: &Handle<Client>) -> Option<HashAlg> {
        if let RsaHash::Known(hash) = self {
            return *hash;
        }
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        *self = RsaHash::Known(hash);
        hash
    }
}

async fn try_key(
    handle: &mut Handle<Client>,
    target: &Target,
    key: Arc<PrivateKey>,
    rsa_hash: &mut RsaHash,
    accepts: &mut String,
) -> Result<bool, SshError> {
    let hash = if key.algorithm().is_rsa() {
        rsa_hash.get(handle).await
    } else {
        None
    };
    let result = handle
        .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(|error| SshError::Lost {
            host: target.display_address(),
            message: error.to_string(),
        })?;
    match result {
        russh::client::AuthResult::Success => Ok(true),
        russh::client::AuthResult::Failure {
            remaining_methods, ..
        } => {
            *accepts = methods(&remaining_methods);
            Ok(false)
        }
    }
}

fn methods(set: &russh::MethodSet) -> String {
    let names: Vec<String> = set.iter().map(|m| String::from(<&str>::from(m))).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Keys read so far in this process, by path.
static KEYS: LazyLock<Mutex<HashMap<PathBuf, Arc<PrivateKey>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The key at `path`, read once per process. The lock is held while reading,
/// so hosts connecting at the same moment wait for the one passphrase
/// question instead of each asking it.
fn cached_key(path: &Path) -> Result<Arc<PrivateKey>, SshError> {
    let mut keys = KEYS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(key) = keys.get(path) {
        return Ok(key.clone());
    }
    let key = Arc::new(load_key(path)?);
    keys.insert(path.to_path_buf(), key.clone());
    Ok(key)
}

fn load_key(path: &Path) -> Result<PrivateKey, SshError> {
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            if !std::io::stdin().is_terminal() {
                return Err(SshError::Identity {
                    path: path.to_path_buf(),
                    message: "the key is encrypted and there is no terminal to ask for its passphrase (load it into ssh-agent)".into(),
                });
            }
            let passphrase = dialoguer::Password::new()
                .with_prompt(format!("Passphrase for {}", path.display()))
                .interact()
                .map_err(|error| SshError::Identity {
                    path: path.to_path_buf(),
                    message: error.to_string(),
                })?;
            russh::keys::load_secret_key(path, Some(&passphrase)).map_err(|error| {
                SshError::Identity {
                    path: path.to_path_buf(),
                    message: error.to_string(),
                }
            })
        }
        Err(error) => Err(SshError::Identity {
            path: path.to_path_buf(),
            message: error.to_string(),
        }),
    }
}
