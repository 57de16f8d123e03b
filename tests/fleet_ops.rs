//! `push-env`, `env diff`, `status`, `user create` and `cert create`
//! (issues 4 and 5) against lab hosts: real sshd, the appliance simulator and
//! its call log. Each test has its own host indices (first 120..160).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::lab::{LabFleet, ecsfleet};

/// A lab plus an inventory (`inventory/fleet.yml`, beside the lab's own so
/// its relative key and known_hosts paths hold) that gives every host an
/// `env: ../env/NAME.yml`.
struct Ops {
    lab: LabFleet,
}

#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Ops {
    fn up(first: u32, count: u32) -> Ops {
        let lab = LabFleet::up(first, count);
        let mut inventory = String::from(
            "defaults: {user: root, identity: ../keys/id_ed25519}\nknown_hosts: ../known_hosts\nhosts:\n",
        );
        for name in lab.names() {
            inventory.push_str(&format!(
                "  {name}: {{address: {}, domain: {name}.ecs.test, env: ../env/{name}.yml}}\n",
                lab.address(&name)
            ));
        }
        std::fs::write(lab.dir().join("inventory/fleet.yml"), inventory).unwrap();
        std::fs::create_dir_all(lab.dir().join("env")).unwrap();
        Ops { lab }
    }

    fn inventory(&self) -> PathBuf {
        self.lab.dir().join("inventory/fleet.yml")
    }

    /// The env file the inventory names for `name`, spelled as ecsfleet
    /// spells it (relative to the inventory's directory).
    fn env_path(&self, name: &str) -> PathBuf {
        self.lab.dir().join(format!("inventory/../env/{name}.yml"))
    }

    /// A fresh env for `domain` written where the inventory looks for `name`'s.
    fn new_env(&self, name: &str, domain: &str) -> String {
        let path = self.env_path(name);
        let _ = std::fs::remove_file(&path);
        let ran = self.run(&["env", "new", domain, "--out", path.to_str().unwrap()]);
        assert_eq!(ran.code, 0, "{ran:#?}");
        std::fs::read_to_string(path).unwrap()
    }

    /// `ecsfleet -i fleet.yml ARGS`, stdin closed (no terminal).
    fn run(&self, args: &[&str]) -> Ran {
        let output = ecsfleet()
            .env_remove("ECSFLEET_LOG")
            .env("HOME", self.lab.dir())
            .arg("-i")
            .arg(self.inventory())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running ecsfleet");
        Ran {
            code: output.status.code().expect("an exit code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    fn ok(&self, args: &[&str]) -> Ran {
        let ran = self.run(args);
        assert_eq!(ran.code, 0, "{args:?}: {ran:#?}");
        ran
    }

    /// Highstate (the appliance's scripts and units), as install would.
    fn install(&self, name: &str) {
        self.lab.ssh_ok(
            name,
            "mkdir -p /etc/salt /app/appliance/salt && echo 'file_client: local' > /etc/salt/minion && \
             salt-call state.highstate --retcode-passthrough pillar='{\"appliance\": {\"enabled\": true}}' >/dev/null",
        );
    }

    fn host_file(&self, name: &str, path: &str) -> Option<Vec<u8>> {
        self.lab.read_host_file(name, path)
    }

    fn calls(&self, name: &str) -> Vec<Vec<String>> {
        self.lab.calls(name)
    }
}

/// Every secret in the env's text (there are many in a generated env).
fn secrets_of(text: &str) -> Vec<String> {
    let secrets = crate::support::secrets::secrets_of(text);
    assert!(secrets.len() > 20, "the env has its secrets");
    secrets
}

fn assert_no_secret(output: &str, env: &str, what: &str) {
    for secret in secrets_of(env) {
        assert!(
            !output.contains(&secret),
            "{what} printed a secret line: {secret}"
        );
    }
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn push_env_writes_exact_content_0600_owned_by_root() {
    let ops = Ops::up(120, 1);
    let name = ops.lab.name(0);
    let env = ops.new_env(&name, &format!("{name}.ecs.test"));

    // No terminal to ask on and no --yes: exit 2, nothing sent.
    let ran = ops.run(&["push-env", &name]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert!(ran.stderr.contains("pass --yes"), "{ran:#?}");
    assert!(!ops.lab.host_file_exists(&name, "/app/env.yml"));

    let ran = ops.ok(&["push-env", &name, "--yes"]);
    assert!(
        ran.stdout
            .contains(&format!("{name}: /app/env.yml does not exist yet")),
        "{ran:#?}"
    );
    assert!(ran.stdout.contains("pushed"), "{ran:#?}");
    assert_no_secret(&ran.all(), &env, "push-env");
    assert_eq!(
        ops.host_file(&name, "/app/env.yml").unwrap(),
        env.as_bytes()
    );
    let on_host = ops.lab.host_path(&name, "/app/env.yml");
    assert_eq!(mode(&on_host), 0o600);
    assert_eq!(std::fs::metadata(&on_host).unwrap().uid(), 0);
    assert_eq!(
        ops.lab.ssh_ok(&name, "stat -c '%a %U %G' /app/env.yml"),
        "600 root root\n"
    );
    // No temp file left behind.
    let leftovers: Vec<_> = std::fs::read_dir(ops.lab.host_path(&name, "/app"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ecsfleet"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Again: nothing to do.
    let ran = ops.ok(&["--json", "push-env", &name, "--yes"]);
    let lines = json_lines(&ran.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["host"], name.as_str());
    assert_eq!(lines[0]["result"], "unchanged");
}

#[test]
fn push_env_refuses_a_domain_mismatch_and_sends_nothing() {
    let ops = Ops::up(121, 1);
    let name = ops.lab.name(0);
    ops.lab.ssh_ok(&name, "echo old > /app/env.yml");
    let calls_before = ops.calls(&name);
    ops.new_env(&name, "other.ecs.test");

    let ran = ops.run(&["push-env", &name, "--yes"]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert!(
        ran.stderr.contains(&format!(
            "error: {name}: {} is for `other.ecs.test`, but the inventory says this host serves `{name}.ecs.test`; nothing sent (--force pushes it anyway)",
            ops.env_path(&name).display()
        )),
        "{ran:#?}"
    );
    assert!(ran.stdout.contains("refused"), "{ran:#?}");
    assert_eq!(ops.host_file(&name, "/app/env.yml").unwrap(), b"old\n");
    assert_eq!(ops.calls(&name), calls_before);

    // --force is the operator saying "yes, this file".
    let ran = ops.ok(&["push-env", &name, "--yes", "--force"]);
    assert!(ran.stdout.contains("pushed"), "{ran:#?}");
    assert_eq!(
        ops.host_file(&name, "/app/env.yml").unwrap(),
        std::fs::read(ops.env_path(&name)).unwrap()
    );
}

#[test]
fn push_env_sends_nothing_when_env_check_fails() {
    let ops = Ops::up(122, 1);
    let name = ops.lab.name(0);
    ops.lab.ssh_ok(&name, "echo old > /app/env.yml");
    let env = ops.new_env(&name, &format!("{name}.ecs.test"));
    // A database other than ecs breaks backup, restore and update (they
    // hard-code it): an error.
    let broken = env.replacen("\necs:\n", "\necs:\n  database: other\n", 1);
    assert_ne!(broken, env);
    std::fs::write(ops.env_path(&name), &broken).unwrap();
    let calls_before = ops.calls(&name);

    let ran = ops.run(&["push-env", &name, "--yes"]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    let path = ops.env_path(&name).display().to_string();
    assert!(
        ran.stderr.contains(&format!("{path}:"))
            && ran.stderr.contains(": ecs.database: is not ecs: "),
        "{ran:#?}"
    );
    assert!(
        ran.stderr
            .contains(&format!("error: {name}: {path} has 1 error(s)")),
        "{ran:#?}"
    );
    assert_no_secret(&ran.all(), &env, "push-env with a broken env");
    assert_eq!(ops.host_file(&name, "/app/env.yml").unwrap(), b"old\n");
    assert_eq!(ops.calls(&name), calls_before);

    // A host without an env in the inventory (and no --env) is refused too.
    let ran = ops.run(&["push-env", &name, "--yes", "--env", "/nonexistent/env.yml"]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert!(ran.stderr.contains("/nonexistent/env.yml: "), "{ran:#?}");
}

#[test]
fn push_env_leaves_the_old_file_when_the_connection_drops() {
    let ops = Ops::up(123, 1);
    let name = ops.lab.name(0);
    ops.lab.ssh_ok(
        &name,
        "printf old > /app/env.yml && chmod 0600 /app/env.yml",
    );
    ops.new_env(&name, &format!("{name}.ecs.test"));
    ops.lab.fault(&name, "drop-mid-transfer", true);

    let ran = ops.run(&["push-env", &name, "--yes"]);
    assert_eq!(ran.code, 1, "{ran:#?}");
    assert!(ran.stdout.contains("failed"), "{ran:#?}");
    assert_eq!(ops.host_file(&name, "/app/env.yml").unwrap(), b"old");

    ops.lab.fault(&name, "drop-mid-transfer", false);
    crate::support::lab::wait_for(
        "sshd to be back",
        std::time::Duration::from_secs(60),
        || ops.lab.ssh(&name, "true").status.success(),
    );
    ops.ok(&["push-env", &name, "--yes"]);
    assert_eq!(
        ops.host_file(&name, "/app/env.yml").unwrap(),
        std::fs::read(ops.env_path(&name)).unwrap()
    );
}

#[test]
fn user_create_refuses_bad_input_and_unsafe_destinations_before_sending_anything() {
    let ops = Ops::up(131, 1);
    let name = ops.lab.name(0);
    ops.install(&name);
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p");
    let pass = pass.to_str().unwrap();
    let calls_before = ops.calls(&name);
    for (args, message) in [
        (
            vec![
                "user",
                "create",
                &name,
                "not-an-email",
                "A",
                "B",
                "f",
                "--passphrase-file",
                pass,
            ],
            "EMAIL `not-an-email`: expected local@domain",
        ),
        (
            vec![
                "user",
                "create",
                &name,
                "a@b.example",
                "A",
                "B",
                "x",
                "--passphrase-file",
                pass,
            ],
            "gender must be `f` or `m`, not `x`",
        ),
        (
            vec![
                "user",
                "create",
                &name,
                "a@b.example",
                "",
                "B",
                "f",
                "--passphrase-file",
                pass,
            ],
            "FIRST may not be empty",
        ),
        (
            vec![
                "user",
                "create",
                &name,
                "a@b.example",
                "A",
                "B\nC",
                "f",
                "--passphrase-file",
                pass,
            ],
            "LAST `B\\nC` contains a control character",
        ),
        (
            vec![
                "cert",
                "create",
                &name,
                "a@b.example",
                "laptop",
                "--days",
                "0",
                "--passphrase-file",
                pass,
            ],
            "--days must be at least 1",
        ),
        // stdout is not a terminal and no file: the passphrase has nowhere to go.
        (
            vec!["user", "create", &name, "a@b.example", "A", "B", "f"],
            "stdout is not a terminal",
        ),
        (
            vec!["--json", "cert", "create", &name, "a@b.example", "laptop"],
            "--json never carries the passphrase",
        ),
    ] {
        let ran = ops.run(&args);
        assert_eq!(ran.code, 2, "{args:?}: {ran:#?}");
        assert!(ran.stderr.contains(message), "{args:?}: {ran:#?}");
        assert!(!Path::new(pass).exists(), "{args:?}");
    }
    // An existing passphrase file is never overwritten.
    std::fs::write(pass, "keep").unwrap();
    let ran = ops.run(&[
        "user",
        "create",
        &name,
        "a@b.example",
        "A",
        "B",
        "f",
        "--passphrase-file",
        pass,
    ]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert!(ran.stderr.contains("it must be a new file"), "{ran:#?}");
    assert_eq!(std::fs::read_to_string(pass).unwrap(), "keep");
    std::fs::remove_file(pass).unwrap();
    assert_eq!(ops.calls(&name), calls_before, "nothing ran on the host");

    // Installed but not running: a clear error, the helper never runs, and
    // the passphrase file is not left behind.
    let ran = ops.run(&[
        "user",
        "create",
        &name,
        "a@b.example",
        "A",
        "B",
        "f",
        "--passphrase-file",
        pass,
    ]);
    assert_eq!(ran.code, 1, "{ran:#?}");
    assert!(
        ran.stderr.contains(&format!(
            "error: {name}: the appliance is stopped; creating a user needs a running appliance"
        )),
        "{ran:#?}"
    );
    assert!(!Path::new(pass).exists());
    assert!(
        !ops.calls(&name)
            .iter()
            .any(|argv| argv[0] == "create-internal-user.sh")
    );
}
