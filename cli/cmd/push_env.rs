//! `ecsfleet push-env`: check, show the masked diff, upload atomically.
//!
//! Four phases, so that a question is asked once and nothing is sent before
//! the operator has seen what changes:
//! 1. on the workstation, per host: which env file, `env check`, and the
//!    env's `appliance.domain` against the inventory's `domain` (a refusal
//!    here means nothing is sent to that host);
//! 2. in parallel: connect, read /app/env.yml (absent is fine);
//! 3. here: the masked diffs, then one confirmation for every host that
//!    would change (unless --yes);
//! 4. in parallel: the atomic upload (content as channel data, mode 0600 and
//!    owner root before the first byte), the host's own sha256 of the result,
//!    and with --activate `env-update.sh`, appliance-update and the wait
//!    until the appliance runs again.
//!
//! The env is a secret: only [`ecsfleet_env::diff_masked`] output and check
//! findings (which never quote values) reach the terminal.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use ecsfleet_inventory::Host;
use ecsfleet_playbooks::appliance::{self, ABSENT, AppState};
use sha2::{Digest as _, Sha256};
use tokio::signal::unix::{SignalKind, signal};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::journal::new_run_id;
use crate::run::lock::Lock;
use crate::run::{for_each_host, runtime};
use crate::ssh::{Connection, ExitStatus, Options, SshError, Target};

#[derive(Debug, Args)]
#[command(
    after_help = "Each host gets the env named by --env, or its own `env` from the \
inventory. Nothing is sent to a host whose env fails `env check` or whose \
appliance.domain differs from the host's `domain` in the inventory (--force \
overrides the domain check only).\n\n\
Exit status: 0 every host pushed, unchanged or declined; 1 a host failed or was \
unreachable; 2 a host was refused before anything was sent to it (and none failed), \
or no terminal to confirm on and no --yes.\n\n\
Example:\n  ecsfleet push-env ecs-vienna\n  ecsfleet push-env --all --yes --forks 20\n  \
ecsfleet push-env lab1 --env env/lab1.example.org/env.yml --activate"
)]
pub struct PushEnvArgs {
    #[command(flatten)]
    pub select: Selection,
    /// After the upload apply the env: env-update.sh, restart the appliance
    /// (prepare-env, -appliance and -ecs run again), and wait until it runs
    #[arg(long)]
    pub activate: bool,
    /// Push without asking
    #[arg(short, long)]
    pub yes: bool,
    /// Push even when the env's appliance.domain differs from the host's domain
    #[arg(long)]
    pub force: bool,
    /// Hosts worked on at the same time
    #[arg(short, long, default_value_t = 10)]
    pub forks: usize,
    /// Push this env file to every selected host instead of each host's own
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Seconds to wait for the appliance to run again after --activate
    /// (the real units allow prepare-appliance 30 min, prepare-ecs 60 min
    /// and the appliance 5 min: prepare-appliance.service, prepare-ecs.service,
    /// appliance.service)
    #[arg(long, default_value_t = 5700, value_name = "SECS")]
    pub activate_timeout: u64,
}

/// How one host ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Pushed,
    Activated,
    Unchanged,
    Declined,
    /// Refused on the workstation; nothing was sent.
    Refused,
    Unreachable,
    Failed,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Pushed => "pushed",
            Verdict::Activated => "activated",
            Verdict::Unchanged => "unchanged",
            Verdict::Declined => "declined",
            Verdict::Refused => "refused",
            Verdict::Unreachable => "unreachable",
            Verdict::Failed => "failed",
        }
    }
}

struct Report {
    host: String,
    verdict: Verdict,
    detail: String,
}

/// A host whose env passed the local checks.
struct Prepared {
    target: Target,
    env_path: PathBuf,
    text: String,
    sha256: String,
}

/// A host after phase 2.
struct Probed {
    prepared: Prepared,
    connection: Connection,
    /// /app/env.yml as it is on the host; `None` when absent.
    remote: Option<Vec<u8>>,
    /// sha256 of /run/active-env.yml (only read with --activate).
    active_sha256: Option<String>,
}

impl Probed {
    fn unchanged(&self) -> bool {
        self.remote.as_deref() == Some(self.prepared.text.as_bytes())
    }

    /// The active env is what prepare-env derives from this env (never
    /// byte-equal to it: appliance::active_env_from).
    fn active_current(&self) -> bool {
        let derived = appliance::active_env_from(self.prepared.text.as_bytes());
        self.active_sha256.as_deref() == Some(sha256_hex(&derived).as_str())
    }
}

pub fn run(args: PushEnvArgs, global: &GlobalArgs) -> Result<Outcome> {
    if !args.yes && !can_ask() {
        return Err(Error::usage(
            "push-env asks before it uploads, but there is no terminal to ask on; \
pass --yes to push without asking (nothing was sent)",
        ));
    }
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&args.select)?;
    let options = fleet.ssh_options(global)?;

    // Phase 1: on the workstation.
    let mut reports = Vec::new();
    let mut prepared = Vec::new();
    let mut checked: HashMap<PathBuf, std::result::Result<(String, String), String>> =
        HashMap::new();
    for host in &hosts {
        match prepare(&fleet, host, &args, global, &mut checked) {
            Ok(p) => prepared.push(p),
            Err(detail) => {
                if !global.json {
                    eprintln!("error: {}: {detail}", host.name);
                }
                reports.push(Report {
                    host: host.name.clone(),
                    verdict: Verdict::Refused,
                    detail,
                });
            }
        }
    }

    let rt = runtime();
    // Phase 2: read what is there.
    let read_active = args.activate;
    let probes = rt.block_on(for_each_host(prepared, args.forks, move |p| {
        let options = options.clone();
        async move { probe(p, &options, read_active).await }
    }));
    let mut ready = Vec::new();
    for probe in probes {
        match probe {
            Ok(probed) => ready.push(probed),
            Err(report) => {
                if !global.json {
                    eprintln!("error: {}: {}", report.host, report.detail);
                }
                reports.push(report);
            }
        }
    }

    // Phase 3: show and ask.
    let mut to_push = Vec::new();
    let mut to_close = Vec::new();
    for probed in ready {
        let host = probed.prepared.target.name.clone();
        if probed.unchanged() && (!args.activate || probed.active_current()) {
            reports.push(Report {
                host,
                verdict: Verdict::Unchanged,
                detail: "/app/env.yml is already this env".into(),
            });
            to_close.push(probed.connection);
            continue;
        }
        // Shown whenever a question follows; on stderr when stdout is JSON.
        if !global.quiet || !args.yes {
            show_diff(&probed, global.json);
        }
        to_push.push(probed);
    }
    let approved = if to_push.is_empty() || args.yes {
        true
    } else {
        let names: Vec<&str> = to_push
            .iter()
            .map(|p| p.prepared.target.name.as_str())
            .collect();
        confirm(&names, args.activate)?
    };
    if !approved {
        for probed in to_push.drain(..) {
            reports.push(Report {
                host: probed.prepared.target.name.clone(),
                verdict: Verdict::Declined,
                detail: "nothing sent".into(),
            });
            to_close.push(probed.connection);
        }
    }
    rt.block_on(async {
        for connection in to_close {
            connection.close().await;
        }
    });

    // Phase 4: upload, verify, activate.
    let activate = args.activate;
    let timeout = Duration::from_secs(args.activate_timeout);
    let options = fleet.ssh_options(global)?;
    let progress = !global.json && !global.quiet;
    let pushed = rt.block_on(for_each_host(to_push, args.forks, move |probed| {
        let options = options.clone();
        async move { push(probed, activate, timeout, &options, progress).await }
    }));
    for report in pushed {
        if !global.json && report.verdict == Verdict::Failed {
            eprintln!("error: {}: {}", report.host, report.detail);
        }
        reports.push(report);
    }

    let order: HashMap<&str, usize> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    reports.sort_by_key(|r| order.get(r.host.as_str()).copied().unwrap_or(usize::MAX));
    print_reports(&reports, global);
    let any = |v: &[Verdict]| reports.iter().any(|r| v.contains(&r.verdict));
    Ok(if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        Outcome::Interrupted
    } else if any(&[Verdict::Failed, Verdict::Unreachable]) {
        Outcome::HostFailed
    } else if any(&[Verdict::Refused]) {
        Outcome::Usage
    } else {
        Outcome::Success
    })
}

/// True when the operator can answer a question.
fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Phase 1 for one host; the error is the refusal's detail.
fn prepare(
    fleet: &Fleet,
    host: &Host,
    args: &PushEnvArgs,
    global: &GlobalArgs,
    checked: &mut HashMap<PathBuf, std::result::Result<(String, String), String>>,
) -> std::result::Result<Prepared, String> {
    let env_path = local_env_path(host, args.env.as_deref())?;
    let (text, domain) = checked
        .entry(env_path.clone())
        .or_insert_with(|| checked_env(&env_path, global))
        .clone()?;
    match &host.domain {
        Some(expected) if *expected != domain && !args.force => {
            return Err(format!(
                "{} is for `{domain}`, but the inventory says this host serves `{expected}`; \
nothing sent (--force pushes it anyway)",
                env_path.display()
            ));
        }
        Some(_) => {}
        None => {
            if !global.json {
                eprintln!(
                    "warning: {}: no `domain` in the inventory; cannot confirm that {} (for `{domain}`) is meant for it",
                    host.name,
                    env_path.display()
                );
            }
        }
    }
    let target = fleet.target(host).map_err(|e| e.to_string())?;
    let sha256 = sha256_hex(text.as_bytes());
    Ok(Prepared {
        target,
        env_path,
        text,
        sha256,
    })
}

/// The env file for `host`: the one given on the command line, else the
/// inventory's `env` for the host.
pub(crate) fn local_env_path(
    host: &Host,
    given: Option<&Path>,
) -> std::result::Result<PathBuf, String> {
    match (given, &host.env) {
        (Some(path), _) => Ok(path.to_path_buf()),
        (None, Some(path)) => Ok(path.clone()),
        (None, None) => Err(format!(
            "no env file: the inventory sets no `env` for {} (add one, or pass --env FILE)",
            host.name
        )),
    }
}

/// `env check` on one file, findings printed; the text and its domain when
/// it has no errors.
fn checked_env(path: &Path, global: &GlobalArgs) -> std::result::Result<(String, String), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let text = read_env_text(path)?;
    let mode = std::fs::metadata(path).ok().map(|m| m.permissions().mode());
    let findings = ecsfleet_env::check(&text, path, mode);
    if !global.json {
        for finding in &findings {
            if !global.quiet || finding.severity == ecsfleet_env::Severity::Error {
                eprintln!("{finding}");
            }
        }
    }
    if ecsfleet_env::has_errors(&findings) {
        let errors = findings
            .iter()
            .filter(|f| f.severity == ecsfleet_env::Severity::Error)
            .count();
        return Err(format!(
            "{} has {errors} error(s) (`ecsfleet env check {}`); nothing sent",
            path.display(),
            path.display()
        ));
    }
    let domain = ecsfleet_env::load(&text)
        .ok()
        .and_then(|doc| {
            doc.at("appliance.domain")
                .and_then(|n| n.as_str().map(str::to_owned))
        })
        .ok_or_else(|| format!("{}: appliance.domain: missing", path.display()))?;
    Ok((text, domain))
}

/// A local env file as UTF-8 text; errors name the file, never its content.
pub(crate) fn read_env_text(path: &Path) -> std::result::Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A remote file's bytes, `None` when it does not exist.
pub(crate) async fn read_remote(
    connection: &Connection,
    path: &str,
) -> std::result::Result<Option<Vec<u8>>, SshError> {
    let output = connection
        .exec(&appliance::read_if_present(path).to_shell(), None)
        .await?;
    match output.status {
        ExitStatus::Code(0) => Ok(Some(output.stdout)),
        ExitStatus::Code(ABSENT) => Ok(None),
        status => Err(SshError::Command(format!(
            "cannot read {path} ({status}): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

async fn probe(
    prepared: Prepared,
    options: &Options,
    read_active: bool,
) -> std::result::Result<Probed, Report> {
    let host = prepared.target.name.clone();
    let connection = Connection::open(&prepared.target, options)
        .await
        .map_err(|e| Report {
            host: host.clone(),
            verdict: Verdict::Unreachable,
            detail: e.to_string(),
        })?;
    let failed = |e: SshError| Report {
        host: host.clone(),
        verdict: Verdict::Failed,
        detail: e.to_string(),
    };
    let remote = match read_remote(&connection, appliance::ENV_PATH).await {
        Ok(remote) => remote,
        Err(e) => {
            connection.close().await;
            return Err(failed(e));
        }
    };
    let active_sha256 = if read_active {
        match connection
            .exec(
                &appliance::sha256(appliance::ACTIVE_ENV_PATH).to_shell(),
                None,
            )
            .await
        {
            Ok(output) => {
                appliance::parse_sha256(&String::from_utf8_lossy(&output.stdout)).map(str::to_owned)
            }
            Err(e) => {
                connection.close().await;
                return Err(failed(e));
            }
        }
    } else {
        None
    };
    Ok(Probed {
        prepared,
        connection,
        remote,
        active_sha256,
    })
}

/// The masked diff of what the host has against what would be pushed, on
/// stdout (stderr when stdout carries JSON).
fn show_diff(probed: &Probed, to_stderr: bool) {
    let host = &probed.prepared.target.name;
    let local = probed.prepared.env_path.display().to_string();
    let mut out: Box<dyn std::io::Write> = if to_stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    match &probed.remote {
        None => {
            let _ = writeln!(
                out,
                "{host}: {} does not exist yet; it will be {local}",
                appliance::ENV_PATH
            );
        }
        Some(_) if probed.unchanged() => {
            let _ = writeln!(
                out,
                "{host}: {} is already {local}; it is not the active env",
                appliance::ENV_PATH
            );
        }
        Some(remote) => {
            let remote = String::from_utf8_lossy(remote);
            let diff = ecsfleet_env::diff_masked(
                &remote,
                &probed.prepared.text,
                &format!("{host}:{}", appliance::ENV_PATH),
                &local,
            );
            if diff.is_empty() {
                let _ = writeln!(
                    out,
                    "{host}: {} differs from {local} only in bytes the masked diff cannot show",
                    appliance::ENV_PATH
                );
            } else {
                let _ = write!(out, "{diff}");
            }
        }
    }
    let _ = out.flush();
}

fn confirm(hosts: &[&str], activate: bool) -> Result<bool> {
    let what = if activate {
        "Push and activate the env on"
    } else {
        "Push the env to"
    };
    let prompt = match hosts {
        [one] => format!("{what} {one}?"),
        many => format!("{what} {} hosts ({})?", many.len(), many.join(", ")),
    };
    match dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact()
    {
        Ok(answer) => Ok(answer),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            Err(Error::Interrupted)
        }
        Err(dialoguer::Error::IO(e)) => Err(Error::io("asking for confirmation", e)),
    }
}

/// Phase 4 for one host.
async fn push(
    probed: Probed,
    activate: bool,
    timeout: Duration,
    options: &Options,
    progress: bool,
) -> Report {
    let Probed {
        prepared,
        connection,
        remote,
        ..
    } = probed;
    let host = prepared.target.name.clone();
    let report = |verdict, detail: String| Report {
        host: host.clone(),
        verdict,
        detail,
    };
    let unchanged = remote.as_deref() == Some(prepared.text.as_bytes());
    let short = prepared.sha256[..12].to_owned();
    // Like a playbook run, a push holds the host lock, taken before the
    // upload and released on every way out (Ctrl-C and SIGTERM included; a
    // reboot empties /run and so drops it anyway): another run's host is
    // never written to.
    let operation = if activate {
        "push-env --activate"
    } else {
        "push-env"
    };
    let lock = Lock::for_run(&new_run_id(), operation, false);
    // Listening before the lock is taken: no signal may fall between.
    let signals =
        signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
    let (mut interrupt, mut terminate) = match signals {
        Ok(pair) => pair,
        Err(e) => {
            connection.close().await;
            return report(
                Verdict::Failed,
                format!("cannot install the signal handlers: {e}"),
            );
        }
    };
    if let Err(e) = take_lock(&connection, &lock).await {
        connection.close().await;
        return report(Verdict::Failed, e);
    }
    let work = async {
        if !unchanged {
            upload(&connection, &prepared).await?;
        }
        if activate {
            apply(&connection, &prepared.target, timeout, options, progress).await?;
        }
        Ok::<(), String>(())
    };
    let result = tokio::select! {
        result = work => result,
        _ = interrupt.recv() => Err(interrupted()),
        _ = terminate.recv() => Err(interrupted()),
    };
    let released = release_lock(connection, &prepared.target, options, &lock).await;
    let result = match result {
        Err(e) if !released => Err(format!(
            "{e}; the host lock may be left: remove {} on the host when no run is active",
            appliance::LOCK_FILE
        )),
        other => other,
    };
    match result {
        Ok(()) if !activate => report(Verdict::Pushed, format!("sha256 {short}")),
        Ok(()) => report(Verdict::Activated, format!("sha256 {short}; running")),
        Err(e) if unchanged => report(Verdict::Failed, format!("unchanged (sha256 {short}); {e}")),
        Err(e) => report(Verdict::Failed, format!("sha256 {short}; {e}")),
    }
}

/// Set when SIGINT or SIGTERM stopped a push (exit 130).
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn interrupted() -> String {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    "interrupted".to_owned()
}

async fn take_lock(connection: &Connection, lock: &Lock) -> std::result::Result<(), String> {
    let output = connection
        .exec(&lock.acquire_command().to_shell(), None)
        .await
        .map_err(|e| format!("cannot take the lock: {e}"))?;
    match output.status {
        ExitStatus::Code(0) => Ok(()),
        ExitStatus::Code(1) => Err(Lock::refusal(&String::from_utf8_lossy(&output.stdout))),
        status => Err(format!(
            "cannot take the lock ({status}){}",
            ruled(&output.stderr)
        )),
    }
}

/// Releases `lock` over `connection`, or a new one when that one died (a
/// reboot); a host that stays away has lost the lock with its /run anyway.
async fn release_lock(
    connection: Connection,
    target: &Target,
    options: &Options,
    lock: &Lock,
) -> bool {
    let command = lock.release_command().to_shell();
    let mut connection = Some(connection);
    let mut delay = Duration::from_millis(500);
    // A dropped connection is retried with backoff: a crashed sshd is
    // usually back within seconds, and a lock left behind would refuse
    // the next push.
    for attempt in 1..=5 {
        let current = match connection.take().filter(|c| !c.is_closed()) {
            Some(open) => open,
            None => match Connection::open(target, options).await {
                Ok(fresh) => fresh,
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    continue;
                }
            },
        };
        let released = current.exec(&command, None).await;
        current.close().await;
        match released {
            Ok(output) => return output.status.success(),
            Err(_) if attempt < 5 => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(_) => {}
        }
    }
    false
}

/// The atomic upload and the host's own checksum of the result.
async fn upload(connection: &Connection, prepared: &Prepared) -> std::result::Result<(), String> {
    connection
        .upload(
            appliance::ENV_PATH,
            prepared.text.as_bytes(),
            0o600,
            Some("root"),
        )
        .await
        .map_err(|e| e.to_string())?;
    let output = connection
        .exec(&appliance::sha256(appliance::ENV_PATH).to_shell(), None)
        .await
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match appliance::parse_sha256(&stdout) {
        Some(sum) if sum == prepared.sha256 => Ok(()),
        Some(sum) => Err(format!(
            "after the upload the host reports sha256 {sum} for {}, expected {}",
            appliance::ENV_PATH,
            prepared.sha256
        )),
        None => Err(format!(
            "cannot verify {} ({}): {}",
            appliance::ENV_PATH,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// env-update.sh, `systemctl --no-block restart appliance`, then wait until
/// the appliance runs. A restart reruns prepare-env, -appliance and -ecs
/// (PartOf=appliance.service), which apply the env; appliance-update would
/// restart only when it finds something to update
/// (appliance-update.sh:332-338), so it is not the way to apply an env.
/// A lost connection is reopened until the timeout.
async fn apply(
    connection: &Connection,
    target: &Target,
    timeout: Duration,
    options: &Options,
    progress: bool,
) -> std::result::Result<(), String> {
    let host = target.name.clone();
    let update = appliance::restart_no_block("appliance");
    for command in [&appliance::env_update(), &update] {
        let output = match connection.exec(&command.to_shell(), None).await {
            Ok(output) => output,
            // The update may reboot the host before systemctl returns (a
            // pending reboot-required): the wait below reconnects.
            Err(SshError::Lost { .. }) if command == &update => break,
            Err(e) => return Err(e.to_string()),
        };
        if !output.status.success() {
            return Err(format!(
                "`{command}` failed ({}){}",
                output.status,
                ruled(&output.stderr)
            ));
        }
    }
    if progress && connection.is_closed() {
        eprintln!("{host}: the connection dropped (a reboot?); reconnecting");
    }
    let started = Instant::now();
    // Ours once the caller's connection died with a reboot.
    let mut reopened: Option<Connection> = None;
    let mut last_text: Option<String> = None;
    let result = loop {
        if started.elapsed() > timeout {
            break Err(format!(
                "not running after {} s (--activate-timeout){}",
                timeout.as_secs(),
                last_text
                    .map(|t| format!("; status: {t}"))
                    .unwrap_or_default()
            ));
        }
        let live = match &reopened {
            Some(c) => !c.is_closed(),
            None => !connection.is_closed(),
        };
        if !live {
            reopened = None;
            match Connection::open(target, options).await {
                Ok(c) => reopened = Some(c),
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            }
        }
        let current = reopened.as_ref().unwrap_or(connection);
        let output = match current
            .exec(&appliance::restart_progress().to_shell(), None)
            .await
        {
            Ok(output) => output,
            Err(_) => {
                // Rebooting, most likely: reconnect on the next round.
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let (update, state, text) =
            appliance::parse_update_progress(&String::from_utf8_lossy(&output.stdout));
        if progress && text.is_some() && text != last_text {
            eprintln!("{host}: {state}: {}", text.as_deref().unwrap_or(""));
        }
        if text.is_some() {
            last_text = text.clone();
        }
        let updating = matches!(
            update.as_str(),
            "activating" | "queued" | "reloading" | "deactivating"
        );
        match state {
            AppState::Failed => {
                break Err(format!(
                    "the appliance failed ({}): {}",
                    appliance::FAILED_FLAG,
                    text.unwrap_or_else(|| "no status text".into())
                ));
            }
            _ if update == "failed" => {
                break Err(format!(
                    "appliance-update failed (journalctl -u appliance-update){}",
                    text.map(|t| format!("; status: {t}")).unwrap_or_default()
                ));
            }
            AppState::Running if !updating => break Ok(()),
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    if let Some(c) = reopened {
        c.close().await;
    }
    result
}

/// A remote command's stderr between rulers, or nothing.
pub(crate) fn ruled(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim_end();
    if text.is_empty() {
        String::new()
    } else {
        let rule = "-".repeat(40);
        format!("\n{rule}\n{text}\n{rule}")
    }
}

fn print_reports(reports: &[Report], global: &GlobalArgs) {
    if global.json {
        let mut out = std::io::stdout().lock();
        for r in reports {
            let line = serde_json::json!({
                "host": r.host,
                "result": r.verdict.word(),
                "detail": r.detail,
            });
            let _ = writeln!(out, "{line}");
        }
        return;
    }
    if global.quiet || reports.is_empty() {
        return;
    }
    let mut table = crate::report::table(["host", "result", "detail"]);
    for r in reports {
        table.add_row([
            r.host.clone(),
            r.verdict.word().to_owned(),
            r.detail.clone(),
        ]);
    }
    println!("{table}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_comes_from_the_command_line_then_the_inventory() {
        let mut host = Host::new("lab1");
        assert_eq!(
            local_env_path(&host, None).unwrap_err(),
            "no env file: the inventory sets no `env` for lab1 (add one, or pass --env FILE)"
        );
        host.env = Some(PathBuf::from("env/a/env.yml"));
        assert_eq!(
            local_env_path(&host, None).unwrap(),
            PathBuf::from("env/a/env.yml")
        );
        assert_eq!(
            local_env_path(&host, Some(Path::new("other.yml"))).unwrap(),
            PathBuf::from("other.yml")
        );
    }

    #[test]
    fn stderr_between_rulers() {
        assert_eq!(ruled(b""), "");
        assert_eq!(ruled(b"  \n"), "");
        let rule = "-".repeat(40);
        assert_eq!(ruled(b"no space\n"), format!("\n{rule}\nno space\n{rule}"));
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
