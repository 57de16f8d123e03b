//! `ecsfleet backup fetch-dump`: duply fetches the latest database dump to a
//! file of ours on the host, it comes down in one stream into a new local
//! file (0600 from birth, written under a temporary name and renamed only
//! once its sha256 matches the host's), and the host's copy goes again.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ecsfleet_playbooks::{RemoteCommand, appliance};
use sha2::{Digest, Sha256};

use crate::args::GlobalArgs;
use crate::cmd::one_host::OneHost;
use crate::error::{Error, Outcome, Result};
use crate::ssh::{Connection, Stream};

/// Where duply puts the dump on the host (ours alone, removed afterwards).
const REMOTE: &str = "/root/ecsfleet-fetch-dump.pgdump.gz";

pub fn run(host: &OneHost, out: &Path, force: bool, global: &GlobalArgs) -> Result<Outcome> {
    if out.exists() && !force {
        return Err(Error::usage(format!(
            "{} exists; pass --force to replace it or --out FILE (nothing was sent)",
            out.display()
        )));
    }
    let partial = partial_path(out);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| {
            Error::usage(format!(
                "cannot create {}: {e} (nothing was sent)",
                partial.display()
            ))
        })?;
    let result = crate::run::runtime().block_on(async {
        let connection = host.connect().await?;
        let result = fetch(host, &connection, file).await;
        // The host's copy goes whatever happened: it is all of ECS's data.
        let _ = connection
            .exec(&host.as_root(remove_remote()).to_shell(), None)
            .await;
        connection.close().await;
        result.map_err(|message| host.error(message))
    });
    let (bytes, digest) = match result {
        Ok(done) => done,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, out).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::io(
            format!("renaming {} to {}", partial.display(), out.display()),
            e,
        )
    })?;
    if global.json {
        println!(
            "{}",
            serde_json::json!({
                "host": host.name,
                "file": out.display().to_string(),
                "bytes": bytes,
                "sha256": digest,
            })
        );
    } else if !global.quiet {
        eprintln!(
            "{}: the latest database dump is in {} ({bytes} bytes, sha256 {digest}, mode 0600)",
            host.name,
            out.display()
        );
    }
    Ok(Outcome::Success)
}

/// `OUT.partial` beside OUT, so the rename stays on one filesystem.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn remove_remote() -> RemoteCommand {
    RemoteCommand::exec("rm", ["-f", REMOTE])
}

/// duply fetch, the host's sha256, the download; returns (bytes, sha256).
async fn fetch(
    host: &OneHost,
    connection: &Connection,
    mut file: File,
) -> std::result::Result<(u64, String), String> {
    let fetch = host.as_root(remove_remote().and(appliance::fetch_dump(REMOTE)));
    let output = connection
        .exec(&fetch.to_shell(), None)
        .await
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        let mut shown = output.stderr.clone();
        if shown.iter().all(u8::is_ascii_whitespace) {
            shown = output.stdout.clone();
        }
        return Err(format!(
            "`{fetch}` failed ({}){}",
            output.status,
            crate::cmd::push_env::ruled(&shown)
        ));
    }
    let sum = host.as_root(appliance::sha256(REMOTE));
    let output = connection
        .exec(&sum.to_shell(), None)
        .await
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = appliance::parse_sha256(&stdout)
        .ok_or_else(|| {
            format!(
                "duply reported success but `{sum}` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?
        .to_owned();
    let cat = host.as_root(RemoteCommand::exec("cat", ["--", REMOTE]));
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut write_error = None;
    let mut stderr = Vec::new();
    let status = connection
        .exec_streaming(&cat.to_shell(), None, &mut |stream, data| match stream {
            Stream::Stdout => {
                hasher.update(data);
                bytes += data.len() as u64;
                if write_error.is_none()
                    && let Err(e) = file.write_all(data)
                {
                    write_error = Some(e);
                }
            }
            Stream::Stderr => stderr.extend_from_slice(data),
        })
        .await
        .map_err(|e| e.to_string())?;
    if let Some(e) = write_error {
        return Err(format!("writing the local file: {e}"));
    }
    if !status.success() {
        return Err(format!(
            "`{cat}` failed ({status}): {}",
            String::from_utf8_lossy(&stderr).trim()
        ));
    }
    file.sync_all()
        .map_err(|e| format!("writing the local file: {e}"))?;
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest != expected {
        return Err(format!(
            "the download does not match the host's file (sha256 {digest}, the host has {expected}); nothing was kept"
        ));
    }
    Ok((bytes, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_paths() {
        assert_eq!(
            remove_remote()
                .and(appliance::fetch_dump(REMOTE))
                .to_shell(),
            "rm -f /root/ecsfleet-fetch-dump.pgdump.gz && duply /root/.duply/appliance-backup fetch ecs-pgdump/ecs.pgdump.gz /root/ecsfleet-fetch-dump.pgdump.gz"
        );
        assert_eq!(
            partial_path(Path::new("/x/lab1-ecs.pgdump.gz")),
            PathBuf::from("/x/lab1-ecs.pgdump.gz.partial")
        );
        assert_eq!(
            partial_path(Path::new("d.gz")),
            PathBuf::from("d.gz.partial")
        );
    }
}
