//! The local terminal during an interactive session: raw mode (restored by
//! [`RawMode`]'s drop on every way out: return, error, panic, SIGTERM or
//! SIGHUP, which [`ended_by_signal`] turns into a return), its size and size
//! changes (SIGWINCH), and stdin as a stream of chunks.

use std::io::{IsTerminal as _, Read as _};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Standard input in raw mode until dropped.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// Switches stdin to raw mode: keystrokes (Ctrl-C included) go to the
    /// remote program byte by byte, nothing is echoed locally.
    pub fn enter() -> std::io::Result<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 and a valid pointer to a termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = saved;
        // SAFETY: a valid pointer to a termios copied from the real one.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: fd 0 and a valid termios.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: fd 0 and the termios saved by `enter`.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }
}

/// True when stdin and stdout are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// (columns, rows) of the terminal on stdout (else stdin), or 80x24.
pub fn size() -> (u32, u32) {
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: winsize is plain data; TIOCGWINSZ fills it or fails.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: a valid fd number and a pointer to a winsize.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 0 {
            return (u32::from(ws.ws_col), u32::from(ws.ws_row));
        }
    }
    (80, 24)
}

/// $TERM, as the remote PTY should emulate it.
pub fn term() -> String {
    std::env::var("TERM")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "xterm".into())
}

/// Stdin in chunks as they arrive; the channel closes at EOF. A plain
/// thread, not tokio's blocking pool: a read that never returns must not
/// hold the runtime open at exit.
pub fn stdin_chunks() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 4096];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    rx
}

/// The terminal's new size after every SIGWINCH (call inside the runtime).
pub fn size_changes() -> mpsc::Receiver<(u32, u32)> {
    let (tx, rx) = mpsc::channel(4);
    if let Ok(mut winch) = signal(SignalKind::window_change()) {
        tokio::spawn(async move {
            while winch.recv().await.is_some() {
                if tx.send(size()).await.is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Resolves when SIGTERM or SIGHUP arrives (the terminal went away or
/// someone asked us to stop), so the session ends by returning and raw mode
/// is restored on the way out.
pub async fn ended_by_signal() -> &'static str {
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    }
}

/// The exit status a local shell would give for a remote status: the code,
/// or 128 + the signal's number.
pub fn exit_code(status: &crate::ssh::ExitStatus) -> Option<i32> {
    use crate::ssh::ExitStatus;
    match status {
        ExitStatus::Code(code) => Some(i32::try_from(*code).unwrap_or(255)),
        ExitStatus::Signal { name, .. } => {
            let number = match name.trim_start_matches("SIG") {
                "HUP" => 1,
                "INT" => 2,
                "QUIT" => 3,
                "ILL" => 4,
                "ABRT" => 6,
                "FPE" => 8,
                "KILL" => 9,
                "SEGV" => 11,
                "PIPE" => 13,
                "ALRM" => 14,
                "TERM" => 15,
                "USR1" => 10,
                "USR2" => 12,
                _ => return Some(255),
            };
            Some(128 + number)
        }
        ExitStatus::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::ExitStatus;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(&ExitStatus::Code(7)), Some(7));
        let signal = |name: &str| ExitStatus::Signal {
            name: name.into(),
            core_dumped: false,
        };
        assert_eq!(exit_code(&signal("TERM")), Some(143));
        assert_eq!(exit_code(&signal("SIGKILL")), Some(137));
        assert_eq!(exit_code(&signal("Custom")), Some(255));
        assert_eq!(exit_code(&ExitStatus::Unknown), None);
    }
}
