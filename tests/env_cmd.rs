//! `ecsfleet env new|check|flatten|package` (issue 4), run as the built
//! binary in temporary directories. No network, no root.

use crate::support::secrets::secrets_of;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One run of the binary in `dir`, through a small builder.
struct Run {
    command: Command,
}

/// What a run left behind.
#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ecsfleet(dir: &Path) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecsfleet"));
    command
        .current_dir(dir)
        .env_remove("ECSFLEET_INVENTORY")
        .env_remove("ECSFLEET_LOG");
    Run { command }
}

impl Run {
    fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Run {
        self.command.args(args);
        self
    }

    fn run(mut self) -> Ran {
        let output = self.command.output().expect("run ecsfleet");
        Ran {
            code: output.status.code().expect("exit code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Run and expect exit status `code`.
    fn code(self, code: i32) -> Ran {
        let ran = self.run();
        assert_eq!(ran.code, code, "unexpected exit status: {ran:#?}");
        ran
    }

    fn success(self) -> Ran {
        self.code(0)
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A fresh env for `domain` at `dir/env.yml`, via `env new --out`.
fn new_env(dir: &Path, domain: &str) -> PathBuf {
    let path = dir.join("env.yml");
    ecsfleet(dir)
        .args(["env", "new", domain, "--out"])
        .args([&path])
        .success();
    path
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

#[test]
fn env_new_writes_a_0600_env_that_env_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("inventory")).unwrap();
    // A permissive umask must not widen the file for even a moment: the
    // mode comes from open(2), not a chmod afterwards.
    let ran = Command::new("sh")
        .current_dir(dir.path())
        .env_remove("ECSFLEET_INVENTORY")
        .args(["-c", "umask 000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_ecsfleet"))
        .args(["-i", "inventory/hosts.yml", "env", "new", "ecs.example.org"])
        .output()
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    let stdout = String::from_utf8(ran.stdout).unwrap();
    assert!(
        stdout.starts_with("env/ecs.example.org/env.yml\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("default._domainkey.ecs.example.org.")
            && stdout.contains("\"v=DKIM1; k=rsa; s=email; \""),
        "{stdout}"
    );

    let path = dir.path().join("env/ecs.example.org/env.yml");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("env/ecs.example.org")), 0o700);
    assert_eq!(mode(&dir.path().join("env")), 0o700);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("#cloud-config\n"));
    for secret in secrets_of(&text) {
        assert!(!stdout.contains(&secret), "env new printed a secret");
    }

    let ran = ecsfleet(dir.path())
        .args(["env", "check", "env/ecs.example.org/env.yml"])
        .success();
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr, "checked 1 file: 0 errors, 0 warnings\n");
}

#[test]
fn env_new_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_env(dir.path(), "ecs.example.org");
    let before = std::fs::read_to_string(&path).unwrap();

    let ran = ecsfleet(dir.path())
        .args(["env", "new", "ecs.example.org", "--out", "env.yml"])
        .code(2);
    assert_eq!(
        ran.stderr,
        "error: env.yml: already exists (use --force to overwrite)\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    ecsfleet(dir.path())
        .args([
            "env",
            "new",
            "ecs.example.org",
            "--out",
            "env.yml",
            "--force",
        ])
        .success();
    assert_ne!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn env_new_refuses_an_invalid_domain() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path())
        .args(["env", "new", "../etc", "--out", "env.yml"])
        .code(2);
    assert_eq!(
        ran.stderr,
        "error: \"../etc\" is not a domain name: use letters, digits, '-' and '.', like ecs.example.org\n"
    );
    assert!(!dir.path().join("env.yml").exists());
}

#[test]
fn env_check_prints_each_finding_with_position_and_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        "#cloud-config\n\
         appliance:\n  \
           domain: ecs.example.org\n  \
           standby: maybe\n  \
           storgae: {}\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let ran = ecsfleet(dir.path())
        .args(["env", "check", "bad.yml"])
        .code(2);
    assert_eq!(ran.stdout, "");
    assert_eq!(
        ran.stderr,
        "bad.yml:1:1: ecs: required key is missing\n\
         bad.yml:2:1: appliance.dkim: required key is missing\n\
         bad.yml:2:1: appliance.backup: required key is missing\n\
         bad.yml:4:12: appliance.standby: expected a boolean (true/false), found a string\n\
         bad.yml:5:3: appliance.storgae: unknown key (did you mean 'appliance.storage'?)\n\
         checked 1 file: 5 errors, 0 warnings\n"
    );
}

#[test]
fn env_check_goes_on_past_a_missing_file_and_a_yaml_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syntax.yml");
    std::fs::write(&path, "#cloud-config\nappliance: [\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let ran = ecsfleet(dir.path())
        .args(["env", "check", "missing.yml", "syntax.yml"])
        .code(2);
    assert_eq!(
        ran.stderr,
        "missing.yml:1:1: cannot read: No such file or directory (os error 2)\n\
         syntax.yml:2:12: invalid YAML: unclosed bracket '['\n\
         checked 2 files: 2 errors, 0 warnings\n"
    );
}

#[test]
fn env_check_warns_on_a_group_readable_env_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_env(dir.path(), "ecs.example.org");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let ran = ecsfleet(dir.path())
        .args(["env", "check", "env.yml"])
        .success();
    assert_eq!(
        ran.stderr,
        "env.yml:1:1: warning: file mode 0640 lets group or others read it; chmod 0600\n\
         checked 1 file: 0 errors, 1 warning\n"
    );
}

#[test]
fn env_check_never_prints_a_secret_of_a_broken_generated_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = new_env(dir.path(), "ecs.example.org");
    let text = std::fs::read_to_string(&path).unwrap();
    let secrets = secrets_of(&text);
    assert!(secrets.len() > 50, "found only {} secrets", secrets.len());

    // Drop a required key, and cut a line out of the middle of every key
    // block so that each one fails to parse.
    let mut broken = Vec::new();
    let mut body_line = 0;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("-----BEGIN ") {
            body_line = 0;
        } else if trimmed.len() >= 60 && !trimmed.contains(' ') {
            body_line += 1;
            if body_line == 5 {
                continue;
            }
        }
        if line == "  domain: ecs.example.org" {
            continue;
        }
        broken.push(line);
    }
    let broken_path = dir.path().join("broken.yml");
    std::fs::write(&broken_path, broken.join("\n") + "\n").unwrap();
    std::fs::set_permissions(&broken_path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let human = ecsfleet(dir.path())
        .args(["env", "check", "broken.yml"])
        .code(2);
    assert!(
        human
            .stderr
            .contains(": appliance.domain: required key is missing\n")
    );
    for key in [
        "appliance.dkim.key",
        "appliance.backup.encrypt",
        "ecs.vault_encrypt",
        "ecs.vault_sign",
    ] {
        assert!(human.stderr.contains(&format!(": {key}: is not ")), "{key}");
    }
    assert!(
        human
            .stderr
            .ends_with("checked 1 file: 5 errors, 0 warnings\n")
    );

    let json = ecsfleet(dir.path())
        .args(["--json", "env", "check", "broken.yml"])
        .code(2);
    let findings = json_lines(&json.stdout);
    assert!(findings.iter().any(|f| f["key_path"] == "appliance.domain"));
    assert_eq!(findings.last().unwrap()["errors"], 5);

    for ran in [human, json] {
        let out = format!("{}{}", ran.stdout, ran.stderr);
        for secret in &secrets {
            assert!(!out.contains(secret.as_str()), "env check printed a secret");
        }
    }
}

#[test]
fn env_flatten_prints_what_flatyaml_prints() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("small.yml"),
        "ecs:\n  \
           database: ecs\n  \
           migrate:\n    \
             auto: true\n  \
           settings: |\n    \
             DOMAIN = 'x'\n\
         appliance:\n  \
           domain: ecs.example.org\n  \
           allowed-hosts: [a.example.org, \"b c\"]\n  \
           empty:\n  \
           note: \"  it's  \"\n  \
           when: 2024-01-02\n",
    )
    .unwrap();

    let ran = ecsfleet(dir.path())
        .args(["env", "flatten", "small.yml", "ecs,nope,appliance"])
        .success();
    assert_eq!(
        ran.stdout,
        "ECS_DATABASE=ecs\n\
         ECS_MIGRATE_AUTO=true\n\
         ECS_SETTINGS='DOMAIN = '\"'\"'x'\"'\"''\n\
         APPLIANCE_ALLOWED-HOSTS_0=a.example.org\n\
         APPLIANCE_ALLOWED-HOSTS_1='b c'\n\
         APPLIANCE_ALLOWED-HOSTS_LEN=2\n\
         APPLIANCE_DOMAIN=ecs.example.org\n\
         APPLIANCE_EMPTY=\n\
         APPLIANCE_NOTE='it'\"'\"'s'\n\
         APPLIANCE_WHEN=2024-01-02\n"
    );
    assert_eq!(ran.stderr, "Error: key \"nope\" not found in data\n");

    let ran = ecsfleet(dir.path())
        .args(["env", "flatten", "small.yml", "ecs", "--prefix", "export "])
        .args(["--postfix", ";", "--combine", ".", "--assign", ":="])
        .success();
    assert_eq!(
        ran.stdout,
        "export ECS.DATABASE:=ecs;\n\
         export ECS.MIGRATE.AUTO:=true;\n\
         export ECS.SETTINGS:='DOMAIN = '\"'\"'x'\"'\"'';\n"
    );

    // Root `.` (the default) is the whole document, sorted as spelled.
    let ran = ecsfleet(dir.path())
        .args(["env", "flatten", "small.yml"])
        .success();
    let keys: Vec<&str> = ran
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(keys.first(), Some(&"APPLIANCE_ALLOWED-HOSTS_0"));
    assert_eq!(keys.last(), Some(&"ECS_SETTINGS"));
}

#[test]
fn env_package_refuses_without_a_recipient() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yml"),
        "#cloud-config\nappliance:\n  domain: ecs.example.org\n",
    )
    .unwrap();
    let ran = ecsfleet(dir.path())
        .args(["env", "package", "env.yml", "--out", "out"])
        .code(2);
    assert_eq!(
        ran.stderr,
        "error: env package: no --recipient given; the package would hold every secret \
         unencrypted. Pass --recipient KEYFILE (an armored OpenPGP public key), or --plain \
         to write an unencrypted .tar.gz on purpose\n"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn env_package_plain_writes_a_0600_tar_gz() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yml"),
        "#cloud-config\nappliance:\n  domain: ecs.example.org\n",
    )
    .unwrap();
    let ran = ecsfleet(dir.path())
        .args([
            "env",
            "package",
            "env.yml",
            "--plain",
            "--date",
            "2024-01-02",
        ])
        .args(["--out", "out"])
        .success();
    assert_eq!(ran.stdout, "out/ecs.example.org.env.2024-01-02.tar.gz\n");
    let package = dir.path().join("out/ecs.example.org.env.2024-01-02.tar.gz");
    assert_eq!(mode(&package), 0o600);

    let ran = ecsfleet(dir.path())
        .args(["env", "package", "env.yml", "--plain", "--date", "2024-1-2"])
        .code(2);
    assert_eq!(
        ran.stderr,
        "error: --date \"2024-1-2\": expected YYYY-MM-DD\n"
    );
}

fn gpg(home: &Path) -> Command {
    let mut command = Command::new("gpg");
    command
        .env("GNUPGHOME", home)
        .args(["--batch", "--quiet", "--pinentry-mode", "loopback"])
        .args(["--passphrase", ""]);
    command
}

/// Stops the gpg-agent that gpg started for a throwaway home.
struct AgentGuard<'a>(&'a Path);

impl Drop for AgentGuard<'_> {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[test]
fn env_package_to_a_gpg_recipient_decrypts_with_gpg() {
    if Command::new("gpg").arg("--version").output().is_err() {
        eprintln!("skipped: gpg is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::Builder::new()
        .prefix("gh")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let _agent = AgentGuard(home.path());

    let status = gpg(home.path())
        .args(["--quick-gen-key", "Backup <backup@example.org>"])
        .args(["default", "default", "never"])
        .status()
        .unwrap();
    assert!(status.success());
    let public = gpg(home.path())
        .args(["--armor", "--export", "backup@example.org"])
        .output()
        .unwrap();
    assert!(public.status.success());
    std::fs::write(dir.path().join("backup.asc"), &public.stdout).unwrap();

    let env = new_env(dir.path(), "ecs.example.org");
    let ran = ecsfleet(dir.path())
        .args([
            "--json",
            "env",
            "package",
            "env.yml",
            "--recipient",
            "backup.asc",
        ])
        .args(["--date", "2024-01-02", "--out", "backups"])
        .success();
    let lines = json_lines(&ran.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["path"],
        "backups/ecs.example.org.env.2024-01-02.tar.gz.gpg"
    );
    assert_eq!(lines[0]["domain"], "ecs.example.org");
    assert_eq!(lines[0]["encrypted"], true);
    let package = dir
        .path()
        .join("backups/ecs.example.org.env.2024-01-02.tar.gz.gpg");
    assert_eq!(mode(&package), 0o600);

    let tar_gz = dir.path().join("restored.tar.gz");
    let status = gpg(home.path())
        .args(["--decrypt", "--output"])
        .args([&tar_gz, &package])
        .status()
        .unwrap();
    assert!(status.success());
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    let status = Command::new("tar")
        .args(["-xzf"])
        .arg(&tar_gz)
        .arg("-C")
        .arg(&restored)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read(restored.join("env.yml")).unwrap(),
        std::fs::read(&env).unwrap()
    );
}

#[test]
fn env_json_outputs_are_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ran = ecsfleet(dir.path())
        .args([
            "--json",
            "env",
            "new",
            "ecs.example.org",
            "--out",
            "env.yml",
        ])
        .success();
    let new = json_lines(&ran.stdout);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["path"], "env.yml");
    assert_eq!(new[0]["domain"], "ecs.example.org");
    assert!(
        new[0]["dkim_txt"]
            .as_str()
            .unwrap()
            .starts_with("v=DKIM1; k=rsa; s=email; p=")
    );

    std::fs::set_permissions(
        dir.path().join("env.yml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let ran = ecsfleet(dir.path())
        .args(["--json", "env", "check", "env.yml"])
        .success();
    assert_eq!(ran.stderr, "");
    let check = json_lines(&ran.stdout);
    assert_eq!(check.len(), 2);
    assert_eq!(check[0]["type"], "finding");
    assert_eq!(check[0]["severity"], "warning");
    assert_eq!(check[0]["file"], "env.yml");
    assert_eq!(check[0]["line"], 1);
    assert_eq!(check[0]["col"], 1);
    assert_eq!(check[1]["type"], "summary");
    assert_eq!(check[1]["errors"], 0);
    assert_eq!(check[1]["warnings"], 1);

    let ran = ecsfleet(dir.path())
        .args(["--json", "env", "flatten", "env.yml", "appliance"])
        .success();
    let flat = json_lines(&ran.stdout);
    assert!(
        flat.iter()
            .any(|l| l["key"] == "APPLIANCE_DOMAIN" && l["value"] == "ecs.example.org")
    );

    let ran = ecsfleet(dir.path())
        .args(["--json", "env", "package", "env.yml", "--plain"])
        .success();
    let package = json_lines(&ran.stdout);
    assert_eq!(package.len(), 1);
    assert_eq!(package[0]["encrypted"], false);
}
