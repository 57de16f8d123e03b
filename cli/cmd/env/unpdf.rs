//! `ecsfleet env unpdf`: env.yml back from the paper backup that
//! `env package --pdf` writes (or a scan of it). The pages are rendered by
//! poppler's `pdftoppm` and the QR codes read by zbar's `zbarimg`, both
//! in a private temporary directory; the codes' text never reaches the
//! screen (it is the env, only encoded).

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::Args;

use super::env_error;
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
pub struct UnpdfArgs {
    /// The PDF written by `env package --pdf`, or a scan of its QR pages
    pub pdf: PathBuf,
    /// Where to write env.yml (created mode 0600)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
    /// Resolution for rendering the pages; raise it for a poor scan
    #[arg(long, value_name = "DPI", default_value_t = 200)]
    pub dpi: u32,
}

pub fn run(args: UnpdfArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !args.pdf.is_file() {
        return Err(Error::usage(format!(
            "{}: no such file (expected the PDF of `env package --pdf`)",
            args.pdf.display()
        )));
    }
    if args.out.exists() && !args.force {
        return Err(Error::usage(format!(
            "{}: already exists (use --force to overwrite)",
            args.out.display()
        )));
    }
    let dir = PrivateDir::new()?;
    let prefix = dir.0.join("page");
    let dpi = args.dpi.to_string();
    let render = tool(
        Command::new("pdftoppm")
            .args(["-r", &dpi, "-gray", "-aa", "no", "-aaVector", "no"])
            .arg(&args.pdf)
            .arg(&prefix),
        "pdftoppm",
        "poppler-utils",
    )?;
    if !render.status.success() {
        return Err(failed("pdftoppm", &args.pdf, &render));
    }
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir.0)
        .map_err(|e| Error::io(dir.0.display().to_string(), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    pages.sort();
    if pages.is_empty() {
        return Err(Error::usage(format!(
            "{}: pdftoppm rendered no page",
            args.pdf.display()
        )));
    }
    // --raw: the text as it is in the code, without charset guessing.
    let scan = tool(
        Command::new("zbarimg")
            .args(["--raw", "-q", "-S*.enable=0", "-Sqrcode.enable=1"])
            .args(&pages),
        "zbarimg",
        "zbar-tools",
    )?;
    // zbarimg exits 4 when it found no code at all; that is reported below.
    if !scan.status.success() && scan.status.code() != Some(4) {
        return Err(failed("zbarimg", &args.pdf, &scan));
    }
    let lines = String::from_utf8_lossy(&scan.stdout);
    let codes = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let env = ecsfleet_env::env_from_qr_lines(&lines).map_err(|e| {
        Error::usage(format!(
            "{}: {e}; try a higher --dpi or a better scan",
            args.pdf.display()
        ))
    })?;
    ecsfleet_env::write_new_file_0600(&args.out, &env, args.force)
        .map_err(|e| env_error(&args.out, e))?;
    if global.json {
        let line = serde_json::json!({
            "path": args.out.display().to_string(),
            "codes": codes,
            "bytes": env.len(),
        });
        println!("{line}");
    } else if !global.quiet {
        println!(
            "{} ({} bytes from {codes} QR code(s); it holds every secret, mode 0600)",
            args.out.display(),
            env.len()
        );
    }
    Ok(Outcome::Success)
}

/// Run a helper program with its output captured; a missing program is
/// named with the Debian package that brings it.
fn tool(command: &mut Command, name: &str, package: &str) -> Result<Output> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::usage(format!(
                "{name} not found: env unpdf needs it (apt-get install {package})"
            )),
            _ => Error::io(format!("running {name}"), e),
        })
}

/// A helper's failure with its stderr between rulers (never its stdout,
/// which would be the env's data).
fn failed(name: &str, pdf: &Path, output: &Output) -> Error {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let ruler = "-".repeat(40);
    Error::usage(format!(
        "{}: {name} failed ({}):\n{ruler}\n{}\n{ruler}",
        pdf.display(),
        output.status,
        stderr.trim_end()
    ))
}

/// A 0700 directory for the rendered pages, removed when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new() -> Result<PrivateDir> {
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let path = base.join(format!("ecsfleet-unpdf-{:016x}", rand::random::<u64>()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(PrivateDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(path.display().to_string(), e)),
            }
        }
        Err(Error::usage(format!(
            "{}: no free name for a temporary directory",
            base.display()
        )))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
