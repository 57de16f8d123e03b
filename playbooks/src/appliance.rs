//! The ECS appliance's remote interface (../shared/APPLIANCE.md) as command
//! builders: every command ecsfleet itself runs on a host is written here,
//! once, and tested by comparing strings. Values are arguments (quoted);
//! the fixed shell around them is code we wrote. Helper scripts are called
//! by name, as the manual does: they live in /usr/local/sbin and
//! /usr/local/bin, both on root's and sudo's PATH.
//!
//! Parsers for what these commands print sit beside them
//! ([`parse_state`], [`parse_status`], [`status_text`]).

use std::fmt;

use crate::facts::Facts;
use crate::remote_command::{Arg, RemoteCommand, Token};

/// Where the appliance shows its progress while preparing or updating.
pub const STATUS_PAGE: &str = "/var/www/html/503.html";
/// Present while the appliance is failed.
pub const FAILED_FLAG: &str = "/run/appliance-failed";
/// The per-host run lock.
pub const LOCK_FILE: &str = "/run/ecsfleet.lock";
/// The env on the host, and the active copy.
pub const ENV_PATH: &str = "/app/env.yml";
pub const ACTIVE_ENV_PATH: &str = "/run/active-env.yml";
/// The version tags in /app/etc/tags/.
pub const TAGS: &[&str] = &[
    "last_running_ecs",
    "last_build_ecs",
    "last_running_appliance",
    "last_running_ecs_image",
    "last_failed_ecs",
];

/// Preflight facts as `KEY=value` lines, read by [`Facts::parse`]: os id and
/// version, cores, memory and disk sizes in KiB (/ and /data, /volatile when
/// present), whether /data and /volatile are mounts of their own and the
/// `ecs-data`/`ecs-volatile` labels exist, whether salt-call and
/// /app/appliance exist, the boot id.
pub fn facts() -> RemoteCommand {
    RemoteCommand::script(
        r#"printf 'os_id=%s\n' "$(sed -n 's/^ID=//p' /etc/os-release | tr -d '"')"
printf 'os_version=%s\n' "$(sed -n 's/^VERSION_ID=//p' /etc/os-release | tr -d '"')"
printf 'cores=%s\n' "$(grep -c '^processor' /proc/cpuinfo)"
printf 'memory_kb=%s\n' "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
for d in root data volatile; do
  p=/$d; [ $d = root ] && p=/
  [ -d $p ] && df -Pk $p | awk -v d=$d 'NR==2 {print "disk_" d "_kb=" $2; print "disk_" d "_free_kb=" $4}'
done
awk '$2=="/data" {d=1} $2=="/volatile" {v=1} END {print "data_mounted=" (d ? "true" : "false"); print "volatile_mounted=" (v ? "true" : "false")}' /proc/mounts
if [ -e /dev/disk/by-label/ecs-data ]; then echo data_label=true; else echo data_label=false; fi
if [ -e /dev/disk/by-label/ecs-volatile ]; then echo volatile_label=true; else echo volatile_label=false; fi
if command -v salt-call >/dev/null 2>&1; then echo salt_call=true; else echo salt_call=false; fi
if [ -d /app/appliance ]; then echo appliance_tree=true; else echo appliance_tree=false; fi
printf 'boot_id=%s\n' "$(cat /proc/sys/kernel/random/boot_id)""#,
    )
}

/// The appliance's state as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    /// Unit active, no status page.
    Running,
    /// Preparing or updating: the status page is up.
    Starting,
    /// /run/appliance-failed exists.
    Failed,
    Stopped,
    /// The probe printed something else.
    Unknown,
}

impl fmt::Display for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AppState::Running => "running",
            AppState::Starting => "starting",
            AppState::Failed => "failed",
            AppState::Stopped => "stopped",
            AppState::Unknown => "unknown",
        })
    }
}

/// Prints `state=running|starting|failed|stopped`, while failed the
/// `failure_cause=` line of [`FAILURE_CAUSE_PROBE`], then the status page.
/// Read it with [`parse_state`].
pub fn state() -> RemoteCommand {
    RemoteCommand::script(format!(
        "{}; echo state=$s; {FAILURE_CAUSE_PROBE}; if [ -e {STATUS_PAGE} ]; then cat {STATUS_PAGE}; fi",
        state_assignment()
    ))
}

/// Exit 0 while systemd holds a queued job for the appliance or one of its
/// prepare units: right after `systemctl --no-block restart appliance` the
/// old instance still looks active and the status page is not up yet.
const QUEUED_JOB: &str = "systemctl list-jobs --no-legend 2>/dev/null | \
grep -qE '(^| )(appliance|prepare-env|prepare-appliance|prepare-ecs)\\.service '";

/// Sets `$s` to the state word. Starting means the appliance unit is
/// activating (or active with the status page still up), or one of the units
/// that prepare or update it is activating. The status page alone proves
/// nothing: stopping the appliance leaves it up ("Appliance Shutdown").
fn state_assignment() -> String {
    format!(
        "if [ -e {FAILED_FLAG} ]; then s=failed; \
else case $(systemctl is-active appliance 2>/dev/null) in \
active) if [ -e {STATUS_PAGE} ] || {QUEUED_JOB}; then s=starting; else s=running; fi ;; \
activating|reloading) s=starting ;; \
*) s=stopped; for u in prepare-env prepare-appliance prepare-ecs appliance-update; do \
case $(systemctl is-active $u 2>/dev/null) in activating|reloading) s=starting ;; esac; done ;; \
esac; fi"
    )
}

/// The state and status text from [`state`]'s output; a failed appliance's
/// text ends with the prepare units' own cause: `PAGE (cause: CAUSE)`.
pub fn parse_state(output: &str) -> (AppState, Option<String>) {
    let (first, mut rest) = output.split_once('\n').unwrap_or((output, ""));
    let mut cause = None;
    if let Some(after) = rest.strip_prefix("failure_cause=") {
        let (line, page) = after.split_once('\n').unwrap_or((after, ""));
        cause = parse_failure_cause(line);
        rest = page;
    }
    let state = match first.trim().strip_prefix("state=") {
        Some("running") => AppState::Running,
        Some("starting") => AppState::Starting,
        Some("failed") => AppState::Failed,
        Some("stopped") => AppState::Stopped,
        _ => AppState::Unknown,
    };
    let text = match (status_text(rest), cause) {
        // The page may already say it (a prepare unit's own page).
        (Some(text), Some(cause)) if text == cause => Some(text),
        (Some(text), Some(cause)) => Some(format!("{text} (cause: {cause})")),
        (None, Some(cause)) => Some(format!("(cause: {cause})")),
        (text, None) => text,
    };
    (state, text)
}

/// The status page's text: tags dropped, title and text joined by `: `.
pub fn status_text(html: &str) -> Option<String> {
    let body = match (html.find("<head"), html.find("</head>")) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{}", &html[..start], &html[end + "</head>".len()..])
        }
        _ => html.to_owned(),
    };
    let mut pieces = Vec::new();
    let mut inside_tag = false;
    let mut current = String::new();
    for c in body.chars() {
        match c {
            '<' => {
                inside_tag = true;
                pieces.push(std::mem::take(&mut current));
            }
            '>' if inside_tag => inside_tag = false,
            _ if !inside_tag => current.push(c),
            _ => {}
        }
    }
    pieces.push(current);
    let pieces: Vec<String> = pieces
        .iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect();
    (!pieces.is_empty()).then(|| pieces.join(": "))
}

/// The status page, or nothing.
pub fn read_503() -> RemoteCommand {
    RemoteCommand::script(format!(
        "if [ -e {STATUS_PAGE} ]; then cat {STATUS_PAGE}; fi"
    ))
}

/// The kernel's boot id; it changes with every boot.
pub fn boot_id() -> RemoteCommand {
    RemoteCommand::exec("cat", ["/proc/sys/kernel/random/boot_id"])
}

/// Reboots a second after returning, so the exit status reaches us before
/// the connection drops.
pub fn reboot() -> RemoteCommand {
    RemoteCommand::script("nohup sh -c 'sleep 1; reboot' </dev/null >/dev/null 2>&1 &")
}

/// `systemctl ACTION UNIT`.
pub fn systemctl(action: &str, unit: &str) -> RemoteCommand {
    RemoteCommand::exec("systemctl", [action, unit])
}

/// `systemctl --no-block start UNIT`: returns at once (appliance-update may
/// reboot the host part-way).
pub fn start_no_block(unit: &str) -> RemoteCommand {
    RemoteCommand::exec("systemctl", ["--no-block", "start", unit])
}

/// The builders the stock playbooks name as `{{ command('NAME') }}`, so a
/// command is spelled once (here), not again in YAML.
pub fn by_name(name: &str) -> Option<RemoteCommand> {
    Some(match name {
        "state" => state(),
        "createdb_ecs" => createdb_ecs(),
        "database_exists" => database_exists(),
        "env_update" => env_update(),
        _ => return None,
    })
}

/// The manual's database creation (before activating the env).
pub fn createdb_ecs() -> RemoteCommand {
    RemoteCommand::exec(
        "sudo",
        [
            "-u",
            "postgres",
            "createdb",
            "ecs",
            "-T",
            "template0",
            "-l",
            "de_DE.utf8",
        ],
    )
}

/// Exit 0 when the `ecs` database exists.
pub fn database_exists() -> RemoteCommand {
    RemoteCommand::script(
        "sudo -u postgres psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'ecs'\" | grep -qx 1",
    )
}

/// Re-reads /app/env.yml into /run/active-env.yml without a reboot.
pub fn env_update() -> RemoteCommand {
    RemoteCommand::new("env-update.sh")
}

/// Fetches the latest database dump from the backup to `dest` on the host.
pub fn fetch_dump(dest: &str) -> RemoteCommand {
    RemoteCommand::exec(
        "duply",
        [
            "/root/.duply/appliance-backup",
            "fetch",
            "ecs-pgdump/ecs.pgdump.gz",
            dest,
        ],
    )
}

/// `journalctl -u UNIT [-f] [-n N] --no-pager`.
pub fn journal(unit: &str, follow: bool, lines: Option<u32>) -> RemoteCommand {
    let mut cmd = RemoteCommand::exec("journalctl", ["-u", unit]);
    if follow {
        cmd = cmd.arg("-f");
    }
    if let Some(n) = lines {
        cmd = cmd.arg("-n").arg(n.to_string());
    }
    cmd.arg("--no-pager")
}

/// `docker exec -i ecs_ecs.web_1 /start run ARGS...` (`-it` with a PTY).
pub fn ecs_run<A: Into<Arg>>(args: impl IntoIterator<Item = A>, tty: bool) -> RemoteCommand {
    let flag = if tty { "-it" } else { "-i" };
    RemoteCommand::exec("docker", ["exec", flag, "ecs_ecs.web_1", "/start", "run"]).args(args)
}

/// The fleet dashboard in one round trip: `KEY=value` lines (state, tags as
/// `tag_NAME`, sha256 of /app/env.yml and /run/active-env.yml and of the
/// active env that /app/env.yml gives ([`ACTIVE_FROM_ENV_PROBE`]), uptime in
/// seconds (PID 1's age: a container's /proc/uptime is its machine's), disk use of /data and /volatile in percent, pending reboot, boot
/// id, `installed`), a `--` line, then the status page. Read it with [`parse_status`].
pub fn status() -> RemoteCommand {
    let (state_line, tags) = (state_assignment(), TAGS.join(" "));
    RemoteCommand::script(format!(
        "{state_line}; echo state=$s\n\
for t in {tags}; do printf 'tag_%s=%s\\n' $t \"$(cat /app/etc/tags/$t 2>/dev/null)\"; done\n\
printf 'env_sha256=%s\\n' \"$(sha256sum {ENV_PATH} 2>/dev/null | cut -d' ' -f1)\"\n\
printf 'active_env_sha256=%s\\n' \"$(sha256sum {ACTIVE_ENV_PATH} 2>/dev/null | cut -d' ' -f1)\"\n\
{ACTIVE_FROM_ENV_PROBE}\n\
printf 'uptime_seconds=%s\\n' \"$(ps -o etimes= -p 1 | tr -d ' ')\"\n\
for d in data volatile; do [ -d /$d ] && df -P /$d | awk -v d=$d 'NR==2 {{sub(\"%\", \"\", $5); print \"disk_\" d \"_used_pct=\" $5}}'; done\n\
if [ -e /var/run/reboot-required ]; then echo reboot_required=true; else echo reboot_required=false; fi\n\
printf 'boot_id=%s\\n' \"$(cat /proc/sys/kernel/random/boot_id)\"\n\
{INSTALLED_PROBE}\n\
{FAILURE_CAUSE_PROBE}\n\
echo --\n\
if [ -e {STATUS_PAGE} ]; then cat {STATUS_PAGE}; fi"
    ))
}

/// The facts and status text from [`status`]'s output.
pub fn parse_status(output: &str) -> (Facts, Option<String>) {
    let (lines, page) = match output.split_once("\n--\n") {
        Some((lines, page)) => (lines, page),
        None => (output.strip_suffix("\n--").unwrap_or(output), ""),
    };
    (
        Facts::from_pairs(lines.lines().filter_map(|l| l.split_once('='))),
        status_text(page),
    )
}

/// Prints `active_from_env_sha256=` with the sha256 of what prepare-env
/// writes to /run/active-env.yml from /app/env.yml: the file with its
/// trailing newlines dropped by `$(cat ...)`, then `\nUSERDATA_TYPE: local`
/// and no final newline (env.include:52-54,94-103; prepare-env.sh:8-15).
/// The active env is never byte-equal to /app/env.yml; compare with this.
const ACTIVE_FROM_ENV_PROBE: &str = "if [ -e /app/env.yml ]; then \
printf 'active_from_env_sha256=%s\\n' \"$(printf '%s\\nUSERDATA_TYPE: local' \"$(cat /app/env.yml)\" | sha256sum | cut -d' ' -f1)\"; \
else echo active_from_env_sha256=; fi";

/// While the appliance is failed, prints `failure_cause=` with the last
/// status the prepare units wrote this boot: appliance_status echoes
/// `INFO: appliance status: TITLE : TEXT` to its unit's journal
/// (appliance.include:57-80) before appliance-failed@ overwrites the page
/// with its generic text (appliance-failed@.service:8-16). Read it with
/// [`parse_failure_cause`].
const FAILURE_CAUSE_PROBE: &str = "if [ -e /run/appliance-failed ]; then \
printf 'failure_cause=%s\\n' \"$(journalctl -b -q --no-pager -o cat -n 2000 -u prepare-env -u prepare-appliance -u prepare-ecs -u appliance 2>/dev/null | \
grep 'INFO: appliance status: ' | grep -v 'INFO: appliance status: Appliance Error : Appliance (' | tail -n 1 | cut -c 1-300)\"; fi";

/// What prepare-env writes to /run/active-env.yml for this /app/env.yml:
/// `$(cat /app/env.yml)` drops the trailing newlines, `\nUSERDATA_TYPE:
/// local` follows, no final newline (env.include:52-54,94-103;
/// prepare-env.sh:8-15). The local twin of [`ACTIVE_FROM_ENV_PROBE`].
pub fn active_env_from(env: &[u8]) -> Vec<u8> {
    let mut end = env.len();
    while end > 0 && env[end - 1] == b'\n' {
        end -= 1;
    }
    let mut out = env[..end].to_vec();
    out.extend_from_slice(ACTIVE_SUFFIX);
    out
}

/// The line prepare-env appends to the active env.
pub const ACTIVE_SUFFIX: &[u8] = b"\nUSERDATA_TYPE: local";

/// `TITLE: TEXT` from a `failure_cause=` value (see [`status`]).
pub fn parse_failure_cause(value: &str) -> Option<String> {
    let rest = value.trim().strip_prefix("INFO: appliance status: ")?;
    let (title, text) = rest.split_once(" : ").unwrap_or((rest, ""));
    Some(if text.is_empty() {
        title.trim().to_owned()
    } else {
        format!("{}: {}", title.trim(), text.trim())
    })
}

/// Prints `installed=true` once the highstate has put the appliance's helper
/// scripts on the PATH, `installed=false` before (part of [`status`]).
const INSTALLED_PROBE: &str = "if command -v create-internal-user.sh >/dev/null 2>&1; \
then echo installed=true; else echo installed=false; fi";

/// Exit status of [`read_if_present`] when the file does not exist.
pub const ABSENT: u32 = 66;

/// Prints the file at `path`; exits [`ABSENT`] (not an error) when there is
/// none, so "no file yet" and "cannot read it" stay apart.
pub fn read_if_present(path: &str) -> RemoteCommand {
    RemoteCommand::shell(vec![
        Token::Code("if [ -e ".to_owned()),
        Token::Arg(Arg::plain(path)),
        Token::Code(" ]; then cat -- ".to_owned()),
        Token::Arg(Arg::plain(path)),
        Token::Code(format!("; else exit {ABSENT}; fi")),
    ])
}

/// `sha256sum PATH`: the digest as the host computes it.
pub fn sha256(path: &str) -> RemoteCommand {
    RemoteCommand::exec("sha256sum", [path])
}

/// The hex digest from `sha256sum` output (its first word), if it is one.
pub fn parse_sha256(output: &str) -> Option<&str> {
    let word = output.split_whitespace().next()?;
    (word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit())).then_some(word)
}

/// While an env is applied: `update=` with the state of appliance-update
/// (`systemctl is-active`: activating, inactive, failed ..., or `queued`
/// while its start job waits in `systemctl list-jobs`), then what [`state`]
/// prints. Read it with [`parse_update_progress`].
pub fn update_progress() -> RemoteCommand {
    RemoteCommand::script(format!(
        "u=$(systemctl is-active appliance-update 2>/dev/null); \
if systemctl list-jobs 2>/dev/null | grep -q appliance-update; then u=queued; fi; \
printf 'update=%s\\n' \"$u\"; {}",
        state().to_shell()
    ))
}

/// `systemctl --no-block restart UNIT`: returns once the job is queued.
pub fn restart_no_block(unit: &str) -> RemoteCommand {
    RemoteCommand::exec("systemctl", ["--no-block", "restart", unit])
}

/// While a restart of the appliance applies an env: `update=queued` while
/// systemd still has a job for the appliance or one of its prepare units
/// (the restart may not have begun yet, and the old instance still looks
/// active), `update=idle` after; then what [`state`] prints. Read it with
/// [`parse_update_progress`].
pub fn restart_progress() -> RemoteCommand {
    RemoteCommand::script(format!(
        "if systemctl list-jobs --no-legend 2>/dev/null | \
grep -qE '(^| )(appliance|prepare-env|prepare-appliance|prepare-ecs)\\.service '; \
then echo update=queued; else echo update=idle; fi; {}",
        state().to_shell()
    ))
}

/// The appliance-update unit's state word and [`parse_state`]'s result.
pub fn parse_update_progress(output: &str) -> (String, AppState, Option<String>) {
    let (first, rest) = output.split_once('\n').unwrap_or((output, ""));
    match first.strip_prefix("update=") {
        Some(update) => {
            let (state, text) = parse_state(rest);
            (update.trim().to_owned(), state, text)
        }
        None => {
            let (state, text) = parse_state(output);
            (String::new(), state, text)
        }
    }
}

/// Takes the per-host lock: exit 0 when taken; exit 1 with the current
/// holder's `holder=`, `operation=`, `started=` lines when someone has it.
pub fn lock_acquire(holder: &str, operation: &str, started: &str) -> RemoteCommand {
    RemoteCommand::shell(vec![
        Token::Code("if { set -C; printf 'holder=%s\\noperation=%s\\nstarted=%s\\n' ".to_owned()),
        Token::Arg(Arg::plain(holder)),
        Token::Code(" ".to_owned()),
        Token::Arg(Arg::plain(operation)),
        Token::Code(" ".to_owned()),
        Token::Arg(Arg::plain(started)),
        // The boot id rides along: a run that needs no facts learns it here.
        Token::Code(format!(
            " > {LOCK_FILE}; }} 2>/dev/null; then s=0; else cat {LOCK_FILE}; s=1; fi; \
             read -r b < /proc/sys/kernel/random/boot_id && printf 'boot_id=%s\\n' \"$b\"; exit $s"
        )),
    ])
}

/// Releases the lock if `holder` still holds it.
pub fn lock_release(holder: &str) -> RemoteCommand {
    // Read with builtins, not grep: one process less on every host.
    RemoteCommand::shell(vec![
        Token::Code("h=; while IFS= read -r l; do [ \"$l\" != ".to_owned()),
        Token::Arg(Arg::plain(format!("holder={holder}"))),
        Token::Code(format!(
            " ] || h=1; done 2>/dev/null < {LOCK_FILE}; [ -z \"$h\" ] || rm -f {LOCK_FILE}"
        )),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const HOSTILE: &str = "O'Brien; touch /tmp/x";

    fn sh(script: &str) -> std::process::Output {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    }

    #[test]
    fn the_active_env_is_derived_as_prepare_env_derives_it() {
        assert_eq!(
            active_env_from(b"a: 1\n\n\n"),
            b"a: 1\nUSERDATA_TYPE: local"
        );
        assert_eq!(active_env_from(b"a: 1"), b"a: 1\nUSERDATA_TYPE: local");
        // The probe computes the same bytes on a host.
        let dir = std::env::temp_dir().join(format!("ecsfleet-active-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let env = dir.join("env.yml");
        std::fs::write(&env, "#cloud-config\nappliance:\n  domain: x\n\n").unwrap();
        let out = sh(&format!(
            "printf '%s\\nUSERDATA_TYPE: local' \"$(cat {})\"",
            env.display()
        ));
        assert_eq!(out.stdout, active_env_from(&std::fs::read(&env).unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fixed_commands() {
        assert_eq!(
            createdb_ecs().to_shell(),
            "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8"
        );
        assert_eq!(env_update().to_shell(), "env-update.sh");
        assert_eq!(
            systemctl("restart", "appliance").to_shell(),
            "systemctl restart appliance"
        );
        assert_eq!(
            start_no_block("appliance-update").to_shell(),
            "systemctl --no-block start appliance-update"
        );
        for name in ["state", "createdb_ecs", "database_exists", "env_update"] {
            assert!(by_name(name).is_some(), "{name}");
        }
        assert_eq!(by_name("nothing"), None);
        assert_eq!(
            read_503().to_shell(),
            "if [ -e /var/www/html/503.html ]; then cat /var/www/html/503.html; fi"
        );
        assert_eq!(
            journal("appliance-update", true, Some(50)).to_shell(),
            "journalctl -u appliance-update -f -n 50 --no-pager"
        );
        assert_eq!(
            ecs_run(["./manage.py", "workflow_dot", "core.submission"], false).to_shell(),
            "docker exec -i ecs_ecs.web_1 /start run ./manage.py workflow_dot core.submission"
        );
        assert_eq!(
            fetch_dump("/root/ecs.pgdump.gz").to_shell(),
            "duply /root/.duply/appliance-backup fetch ecs-pgdump/ecs.pgdump.gz /root/ecs.pgdump.gz"
        );
    }

    #[test]
    fn facts_script_runs_here_and_parses() {
        let out = sh(&facts().to_shell());
        let facts = Facts::parse(&String::from_utf8(out.stdout).unwrap());
        assert!(facts.number("cores").unwrap() >= 1.0, "{facts:?}");
        assert!(facts.number("memory_mb").unwrap() > 0.0, "{facts:?}");
        assert!(facts.number("disk_root_kb").unwrap() > 0.0, "{facts:?}");
        assert!(facts.get("os").is_some());
        assert!(matches!(facts.get("salt_call"), Some("true" | "false")));
        assert!(facts.boot_id().is_some());
    }

    #[test]
    fn status_script_runs_here_and_parses() {
        let out = sh(&status().to_shell());
        let text = String::from_utf8(out.stdout).unwrap();
        let (facts, _page) = parse_status(&text);
        assert!(facts.get("state").is_some(), "{text}");
        assert!(facts.get("tag_last_running_ecs").is_some(), "{text}");
        assert!(facts.number("uptime_seconds").is_some(), "{text}");
    }

    #[test]
    fn env_file_commands() {
        assert_eq!(
            read_if_present(ENV_PATH).to_shell(),
            "if [ -e /app/env.yml ]; then cat -- /app/env.yml; else exit 66; fi"
        );
        assert_eq!(
            read_if_present("/tmp/it's here").to_shell(),
            "if [ -e '/tmp/it'\\''s here' ]; then cat -- '/tmp/it'\\''s here'; else exit 66; fi"
        );
        assert_eq!(
            sh(&read_if_present("/nonexistent/x").to_shell())
                .status
                .code(),
            Some(66)
        );
        assert_eq!(sha256(ENV_PATH).to_shell(), "sha256sum /app/env.yml");
        let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            parse_sha256(&format!("{digest}  /app/env.yml\n")),
            Some(digest)
        );
        assert_eq!(parse_sha256("sha256sum: /app/env.yml: No such file"), None);
    }

    #[test]
    fn update_progress_runs_here_and_parses() {
        assert_eq!(
            update_progress().to_shell(),
            format!(
                "u=$(systemctl is-active appliance-update 2>/dev/null); \
if systemctl list-jobs 2>/dev/null | grep -q appliance-update; then u=queued; fi; \
printf 'update=%s\\n' \"$u\"; {}",
                state().to_shell()
            )
        );
        let out = sh(&update_progress().to_shell());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("update="), "{text}");
        assert_ne!(parse_update_progress(&text).1, AppState::Unknown, "{text}");
        assert_eq!(
            parse_update_progress(
                "update=activating\nstate=starting\n<h1>Update</h1><p>building</p>"
            ),
            (
                "activating".to_owned(),
                AppState::Starting,
                Some("Update: building".to_owned())
            )
        );
    }

    #[test]
    fn status_reports_installation() {
        let out = sh(&status().to_shell());
        let (facts, _) = parse_status(&String::from_utf8(out.stdout).unwrap());
        assert!(matches!(facts.get("installed"), Some("true" | "false")));
    }

    #[test]
    fn state_comes_from_the_units_not_from_a_leftover_status_page() {
        let dir = std::env::temp_dir().join(format!("ecsfleet-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A systemctl that answers `is-active UNIT` from $UNIT_STATE_<unit>.
        std::fs::write(
            dir.join("systemctl"),
            "#!/bin/sh\nu=$(echo \"$2\" | tr - _)\neval \"s=\\${UNIT_STATE_$u:-inactive}\"\necho \"$s\"\n[ \"$s\" = active ]\n",
        )
        .unwrap();
        std::fs::set_permissions(
            dir.join("systemctl"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let (page, flag) = (dir.join("503.html"), dir.join("failed"));
        let script = state()
            .to_shell()
            .replace(STATUS_PAGE, page.to_str().unwrap())
            .replace(FAILED_FLAG, flag.to_str().unwrap());
        let state_with = |units: &[(&str, &str)], with_page: bool, failed: bool| {
            let _ = std::fs::remove_file(&page);
            let _ = std::fs::remove_file(&flag);
            if with_page {
                std::fs::write(&page, "<h1>Appliance Update</h1><p>building</p>").unwrap();
            }
            if failed {
                std::fs::write(&flag, "").unwrap();
            }
            let mut command = Command::new("/bin/sh");
            command
                .arg("-c")
                .arg(&script)
                .env("PATH", format!("{}:/usr/bin:/bin", dir.display()));
            for (unit, state) in units {
                command.env(format!("UNIT_STATE_{}", unit.replace('-', "_")), state);
            }
            parse_state(&String::from_utf8(command.output().unwrap().stdout).unwrap()).0
        };
        use AppState::*;
        assert_eq!(
            state_with(&[("appliance", "active")], false, false),
            Running
        );
        assert_eq!(
            state_with(&[("appliance", "active")], true, false),
            Starting
        );
        assert_eq!(
            state_with(&[("appliance", "activating")], true, false),
            Starting
        );
        assert_eq!(state_with(&[], true, false), Stopped);
        assert_eq!(state_with(&[], false, false), Stopped);
        assert_eq!(state_with(&[("appliance", "failed")], true, false), Stopped);
        assert_eq!(
            state_with(&[("appliance-update", "activating")], true, false),
            Starting
        );
        assert_eq!(
            state_with(&[("prepare-ecs", "activating")], true, false),
            Starting
        );
        assert_eq!(state_with(&[("appliance", "active")], true, true), Failed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn state_parsing() {
        assert_eq!(parse_state("state=running\n"), (AppState::Running, None));
        assert_eq!(
            parse_state(
                "state=starting\n<html><head><title>x</title></head><body><h3>Update</h3>\n<p>pulling &amp; building</p></body></html>"
            ),
            (
                AppState::Starting,
                Some("Update: pulling & building".into())
            )
        );
        assert_eq!(parse_state("garbage").0, AppState::Unknown);
        assert_eq!(
            parse_state(
                "state=failed\nfailure_cause=INFO: appliance status: Appliance Standby : no db\n\
<h2>Appliance Standby</h2><p>no db</p>"
            ),
            (AppState::Failed, Some("Appliance Standby: no db".into()))
        );
        assert_eq!(
            parse_state(
                "state=failed\nfailure_cause=INFO: appliance status: Appliance Standby : Appliance is in standby, \
no postgresql database named ecs\n<h2>Appliance Error</h2><p>Appliance (appliance.service) failed to start, system in standby</p>"
            ),
            (
                AppState::Failed,
                Some(
                    "Appliance Error: Appliance (appliance.service) failed to start, system in standby \
(cause: Appliance Standby: Appliance is in standby, no postgresql database named ecs)"
                        .into()
                )
            )
        );
    }

    #[test]
    fn lock_takes_once_and_releases_for_its_holder() {
        let dir = std::env::temp_dir().join(format!("ecsfleet-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("lock");
        let local = |cmd: RemoteCommand| cmd.to_shell().replace(LOCK_FILE, lock.to_str().unwrap());
        let take = local(lock_acquire(HOSTILE, "install", "2026-11-01T10:00:00Z"));
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        let taken = sh(&take);
        assert!(taken.status.success());
        assert_eq!(
            String::from_utf8(taken.stdout).unwrap(),
            format!("boot_id={boot_id}")
        );
        let again = sh(&take);
        assert!(!again.status.success());
        assert_eq!(
            String::from_utf8(again.stdout).unwrap(),
            format!(
                "holder=O'Brien; touch /tmp/x\noperation=install\nstarted=2026-11-01T10:00:00Z\nboot_id={boot_id}"
            )
        );
        assert!(sh(&local(lock_release("someone else"))).status.success());
        assert!(lock.exists());
        assert!(sh(&local(lock_release(HOSTILE))).status.success());
        assert!(!lock.exists());
        // No lock at all: nothing to do, quietly, in dash and bash alike.
        for shell in ["/bin/sh", "/bin/bash"] {
            let out = Command::new(shell)
                .arg("-c")
                .arg(local(lock_release(HOSTILE)))
                .output()
                .unwrap();
            assert!(out.status.success(), "{shell}: {out:?}");
            assert!(out.stderr.is_empty(), "{shell}: {out:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
