//! What `ecsfleet restore` checks before it touches anything, as APPLIANCE.md
//! and recover-from-backup.sh demand: the appliance is installed, the saved
//! env is at /app/env.yml, /data/ecs-storage-vault and /data/ecs-pgdump
//! exist (the storage setup makes them) and hold no file, and no `ecs`
//! database exists. One probe prints a line per fact; [`unmet`] turns them
//! into what failed and how to fix it.

use ecsfleet_playbooks::RemoteCommand;

pub const DIRS: [&str; 2] = ["/data/ecs-storage-vault", "/data/ecs-pgdump"];

/// Prints `installed=`, `env=`, `dir PATH=missing|FILES` and
/// `database=present|absent|unknown: WHY` lines.
pub fn probe() -> RemoteCommand {
    RemoteCommand::script(format!(
        "if command -v recover-from-backup.sh >/dev/null 2>&1; then echo installed=true; else echo installed=false; fi\n\
if [ -s /app/env.yml ]; then echo env=true; else echo env=false; fi\n\
for d in {}; do\n  \
if [ -d \"$d\" ]; then echo \"dir $d=$(find \"$d\" -mindepth 1 -type f | wc -l)\"; else echo \"dir $d=missing\"; fi\n\
done\n\
if out=$(gosu postgres psql -lqt 2>&1); then\n  \
if printf '%s\\n' \"$out\" | awk -F'|' '{{gsub(/ /, \"\", $1)}} $1 == \"ecs\" {{found = 1}} END {{exit !found}}'; \
then echo database=present; else echo database=absent; fi\n\
else echo \"database=unknown: $(printf '%s' \"$out\" | head -n 1)\"; fi",
        DIRS.join(" ")
    ))
}

/// A precondition that does not hold, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub what: String,
    pub fix: String,
}

/// The preconditions [`probe`]'s output shows unmet, for host `host`.
pub fn unmet(output: &str, host: &str) -> Vec<Unmet> {
    let value = |key: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let mut out = Vec::new();
    let mut add = |what: String, fix: String| out.push(Unmet { what, fix });
    if value("installed") != Some("true") {
        add(
            "the appliance is not installed (no recover-from-backup.sh on the host)".into(),
            format!("install it first: ecsfleet install {host}"),
        );
    }
    if value("env") != Some("true") {
        add(
            "no env at /app/env.yml".into(),
            format!("upload the saved env.yml of this installation: ecsfleet push-env {host}"),
        );
    }
    for dir in DIRS {
        match value(&format!("dir {dir}")) {
            Some("0") => {}
            Some("missing") | None => add(
                format!("{dir} does not exist"),
                "the appliance's storage setup makes it at boot: with the env in place, reboot the host (the appliance then stops for want of a database) and try again".into(),
            ),
            Some(n) => add(
                format!(
                    "{dir} is not empty ({n} file{})",
                    if n == "1" { "" } else { "s" }
                ),
                "restore only onto a fresh installation; move those files away if they are not needed".into(),
            ),
        }
    }
    match value("database") {
        Some("absent") => {}
        Some("present") => add(
            "a database named ecs exists".into(),
            "restore only onto a host without one; if its data is really to go, drop it first (gosu postgres dropdb ecs)".into(),
        ),
        other => add(
            format!(
                "cannot tell whether a database named ecs exists ({})",
                other
                    .and_then(|v| v.strip_prefix("unknown:"))
                    .map(str::trim)
                    .unwrap_or("no answer")
            ),
            "PostgreSQL must be running: systemctl start postgresql".into(),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "installed=true\nenv=true\ndir /data/ecs-storage-vault=0\ndir /data/ecs-pgdump=0\ndatabase=absent\n";

    #[test]
    fn all_met() {
        assert_eq!(unmet(GOOD, "h"), Vec::new());
    }

    #[test]
    fn each_failure_is_named_with_its_fix() {
        let bad = "installed=false\nenv=false\ndir /data/ecs-storage-vault=missing\ndir /data/ecs-pgdump=3\ndatabase=present\n";
        let found = unmet(bad, "ecs-1");
        let whats: Vec<&str> = found.iter().map(|u| u.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "the appliance is not installed (no recover-from-backup.sh on the host)",
                "no env at /app/env.yml",
                "/data/ecs-storage-vault does not exist",
                "/data/ecs-pgdump is not empty (3 files)",
                "a database named ecs exists",
            ]
        );
        assert_eq!(found[0].fix, "install it first: ecsfleet install ecs-1");
        let unknown = unmet(
            &GOOD.replace(
                "database=absent",
                "database=unknown: psql: could not connect to server",
            ),
            "h",
        );
        assert_eq!(
            unknown[0].what,
            "cannot tell whether a database named ecs exists (psql: could not connect to server)"
        );
    }

    #[test]
    fn the_probe_runs_here() {
        // Whatever this machine has, every fact gets a line.
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(probe().to_shell())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for key in [
            "installed=",
            "env=",
            "dir /data/ecs-storage-vault=",
            "dir /data/ecs-pgdump=",
            "database=",
        ] {
            assert!(text.lines().any(|l| l.starts_with(key)), "{key} in {text}");
        }
    }
}
