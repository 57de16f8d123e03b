//! `ecsfleet env check`: findings for each file, then a summary; exit 2 when
//! any file has an error. Goes on past a broken or unreadable file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use clap::Args;
use ecsfleet_env::{Finding, Severity};

use super::print_stdout;
use crate::args::GlobalArgs;
use crate::error::{Outcome, Result};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// env.yml files to check
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(args: CheckArgs, global: &GlobalArgs) -> Result<Outcome> {
    let mut errors = 0;
    let mut warnings = 0;
    let mut json = String::new();
    for file in &args.files {
        for finding in check_file(file) {
            match finding.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            if global.json {
                json.push_str(&format!("{}\n", finding_json(&finding)));
            } else if !global.quiet || finding.severity == Severity::Error {
                eprintln!("{finding}");
            }
        }
    }
    if global.json {
        let line = serde_json::json!({
            "type": "summary",
            "files": args.files.len(),
            "errors": errors,
            "warnings": warnings,
        });
        json.push_str(&format!("{line}\n"));
        print_stdout(&json)?;
    } else if !global.quiet {
        eprintln!(
            "checked {}: {}, {}",
            plural(args.files.len(), "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    }
    Ok(if errors > 0 {
        Outcome::Usage
    } else {
        Outcome::Success
    })
}

/// The findings for one file; a file that cannot be read is one error
/// finding at 1:1 (its content is never quoted, not even bad bytes).
fn check_file(file: &Path) -> Vec<Finding> {
    let unreadable = |message: String| {
        vec![Finding {
            severity: Severity::Error,
            file: file.display().to_string(),
            line: 1,
            col: 1,
            key_path: String::new(),
            message,
        }]
    };
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return unreadable(format!("cannot read: {e}")),
    };
    let mode = std::fs::metadata(file).ok().map(|m| m.permissions().mode());
    match String::from_utf8(bytes) {
        Ok(text) => ecsfleet_env::check(&text, file, mode),
        Err(e) => unreadable(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )),
    }
}

fn finding_json(finding: &Finding) -> serde_json::Value {
    serde_json::json!({
        "type": "finding",
        "severity": match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "file": finding.file,
        "line": finding.line,
        "col": finding.col,
        "key_path": finding.key_path,
        "message": finding.message,
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
