//! `ecsfleet exec SELECT -- CMD`: an ad-hoc command on many hosts at once,
//! output prefixed by host as it arrives, then a summary table; or, with
//! --json, one JSON object per host and nothing else on stdout.
//!
//! `ECSFLEET_BENCH_REPEAT=N` (a benchmark instrument, see bench/README.md)
//! runs the command N times on each host, one channel after another over the
//! host's one connection, stopping at the first failure: the cost of a bare
//! exec on an open connection, without the playbook executor around it.
//! With `ECSFLEET_BENCH_SHELL=1` as well, the N commands go to one session
//! shell instead (`ssh::Shell`, what playbook runs use): the bare cost of a
//! command there.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Outcome, Result};
use crate::fleet::Fleet;
use crate::run::{for_each_host, runtime};
use crate::ssh::{Connection, ExitStatus, Shell, Stream};

struct HostResult {
    host: String,
    status: Option<ExitStatus>,
    error: Option<String>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
}

pub fn run(
    selection: Selection,
    forks: usize,
    stdin: bool,
    command: Vec<String>,
    global: &GlobalArgs,
) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let hosts = fleet.select(&selection)?;
    let options = fleet.ssh_options(global)?;
    let targets = hosts
        .iter()
        .map(|host| fleet.target(host))
        .collect::<Result<Vec<_>>>()?;
    let command = Arc::new(command.join(" "));
    let input: Arc<Option<Vec<u8>>> = Arc::new(if stdin {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)
            .map_err(|e| crate::error::Error::io("cannot read stdin", e))?;
        Some(buffer)
    } else {
        None
    });
    let width = targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let stream_output = !global.json && !global.quiet;
    let repeat = bench_repeat();
    let printer = Arc::new(Mutex::new(()));

    let results = runtime().block_on(for_each_host(targets, forks, move |target| {
        let options = options.clone();
        let command = command.clone();
        let input = input.clone();
        let printer = printer.clone();
        async move {
            let started = Instant::now();
            let mut result = HostResult {
                host: target.name.clone(),
                status: None,
                error: None,
                stdout: Vec::new(),
                stderr: Vec::new(),
                elapsed: Duration::ZERO,
            };
            match Connection::open(&target, &options).await {
                Err(error) => result.error = Some(error.to_string()),
                Ok(connection) => {
                    let mut lines = LinePrinter::new(&target.name, width, printer, stream_output);
                    let (stdout, stderr) = (&mut result.stdout, &mut result.stderr);
                    let mut outcome = Err(crate::ssh::SshError::Command("not run".into()));
                    let mut shell = None;
                    if bench_shell() {
                        match Shell::start(&connection).await {
                            Ok(started) => shell = Some(started),
                            Err(error) => outcome = Err(error),
                        }
                    }
                    let runs = if bench_shell() && shell.is_none() {
                        0
                    } else {
                        repeat
                    };
                    for _ in 0..runs {
                        let mut sink = |stream: Stream, data: &[u8]| {
                            match stream {
                                Stream::Stdout => stdout.extend_from_slice(data),
                                Stream::Stderr => stderr.extend_from_slice(data),
                            }
                            lines.feed(stream, data);
                        };
                        outcome = match &mut shell {
                            Some(shell) => shell
                                .run(&connection, &command, input.as_deref(), &mut sink)
                                .await
                                .map_err(Into::into),
                            None => {
                                connection
                                    .exec_streaming(&command, input.as_deref(), &mut sink)
                                    .await
                            }
                        };
                        if !matches!(&outcome, Ok(status) if status.success()) {
                            break;
                        }
                    }
                    lines.flush();
                    match outcome {
                        Ok(status) => result.status = Some(status),
                        Err(error) => result.error = Some(error.to_string()),
                    }
                    connection.close().await;
                }
            }
            result.elapsed = started.elapsed();
            result
        }
    }));

    let failed = results
        .iter()
        .any(|r| r.error.is_some() || !r.status.as_ref().is_some_and(ExitStatus::success));
    if global.json {
        let mut out = std::io::stdout().lock();
        for r in &results {
            let line = serde_json::json!({
                "host": r.host,
                "ok": r.error.is_none() && r.status.as_ref().is_some_and(ExitStatus::success),
                "exit_status": r.status.as_ref().and_then(ExitStatus::code),
                "signal": match &r.status { Some(ExitStatus::Signal { name, .. }) => Some(name.clone()), _ => None },
                "stdout": String::from_utf8_lossy(&r.stdout),
                "stderr": String::from_utf8_lossy(&r.stderr),
                "error": r.error,
                "seconds": r.elapsed.as_secs_f64(),
            });
            let _ = writeln!(out, "{line}");
        }
    } else {
        for r in &results {
            if let Some(error) = &r.error {
                eprintln!("error: {}: {error}", r.host);
            }
        }
        if !global.quiet {
            let mut table = crate::report::table(["host", "result", "exit status", "time"]);
            for r in &results {
                let (result, status) = match (&r.error, &r.status) {
                    (Some(_), _) => ("unreachable".to_string(), "-".to_string()),
                    (None, Some(status)) if status.success() => ("ok".into(), "0".into()),
                    (None, Some(status)) => ("failed".into(), status.to_string()),
                    (None, None) => ("failed".into(), "-".into()),
                };
                table.add_row([
                    r.host.clone(),
                    result,
                    status,
                    format!("{:.2} s", r.elapsed.as_secs_f64()),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(if failed {
        Outcome::HostFailed
    } else {
        Outcome::Success
    })
}

/// How many times to run the command on each host (`ECSFLEET_BENCH_REPEAT`,
/// default 1).
fn bench_repeat() -> usize {
    std::env::var("ECSFLEET_BENCH_REPEAT")
        .ok()
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// `ECSFLEET_BENCH_SHELL=1`: the repeated command goes to a session shell.
fn bench_shell() -> bool {
    std::env::var("ECSFLEET_BENCH_SHELL").is_ok_and(|value| value.trim() == "1")
}

/// Prints complete lines as `host | line` while a command runs; stdout lines
/// go to stdout, stderr lines to stderr.
struct LinePrinter {
    prefix: String,
    lock: Arc<Mutex<()>>,
    enabled: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LinePrinter {
    fn new(host: &str, width: usize, lock: Arc<Mutex<()>>, enabled: bool) -> LinePrinter {
        LinePrinter {
            prefix: format!("{host:<width$} | "),
            lock,
            enabled,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn feed(&mut self, stream: Stream, data: &[u8]) {
        if !self.enabled {
            return;
        }
        let buffer = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        buffer.extend_from_slice(data);
        while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            let _guard = self.lock.lock().expect("output lock");
            match stream {
                Stream::Stdout => println!("{}{text}", self.prefix),
                Stream::Stderr => eprintln!("{}{text}", self.prefix),
            }
        }
    }

    fn flush(&mut self) {
        if !self.enabled {
            return;
        }
        let _guard = self.lock.lock().expect("output lock");
        if !self.stdout.is_empty() {
            println!("{}{}", self.prefix, String::from_utf8_lossy(&self.stdout));
            self.stdout.clear();
        }
        if !self.stderr.is_empty() {
            eprintln!("{}{}", self.prefix, String::from_utf8_lossy(&self.stderr));
            self.stderr.clear();
        }
    }
}
