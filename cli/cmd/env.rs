//! `ecsfleet env ...`: env.yml handling on the workstation, without network.
//!
//! Each subcommand lives in its own file under `env/`; this file holds the
//! clap enum, the dispatch, and the translation of the env crate's errors
//! into the binary's [`Error`] (exit 2 for anything the operator must fix).
//! Nothing here ever prints a value read from an env file, except
//! `env flatten`, whose whole purpose is to show what the host's scripts see.

mod check;
mod flatten;
mod new;
mod package;
mod unpdf;

use std::path::Path;

use clap::Subcommand;

use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

pub use check::CheckArgs;
pub use flatten::FlattenArgs;
pub use new::NewArgs;
pub use package::PackageArgs;
pub use unpdf::UnpdfArgs;

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Generate a new env.yml with fresh secrets, written mode 0600
    ///
    /// Renders the env template for DOMAIN with three random settings secrets,
    /// an RSA-2048 DKIM key and three OpenPGP secret keys (ecs_backup,
    /// ecs_mediaserver, ecs_authority). The file is created mode 0600 from the
    /// start. Prints the path and the DKIM DNS TXT record; never a secret.
    #[command(after_help = "Example:\n  \
        ecsfleet env new ecs.example.org\n  \
        ecsfleet env new ecs.example.org --extra operator.yml --out /secure/env.yml\n  \
        ecsfleet -i fleet/inventory/hosts.yml env new ecs.example.org   # fleet/env/ecs.example.org/env.yml")]
    New(NewArgs),
    /// Check env files: header, YAML, required keys, types, keys, domains
    ///
    /// Every finding is printed as `file:line:col: key.path: message` on stderr
    /// (with --json: one JSON object per line on stdout). Messages never quote
    /// the file's values. Exit status 2 when any file has an error, 0 when
    /// there are only warnings (such as a group- or world-readable file).
    #[command(after_help = "Example:\n  \
        ecsfleet env check env/ecs.example.org/env.yml\n  \
        ecsfleet env check --json env/*/env.yml")]
    Check(CheckArgs),
    /// Print the env flattened to KEY=value lines, as the appliance's flatyaml
    ///
    /// WARNING: the output contains the env's secrets in clear text. It is
    /// exactly what the host's shell scripts see (`flatyaml` with the same
    /// roots and options); do not paste it into tickets or logs.
    #[command(after_help = "Example:\n  \
        ecsfleet env flatten env/ecs.example.org/env.yml\n  \
        ecsfleet env flatten env/ecs.example.org/env.yml ecs,appliance --prefix 'export '")]
    Flatten(FlattenArgs),
    /// Package an env as DOMAIN.env.DATE.tar.gz, encrypted to OpenPGP keys
    ///
    /// The archive holds env.yml and is encrypted to every --recipient's public
    /// key (`.tar.gz.gpg`, readable with `gpg --decrypt`). Without recipients
    /// it refuses, unless --plain asks for an unencrypted `.tar.gz`.
    ///
    /// --pdf adds a paper backup beside it (DOMAIN.env.DATE.pdf: the env's
    /// text, QR codes of its gzip in the appliance's data2qrpdf format, and
    /// how to restore; `env unpdf` reads it back). --cidata adds a
    /// cloud-init seed image (DOMAIN.env.DATE.cidata.iso). Both hold every
    /// secret in clear and are written mode 0600.
    #[command(after_help = "Example:\n  \
        gpg --armor --export backup@example.org > backup.asc\n  \
        ecsfleet env package env/ecs.example.org/env.yml --recipient backup.asc --out backups/\n  \
        ecsfleet env package env/ecs.example.org/env.yml --plain --out /media/usb\n  \
        ecsfleet env package env/ecs.example.org/env.yml -r backup.asc --pdf --cidata --out safe/")]
    Package(PackageArgs),
    /// Get env.yml back from the paper backup of `env package --pdf`
    ///
    /// Renders the PDF (or a scan of it) with pdftoppm (poppler-utils), reads
    /// the QR codes with zbarimg (zbar-tools), joins, base32-decodes and
    /// gunzips them; the gzip's checksum proves the result whole. Writes the
    /// file mode 0600 and never prints its content.
    #[command(after_help = "Example:\n  \
        ecsfleet env unpdf ecs.example.org.env.2026-11-25.pdf --out env.yml\n  \
        ecsfleet env unpdf scan.pdf --out env.yml --dpi 300")]
    Unpdf(UnpdfArgs),
    /// Compare a host's env (inventory `env`) with /app/env.yml on the host
    ///
    /// Also compares with /run/active-env.yml when that differs. Secrets are
    /// masked: a changed secret shows as a changed marker, never as its value.
    /// Exit status: 0 equal, 1 different or host unreachable, 2 usage error.
    #[command(after_help = "Example:\n  ecsfleet env diff ecs-vienna")]
    Diff {
        /// The host (one inventory name)
        host: String,
    },
}

pub fn run(command: EnvCommand, global: &GlobalArgs) -> Result<Outcome> {
    match command {
        EnvCommand::New(args) => new::run(args, global),
        EnvCommand::Check(args) => check::run(args, global),
        EnvCommand::Flatten(args) => flatten::run(args, global),
        EnvCommand::Package(args) => package::run(args, global),
        EnvCommand::Unpdf(args) => unpdf::run(args, global),
        EnvCommand::Diff { host } => super::env_diff::diff(host, global),
    }
}

/// An error from the env crate, as the operator sees it: file system errors
/// keep their path, everything else is something to fix (exit 2), labelled
/// with `file` unless the message already names it.
fn env_error(file: &Path, error: ecsfleet_env::Error) -> Error {
    match error {
        ecsfleet_env::Error::Io { path, source } => Error::io(path.display().to_string(), source),
        exists @ ecsfleet_env::Error::Exists { .. } => Error::usage(exists.to_string()),
        other => Error::usage(format!("{}: {other}", file.display())),
    }
}

/// Read an input file as UTF-8 text. A missing or unreadable input is the
/// operator's to fix (exit 2); the error names the file, never its content.
fn read_text(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::usage(format!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Write `text` to stdout in one go. A closed pipe (`| head`) ends the
/// output quietly instead of panicking like `print!`.
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("writing to stdout", e))
        }
        _ => Ok(()),
    }
}
