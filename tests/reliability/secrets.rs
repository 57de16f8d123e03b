//! Secrets hygiene across every command that touches an env or a
//! passphrase: env new, check, diff, package; push-env (with and without
//! --activate); activate (user and cert create: tests/twin/lifecycle.rs). Each runs with -vv
//! (tracing at debug) and again with --json where it has it; stdout,
//! stderr, the run journal and every file ecsfleet wrote beside them are
//! searched for every secret of every env version and every passphrase:
//! zero hits. Everything runs under umask 000, and the files that hold
//! secrets must still be 0600. Lab hosts 187..=188.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::rig::{Ran, Rig, figure};

/// Every secret in the env's text (there are many in a generated env).
fn secrets_of(text: &str) -> Vec<String> {
    let secrets = crate::support::secrets::secrets_of(text);
    assert!(secrets.len() > 20, "the env has its secrets");
    secrets
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

struct Session<'a> {
    rig: &'a Rig,
    seen: Vec<(String, String)>,
}

impl Session<'_> {
    /// Runs ecsfleet ARGS -vv under umask 000 and keeps what it printed.
    fn run(&mut self, args: &[&str]) -> Ran {
        let mut command = self.rig.command(args);
        command.arg("-vv").env("RUST_LOG", "debug");
        // SAFETY: umask(2) is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let ran = Ran::from(command.output().unwrap());
        self.seen.push((args.join(" "), ran.all()));
        ran
    }

    fn ok(&mut self, args: &[&str]) -> Ran {
        let ran = self.run(args);
        assert_eq!(ran.code, Some(0), "{args:?}: {ran:#?}");
        ran
    }
}

#[test]
fn no_command_shows_a_secret_and_secret_files_are_0600() {
    let rig = Rig::up(187, 2);
    let [a, b] = <[String; 2]>::try_from(rig.names()).unwrap();
    let mut s = Session {
        rig: &rig,
        seen: Vec::new(),
    };
    let mut secrets = Vec::new();
    let mut new_env = |s: &mut Session, host: &str| {
        let path = rig.env_path(host);
        let _ = fs::remove_file(&path);
        let domain = format!("{host}.ecs.test");
        s.ok(&["env", "new", &domain, "--out", path.to_str().unwrap()]);
        assert_eq!(mode(&path), 0o600, "env new under umask 000");
        secrets.extend(secrets_of(&fs::read_to_string(&path).unwrap()));
    };
    for host in [&a, &b] {
        new_env(&mut s, host);
        rig.install_by_hand(host);
        rig.lab.ssh_ok(
            host,
            "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8",
        );
    }
    let env_a = rig.env_path(&a);
    let env_a = env_a.to_str().unwrap();
    s.ok(&["env", "check", env_a]);
    s.ok(&["--json", "env", "check", env_a]);
    let out = tempfile::tempdir().unwrap();
    s.ok(&[
        "env",
        "package",
        env_a,
        "--plain",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let packages: Vec<_> = fs::read_dir(out.path()).unwrap().flatten().collect();
    assert!(!packages.is_empty());
    for package in &packages {
        assert_eq!(mode(&package.path()), 0o600, "{:?}", package.path());
    }

    s.ok(&[
        "push-env",
        &a,
        "--yes",
        "--activate",
        "--activate-timeout",
        "120",
    ]);
    s.ok(&["--json", "push-env", &b, "--yes"]);
    s.ok(&[
        "--json",
        "activate",
        &b,
        "--yes",
        "--wait-interval",
        "0.3",
        "--reboot-timeout",
        "60",
    ]);
    // New secrets locally: the diff shows that they changed, never them.
    new_env(&mut s, &a);
    assert_eq!(s.run(&["env", "diff", &a]).code, Some(1));
    assert_eq!(s.run(&["--json", "env", "diff", &a]).code, Some(1));
    s.ok(&["--json", "push-env", "--all", "--yes"]);

    // user and cert create run the Django shell, which only the twin has:
    // tests/twin/lifecycle.rs checks their passphrases stay off the screen
    // (-vv and --json too) and their files are 0600.

    let journal = rig.lab.dir().join(".ecsfleet/journal.jsonl");
    assert_eq!(mode(&journal), 0o600);
    s.seen.push(("the run journal".into(), rig.journal()));
    for host in [&a, &b] {
        assert_eq!(mode(&rig.lab.host_path(host, "/app/env.yml")), 0o600);
        assert_eq!(mode(&rig.lab.host_path(host, "/run/active-env.yml")), 0o600);
    }
    // The search finds a secret where one is shown on purpose: `env
    // flatten` prints the values the appliance's scripts read.
    let control = rig.run(&["env", "flatten", env_a]);
    assert!(
        secrets
            .iter()
            .any(|secret| control.stdout.contains(secret.as_str())),
        "the secret search would find nothing: {control:#?}"
    );
    let mut leaks = Vec::new();
    for (what, text) in &s.seen {
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                leaks.push(format!("{what}: {}...", &secret[..8]));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets shown: {leaks:#?}");
    figure(
        json!({"secrets": secrets.len(), "outputs_searched": s.seen.len(),
        "commands": s.seen.len() - 1, "leaked": 0}),
    );
}

/// Files that hold secrets are 0600 from the moment they exist: every
/// open(2) that creates a file in the target directories asks for 0600
/// (seen with strace), under umask 000, so no other user can open one
/// between its creation and a later chmod.
#[test]
fn secret_files_are_created_0600() {
    let rig = Rig::up(199, 1);
    let host = rig.names().remove(0);
    rig.make_running(&host);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap().to_owned();
    let env = format!("{dir}/env.yml");
    let trace = rig.lab.dir().join("strace.log");
    let commands: Vec<Vec<&str>> = vec![
        vec!["env", "new", "lab199.ecs.test", "--out", &env],
        vec!["env", "package", &env, "--plain", "--out", &dir],
    ];
    let mut created = Vec::new();
    for args in &commands {
        let mut command = Command::new("strace");
        command
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=openat,creat,chmod,fchmod,fchmodat",
                "-o",
            ])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_ecsfleet"))
            .arg("-i")
            .arg(rig.inventory())
            .arg("--no-ssh-config")
            .args(args)
            .env("HOME", rig.lab.dir())
            .env_remove("SSH_AUTH_SOCK")
            .stdin(std::process::Stdio::null());
        // SAFETY: umask(2) is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let ran = Ran::from(command.output().unwrap());
        assert_eq!(ran.code, Some(0), "{args:?}: {ran:#?}");
        let log = fs::read_to_string(&trace).unwrap();
        for line in log.lines().filter(|l| l.contains(&dir)) {
            if line.contains("O_CREAT") {
                assert!(
                    line.contains(", 0600)"),
                    "{args:?} created a file not 0600: {line}"
                );
                created.push(line.to_owned());
            }
            if line.contains("chmod(") {
                assert!(line.contains(", 0600)"), "{args:?}: {line}");
            }
        }
    }
    // env new and env package (user and cert create: tests/twin/lifecycle.rs).
    assert!(created.len() >= 2, "{created:#?}");
    for file in fs::read_dir(out.path()).unwrap().flatten() {
        assert_eq!(mode(&file.path()), 0o600, "{:?}", file.path());
    }
    figure(json!({"secret_files_created_0600": created.len(), "commands": commands.len()}));
}
