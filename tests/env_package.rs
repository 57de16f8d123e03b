//! Integration tests for issue 4: `env package --pdf/--cidata`, `env unpdf`
//! and `cidata`, run as the built binary in temporary directories. They
//! read our output with the tools an operator (or a host) would use:
//! pdftoppm and zbarimg, isoinfo, a loop mount where the kernel has isofs.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::lab::ecsfleet;

mod seed;

#[derive(Debug)]
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Ran {
    let output = ecsfleet()
        .current_dir(dir)
        .env_remove("ECSFLEET_LOG")
        .args(args)
        .output()
        .expect("run ecsfleet");
    Ran {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

fn ok_in(dir: &Path, args: &[&str]) -> Ran {
    let ran = run_in(dir, args);
    assert_eq!(ran.code, 0, "ecsfleet {args:?}: {ran:#?}");
    ran
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn tool(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/setup.sh installs it)"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Non-ASCII the way an Austrian operator's env has it, plus characters
/// that PDF's standard fonts cannot show.
const NON_ASCII: &str = "# Ethikkommission für Gesundheitsfragen – Grüße, 5 €\n\
                         # 日本語のコメント ✓ 🙂\n";

/// A fresh env for `domain` in `dir/env.yml`, with non-ASCII comments.
fn generated_env(dir: &Path, domain: &str) -> (PathBuf, String) {
    let path = dir.join("env.yml");
    ok_in(dir, &["env", "new", domain, "--out", "env.yml"]);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(NON_ASCII);
    std::fs::write(&path, &text).unwrap();
    (path, text)
}

/// Every secret in the env's text (there are many in a generated env).
fn secrets_of(text: &str) -> Vec<String> {
    let secrets = crate::support::secrets::secrets_of(text);
    assert!(secrets.len() > 20, "the env has its secrets");
    secrets
}

fn assert_no_secret(ran: &Ran, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !ran.stdout.contains(secret.as_str()) && !ran.stderr.contains(secret.as_str()),
            "a secret of the env reached stdout or stderr"
        );
    }
}

/// The way back printed on the PDF's last page, run literally by sh.
fn shell_restore(dir: &Path, pdf: &str) -> Vec<u8> {
    let script = format!(
        "set -e; pdftoppm -r 150 -gray -aa no -aaVector no '{pdf}' page; \
         zbarimg --raw -q '-S*.enable=0' -Sqrcode.enable=1 page*.pgm 2>/dev/null \
         | sort -n | cut -f 2 -d ' ' | tr -d '\\n' | base32 -d | gunzip; rm -f page*.pgm"
    );
    tool(dir, "sh", &["-c", &script])
}

#[test]
fn env_package_pdf_round_trips_a_generated_env_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = generated_env(dir.path(), "ecs.example.org");
    let secrets = secrets_of(&text);
    let package = ok_in(
        dir.path(),
        &[
            "env",
            "package",
            "env.yml",
            "--plain",
            "--pdf",
            "--date",
            "2026-11-25",
            "--out",
            "out",
        ],
    );
    assert_no_secret(&package, &secrets);
    let pdf = dir.path().join("out/ecs.example.org.env.2026-11-25.pdf");
    assert_eq!(
        package.stdout,
        "out/ecs.example.org.env.2026-11-25.tar.gz\nout/ecs.example.org.env.2026-11-25.pdf\n"
    );
    assert_eq!(mode(&pdf), 0o600);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    // The pages a person reads hold the env's text.
    let pdftext = String::from_utf8(tool(
        dir.path(),
        "pdftotext",
        &["-layout", "out/ecs.example.org.env.2026-11-25.pdf", "-"],
    ))
    .unwrap();
    assert!(pdftext.contains("#cloud-config"), "{pdftext}");
    assert!(pdftext.contains("Ethikkommission für Gesundheitsfragen – Grüße, 5 €"));
    assert!(
        pdftext.contains("<U+65E5><U+672C>"),
        "unprintable characters are escaped"
    );
    assert!(pdftext.contains("ecsfleet env unpdf THIS.pdf --out env.yml"));

    // The command.
    let unpdf = ok_in(
        dir.path(),
        &[
            "env",
            "unpdf",
            "out/ecs.example.org.env.2026-11-25.pdf",
            "--out",
            "back.yml",
        ],
    );
    assert_no_secret(&unpdf, &secrets);
    assert!(unpdf.stdout.starts_with("back.yml ("), "{}", unpdf.stdout);
    let back = dir.path().join("back.yml");
    assert_eq!(std::fs::read(&back).unwrap(), text.as_bytes());
    assert_eq!(mode(&back), 0o600);

    // The documented pipeline, without ecsfleet.
    let piped = shell_restore(dir.path(), "out/ecs.example.org.env.2026-11-25.pdf");
    assert_eq!(piped, text.as_bytes());

    // --force is needed to replace, and the refusal names the file.
    let again = run_in(
        dir.path(),
        &[
            "env",
            "unpdf",
            "out/ecs.example.org.env.2026-11-25.pdf",
            "--out",
            "back.yml",
        ],
    );
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        "error: back.yml: already exists (use --force to overwrite)\n"
    );
}

#[test]
fn env_package_pdf_of_a_small_env_is_one_code_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "#cloud-config\nappliance:\n  domain: klein.example.org\n  # Größe: ø 3 µm\n{NON_ASCII}"
    );
    std::fs::write(dir.path().join("env.yml"), &text).unwrap();
    let ran = ok_in(
        dir.path(),
        &[
            "--json",
            "env",
            "package",
            "env.yml",
            "--plain",
            "--pdf",
            "--date",
            "2026-01-02",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(json["pdf"], "./klein.example.org.env.2026-01-02.pdf");
    assert_eq!(json["cidata"], serde_json::Value::Null);
    let unpdf = ok_in(
        dir.path(),
        &[
            "--json",
            "env",
            "unpdf",
            "klein.example.org.env.2026-01-02.pdf",
            "--out",
            "back.yml",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(unpdf.stdout.trim()).unwrap();
    assert_eq!(json["codes"], 1);
    assert_eq!(json["bytes"], text.len());
    assert_eq!(
        std::fs::read(dir.path().join("back.yml")).unwrap(),
        text.as_bytes()
    );
    assert_eq!(
        shell_restore(dir.path(), "klein.example.org.env.2026-01-02.pdf"),
        text.as_bytes()
    );
}

#[test]
fn env_unpdf_names_a_missing_tool_and_a_pdf_without_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yml"),
        "#cloud-config\nappliance: {domain: a.example.org}\n",
    )
    .unwrap();
    ok_in(
        dir.path(),
        &[
            "env",
            "package",
            "env.yml",
            "--plain",
            "--pdf",
            "--date",
            "2026-01-02",
        ],
    );
    let output = ecsfleet()
        .current_dir(dir.path())
        .env("PATH", "/nonexistent")
        .args([
            "env",
            "unpdf",
            "a.example.org.env.2026-01-02.pdf",
            "--out",
            "x.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: pdftoppm not found: env unpdf needs it (apt-get install poppler-utils)\n"
    );
    // Only the text pages: no QR code to read.
    tool(
        dir.path(),
        "pdfseparate",
        &[
            "-f",
            "1",
            "-l",
            "1",
            "a.example.org.env.2026-01-02.pdf",
            "text.pdf",
        ],
    );
    let ran = run_in(dir.path(), &["env", "unpdf", "text.pdf", "--out", "x.yml"]);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert_eq!(
        ran.stderr,
        "error: text.pdf: paper backup: no QR code found; try a higher --dpi or a better scan\n"
    );
    assert!(!dir.path().join("x.yml").exists());
}

/// The mode a file was created with, from strace's record of the open(2):
/// a create-then-chmod writer would show a wider mode and a chmod.
fn assert_created_0600(trace: &str, name: &str) {
    let opens: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("open") && l.contains(name) && l.contains("O_CREAT"))
        .collect();
    assert_eq!(opens.len(), 1, "one create of {name}:\n{trace}");
    assert!(
        opens[0].contains("O_EXCL") && opens[0].contains(", 0600)"),
        "created wider than 0600 or not exclusively: {}",
        opens[0]
    );
    assert!(
        !trace
            .lines()
            .any(|l| l.contains("chmod") && l.contains(name)),
        "{name} was chmodded:\n{trace}"
    );
}

#[test]
fn the_pdf_and_the_iso_are_0600_from_creation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yml"),
        "#cloud-config\nappliance: {domain: m.example.org}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("key.pub"), seed::ssh_keygen(dir.path())).unwrap();
    let bin = env!("CARGO_BIN_EXE_ecsfleet");
    // umask 0: a writer relying on the umask would create 0666 files.
    let traced = "strace -f -qq -e trace=openat,open,creat,chmod,fchmod,fchmodat";
    let script = format!(
        "umask 0; {traced} -o trace '{bin}' env package env.yml --plain --pdf --cidata \
         --date 2026-01-02 && {traced} -o trace2 '{bin}' cidata --key key.pub --out seed.iso"
    );
    if Command::new("strace").arg("-V").output().is_err() {
        // Without strace only the final mode can be checked.
        eprintln!("strace is not installed: checking the final modes only");
        let script = format!(
            "umask 0; '{bin}' env package env.yml --plain --pdf --cidata --date 2026-01-02 && \
             '{bin}' cidata --key key.pub --out seed.iso"
        );
        tool(dir.path(), "sh", &["-c", &script]);
    } else {
        tool(dir.path(), "sh", &["-c", &script]);
        let trace = std::fs::read_to_string(dir.path().join("trace")).unwrap();
        assert_created_0600(&trace, "m.example.org.env.2026-01-02.pdf");
        assert_created_0600(&trace, "m.example.org.env.2026-01-02.cidata.iso");
        let trace = std::fs::read_to_string(dir.path().join("trace2")).unwrap();
        assert_created_0600(&trace, "seed.iso");
    }
    for name in [
        "m.example.org.env.2026-01-02.pdf",
        "m.example.org.env.2026-01-02.cidata.iso",
        "seed.iso",
    ] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
}

#[test]
fn env_package_refuses_an_existing_pdf_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("env.yml"),
        "#cloud-config\nappliance: {domain: a.example.org}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.example.org.env.2026-01-02.pdf"), "old").unwrap();
    let args = [
        "env",
        "package",
        "env.yml",
        "--plain",
        "--pdf",
        "--cidata",
        "--date",
        "2026-01-02",
    ];
    let ran = run_in(dir.path(), &args);
    assert_eq!(ran.code, 2, "{ran:#?}");
    assert_eq!(
        ran.stderr,
        "error: ./a.example.org.env.2026-01-02.pdf: already exists (use --force to overwrite)\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.example.org.env.2026-01-02.pdf", "env.yml"]);
    let forced = [&args[..], &["--force"]].concat();
    ok_in(dir.path(), &forced);
    let pdf = std::fs::read(dir.path().join("a.example.org.env.2026-01-02.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        dir.path()
            .join("a.example.org.env.2026-01-02.cidata.iso")
            .exists()
    );
}
