//! The per-host run lock, /run/ecsfleet.lock: who holds it (user, workstation,
//! run id), for which operation, since when. Taken after connecting and again
//! after a reboot (which empties /run); released on every way out of a host's
//! run, Ctrl-C included. A held lock refuses the run with the holder's
//! details. The commands themselves are data in
//! `ecsfleet_playbooks::appliance`.

use ecsfleet_playbooks::RemoteCommand;
use ecsfleet_playbooks::appliance::{self, LOCK_FILE};

#[derive(Debug, Clone)]
pub struct Lock {
    pub holder: String,
    pub operation: String,
    pub started: String,
    /// The login user is not root: go through sudo.
    pub sudo: bool,
}

impl Lock {
    /// A lock for this workstation's user and run.
    pub fn for_run(run: &str, operation: &str, sudo: bool) -> Lock {
        Lock {
            holder: format!("{}@{} run {run}", local_user(), workstation()),
            operation: operation.to_owned(),
            started: super::journal::now_rfc3339(),
            sudo,
        }
    }

    /// The run id this lock names (`... run RUN_ID`).
    pub fn run(&self) -> &str {
        self.holder.rsplit(" run ").next().unwrap_or("")
    }

    pub fn acquire_command(&self) -> RemoteCommand {
        self.wrap(appliance::lock_acquire(
            &self.holder,
            &self.operation,
            &self.started,
        ))
    }

    pub fn release_command(&self) -> RemoteCommand {
        self.wrap(appliance::lock_release(&self.holder))
    }

    fn wrap(&self, command: RemoteCommand) -> RemoteCommand {
        if self.sudo { command.sudo() } else { command }
    }

    /// The refusal for a lock someone else holds, from what
    /// [`acquire_command`](Self::acquire_command) printed.
    pub fn refusal(printed: &str) -> String {
        let field = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or("?")
                .to_owned()
        };
        format!(
            "locked by {} ({} since {}); wait until that run ends, or if it died, remove {LOCK_FILE} on the host",
            field("holder"),
            field("operation"),
            field("started")
        )
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn workstation() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // when the name fits, and we stop at the first NUL either way.
    let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_names_the_holder() {
        let text =
            Lock::refusal("holder=ann@ws run 1\noperation=install\nstarted=2026-11-01T10:00:00Z\n");
        assert_eq!(
            text,
            "locked by ann@ws run 1 (install since 2026-11-01T10:00:00Z); wait until that run ends, or if it died, remove /run/ecsfleet.lock on the host"
        );
    }

    #[test]
    fn sudo_wraps_both_commands() {
        let lock = Lock::for_run("r", "update", true);
        assert!(
            lock.acquire_command()
                .to_shell()
                .starts_with("sudo -n -- sh -c ")
        );
        assert!(
            lock.release_command()
                .to_shell()
                .starts_with("sudo -n -- sh -c ")
        );
        assert!(lock.holder.ends_with(" run r"));
        assert_eq!(lock.run(), "r");
    }
}
