//! `ecsfleet trust`: trust on first use, made explicit. Fetches each host's
//! key without authenticating, shows its fingerprint, asks, and pins it in
//! the inventory's known_hosts. A changed or revoked key is never replaced
//! here: the operator removes the old line on purpose.

use std::io::IsTerminal;

use ecsfleet_inventory::{KnownHosts, Verdict};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::{for_each_host, runtime};
use crate::ssh::Connection;

pub fn run(selection: Selection, yes: bool, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&selection)?;
    let options = fleet.ssh_options(global)?;
    let targets = hosts
        .iter()
        .map(|host| fleet.target(host))
        .collect::<Result<Vec<_>>>()?;
    if !yes && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "trust asks before pinning each key and there is no terminal; pass --yes to pin without asking",
        ));
    }
    let fetched = runtime().block_on(for_each_host(targets, 50, move |target| {
        let options = options.clone();
        async move {
            let result = Connection::fetch_host_key(&target, &options).await;
            (target, result)
        }
    }));
    let pin_file = fleet.pin_file();
    let mut failed = false;
    for (target, result) in fetched {
        let host = target.display_address();
        match result {
            Err(error) => {
                failed = true;
                report(
                    global,
                    &target.name,
                    "error",
                    None,
                    Some(&error.to_string()),
                );
            }
            Ok((key, Verdict::Trusted)) => {
                report(
                    global,
                    &target.name,
                    "already trusted",
                    Some(&key.fingerprint()),
                    None,
                );
            }
            Ok((key, Verdict::Changed { known })) => {
                failed = true;
                let known: Vec<String> = known
                    .iter()
                    .map(|(k, file, line)| format!("{k} ({}:{line})", file.display()))
                    .collect();
                report(
                    global,
                    &target.name,
                    "changed",
                    Some(&key.fingerprint()),
                    Some(&format!(
                        "{host} presents {key} but known_hosts has {}; not replacing it: if the host was reinstalled, delete the old line yourself, then run trust again",
                        known.join(", ")
                    )),
                );
            }
            Ok((key, Verdict::Revoked { source, line })) => {
                failed = true;
                report(
                    global,
                    &target.name,
                    "revoked",
                    Some(&key.fingerprint()),
                    Some(&format!("{key} is @revoked in {}:{line}", source.display())),
                );
            }
            Ok((key, Verdict::Unknown)) => {
                let pin = yes
                    || dialoguer::Confirm::new()
                        .with_prompt(format!(
                            "{} ({host}) presents {key}. Trust it?",
                            target.name
                        ))
                        .default(false)
                        .interact()
                        .map_err(|e| Error::usage(e.to_string()))?;
                if pin {
                    KnownHosts::append(&pin_file, &target.address, target.port, &key).map_err(
                        |e| Error::io(format!("cannot write {}", pin_file.display()), e),
                    )?;
                    report(
                        global,
                        &target.name,
                        "pinned",
                        Some(&key.fingerprint()),
                        None,
                    );
                } else {
                    report(
                        global,
                        &target.name,
                        "skipped",
                        Some(&key.fingerprint()),
                        None,
                    );
                }
            }
        }
    }
    Ok(if failed {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}

fn report(
    global: &GlobalArgs,
    host: &str,
    result: &str,
    fingerprint: Option<&str>,
    error: Option<&str>,
) {
    if global.json {
        println!(
            "{}",
            serde_json::json!({"host": host, "result": result, "fingerprint": fingerprint, "error": error})
        );
        return;
    }
    match error {
        Some(error) => eprintln!("error: {host}: {error}"),
        None => {
            if !global.quiet {
                println!("{host}: {result} {}", fingerprint.unwrap_or_default());
            }
        }
    }
}
