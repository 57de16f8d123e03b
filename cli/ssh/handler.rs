//! The russh client handler: a thin adapter that asks the known-hosts store
//! whether the server's key is trusted and remembers the verdict, so the
//! connect code can explain a refusal with both keys.

use std::sync::{Arc, Mutex};

use ecsfleet_inventory::{HostKey, KnownHosts, Verdict};
use russh::keys::{PublicKey, PublicKeyBase64};

/// What the handler saw: the presented key and the store's verdict on it.
pub type SeenKey = Arc<Mutex<Option<(HostKey, Verdict)>>>;

pub struct Client {
    pub known_hosts: Arc<KnownHosts>,
    pub host: String,
    pub port: u16,
    pub seen: SeenKey,
    /// `ecsfleet trust` only fetches the key: it never proceeds past the check.
    pub fetch_only: bool,
}

impl Client {
    /// A handler for `target`, and the slot where it leaves what it saw.
    pub fn new(
        known_hosts: Arc<KnownHosts>,
        target: &super::Target,
        fetch_only: bool,
    ) -> (Client, SeenKey) {
        let seen = Arc::new(Mutex::new(None));
        let client = Client {
            known_hosts,
            host: target.address.clone(),
            port: target.port,
            seen: seen.clone(),
            fetch_only,
        };
        (client, seen)
    }
}

pub fn host_key(key: &PublicKey) -> HostKey {
    HostKey::new(key.algorithm().as_str(), key.public_key_bytes())
}

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        presented: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Host certificates are not trusted here: only pinned plain keys are.
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = presented else {
            return Ok(false);
        };
        let key = host_key(key);
        let verdict = self.known_hosts.check(&self.host, self.port, &key);
        let trusted = matches!(verdict, Verdict::Trusted) && !self.fetch_only;
        *self.seen.lock().expect("host key slot") = Some((key, verdict));
        Ok(trusted)
    }
}
