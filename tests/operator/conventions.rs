//! Completions, the man page, and no color in pipes or with NO_COLOR.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{ESC, show, text};
use crate::support::lab::ecsfleet;

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = ecsfleet().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success(), "{}", show(&bash));
    let script = text(&bash.stdout);
    for sub in [
        "check",
        "vagrant",
        "install",
        "push-env",
        "completions",
        "man",
    ] {
        assert!(script.contains(&format!("ecsfleet,{sub})")), "{sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecsfleet.bash");
    fs::write(&file, &bash.stdout).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(syntax.status.success(), "{}", show(&syntax));
    // Sourcing it defines the function bash calls for `ecsfleet <TAB>`.
    let defined = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p ecsfleet",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(defined.status.success(), "{}", show(&defined));
    assert!(text(&defined.stdout).contains("ecsfleet"));

    let zsh = ecsfleet().args(["completions", "zsh"]).output().unwrap();
    assert!(text(&zsh.stdout).starts_with("#compdef ecsfleet"));
    let fish = ecsfleet().args(["completions", "fish"]).output().unwrap();
    assert!(text(&fish.stdout).contains("__fish_ecsfleet_using_subcommand vagrant"));
    let bad = ecsfleet().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_man_page_renders() {
    let output = ecsfleet().arg("man").output().unwrap();
    assert!(output.status.success(), "{}", show(&output));
    let roff = text(&output.stdout);
    assert!(
        roff.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &roff[..80.min(roff.len())]
    );
    assert!(roff.contains(".TH ecsfleet 1"));
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(roff.contains(section), "{section}");
    }
    // Rendered by groff as man(1) would.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("ecsfleet.1");
    fs::write(&page, &output.stdout).unwrap();
    let rendered = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .arg(&page)
        .output()
        .expect("groff (groff-base)");
    assert!(rendered.status.success(), "{}", show(&rendered));
    let rendered = text(&rendered.stdout);
    assert!(rendered.contains("SYNOPSIS"), "{rendered}");
    assert!(rendered.contains("ecsfleet-vagrant(1)") || rendered.contains("vagrant"));
    assert!(!text(&rendered_warnings(&page)).contains("warning"));

    // One page per subcommand with --dir.
    let out = dir.path().join("man1");
    let output = ecsfleet()
        .args(["man", "--dir"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", show(&output));
    for page in [
        "ecsfleet.1",
        "ecsfleet-check.1",
        "ecsfleet-vagrant-provision.1",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
    let provision = fs::read_to_string(out.join("ecsfleet-vagrant-provision.1")).unwrap();
    assert!(provision.contains("Example"), "{provision}");
}

/// groff's warnings (-ww) on stderr.
fn rendered_warnings(page: &Path) -> Vec<u8> {
    Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .unwrap()
        .stderr
}

/// `ecsfleet exec` with a broken known_hosts line logs a warning to stderr
/// before it fails to connect: log output to look at.
fn warning_run(dir: &Path) -> Command {
    fs::write(dir.join("known_hosts"), "not a known_hosts line\n").unwrap();
    fs::write(
        dir.join("hosts.yml"),
        "known_hosts: known_hosts\nhosts:\n  gone: {address: 127.0.0.108, port: 2}\n",
    )
    .unwrap();
    let mut command = ecsfleet();
    command.arg("-i").arg(dir.join("hosts.yml")).args([
        "exec",
        "gone",
        "--connect-timeout",
        "3",
        "--",
        "true",
    ]);
    command
}

/// `command` run on a terminal, through script(1); its output (stdout and
/// stderr together, as the terminal saw them).
fn on_terminal(command: Command, no_color: bool) -> Vec<u8> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("ECSFLEET_INVENTORY")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null());
    if no_color {
        script.env("NO_COLOR", "1");
    }
    script.output().expect("script(1) from util-linux").stdout
}

#[test]
fn no_color_in_a_pipe_or_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    // In a pipe: a warning, no escape sequence.
    let output = warning_run(dir.path())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(!output.stderr.contains(&ESC), "{stderr:?}");
    assert!(!output.stdout.contains(&ESC));

    // On a terminal the log is colored (so this test can see color) ...
    let colored = on_terminal(warning_run(dir.path()), false);
    assert!(text(&colored).contains("WARN"), "{}", text(&colored));
    assert!(colored.contains(&ESC), "{:?}", text(&colored));
    // ... and with NO_COLOR it is not.
    let plain = on_terminal(warning_run(dir.path()), true);
    assert!(text(&plain).contains("WARN"), "{}", text(&plain));
    assert!(!plain.contains(&ESC), "{:?}", text(&plain));
}

#[test]
fn check_colors_its_verdicts_only_on_a_terminal_without_no_color() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hosts.yml"),
        "hosts:\n  gone: {address: 127.0.0.107, port: 2}\n",
    )
    .unwrap();
    let check = || {
        let mut command = ecsfleet();
        command.arg("-i").arg(dir.path().join("hosts.yml")).args([
            "check",
            "gone",
            "--connect-timeout",
            "3",
        ]);
        command
    };
    let piped = check().env_remove("NO_COLOR").output().unwrap();
    assert_eq!(piped.status.code(), Some(1), "{}", show(&piped));
    assert!(text(&piped.stdout).contains("fail"));
    assert!(!piped.stdout.contains(&ESC), "{:?}", text(&piped.stdout));
    // The red `fail` on a terminal ...
    let colored = on_terminal(check(), false);
    assert!(
        text(&colored).contains("\u{1b}[38;5;9m fail"),
        "{:?}",
        text(&colored)
    );
    // ... and none with NO_COLOR.
    let plain = on_terminal(check(), true);
    assert!(text(&plain).contains("fail"), "{}", text(&plain));
    assert!(!plain.contains(&ESC), "{:?}", text(&plain));
}
