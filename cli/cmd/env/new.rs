//! `ecsfleet env new`: a fresh env.yml, created mode 0600 from birth.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{env_error, read_text};
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The installation's domain name (ecs.example.org)
    pub domain: String,
    /// Where to write the env [default: env/DOMAIN/env.yml in the fleet
    /// directory, the parent of the inventory file's directory]
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// A YAML mapping deep-merged over the template (sentry, metric, git,
    /// extra files, update schedule, ...)
    #[arg(long, value_name = "EXTRA.yml")]
    pub extra: Option<PathBuf>,
    /// Replace an existing env (atomically; the old secrets are lost)
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: NewArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !ecsfleet_env::valid_domain(&args.domain) {
        return Err(Error::usage(format!(
            "{:?} is not a domain name: use letters, digits, '-' and '.', like ecs.example.org",
            args.domain
        )));
    }
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| default_path(&global.inventory, &args.domain));
    if path.exists() && !args.force {
        return Err(Error::usage(format!(
            "{}: already exists (use --force to overwrite)",
            path.display()
        )));
    }
    let extra = match &args.extra {
        Some(file) => Some((file, read_text(file)?)),
        None => None,
    };
    let generated = ecsfleet_env::generate(&args.domain, extra.as_ref().map(|(_, t)| t.as_str()))
        .map_err(|e| match &extra {
        Some((file, _)) if matches!(e, ecsfleet_env::Error::Extra(_)) => env_error(file, e),
        _ => Error::usage(e.to_string()),
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(dir.display().to_string(), e))?;
    }
    ecsfleet_env::write_new_file_0600(&path, generated.text().as_bytes(), args.force)
        .map_err(|e| env_error(&path, e))?;

    if global.json {
        let line = serde_json::json!({
            "path": path.display().to_string(),
            "domain": args.domain,
            "dkim_txt": generated.dkim_txt(),
        });
        println!("{line}");
    } else if !global.quiet {
        println!("{}", path.display());
        println!();
        // Zone-file lines (the DKIM TXT split into strings of <= 255
        // characters), so they load as they are.
        println!("DNS records for the zone (replace 192.0.2.1 with the host's address):");
        for line in generated.dns_records().lines() {
            println!("  {line}");
        }
        println!();
        println!("The file holds every secret of this installation (mode 0600). Next:");
        println!("  ecsfleet env check {}", path.display());
        println!(
            "  ecsfleet env package {} --recipient KEY.asc",
            path.display()
        );
    }
    Ok(Outcome::Success)
}

/// `FLEET/env/DOMAIN/env.yml` for an inventory at `FLEET/inventory/hosts.yml`.
fn default_path(inventory: &Path, domain: &str) -> PathBuf {
    let fleet = inventory
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    fleet.join("env").join(domain).join("env.yml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_beside_the_inventory_directory() {
        let at = |inv: &str| default_path(Path::new(inv), "ecs.example.org");
        assert_eq!(
            at("fleet/inventory/hosts.yml"),
            Path::new("fleet/env/ecs.example.org/env.yml")
        );
        assert_eq!(
            at("inventory/hosts.yml"),
            Path::new("env/ecs.example.org/env.yml")
        );
        assert_eq!(
            at("/srv/fleet/inventory/hosts.yml"),
            Path::new("/srv/fleet/env/ecs.example.org/env.yml")
        );
        assert_eq!(at("hosts.yml"), Path::new("env/ecs.example.org/env.yml"));
    }
}
