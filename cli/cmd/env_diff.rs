//! `ecsfleet env diff HOST`: the host's env from the inventory against
//! /app/env.yml on the host, and against /run/active-env.yml when the host's
//! active env is not its /app/env.yml. Unified diffs of masked text
//! ([`ecsfleet_env::diff_masked`]): a changed secret shows as a changed
//! marker, never as its value.
//!
//! Exit status, as diff(1) has it: 0 when the host's /app/env.yml (and its
//! active env, if there is one) equal the local file, 1 when something
//! differs (or the host cannot be reached: the error says which), 2 when the
//! inventory or the local file is wrong.

use std::io::Write as _;

use ecsfleet_playbooks::appliance;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::runtime;
use crate::ssh::Connection;

use super::push_env::{local_env_path, read_env_text, read_remote};

pub fn diff(host: String, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let selection = Selection {
        patterns: vec![host.clone()],
        all: false,
    };
    let chosen = match fleet.select(&selection)?.as_slice() {
        [one] if one.name == host => *one,
        _ => {
            return Err(Error::usage(format!(
                "`{host}` is not one host of the inventory (name a single host)"
            )));
        }
    };
    let path = local_env_path(chosen, None).map_err(Error::usage)?;
    let local = read_env_text(&path).map_err(Error::usage)?;
    let target = fleet.target(chosen)?;
    let options = fleet.ssh_options(global)?;
    let host_error = |message: String| Error::Host {
        host: host.clone(),
        message,
    };
    let (remote, active) = runtime().block_on(async {
        let connection = Connection::open(&target, &options)
            .await
            .map_err(|e| host_error(e.to_string()))?;
        let remote = read_remote(&connection, appliance::ENV_PATH).await;
        let active = read_remote(&connection, appliance::ACTIVE_ENV_PATH).await;
        connection.close().await;
        match (remote, active) {
            (Ok(remote), Ok(active)) => Ok((remote, active)),
            (Err(e), _) | (_, Err(e)) => Err(host_error(e.to_string())),
        }
    })?;

    let local_label = path.display().to_string();
    let env_label = format!("{host}:{}", appliance::ENV_PATH);
    let active_label = format!("{host}:{}", appliance::ACTIVE_ENV_PATH);
    let mut out = String::new();
    let mut notes = Vec::new();
    let mut same = true;
    match &remote {
        None => {
            same = false;
            notes.push(format!("{env_label} does not exist"));
        }
        Some(bytes) if bytes.as_slice() == local.as_bytes() => {}
        Some(bytes) => {
            same = false;
            out.push_str(&masked_diff(
                &local,
                bytes,
                &local_label,
                &env_label,
                &mut notes,
            ));
        }
    }
    // prepare-env never copies /app/env.yml byte for byte: compare the
    // active env with what it derives (appliance::active_env_from), and
    // diff it without the line it appends.
    let derived_local = appliance::active_env_from(local.as_bytes());
    match &active {
        None => notes.push(format!("{active_label} does not exist (no env is active)")),
        Some(active)
            if remote
                .as_ref()
                .is_some_and(|r| *active == appliance::active_env_from(r)) => {}
        Some(active) => {
            notes.push(format!("{active_label} is not {env_label}"));
            if *active != derived_local {
                same = false;
                let shown = active
                    .strip_suffix(appliance::ACTIVE_SUFFIX)
                    .unwrap_or(active.as_slice());
                let local_trimmed = local.trim_end_matches('\n');
                out.push_str(&masked_diff(
                    local_trimmed,
                    shown,
                    &local_label,
                    &active_label,
                    &mut notes,
                ));
            }
        }
    }
    if global.json {
        let line = serde_json::json!({
            "host": host,
            "local": local_label,
            "env_present": remote.is_some(),
            "env_equal": remote.as_deref() == Some(local.as_bytes()),
            "active_present": active.is_some(),
            "active_equal": active.as_deref() == Some(derived_local.as_slice()),
            "diff": out,
        });
        println!("{line}");
    } else {
        for note in &notes {
            eprintln!("{note}");
        }
        if same && !global.quiet {
            eprintln!("{host}: {} equals {local_label}", appliance::ENV_PATH);
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(out.as_bytes())
            .and_then(|()| stdout.flush());
    }
    Ok(if same {
        Outcome::Success
    } else {
        Outcome::HostFailed
    })
}

/// Local (left) against a remote text (right), masked.
fn masked_diff(
    local: &str,
    remote: &[u8],
    local_label: &str,
    remote_label: &str,
    notes: &mut Vec<String>,
) -> String {
    let remote = String::from_utf8_lossy(remote);
    let diff = ecsfleet_env::diff_masked(local, &remote, local_label, remote_label);
    if diff.is_empty() {
        notes.push(format!(
            "{remote_label} differs from {local_label} in bytes the masked diff cannot show"
        ));
    }
    diff
}
