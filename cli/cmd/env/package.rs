//! `ecsfleet env package`: env.yml in `DOMAIN.env.DATE.tar.gz`, encrypted to
//! OpenPGP recipients (`.tar.gz.gpg`), or plain only when asked for.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::PathBuf;

use clap::Args;

use super::{env_error, read_text};
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The env.yml to package
    pub file: PathBuf,
    /// An ASCII-armored OpenPGP public key file (`gpg --armor --export`) to
    /// encrypt to; repeat for several recipients
    #[arg(long = "recipient", short = 'r', value_name = "KEYFILE")]
    pub recipients: Vec<PathBuf>,
    /// Directory to write the package into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Write an UNENCRYPTED .tar.gz (every secret in clear) instead
    #[arg(long, conflicts_with = "recipients")]
    pub plain: bool,
    /// The date in the file name [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Replace an existing package of the same name
    #[arg(long)]
    pub force: bool,
    /// Also write DOMAIN.env.DATE.pdf: the env's text and QR codes of its
    /// gzip, a paper backup (every secret in clear; `env unpdf` reads it back)
    #[arg(long)]
    pub pdf: bool,
    /// Also write DOMAIN.env.DATE.cidata.iso: a cloud-init seed image
    /// (volume id cidata, user-data = the env, meta-data with the domain as
    /// host name) so a cloud image boots configured (every secret in clear)
    #[arg(long)]
    pub cidata: bool,
}

pub fn run(args: PackageArgs, global: &GlobalArgs) -> Result<Outcome> {
    if args.recipients.is_empty() && !args.plain {
        return Err(Error::usage(
            "env package: no --recipient given; the package would hold every secret \
             unencrypted. Pass --recipient KEYFILE (an armored OpenPGP public key), \
             or --plain to write an unencrypted .tar.gz on purpose",
        ));
    }
    let date = match args.date {
        Some(date) if valid_date(&date) => date,
        Some(date) => {
            return Err(Error::usage(format!(
                "--date {date:?}: expected YYYY-MM-DD"
            )));
        }
        None => today_utc(),
    };
    let text = read_text(&args.file)?;
    let domain = domain_of(&text).map_err(|why| {
        Error::usage(format!(
            "{}: appliance.domain: {why}; the package is named after it",
            args.file.display()
        ))
    })?;

    let (name, bytes) = if args.plain {
        let bytes = ecsfleet_env::package_plain(&text).map_err(|e| env_error(&args.file, e))?;
        (ecsfleet_env::plain_package_name(&domain, &date), bytes)
    } else {
        let mut keys = Vec::new();
        for file in &args.recipients {
            let key = read_text(file)?;
            if !key.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                return Err(Error::usage(format!(
                    "{}: not an ASCII-armored OpenPGP public key \
                     (export one with `gpg --armor --export KEYID`)",
                    file.display()
                )));
            }
            keys.push(key);
        }
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let bytes = ecsfleet_env::package(&text, &domain, &date, &refs).map_err(|e| {
            // Name the recipient by its file, not by its position.
            let mut message = e.to_string();
            for (i, file) in args.recipients.iter().enumerate().rev() {
                message = message.replace(
                    &format!("recipient {}:", i + 1),
                    &format!("recipient {}:", file.display()),
                );
            }
            Error::usage(message)
        })?;
        (ecsfleet_env::package_name(&domain, &date), bytes)
    };

    let mut extra: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if args.pdf {
        let pdf = ecsfleet_env::paper_pdf(&text, &domain).map_err(|e| env_error(&args.file, e))?;
        extra.push((args.out.join(format!("{domain}.env.{date}.pdf")), pdf));
    }
    if args.cidata {
        let meta_data = ecsfleet_env::meta_data(&format!("iid-{domain}"), &domain);
        let iso = ecsfleet_env::seed_iso(
            text.as_bytes(),
            meta_data.as_bytes(),
            crate::cmd::cidata::iso_time_now(),
        )
        .map_err(|e| env_error(&args.file, e))?;
        extra.push((
            args.out.join(format!("{domain}.env.{date}.cidata.iso")),
            iso,
        ));
    }

    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&args.out)
        .map_err(|e| Error::io(args.out.display().to_string(), e))?;
    let path = args.out.join(&name);
    // Refuse before writing anything, so a refusal leaves no half set.
    if !args.force {
        for target in std::iter::once(&path).chain(extra.iter().map(|(p, _)| p)) {
            if target.exists() {
                return Err(env_error(
                    target,
                    ecsfleet_env::Error::Exists {
                        path: target.clone(),
                    },
                ));
            }
        }
    }
    ecsfleet_env::write_new_file_0600(&path, &bytes, args.force)
        .map_err(|e| env_error(&path, e))?;
    for (target, bytes) in &extra {
        ecsfleet_env::write_new_file_0600(target, bytes, args.force)
            .map_err(|e| env_error(target, e))?;
    }
    if global.json {
        let line = serde_json::json!({
            "path": path.display().to_string(),
            "domain": domain,
            "encrypted": !args.plain,
            "recipients": args.recipients.len(),
            "pdf": args.pdf.then(|| extra_path(&extra, ".pdf")),
            "cidata": args.cidata.then(|| extra_path(&extra, ".iso")),
        });
        println!("{line}");
    } else if !global.quiet {
        println!("{}", path.display());
        for (target, _) in &extra {
            println!("{}", target.display());
        }
    }
    Ok(Outcome::Success)
}

fn extra_path(extra: &[(PathBuf, Vec<u8>)], suffix: &str) -> String {
    extra
        .iter()
        .map(|(p, _)| p.display().to_string())
        .find(|p| p.ends_with(suffix))
        .unwrap_or_default()
}

/// The env's `appliance.domain`, or why there is none. Only the key path is
/// ever reported, never the value.
fn domain_of(text: &str) -> std::result::Result<String, String> {
    let doc = ecsfleet_env::load(text).map_err(|e| format!("the file is not valid YAML ({e})"))?;
    let node = doc.at("appliance.domain").ok_or("missing")?;
    let domain = node.as_str().ok_or("not a string")?;
    if ecsfleet_env::valid_domain(domain) {
        Ok(domain.to_string())
    } else {
        Err("not a domain name".to_string())
    }
}

fn valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return false;
    }
    if !digits(5..7) || !digits(8..10) {
        return false;
    }
    let month: u32 = date[5..7].parse().unwrap_or(0);
    let day: u32 = date[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Today's date in UTC as YYYY-MM-DD (Howard Hinnant's civil_from_days).
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = crate::report::civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2024-2-29"));
        assert!(!valid_date("2024-13-01"));
        assert!(!valid_date("../../etc/x"));
    }
}
