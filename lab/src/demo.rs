//! `ecsfleet-lab demo`: the main job, end to end, on the twin. Brings up
//! twin hosts and takes them from empty to running ECS appliances with the
//! same `ecsfleet` commands an operator types, one phase at a time, each
//! shown as it runs; a failing phase stops the demo with that phase named.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::appliance;
use crate::error::{Error, Result};
use crate::twin_host::DOMAIN;

/// The operator's binary: beside this one (cargo builds both into one directory).
pub fn ecsfleet_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().map_err(|e| Error::io("cannot find ecsfleet-lab", e))?;
    let ecsfleet = me.with_file_name("ecsfleet");
    if ecsfleet.exists() {
        Ok(ecsfleet)
    } else {
        Err(Error::Usage(format!(
            "no ecsfleet binary at {} (build it: cargo build --bins)",
            ecsfleet.display()
        )))
    }
}

pub fn run(hosts: u32, first: u32, dir: &Path, quiet: bool) -> Result<()> {
    let ecsfleet = ecsfleet_binary()?;
    let me = std::env::current_exe().map_err(|e| Error::io("cannot find ecsfleet-lab", e))?;
    let dir = std::path::absolute(dir).map_err(|e| Error::io("resolving --dir", e))?;
    let dir_arg = dir.display().to_string();
    let (count, first_arg) = (hosts.to_string(), first.to_string());
    phase(
        quiet,
        &me,
        "ecsfleet-lab",
        "bring up the twin hosts (real systemd, sshd, PostgreSQL)",
        &[
            "up", "--hosts", &count, "--first", &first_arg, "--dir", &dir_arg,
        ],
    )?;
    let source = dir.join("ecs-appliance");
    appliance::clone(&source, false)?;
    let inv = dir.join("inventory/hosts.yml").display().to_string();
    let src = source.display().to_string();
    phase(
        quiet,
        &ecsfleet,
        "ecsfleet",
        "install the real ecs-appliance on every host (preflight, packages, appliance tree, salt, highstate)",
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
    let names: Vec<String> = (first..first + hosts).map(|k| format!("lab{k}")).collect();
    for name in &names {
        let domain = format!("{name}.{DOMAIN}");
        let env = dir.join("env").join(&domain).join("env.yml");
        if !env.exists() {
            let out = env.display().to_string();
            phase(
                quiet,
                &ecsfleet,
                "ecsfleet",
                &format!("make an env with fresh secrets for {domain}"),
                &["-i", &inv, "env", "new", &domain, "--out", &out],
            )?;
        }
    }
    phase(
        quiet,
        &ecsfleet,
        "ecsfleet",
        "upload every env (checked, atomic, 0600)",
        &["-i", &inv, "push-env", "--all", "--yes"],
    )?;
    phase(
        quiet,
        &ecsfleet,
        "ecsfleet",
        "activate: create the database, activate the env, reboot, wait until running",
        &["-i", &inv, "activate", "--all", "--yes"],
    )?;
    let first_host = &names[0];
    let passphrase = dir.join(format!("{first_host}.admin.passphrase"));
    if !passphrase.exists() {
        let file = passphrase.display().to_string();
        phase(
            quiet,
            &ecsfleet,
            "ecsfleet",
            &format!(
                "create the first internal user on {first_host} (passphrase into a 0600 file)"
            ),
            &[
                "-i",
                &inv,
                "user",
                "create",
                first_host,
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
        quiet,
        &ecsfleet,
        "ecsfleet",
        "the fleet's status",
        &["-i", &inv, "status", "--all"],
    )?;
    if !quiet {
        eprintln!(
            "\nThe twin stays up: try `ecsfleet -i {inv} status --all`, `ecsfleet -i {inv} update --all`; \
             `ecsfleet-lab down --dir {dir_arg}` removes it."
        );
    }
    Ok(())
}

fn phase(quiet: bool, exe: &Path, shown: &str, title: &str, args: &[&str]) -> Result<()> {
    if !quiet {
        eprintln!("\n==> {title}\n    $ {shown} {}", args.join(" "));
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
                "demo phase `{title}` failed ({status}); the twin is left up for a look"
            ),
        })
    }
}
