//! The env lifecycle end to end: generate, check, write, mask/diff, package,
//! and gpg's view of the keys and packages (skipped, with a message, when
//! gpg is not installed).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ecsfleet_env::{Node, Severity, Value, check, diff_masked, generate};

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
    // Not an error and not a warning either.
    assert_eq!(errors(env.text()), Vec::<String>::new());
    assert!(env.text().starts_with("#cloud-config\n"));
    let hint: String = env
        .dns_records()
        .lines()
        .map(|l| format!("# {l}\n"))
        .collect();
    assert!(env.text().contains(&hint), "{}", env.dns_records());
    assert!(
        env.dkim_txt()
            .starts_with("v=DKIM1; k=rsa; s=email; p=MIIB")
    );
    assert!(!env.text().contains("allowed_hosts"));
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
    assert_eq!(errors(env.text()), Vec::<String>::new());
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
    assert!(env.text().starts_with("#cloud-config\n"));
    assert!(
        env.text()
            .contains(&format!("# {}", env.dns_records().lines().nth(4).unwrap()))
    );
    assert!(generate("ecs.example.org", Some("- a list\n")).is_err());
    assert!(generate("bad domain", None).is_err());
}

#[test]
fn the_example_env_passes_check() {
    let findings = check(EXAMPLE, Path::new("env/example/env.yml"), Some(0o600));
    assert_eq!(findings, []);
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
            "env.yml:1:1: warning: the first line is not '#cloud-config': the appliance does not need it, but cloud-init ignores the file as user-data (a cidata seed) without it",
        ),
        (
            "  storage:\n",
            "  storgae:\n",
            "env.yml:64:3: appliance.storgae: unknown key (did you mean 'appliance.storage'?)",
        ),
        (
            "disable_root: false\n",
            "disable_root: 'false'\n",
            "env.yml:27:15: disable_root: expected a boolean (true/false), found a string",
        ),
        (
            "  domain: ecs.example.org\n",
            "  domain: ecs.example.org\n  allowed_hosts: other.example.org\n",
            "env.yml:32:3: appliance.allowed_hosts: warning: nothing in the appliance reads this key (no reader): nginx's server_name is appliance.domain (prepare-nginx.sh) and Django's ALLOWED_HOSTS is set in ecs.settings; remove it",
        ),
        (
            "    DOMAIN = 'ecs.example.org'\n",
            "    DOMAIN = 'other.example.org'\n",
            "env.yml:173:5: ecs.settings: DOMAIN differs from appliance.domain",
        ),
        (
            "    url: file:///volatile/ecs-backup-test/\n",
            "",
            "env.yml:99:3: appliance.backup.url: required key is missing",
        ),
        (
            "      -----BEGIN RSA PRIVATE KEY-----\n",
            "      -----BEGIN RSA PRIVATE KEY-----\n      garbage\n",
            "env.yml:72:7: appliance.dkim.key: is not a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)",
        ),
        (
            "    enabled: false\n",
            "    enabled: false\n    enabled: true\n",
            "env.yml:172:5: invalid YAML: duplicate key 'enabled' (first defined at 171:5)",
        ),
        (
            "    client_certs_mandatory: false\n",
            "    client_certs_mandatory: false\n    key: /etc/ssl/ecs.key\n    cert: /etc/ssl/ecs.crt\n",
            "env.yml:36:10: appliance.ssl.key: is a file path; the appliance writes this value itself to /app/etc/server.key.pem, so it must be the PEM text (-----BEGIN ...), not a path",
        ),
        (
            "  userswitcher:\n",
            "  database: ecs2\n  userswitcher:\n",
            "env.yml:170:13: ecs.database: is not ecs: backup, restore and update use the database ecs whatever this says (appliance-backup.sh, recover-from-backup.sh, appliance-update.sh); remove the key or set it to ecs",
        ),
        (
            "    enabled: false\n",
            "",
            "env.yml:170:3: ecs.userswitcher.enabled: warning: is not set: ECS then turns the user switcher on (switching to test users, meant for development); set it to false",
        ),
        (
            "      data: true\n",
            "      data: false\n",
            "env.yml:69:13: appliance.storage.ignore.data: warning: is not true: the appliance looks for a filesystem labelled ecs-data at boot and there is no appliance.storage.setup to create it; set it to true if the host has none",
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
            "env.yml:108:7: appliance.backup.encrypt: is not an ASCII-armored OpenPGP secret key"
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

/// The DNS hints of a new env load in a zone file: the records `env new`
/// writes into the env's header, in a zone with an SOA and an NS, pass
/// `named-checkzone` (Debian package bind9-utils), and the DKIM strings it
/// reads back join to the record's value.
#[test]
fn dns_hints_of_a_new_env_load_in_a_zone_file() {
    let env = generate("ecs.example.org", None).unwrap();
    // What the header holds, comment marks taken off.
    let text = env.text();
    let start = text.find("# DNS records for ecs.example.org").unwrap();
    let records: String = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("# the DKIM value as one string"))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap()))
        .collect();
    assert_eq!(records, env.dns_records());
    assert!(
        records.contains("ecs.example.org.                     IN  TXT  \"v=spf1 a mx -all\"\n"),
        "{records}"
    );
    assert!(
        records
            .contains("_dmarc.ecs.example.org.              IN  TXT  \"v=DMARC1; p=quarantine\"\n"),
        "{records}"
    );

    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("ecs.example.org.zone");
    std::fs::write(
        &zone,
        format!(
            "$TTL 3600\n\
             ecs.example.org. IN SOA ns1.ecs.example.org. hostmaster.ecs.example.org. ( 1 7200 3600 1209600 3600 )\n\
             ecs.example.org. IN NS ns1.ecs.example.org.\n\
             ns1.ecs.example.org. IN A 192.0.2.53\n\
             {records}"
        ),
    )
    .unwrap();
    let ran = match Command::new("named-checkzone")
        .args(["-k", "fail", "-D", "-o", "-", "ecs.example.org"])
        .arg(&zone)
        .output()
    {
        Ok(ran) => ran,
        Err(e) => panic!(
            "named-checkzone cannot run ({e}): install the Debian package bind9-utils (apt-get install -y bind9-utils)"
        ),
    };
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{stdout}{stderr}\n{records}");
    // The canonical dump: the DKIM TXT as three strings that join to the value.
    let dkim = stdout
        .lines()
        .find(|l| l.starts_with("default._domainkey.ecs.example.org."))
        .unwrap_or_else(|| panic!("{stdout}"));
    let strings: Vec<&str> = dkim.split('"').skip(1).step_by(2).collect();
    assert_eq!(strings.len(), 3, "{dkim}");
    assert!(strings.iter().all(|s| s.len() <= 255), "{dkim}");
    assert_eq!(strings.concat(), env.dkim_txt());
    assert!(
        stdout.contains("_dmarc.ecs.example.org.") && stdout.contains("\"v=DMARC1; p=quarantine\""),
        "{stdout}"
    );
}

/// Every string scalar of a parsed env, and each line of the multi-line ones.
fn scalars(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        Value::Str(s) => {
            out.push(s.clone());
            out.extend(
                s.lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
            );
        }
        Value::Seq(items) => items.iter().for_each(|i| scalars(i, out)),
        Value::Map(entries) => entries.iter().for_each(|e| scalars(&e.value, out)),
        _ => {}
    }
}

/// One tab in either env: the masked diff shows where the parse failed and
/// line hashes, and not one value of either file.
#[test]
fn a_diff_with_an_unparsable_side_shows_no_value() {
    let env = generate("ecs.example.org", None).unwrap();
    let mut values = Vec::new();
    scalars(&ecsfleet_env::load(env.text()).unwrap(), &mut values);
    assert!(values.len() > 100, "{}", values.len());
    // Values a real env holds that the generated one does not.
    let good = env.text().replacen(
        "  # sentry:\n  #   dsn: https://key@sentry.example.org/1\n",
        "  sentry:\n    dsn: https://k3yPublic:s3cretDsnPart@sentry.example.org/1\n",
        1,
    );
    let good = good.replacen(
        "    url: file:///volatile/ecs-backup-test/\n",
        "    url: sftp://backup:B4ckupPassw0rd@backup.example.org/ecs\n",
        1,
    );
    let mut values_good = Vec::new();
    scalars(&ecsfleet_env::load(&good).unwrap(), &mut values_good);
    assert!(values_good.iter().any(|v| v.contains("s3cretDsnPart")));
    let line = good
        .lines()
        .position(|l| l == "  domain: ecs.example.org")
        .unwrap()
        + 1;
    let broken = good.replacen(
        "  domain: ecs.example.org\n",
        "\tdomain: ecs.example.org\n",
        1,
    );

    for (left, right, broken_label) in [(&good, &broken, "right"), (&broken, &good, "left")] {
        let diff = diff_masked(left, right, "left", "right");
        assert!(
            diff.contains(&format!(
                "{broken_label}: not shown, not valid YAML at line {line}, column 1: "
            )),
            "{diff}"
        );
        assert!(diff.contains("\n--- left\n+++ right\n@@ "), "{diff}");
        assert!(diff.contains(&format!("-line {line}: <sha256:")), "{diff}");
        assert!(diff.contains(&format!("+line {line}: <sha256:")), "{diff}");
        for value in values.iter().chain(&values_good) {
            assert!(
                !diff.contains(value.as_str()),
                "the diff shows a value: {value:?}\n{diff}"
            );
        }
        // Only the broken line differs.
        assert_eq!(diff.matches("\n-line").count(), 1, "{diff}");
    }
}
