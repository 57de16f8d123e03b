//! `ecsfleet copy SELECT LOCAL REMOTE`: one file to many hosts, atomically.

use std::path::PathBuf;
use std::sync::Arc;

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::{for_each_host, runtime};
use crate::ssh::Connection;

pub fn run(
    selection: Selection,
    source: PathBuf,
    dest: String,
    mode: &str,
    owner: Option<String>,
    forks: usize,
    global: &GlobalArgs,
) -> Result<Outcome> {
    let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            Error::usage(format!(
                "--mode `{mode}` is not an octal file mode such as 0644"
            ))
        })?;
    if !dest.starts_with('/') || dest.split('/').any(|part| part == "..") || dest.ends_with('/') {
        return Err(Error::usage(format!(
            "destination `{dest}` must be an absolute file path without `..`"
        )));
    }
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&selection)?;
    let options = fleet.ssh_options(global)?;
    let content = Arc::new(
        std::fs::read(&source)
            .map_err(|e| Error::io(format!("cannot read {}", source.display()), e))?,
    );
    let targets = hosts
        .iter()
        .map(|h| fleet.target(h))
        .collect::<Result<Vec<_>>>()?;
    let dest = Arc::new(dest);
    let shown = dest.clone();
    let owner = Arc::new(owner);
    let results = runtime().block_on(for_each_host(targets, forks, move |target| {
        let (options, content, dest, owner) = (
            options.clone(),
            content.clone(),
            dest.clone(),
            owner.clone(),
        );
        async move {
            let outcome = async {
                let connection = Connection::open(&target, &options).await?;
                let result = connection
                    .upload(&dest, &content, mode, owner.as_deref())
                    .await;
                connection.close().await;
                result
            }
            .await;
            (target.name, outcome.map_err(|e| e.to_string()))
        }
    }));
    let mut failed = false;
    let mut table = crate::report::table(["host", "result"]);
    for (host, outcome) in &results {
        if global.json {
            println!(
                "{}",
                serde_json::json!({"host": host, "ok": outcome.is_ok(), "error": outcome.as_ref().err()})
            );
        }
        match outcome {
            Ok(()) => {
                table.add_row([host.as_str(), "copied"]);
            }
            Err(error) => {
                failed = true;
                eprintln!("error: {host}: copy to {shown}: {error}");
                table.add_row([host.as_str(), "failed"]);
            }
        }
    }
    if !global.json && !global.quiet {
        println!("{table}");
    }
    Ok(if failed {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}
