//! `ecsfleet user create` and `ecsfleet cert create`: the Django steps of the
//! appliance's helper scripts (create-internal-user.sh,
//! create-client-certificate.sh), sent with every value a safe Python literal
//! (the scripts paste values into Python source; see
//! ecsfleet_playbooks::django_shell), their result found wherever the
//! interactive shell prints it and verified in the database, and the
//! passphrase handed to the operator only.
//!
//! Where the passphrase goes is settled before anything is sent: into
//! `--passphrase-file` (created here, 0600 from birth and never over an
//! existing file), else onto stdout when stdout is a terminal; otherwise the
//! command refuses (exit 2). It never reaches a log, `--json` or an error
//! message: the helper's output is secret as a whole, so a failure reports
//! the exit status and only those stderr lines that do not mention a
//! passphrase.

use std::fs::File;
use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use ecsfleet_playbooks::appliance::{self, AppState};
use ecsfleet_playbooks::django_shell::{self, Gender};
use ecsfleet_playbooks::{RemoteCommand, Stdin};

use crate::args::{GlobalArgs, Selection};
use crate::error::{Error, Outcome, Result};
use crate::fleet::Fleet;
use crate::run::runtime;
use crate::ssh::{Connection, SshError};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create (or update) an internal ECS user
    ///
    /// Runs create-internal-user.sh's Django steps on a running appliance
    /// (names such as O'Brien or Müller-Lüdenscheidt are safe). The new
    /// passphrase is printed on stdout only when stdout is a terminal;
    /// otherwise (and with --json) --passphrase-file is required.
    #[command(after_help = "Example:\n  \
        ecsfleet user create ecs-vienna office@example.org Mary Smith f\n  \
        ecsfleet user create ecs-vienna office@example.org Mary Smith f --passphrase-file ~/office.pass")]
    Create {
        /// The appliance (one inventory host)
        host: String,
        /// The user's e-mail address (the login)
        email: String,
        /// First name
        first: String,
        /// Last name
        last: String,
        /// `f` or `m` (either case)
        #[arg(value_name = "f|m")]
        gender: String,
        /// Write the passphrase into this new file (mode 0600; it must not exist)
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a client certificate and mail it to the user
    ///
    /// Runs create-client-certificate.sh's Django steps on a running appliance; it mails the
    /// PKCS#12 file to the user and prints its passphrase, which goes to stdout
    /// only when stdout is a terminal; otherwise (and with --json)
    /// --passphrase-file is required.
    #[command(after_help = "Example:\n  \
        ecsfleet cert create ecs-vienna office@example.org office-laptop --days 30\n  \
        ecsfleet cert create ecs-vienna office@example.org office-laptop --passphrase-file ~/cert.pass")]
    Create {
        /// The appliance (one inventory host)
        host: String,
        /// The user's e-mail address
        email: String,
        /// A name for the certificate
        cert_name: String,
        /// Days the certificate is valid
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Write the passphrase into this new file (mode 0600; it must not exist)
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
    },
}

pub fn user(command: UserCommand, global: &GlobalArgs) -> Result<Outcome> {
    let UserCommand::Create {
        host,
        email,
        first,
        last,
        gender,
        passphrase_file,
    } = command;
    validate_email(&email)?;
    validate_name("FIRST", &first)?;
    validate_name("LAST", &last)?;
    let gender: Gender = gender.parse().map_err(Error::usage)?;
    let helper = Helper {
        command: django_shell::create_internal_user(&email, &first, &last, gender),
        state_probe: appliance::state(),
        prefix: django_shell::USER_RESULT,
        separator: django_shell::USER_SEPARATOR,
        what: "user",
    };
    let json = serde_json::json!({"host": host, "email": email, "created": true});
    create(&host, helper, passphrase_file.as_deref(), json, global)
}

pub fn cert(command: CertCommand, global: &GlobalArgs) -> Result<Outcome> {
    let CertCommand::Create {
        host,
        email,
        cert_name,
        days,
        passphrase_file,
    } = command;
    validate_email(&email)?;
    validate_name("CERT_NAME", &cert_name)?;
    if cert_name.contains('/') {
        // The name becomes the certificate subject's CN: `/CN=<name>/O=...`
        // (ecs: ecs/pki/models.py:37-41).
        return Err(Error::usage(format!(
            "CERT_NAME `{}` contains `/`, which would break the certificate's subject (/CN=NAME/O=...); \
choose a name without `/` (nothing was sent)",
            printable(&cert_name)
        )));
    }
    if days == 0 {
        return Err(Error::usage("--days must be at least 1"));
    }
    let helper = Helper {
        command: django_shell::create_client_certificate(&email, &cert_name, days),
        state_probe: appliance::state(),
        prefix: django_shell::CERT_RESULT,
        separator: django_shell::CERT_SEPARATOR,
        what: "certificate",
    };
    let json = serde_json::json!({
        "host": host, "email": email, "cert_name": cert_name, "days": days, "created": true,
    });
    create(&host, helper, passphrase_file.as_deref(), json, global)
}

/// A helper script and how to find the passphrase in what it prints.
struct Helper {
    command: RemoteCommand,
    /// Whether the appliance runs ([`appliance::state`]).
    state_probe: RemoteCommand,
    /// The passphrase line: `PREFIX EMAIL SEPARATOR PASSPHRASE`.
    prefix: &'static str,
    separator: &'static str,
    what: &'static str,
}

/// Where the passphrase goes, settled before anything is sent.
enum Destination {
    File { path: PathBuf, file: File },
    Terminal,
}

fn create(
    host_name: &str,
    helper: Helper,
    passphrase_file: Option<&Path>,
    mut json: serde_json::Value,
    global: &GlobalArgs,
) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let selection = Selection {
        patterns: vec![host_name.to_owned()],
        all: false,
    };
    let host = match fleet.select(&selection)?.as_slice() {
        [host] if host.name == host_name => *host,
        _ => {
            return Err(Error::usage(format!(
                "`{host_name}` is not one host of the inventory (name a single host)"
            )));
        }
    };
    let target = fleet.target(host)?;
    // docker and the state probe need root: a login other than root goes
    // through sudo (a Vagrant box's `vagrant`).
    let mut helper = helper;
    if host.user != "root" {
        helper.command = helper.command.sudo();
        helper.state_probe = helper.state_probe.sudo();
    }
    let options = fleet.ssh_options(global)?;
    let destination = destination(passphrase_file, global.json)?;
    let host_error = |message: String| Error::Host {
        host: host_name.to_owned(),
        message,
    };

    let result = runtime().block_on(async {
        let connection = Connection::open(&target, &options)
            .await
            .map_err(|e| host_error(e.to_string()))?;
        let result = run_helper(&connection, &helper).await;
        connection.close().await;
        result.map_err(host_error)
    });
    let passphrase = match result {
        Ok(passphrase) => passphrase,
        Err(error) => {
            if let Destination::File { path, file } = destination {
                drop(file);
                let _ = std::fs::remove_file(&path);
            }
            return Err(error);
        }
    };
    match destination {
        Destination::File { path, mut file } => {
            file.write_all(format!("{passphrase}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            if global.json {
                json["passphrase_file"] = serde_json::json!(path.display().to_string());
                println!("{json}");
            } else if !global.quiet {
                eprintln!(
                    "{host_name}: {} created; its passphrase is in {} (mode 0600)",
                    helper.what,
                    path.display()
                );
            }
        }
        Destination::Terminal => {
            eprintln!(
                "{host_name}: {} created; hand its passphrase to the user over a secure channel:",
                helper.what
            );
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{passphrase}")
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::io("writing the passphrase to the terminal", e))?;
        }
    }
    Ok(Outcome::Success)
}

fn destination(passphrase_file: Option<&Path>, json: bool) -> Result<Destination> {
    match passphrase_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    Error::usage(format!(
                        "--passphrase-file {}: {e} (it must be a new file; nothing was sent)",
                        path.display()
                    ))
                })?;
            Ok(Destination::File {
                path: path.to_path_buf(),
                file,
            })
        }
        None if json => Err(Error::usage(
            "--json never carries the passphrase: pass --passphrase-file PATH (nothing was sent)",
        )),
        None if std::io::stdout().is_terminal() => Ok(Destination::Terminal),
        None => Err(Error::usage(
            "stdout is not a terminal: the passphrase is only printed to a terminal; \
pass --passphrase-file PATH (nothing was sent)",
        )),
    }
}

/// Requires a running appliance, runs the helper, returns the passphrase.
async fn run_helper(
    connection: &Connection,
    helper: &Helper,
) -> std::result::Result<String, String> {
    let ssh = |e: SshError| e.to_string();
    let output = connection
        .exec(&helper.state_probe.to_shell(), None)
        .await
        .map_err(ssh)?;
    let (state, text) = appliance::parse_state(&String::from_utf8_lossy(&output.stdout));
    if state != AppState::Running {
        return Err(format!(
            "the appliance is {state}{}; creating a {} needs a running appliance (`ecsfleet status`)",
            text.map(|t| format!(" ({t})")).unwrap_or_default(),
            helper.what
        ));
    }
    let stdin = match &helper.command.stdin {
        Stdin::Bytes { data, .. } => Some(data.as_slice()),
        _ => None,
    };
    let output = connection
        .exec(&helper.command.to_shell(), stdin)
        .await
        .map_err(ssh)?;
    // The Django shell exits 0 even when the Python failed: the result line
    // and the verify line decide (django_shell::parse).
    if !output.status.success() {
        return Err(format!(
            "`{}` failed ({}){}",
            helper.command,
            output.status,
            super::push_env::ruled(without_passphrases(&output.stderr).as_bytes())
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    match django_shell::parse(&stdout, helper.prefix, helper.separator) {
        django_shell::Outcome::Done { passphrase } => Ok(passphrase),
        django_shell::Outcome::Failed { reason } => Err(format!(
            "the {} was not created: {reason}\n(a passphrase may have been set anyway: \
running this again sets a new one; nothing is retried by itself)",
            helper.what
        )),
    }
}

/// Stderr lines that do not mention a passphrase.
fn without_passphrases(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|line| !line.to_ascii_lowercase().contains("passphrase"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `local@domain.tld`: what the helper scripts and ECS can take.
fn validate_email(email: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::usage(format!("EMAIL `{}`: {why}", printable(email))));
    if email.len() > 254 {
        return bad("longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains a space or control character");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("expected local@domain");
    };
    if local.is_empty() || domain.contains('@') {
        return bad("expected local@domain");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let good_label = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(good_label) {
        return bad("the domain must be a host name with a dot, such as example.org");
    }
    if local.chars().any(|c| "\"'\\<>(),;:[]`$|&".contains(c)) {
        return bad("the part before @ may not contain quotes, brackets or shell characters");
    }
    Ok(())
}

/// Names are free text, but not empty and without control characters.
fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::usage(format!("{what} may not be empty")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "{what} `{}` contains a control character",
            printable(name)
        )));
    }
    Ok(())
}

/// Input echoed in an error, with control characters escaped.
fn printable(s: &str) -> String {
    s.chars().flat_map(char::escape_debug).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "a@b.example",
            "mary.smith+ecs@ethik.example.org",
            "x@ä.example",
        ] {
            assert!(validate_email(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("nobody", "expected local@domain"),
            ("@b.example", "expected local@domain"),
            ("a@b@c.example", "expected local@domain"),
            ("a@localhost", "the domain must be a host name"),
            ("a@-b.example", "the domain must be a host name"),
            ("a b@c.example", "contains a space"),
            ("a\n@c.example", "contains a space"),
            ("a'b@c.example", "may not contain quotes"),
            ("a$(x)@c.example", "may not contain quotes"),
        ] {
            let error = validate_email(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert_eq!(
            validate_email("a\u{7}@c.example").unwrap_err().to_string(),
            "EMAIL `a\\u{7}@c.example`: contains a space or control character"
        );
    }

    #[test]
    fn names() {
        assert!(validate_name("LAST", "O'Brien; touch /tmp/x").is_ok());
        assert!(validate_name("FIRST", "Zoë").is_ok());
        assert_eq!(
            validate_name("FIRST", " ").unwrap_err().to_string(),
            "FIRST may not be empty"
        );
        assert_eq!(
            validate_name("LAST", "a\nb").unwrap_err().to_string(),
            "LAST `a\\nb` contains a control character"
        );
        assert!(matches!(
            validate_name("LAST", "a\tb").unwrap_err().exit_code(),
            Outcome::Usage
        ));
    }

    #[test]
    fn passphrase_lines_are_kept_out_of_errors() {
        assert_eq!(
            without_passphrases(b"warning: x\nthe Passphrase is y\nerror: z\n"),
            "warning: x\nerror: z"
        );
    }

    #[test]
    fn passphrase_file_is_new_and_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        let Destination::File { .. } = destination(Some(&path), true).unwrap() else {
            panic!("expected a file");
        };
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = destination(Some(&path), false).err().unwrap();
        assert!(
            again.to_string().contains("it must be a new file"),
            "{again}"
        );
        assert!(
            destination(None, true)
                .err()
                .unwrap()
                .to_string()
                .contains("--json never carries the passphrase")
        );
    }
}
