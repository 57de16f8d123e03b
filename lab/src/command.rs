//! Running the machine's programs (debootstrap, mount, ssh-keygen, nsenter)
//! with their output kept for the error message.

use std::process::{Command, Output, Stdio};

use crate::error::{Error, Result};

/// Runs `program args`, failing with its output when it exits non-zero.
pub fn run(step: &str, program: &str, args: &[&str]) -> Result<Output> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("cannot run {program} while {step}"), e))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(Error::Command {
            program: program.to_string(),
            step: step.to_string(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// Runs ARGS inside a booted host (every namespace of its PID 1), as root.
pub fn inside(leader: u32, args: &[&str]) -> Option<Output> {
    Command::new("nsenter")
        .arg("-t")
        .arg(leader.to_string())
        .arg("-a")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
}
