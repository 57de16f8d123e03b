//! `ecsfleet cidata`: the bare cloud-init seed image (volume id `cidata`)
//! that lets a stock Ubuntu 16.04 cloud image accept the operator's SSH
//! keys for its default user and root: the manual's first install route.
//! The keys are public, so the image is not secret; it is written 0600
//! all the same, like every image this tool writes.

use std::path::PathBuf;

use clap::Args;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  \
    ecsfleet cidata --key ~/.ssh/id_ed25519.pub --out seed.iso --hostname ecs-vienna\n  \
    qemu-system-x86_64 -m 4096 -drive file=xenial.img -cdrom seed.iso   # then ssh root@...\n\n\
    For a seed that also carries the appliance's env.yml: `ecsfleet env package FILE --cidata`.")]
pub struct CidataArgs {
    /// A file with the OpenSSH public key(s) to accept (`ssh-ed25519 AAAA...
    /// comment`, one a line; a .pub file or an authorized_keys without options)
    #[arg(long, value_name = "PUBKEY")]
    pub key: PathBuf,
    /// Where to write the image
    #[arg(long, value_name = "FILE", default_value = "seed.iso")]
    pub out: PathBuf,
    /// The host name cloud-init gives the machine (meta-data local-hostname)
    #[arg(long, value_name = "NAME", default_value = "ubuntu-xenial")]
    pub hostname: String,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: CidataArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !ecsfleet_env::valid_domain(&args.hostname) {
        return Err(Error::usage(format!(
            "--hostname {:?}: expected a host or DNS name (letters, digits, '-', '.')",
            args.hostname
        )));
    }
    let bytes = std::fs::read(&args.key)
        .map_err(|e| Error::usage(format!("--key {}: {e}", args.key.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "--key {}: not a text file; expected an OpenSSH public key line \
             such as `ssh-ed25519 AAAA... you@host`",
            args.key.display()
        ))
    })?;
    let keys = ecsfleet_env::ssh_public_keys(&text)
        .map_err(|e| Error::usage(format!("--key {}: {e}", args.key.display())))?;
    let user_data = ecsfleet_env::key_user_data(&keys);
    let instance_id = format!("iid-{:016x}", rand::random::<u64>());
    let meta_data = ecsfleet_env::meta_data(&instance_id, &args.hostname);
    let image = ecsfleet_env::seed_iso(user_data.as_bytes(), meta_data.as_bytes(), iso_time_now())
        .map_err(|e| Error::usage(format!("{}: {e}", args.out.display())))?;
    ecsfleet_env::write_new_file_0600(&args.out, &image, args.force).map_err(|e| match e {
        ecsfleet_env::Error::Io { path, source } => Error::io(path.display().to_string(), source),
        other => Error::usage(other.to_string()),
    })?;
    if global.json {
        let line = serde_json::json!({
            "path": args.out.display().to_string(),
            "keys": keys.len(),
            "hostname": args.hostname,
            "instance_id": instance_id,
        });
        println!("{line}");
    } else if !global.quiet {
        println!(
            "{} (cloud-init seed: {} key(s) for the default user and root, host name {})",
            args.out.display(),
            keys.len(),
            args.hostname
        );
    }
    Ok(Outcome::Success)
}

/// Now, in UTC, for the image's time stamps.
pub fn iso_time_now() -> ecsfleet_env::IsoTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = crate::report::civil_from_days((secs / 86_400) as i64);
    let rest = secs % 86_400;
    ecsfleet_env::IsoTime {
        year: year.clamp(1900, 2155) as u16,
        month: month as u8,
        day: day as u8,
        hour: (rest / 3600) as u8,
        minute: (rest / 60 % 60) as u8,
        second: (rest % 60) as u8,
    }
}
