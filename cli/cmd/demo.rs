//! `ecsfleet lab demo`: the main job, end to end, on a local lab. Brings up
//! lab hosts and takes them from empty to running ECS appliances with the same
//! commands an operator types, one phase at a time, each shown as it runs.
//!
//! Each phase runs this very binary as a child process, so the demo exercises
//! exactly the command lines it prints, and a failing phase stops the demo
//! with that phase named.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

pub fn run(hosts: u32, first: u32, dir: &Path, global: &GlobalArgs) -> Result<Outcome> {
    let exe =
        std::env::current_exe().map_err(|e| Error::io("cannot find the ecsfleet binary", e))?;
    let dir = absolute(dir)?;
    let inventory = dir.join("inventory/hosts.yml");
    let source = dir.join("ecs-appliance");
    let count = hosts.to_string();
    let first_arg = first.to_string();
    let dir_arg = dir.display().to_string();

    phase(
        global,
        &exe,
        "bring up the lab",
        &[
            "lab", "up", "--hosts", &count, "--first", &first_arg, "--dir", &dir_arg,
        ],
    )?;
    write_appliance_source(&source)?;
    let inv = inventory.display().to_string();
    let src = source.display().to_string();
    phase(
        global,
        &exe,
        "install every host (preflight, packages, appliance tree, salt, highstate)",
        &[
            "-i",
            &inv,
            "install",
            "--all",
            "--yes",
            "--appliance-source",
            &src,
        ],
    )?;
    let names = lab_names(first, hosts);
    for name in &names {
        let domain = format!("{name}.ecs.test");
        let env = dir.join("env").join(&domain).join("env.yml");
        if !env.exists() {
            let out = env.display().to_string();
            phase(
                global,
                &exe,
                &format!("make an env with fresh secrets for {domain}"),
                &["-i", &inv, "env", "new", &domain, "--out", &out],
            )?;
        }
    }
    phase(
        global,
        &exe,
        "upload every env (checked, atomic, 0600)",
        &["-i", &inv, "push-env", "--all", "--yes"],
    )?;
    phase(
        global,
        &exe,
        "activate: create the database, activate the env, reboot, wait until running",
        &["-i", &inv, "activate", "--all", "--yes"],
    )?;
    let first = &names[0];
    let passphrase = dir.join(format!("{first}.admin.passphrase"));
    if !passphrase.exists() {
        let file = passphrase.display().to_string();
        phase(
            global,
            &exe,
            &format!("create the first internal user on {first} (passphrase into a 0600 file)"),
            &[
                "-i",
                &inv,
                "user",
                "create",
                first,
                "admin@ecs.test",
                "Ada",
                "Admin",
                "f",
                "--passphrase-file",
                &file,
            ],
        )?;
    }
    phase(
        global,
        &exe,
        "the fleet's status",
        &["-i", &inv, "status", "--all"],
    )?;
    if !global.quiet {
        eprintln!(
            "\nThe lab stays up: try `ecsfleet -i {inv} status --all`, `ecsfleet -i {inv} update --all`; \
             `ecsfleet lab down --dir {dir_arg}` removes it."
        );
    }
    Ok(Outcome::Success)
}

fn phase(global: &GlobalArgs, exe: &Path, title: &str, args: &[&str]) -> Result<()> {
    if !global.quiet {
        eprintln!("\n==> {title}\n    $ ecsfleet {}", args.join(" "));
    }
    let status = Command::new(exe)
        .args(args)
        .status()
        .map_err(|e| Error::io(format!("cannot run phase `{title}`"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Host {
            host: "lab".into(),
            message: format!(
                "demo phase `{title}` failed ({status}); the lab is left up for a look"
            ),
        })
    }
}

fn lab_names(first: u32, hosts: u32) -> Vec<String> {
    (first..first + hosts.max(1))
        .map(|k| format!("lab{k}"))
        .collect()
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    if dir.is_absolute() {
        return Ok(dir.to_path_buf());
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the current directory", e))?;
    Ok(cwd.join(dir))
}

/// The lab cannot reach the ecs-appliance repository; a minimal tree with the
/// masterless minion config stands in for a local checkout.
fn write_appliance_source(source: &Path) -> Result<()> {
    let minion = source.join("salt/minion");
    if minion.exists() {
        return Ok(());
    }
    let write = |path: &Path, text: &str| -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(path, text)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    };
    write(
        &minion,
        "# masterless minion (lab stand-in for ecs-appliance's salt/minion)\nfile_client: local\nfile_roots:\n  base:\n    - /app/appliance/salt\npillar_roots:\n  base:\n    - /app/appliance/pillar\n",
    )?;
    write(
        &source.join("salt/top.sls"),
        "base:\n  '*':\n    - appliance\n",
    )?;
    write(
        &source.join("pillar/top.sls"),
        "base:\n  '*':\n    - default\n",
    )?;
    write(
        &source.join("README.md"),
        "Lab stand-in for the ecs-appliance repository.\n",
    )
}
