//! What a run reports while it goes: [`Event`]s, emitted by the executor to
//! an [`EventSink`]. The [`Reporter`] is the sink the commands use: NDJSON on
//! stdout with `--json`; otherwise progress on stderr (one indicatif line
//! per host on a terminal, plain lines elsewhere); and every step's result
//! appended to the run journal. Events carry names, results and times; the
//! only output they carry is masked command output (`Output`), which never
//! reaches the journal.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use super::journal::Journal;

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// Nothing to do: a guard said it is done already, or a check passed.
    Ok,
    /// The step ran and did its work.
    Changed,
    /// `when` was false.
    Skipped,
    /// Finished in the run being resumed.
    Resumed,
    Failed,
    Interrupted,
}

impl StepResult {
    /// Counts as done for `--resume`.
    pub fn finished(self) -> bool {
        matches!(
            self,
            StepResult::Ok | StepResult::Changed | StepResult::Skipped | StepResult::Resumed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Ok => "ok",
            StepResult::Changed => "changed",
            StepResult::Skipped => "skipped",
            StepResult::Resumed => "resumed",
            StepResult::Failed => "failed",
            StepResult::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<StepResult> {
        Some(match text {
            "ok" => StepResult::Ok,
            "changed" => StepResult::Changed,
            "skipped" => StepResult::Skipped,
            "resumed" => StepResult::Resumed,
            "failed" => StepResult::Failed,
            "interrupted" => StepResult::Interrupted,
            _ => return None,
        })
    }
}

/// How one host ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostResult {
    Ok,
    Failed,
    /// No connection.
    Unreachable,
    /// Another run holds the host's lock.
    Locked,
    Interrupted,
    /// `--fail-fast`: stopped between steps after another host failed.
    Stopped,
    /// Never started: `--max-fail` or `--fail-fast` stopped the run first.
    NotStarted,
}

impl HostResult {
    pub fn as_str(self) -> &'static str {
        match self {
            HostResult::Ok => "ok",
            HostResult::Failed => "failed",
            HostResult::Unreachable => "unreachable",
            HostResult::Locked => "locked",
            HostResult::Interrupted => "interrupted",
            HostResult::Stopped => "stopped",
            HostResult::NotStarted => "not started",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run: String,
        playbook: String,
        hosts: Vec<String>,
        resumed: bool,
    },
    HostStarted {
        host: String,
    },
    StepStarted {
        host: String,
        step: usize,
        total: usize,
        name: String,
    },
    /// The step's own status text (the appliance's 503 page, reboot state).
    Progress {
        host: String,
        step: usize,
        text: String,
    },
    /// One line of a command's output, secrets masked.
    Output {
        host: String,
        step: usize,
        stream: &'static str,
        line: String,
    },
    StepFinished {
        host: String,
        step: usize,
        total: usize,
        name: String,
        result: StepResult,
        seconds: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    HostFinished {
        host: String,
        result: HostResult,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        seconds: f64,
    },
    RunFinished {
        run: String,
        ok: usize,
        failed: usize,
        interrupted: bool,
    },
}

pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Collects events (tests).
#[cfg(test)]
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Event>>,
}

#[cfg(test)]
impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        self.events.lock().expect("recorder").push(event);
    }
}

enum Display {
    Json,
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
    Lines {
        output: bool,
    },
    Quiet,
}

/// The sink the commands use; see the module comment.
pub struct Reporter {
    display: Display,
    journal: Option<Mutex<Journal>>,
    playbook: String,
    width: usize,
}

impl Reporter {
    /// `verbose` prints command output lines in plain mode.
    pub fn new(
        json: bool,
        quiet: bool,
        verbose: bool,
        journal: Option<Journal>,
        playbook: &str,
        hosts: &[String],
    ) -> Reporter {
        let display = if json {
            Display::Json
        } else if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            Display::Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Display::Lines { output: verbose }
        };
        Reporter {
            display,
            journal: journal.map(Mutex::new),
            playbook: playbook.to_owned(),
            width: hosts.iter().map(String::len).max().unwrap_or(0),
        }
    }

    fn journal(&self, event: &Event) {
        let Some(journal) = &self.journal else { return };
        let mut journal = journal.lock().expect("journal");
        if let Err(error) = journal.record(&self.playbook, event) {
            tracing::warn!("cannot write the run journal: {error}");
        }
    }

    fn bar(&self, host: &str) -> Option<ProgressBar> {
        let Display::Bars { multi, bars } = &self.display else {
            return None;
        };
        let mut bars = bars.lock().expect("bars");
        let bar = bars.entry(host.to_owned()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                    .expect("progress template"),
            );
            bar.set_prefix(format!("{host:<w$}", w = self.width));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Some(bar.clone())
    }

    fn line(&self, host: &str, text: &str) {
        eprintln!("{host:<w$}  {text}", w = self.width);
    }
}

impl EventSink for Reporter {
    fn emit(&self, event: Event) {
        self.journal(&event);
        match &self.display {
            Display::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
            }
            Display::Quiet => {}
            Display::Bars { .. } => match &event {
                Event::HostStarted { host } => {
                    if let Some(bar) = self.bar(host) {
                        bar.set_message("connecting");
                    }
                }
                Event::StepStarted {
                    host,
                    step,
                    total,
                    name,
                } => {
                    if let Some(bar) = self.bar(host) {
                        bar.set_message(format!("[{step}/{total}] {name}"));
                    }
                }
                Event::Progress { host, step, text }
                | Event::Output {
                    host,
                    step,
                    line: text,
                    ..
                } => {
                    if let Some(bar) = self.bar(host) {
                        let current = bar.message();
                        let head = current.split(" — ").next().unwrap_or("").to_owned();
                        let head = if head.is_empty() {
                            format!("[{step}]")
                        } else {
                            head
                        };
                        bar.set_message(format!("{head} — {}", text.trim()));
                    }
                }
                Event::HostFinished {
                    host,
                    result,
                    error,
                    seconds,
                } => {
                    if let Some(bar) = self.bar(host) {
                        let mut text = format!("{} ({seconds:.1} s)", result.as_str());
                        if let Some(error) = error {
                            text.push_str(": ");
                            text.push_str(error.lines().next().unwrap_or(""));
                        }
                        bar.set_style(
                            ProgressStyle::with_template("  {prefix:.bold} {wide_msg}")
                                .expect("progress template"),
                        );
                        bar.finish_with_message(text);
                    }
                }
                _ => {}
            },
            Display::Lines { output } => match &event {
                Event::StepStarted {
                    host,
                    step,
                    total,
                    name,
                } => self.line(host, &format!("[{step}/{total}] {name}")),
                Event::Progress { host, step, text } => {
                    self.line(host, &format!("[{step}] {text}"))
                }
                Event::Output { host, line, .. } if *output => {
                    self.line(host, &format!("| {line}"))
                }
                Event::StepFinished {
                    host,
                    step,
                    total,
                    name,
                    result,
                    seconds,
                    note,
                } => {
                    let mut text = format!(
                        "[{step}/{total}] {name}: {} ({seconds:.1} s)",
                        result.as_str()
                    );
                    if let Some(note) = note {
                        text.push_str(&format!(" — {note}"));
                    }
                    self.line(host, &text)
                }
                Event::HostFinished {
                    host,
                    result,
                    error,
                    ..
                } if *result != HostResult::Ok => {
                    let mut text = result.as_str().to_owned();
                    if let Some(error) = error {
                        text.push_str(": ");
                        text.push_str(error.lines().next().unwrap_or(""));
                    }
                    self.line(host, &text)
                }
                _ => {}
            },
        }
    }
}

impl Reporter {
    /// Leaves the finished host lines in place and stops redrawing.
    pub fn finish(&self) {
        if let Display::Bars { bars, .. } = &self.display {
            for bar in bars.lock().expect("bars").values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}
