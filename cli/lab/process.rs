//! Processes the lab started, found again by what was recorded about them,
//! never by name: a pid with its start time (so a reused pid is not taken for
//! ours), and a host's mount namespace (every process of a host lives in it).

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A process recorded as `PID STARTTIME` (start time in clock ticks after
/// boot, field 22 of /proc/PID/stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessRecord {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessRecord {
    /// The record of a running process, read from /proc.
    pub fn of(pid: i32) -> Option<ProcessRecord> {
        start_time(pid).map(|start_time| ProcessRecord { pid, start_time })
    }

    pub fn parse(text: &str) -> Option<ProcessRecord> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        let start_time = words.next()?.parse().ok()?;
        Some(ProcessRecord { pid, start_time })
    }

    pub fn render(&self) -> String {
        format!("{} {}\n", self.pid, self.start_time)
    }

    pub fn read(path: &Path) -> Option<ProcessRecord> {
        ProcessRecord::parse(&fs::read_to_string(path).ok()?)
    }

    /// Still the same process, and not a zombie.
    pub fn alive(&self) -> bool {
        let Ok(stat) = fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let fields = stat_fields(&stat);
        fields.first() != Some(&"Z")
            && fields.get(19).and_then(|t| t.parse().ok()) == Some(self.start_time)
    }

    pub fn signal(&self, signal: i32) -> bool {
        self.alive() && send_signal(self.pid, signal)
    }

    /// Waits until the process is gone; false on timeout.
    pub fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.alive() {
            if Instant::now() > deadline {
                return false;
            }
            sleep(Duration::from_millis(50));
        }
        true
    }
}

/// The fields of /proc/PID/stat after the command name (which may hold
/// spaces and parentheses): index 0 is the state, 1 the parent pid, 19 the
/// start time.
fn stat_fields(stat: &str) -> Vec<&str> {
    match stat.rfind(')') {
        Some(end) => stat[end + 1..].split_whitespace().collect(),
        None => Vec::new(),
    }
}

fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_fields(&stat).get(19)?.parse().ok()
}

pub fn send_signal(pid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid, signal) == 0 }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The pids of every live process whose mount namespace has inode `ns`.
pub fn processes_in_namespace(ns: u64) -> Vec<i32> {
    let wanted = format!("mnt:[{ns}]");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/mnt"))
                .map(|link| link.to_string_lossy() == wanted)
                .unwrap_or(false)
        })
        .collect()
}

/// Whether process `pid` sees `source` (a directory of the machine) mounted
/// at `target`: proof that a namespace is the one a lab host set up, before
/// anything in it is killed.
pub fn has_bind_mount(pid: i32, source: &Path, target: &str) -> bool {
    let Ok(mountinfo) = fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
        return false;
    };
    let source = source.to_string_lossy();
    mountinfo.lines().any(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        fields.len() > 4 && unescape_mountinfo(fields[3]) == source && fields[4] == target
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
pub fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_finds_this_process() {
        let me = ProcessRecord::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        assert_eq!(ProcessRecord::parse(&me.render()), Some(me));
        let reused = ProcessRecord {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!reused.alive());
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_mountinfo(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
    }
}
