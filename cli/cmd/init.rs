//! `ecsfleet init [DIR]`: scaffold a fleet directory — an inventory with
//! commented examples, env/ kept out of git, an empty known_hosts, playbooks/
//! for overrides, and a short README with the next steps.
//!
//! It never overwrites: when any of the files exists it names them and
//! creates nothing (exit 2).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    ecsfleet init myfleet\n  \
    cd myfleet && $EDITOR inventory/hosts.yml && ecsfleet trust --all")]
pub struct InitArgs {
    /// The fleet directory to create or fill
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The scaffold: path inside DIR and content, in creation order.
const FILES: [(&str, &str); 5] = [
    ("inventory/hosts.yml", HOSTS_YML),
    ("env/.gitignore", ENV_GITIGNORE),
    ("known_hosts", ""),
    ("playbooks/README.md", PLAYBOOKS_README),
    ("README.md", README),
];

/// Parses as an empty inventory. The lines under `hosts:` and `groups:` that
/// start with spaces and `# ` are an example that parses too when those two
/// characters are removed (a unit test checks both).
const HOSTS_YML: &str = "\
# The hosts of this fleet. Paths are relative to this file.
# Every key is optional; a host's own keys win over ~/.ssh/config, which wins
# over `defaults:`. Also per host: proxy_jump (another host here, or
# user@host:port) to connect through a jump host.

defaults:
  user: root
  port: 22
  become: false                       # true: run via `sudo -n` (Vagrant boxes)
  # identity: ~/.ssh/ops_ed25519      # else ssh-agent, else ~/.ssh/id_*

known_hosts: ../known_hosts           # `ecsfleet trust` adds host keys here

hosts:
  # ecs-vienna:
  #   address: ecs.example.org        # name or IP; may be a ~/.ssh/config Host alias
  #   port: 22
  #   user: root
  #   become: false
  #   domain: ecs.example.org
  #   env: ../env/ecs.example.org/env.yml   # `ecsfleet env new ecs.example.org`
  #   groups: [production]
  #   vars: {studies_per_month: 100}  # `ecsfleet check` sizes the host for this

groups:
  # production:
  #   vars: {serial: 2}
";

const ENV_GITIGNORE: &str = "\
# env.yml files hold the appliance's secrets: keep them out of git.
*
!.gitignore
";

const PLAYBOOKS_README: &str = "\
A playbook here overrides the stock playbook of the same name (install.yml here replaces ecsfleet's own install).
";

const README: &str = "\
# ECS fleet

This directory is an ecsfleet fleet: run ecsfleet from here.

- `inventory/hosts.yml`: the hosts and groups
- `env/`: one env.yml per appliance (kept out of git)
- `known_hosts`: the host keys ecsfleet trusts
- `playbooks/`: local playbooks, overriding the stock ones by name

Next steps:

1. Add a host to `inventory/hosts.yml` (uncomment the example).
2. `ecsfleet trust HOST`: check and pin its host key.
3. `ecsfleet check HOST --studies 100`: is it big enough?
4. `ecsfleet env new DOMAIN`: its configuration, in `env/DOMAIN/env.yml`.
";

pub fn run(args: InitArgs, global: &GlobalArgs) -> Result<Outcome> {
    let files = scaffold(&args.dir)?;
    if global.json {
        let object = serde_json::json!({
            "dir": args.dir.display().to_string(),
            "files": files,
        });
        println!("{object}");
    } else if !global.quiet {
        println!("Created the fleet directory {}:", args.dir.display());
        for file in &files {
            println!("  {}", args.dir.join(file).display());
        }
        println!("Next: add a host to inventory/hosts.yml, then `ecsfleet trust HOST`.");
    }
    Ok(Outcome::Success)
}

/// Writes the scaffold into `dir`; returns the files created, relative to it.
fn scaffold(dir: &Path) -> Result<Vec<&'static str>> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!(
            "{}: exists and is not a directory",
            dir.display()
        )));
    }
    let existing: Vec<String> = FILES
        .iter()
        .map(|(name, _)| dir.join(name))
        .filter(|path| path.symlink_metadata().is_ok())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Error::usage(format!(
            "{} already exist{}; init never overwrites, nothing was created",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        )));
    }
    for (name, content) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        // create_new: a file that appeared since the check above is not touched.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        file.write_all(content.as_bytes())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    Ok(FILES.iter().map(|(name, _)| *name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsfleet_inventory::Inventory;

    /// The scaffold with its example lines uncommented.
    fn uncommented(text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            match line.trim_start().strip_prefix("# ") {
                Some(rest) if indent > 0 => {
                    out.push_str(&line[..indent]);
                    out.push_str(rest);
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn scaffold_inventory_parses_with_no_hosts() {
        let path = Path::new("/fleet/inventory/hosts.yml");
        let inventory = Inventory::parse(HOSTS_YML, path).unwrap();
        assert!(inventory.hosts.is_empty());
        assert_eq!(
            inventory.known_hosts.as_deref(),
            Some(Path::new("/fleet/inventory/../known_hosts"))
        );
    }

    #[test]
    fn scaffold_example_parses_when_uncommented() {
        let path = Path::new("/fleet/inventory/hosts.yml");
        let text = uncommented(HOSTS_YML);
        let inventory = Inventory::parse(&text, path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let host = inventory.host("ecs-vienna").unwrap();
        assert_eq!(host.address, "ecs.example.org");
        assert_eq!(host.domain.as_deref(), Some("ecs.example.org"));
        assert_eq!(host.groups, ["production"]);
        assert_eq!(host.vars["studies_per_month"], 100);
        assert!(host.identity.is_some());
        assert!(inventory.groups.contains_key("production"));
    }

    #[test]
    fn refuses_to_overwrite_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), "mine").unwrap();
        let error = scaffold(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("README.md already exists"),
            "{error}"
        );
        assert_eq!(error.exit_code(), Outcome::Usage);
        assert!(!dir.path().join("inventory").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
            "mine"
        );
    }
}
