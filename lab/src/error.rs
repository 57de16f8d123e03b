//! The lab's one error type and its exit codes: 2 for a usage or set-up
//! problem found before anything started, 1 for a host that failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}) while {step}{}", output_tail(.output))]
    Command {
        program: String,
        step: String,
        status: String,
        output: String,
    },
    #[error("{host}: {message}")]
    Host { host: String, message: String },
    #[error("no lab at {}: {reason} (`ecsfleet-lab up --dir {}` makes one)", .dir.display(), .dir.display())]
    NoLab { dir: PathBuf, reason: String },
}

fn output_tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let tail = &lines[lines.len().saturating_sub(15)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(
            "\n{}\n{}\n{}",
            "-".repeat(60),
            tail.join("\n"),
            "-".repeat(60)
        )
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::NoLab { .. } => 2,
            _ => 1,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
