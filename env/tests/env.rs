//! The env lifecycle end to end: generate, check, write, mask/diff, package,
//! and gpg's view of the keys and packages (skipped, with a message, when
//! gpg is not installed).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ecsfleet_env::{Severity, check, diff_masked, generate, has_errors};

const EXAMPLE: &str = include_str!("../example/env.yml");

/// A throwaway GNUPGHOME; its agent is stopped on drop.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Option<Gpg> {
        if Command::new("gpg").arg("--version").output().is_err() {
            eprintln!("gpg is not installed: skipping the gpg part of this test");
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Some(Gpg { home })
    }

    fn run(&self, args: &[&str], stdin: Option<&Path>) -> std::process::Output {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args);
        if let Some(p) = stdin {
            cmd.stdin(std::fs::File::open(p).unwrap());
        }
        cmd.output().unwrap()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.home.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn errors(text: &str) -> Vec<String> {
    check(text, Path::new("env.yml"), Some(0o600))
        .into_iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn generated_env_passes_check_and_its_keys_import_into_gpg() {
    let env = generate("ecs.example.org", None).unwrap();
    let findings = check(env.text(), Path::new("env.yml"), Some(0o600));
    assert!(!has_errors(&findings), "{findings:#?}");
    assert!(env.text().starts_with("#cloud-config\n"));
    assert!(
        env.text()
            .contains("default._domainkey    IN  TXT  \"v=DKIM1; k=rsa; p=")
    );
    assert!(env.text().contains("-----BEGIN RSA PRIVATE KEY-----"));
    let secrets = env.secrets();
    assert_eq!(secrets.len(), 7);
    for s in &secrets {
        for line in s.lines().filter(|l| l.len() > 20) {
            assert!(env.text().contains(line));
        }
    }

    let doc = ecsfleet_env::load(env.text()).unwrap();
    let Some(gpg) = Gpg::new() else { return };
    for (owner, path) in ecsfleet_env::PGP_KEYS {
        let armored = doc.at(path).unwrap().as_str().unwrap();
        let file = gpg.file(&format!("{owner}.asc"), armored.as_bytes());
        let out = gpg.run(&["--import", file.to_str().unwrap()], None);
        assert!(
            out.status.success(),
            "{owner}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = gpg.run(&["--list-secret-keys", "--with-colons"], None);
    let listing = String::from_utf8_lossy(&out.stdout);
    for (owner, _) in ecsfleet_env::PGP_KEYS {
        assert!(listing.contains(&format!("{owner} <{owner}>")), "{listing}");
    }
}

#[test]
fn extra_values_are_merged_and_still_pass_check() {
    let extra = "appliance:\n  metric:\n    exporter: true\n  update:\n    oncalendar: 'Sun *-*-* 06:30:00'\n  extra:\n    files:\n      - path: /etc/x\n        contents: |\n          a\n        permissions: '0600'\necs:\n  userswitcher:\n    enabled: true\n";
    let env = generate("ecs.example.org", Some(extra)).unwrap();
    let findings = check(env.text(), Path::new("env.yml"), None);
    assert!(!has_errors(&findings), "{findings:#?}");
    let doc = ecsfleet_env::load(env.text()).unwrap();
    assert_eq!(
        doc.at("appliance.metric.exporter").unwrap().value,
        ecsfleet_env::Value::Bool(true)
    );
    assert_eq!(
        doc.at("ecs.userswitcher.enabled").unwrap().value,
        ecsfleet_env::Value::Bool(true)
    );
    assert_eq!(
        doc.at("appliance.domain").unwrap().as_str(),
        Some("ecs.example.org")
    );
    assert!(env.text().contains("v=DKIM1; k=rsa; p="));
    assert!(generate("ecs.example.org", Some("- a list\n")).is_err());
    assert!(generate("bad domain", None).is_err());
}

#[test]
fn the_example_env_passes_check() {
    let findings = check(EXAMPLE, Path::new("env/example/env.yml"), Some(0o600));
    assert!(!has_errors(&findings), "{findings:#?}");
}

#[test]
fn diff_never_prints_a_secret() {
    let a = generate("ecs.example.org", None).unwrap();
    let b = generate("ecs.example.org", None).unwrap();
    let diff = diff_masked(a.text(), b.text(), "local", "host:/app/env.yml");
    assert!(diff.contains("--- local"));
    assert!(diff.contains("+++ host:/app/env.yml"));
    assert!(diff.contains("<secret sha256:"));
    for secret in a.secrets().iter().chain(b.secrets().iter()) {
        assert!(!diff.contains(secret.as_str()));
        // The DKIM modulus is in both the private PEM and the public TXT
        // record (PKCS#1 and SPKI align in base64): public lines are fine.
        let public = |l: &str| a.dkim_txt().contains(l) || b.dkim_txt().contains(l);
        for line in secret.lines().filter(|l| l.len() >= 16 && !public(l)) {
            assert!(!diff.contains(line), "diff leaks a secret line {line:?}");
        }
    }
    assert_eq!(diff_masked(a.text(), a.text(), "a", "b"), "");
    // Only the changed secret shows up as a change.
    let changed = a.text().replace("DEBUG = False", "DEBUG = True");
    let diff = diff_masked(a.text(), &changed, "a", "b");
    assert!(
        diff.contains("-    DEBUG = False\n+    DEBUG = True\n"),
        "{diff}"
    );
    assert_eq!(diff.matches("\n-").count(), 1, "{diff}");
}

#[test]
fn new_file_is_0600_from_birth_and_not_overwritten() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("env.yml");
    ecsfleet_env::write_new_file_0600(&path, EXAMPLE.as_bytes(), false).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let e = ecsfleet_env::write_new_file_0600(&path, b"x", false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: already exists (use --force to overwrite)",
            path.display()
        )
    );
}

#[test]
fn package_decrypts_with_gpg() {
    assert_eq!(
        ecsfleet_env::package_name("ecs.example.org", "2026-11-25"),
        "ecs.example.org.env.2026-11-25.tar.gz.gpg"
    );
    let plain = ecsfleet_env::package_plain(EXAMPLE).unwrap();
    assert_eq!(untar_env(&plain), EXAMPLE);

    let Some(gpg) = Gpg::new() else { return };
    let out = gpg.run(
        &[
            "--quick-gen-key",
            "operator <op@example.org>",
            "rsa2048",
            "encr",
            "never",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gpg.run(&["--armor", "--export", "op@example.org"], None);
    let public = String::from_utf8(out.stdout).unwrap();
    let sealed =
        ecsfleet_env::package(EXAMPLE, "ecs.example.org", "2026-11-25", &[&public]).unwrap();
    let file = gpg.file("pkg.tar.gz.gpg", &sealed);
    let out = gpg.run(&["--decrypt", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(untar_env(&out.stdout), EXAMPLE);
}

fn untar_env(tar_gz: &[u8]) -> String {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    let mut entries = archive.entries().unwrap();
    let mut entry = entries.next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("env.yml"));
    assert_eq!(entry.header().mode().unwrap(), 0o600);
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    assert!(entries.next().is_none());
    text
}

/// Broken envs, each made from the example by one edit, with the exact
/// finding expected.
#[test]
fn broken_env_corpus() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "#cloud-config\n",
            "# cloud-config\n",
            "env.yml:1:1: the first line must be '#cloud-config'",
        ),
        (
            "  storage:\n",
            "  storgae:\n",
            "env.yml:54:3: appliance.storgae: unknown key (did you mean 'appliance.storage'?)",
        ),
        (
            "disable_root: false\n",
            "disable_root: 'false'\n",
            "env.yml:20:15: disable_root: expected a boolean (true/false), found a string",
        ),
        (
            "  domain: ecs.example.org\n",
            "  domain: ecs.example.net\n",
            "env.yml:25:18: appliance.allowed_hosts: does not include appliance.domain",
        ),
        (
            "    DOMAIN = 'ecs.example.org'\n",
            "    DOMAIN = 'other.example.org'\n",
            "env.yml:162:5: ecs.settings: DOMAIN differs from appliance.domain",
        ),
        (
            "    url: file:///volatile/ecs-backup-test/\n",
            "",
            "env.yml:88:3: appliance.backup.url: required key is missing",
        ),
        (
            "      -----BEGIN RSA PRIVATE KEY-----\n",
            "      -----BEGIN RSA PRIVATE KEY-----\n      garbage\n",
            "env.yml:61:7: appliance.dkim.key: is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY-----)",
        ),
        (
            "    enabled: false\n",
            "    enabled: false\n    enabled: true\n",
            "env.yml:161:5: invalid YAML: duplicate key 'enabled' (first defined at 160:5)",
        ),
        (
            "  allowed_hosts: ecs.example.org\n",
            "  allowed_hosts: [ecs.example.org]\n",
            "env.yml:25:18: appliance.allowed_hosts: expected a string, found a list",
        ),
        (
            "      data: true\n",
            "      data: false\n",
            "env.yml:58:13: appliance.storage.ignore.data: warning: is not true: the appliance looks for a filesystem labelled ecs-data at boot and there is no appliance.storage.setup to create it; set it to true if the host has none",
        ),
    ];
    for (from, to, want) in cases {
        assert!(EXAMPLE.contains(from), "example lacks {from:?}");
        let text = EXAMPLE.replacen(from, to, 1);
        let got = errors(&text);
        assert!(
            got.iter().any(|g| g == want),
            "edit {from:?} -> {to:?}\nwant {want}\ngot  {got:#?}"
        );
    }
    let pgp_broken = EXAMPLE.replacen(
        "-----END PGP PRIVATE KEY BLOCK-----",
        "-----END PGP PUBLIC KEY BLOCK-----",
        1,
    );
    let got = errors(&pgp_broken);
    assert!(
        got.iter().any(|g| g.starts_with(
            "env.yml:97:7: appliance.backup.encrypt: is not an ASCII-armored OpenPGP secret key"
        )),
        "{got:#?}"
    );

    let yaml_broken = EXAMPLE.replacen(
        "  domain: ecs.example.org\n",
        "  domain: 'ecs.example.org\n",
        1,
    );
    let got = errors(&yaml_broken);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].starts_with("env.yml:"), "{got:#?}");
    assert!(got[0].contains("invalid YAML"), "{got:#?}");

    let findings = check(EXAMPLE, Path::new("env.yml"), Some(0o644));
    assert_eq!(findings[0].severity, Severity::Warning);
    assert_eq!(
        findings[0].to_string(),
        "env.yml:1:1: warning: file mode 0644 lets group or others read it; chmod 0600"
    );
}

#[test]
fn check_messages_never_contain_secrets() {
    let env = generate("ecs.example.org", None).unwrap();
    // Break every secret so each is reported.
    let mut text = env.text().to_string();
    for s in env.secrets() {
        if s.contains("-----BEGIN") {
            let broken: String = s.lines().map(|l| format!("{l}x\n")).collect();
            text = text.replace(s.lines().nth(1).unwrap(), broken.lines().nth(1).unwrap());
        }
    }
    let all: String = check(&text, Path::new("env.yml"), None)
        .iter()
        .map(|f| f.to_string())
        .collect();
    for s in env.secrets() {
        for line in s.lines().filter(|l| l.len() >= 16) {
            assert!(!all.contains(line));
        }
    }
}
