//! What `vagrant ssh-config [MACHINE]` prints, read into [`Machine`]s.
//!
//! Vagrant renders one `Host NAME` block per machine from its template
//! (templates/commands/ssh_config/config.erb): HostName, User, Port, then
//! options we do not need (UserKnownHostsFile /dev/null, StrictHostKeyChecking
//! no — we pin the key instead), one IdentityFile line per key (in double
//! quotes when the path has a space), and a blank line after each machine.
//! Keywords are matched without case and may be followed by `=`, as in
//! ssh_config(5).

use std::path::PathBuf;

/// One Vagrant machine as SSH reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub name: String,
    pub host_name: String,
    pub port: u16,
    pub user: String,
    /// In the order Vagrant lists them (its own per-machine key first).
    pub identity_files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("machine {machine}: no HostName")]
    NoHostName { machine: String },
    #[error("no `Host` block: is the machine running?")]
    Empty,
}

impl Machine {
    /// The key to log in with: the first listed that exists here (Vagrant
    /// lists the insecure keys it may already have replaced), else the first.
    pub fn identity(&self) -> Option<PathBuf> {
        self.identity_files
            .iter()
            .find(|p| p.is_file())
            .or(self.identity_files.first())
            .cloned()
    }
}

/// Every `Host` block of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Machine>, ParseError> {
    let mut machines: Vec<Machine> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (keyword, value) = split(trimmed);
        let value = unquote(value).map_err(|message| ParseError::Line { line, message })?;
        let keyword = keyword.to_ascii_lowercase();
        if keyword == "host" {
            if value.is_empty() {
                return Err(ParseError::Line {
                    line,
                    message: "`Host` without a name".into(),
                });
            }
            machines.push(Machine {
                name: value,
                host_name: String::new(),
                port: 22,
                user: "vagrant".into(),
                identity_files: Vec::new(),
            });
            continue;
        }
        let Some(machine) = machines.last_mut() else {
            return Err(ParseError::Line {
                line,
                message: format!("`{keyword}` before any `Host` line"),
            });
        };
        match keyword.as_str() {
            "hostname" => machine.host_name = value,
            "user" => machine.user = value,
            "port" => {
                machine.port = value.parse().map_err(|_| ParseError::Line {
                    line,
                    message: format!("Port `{value}` is not a port number"),
                })?
            }
            "identityfile" => machine.identity_files.push(expand_home(&value)),
            _ => {}
        }
    }
    if machines.is_empty() {
        return Err(ParseError::Empty);
    }
    if let Some(m) = machines.iter().find(|m| m.host_name.is_empty()) {
        return Err(ParseError::NoHostName {
            machine: m.name.clone(),
        });
    }
    Ok(machines)
}

/// `Keyword value`, `Keyword=value` or `Keyword = value`.
fn split(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    (keyword, rest.trim_end())
}

/// A value in double quotes loses them (paths with spaces); one opening
/// quote without its closing one is an error.
fn unquote(value: &str) -> Result<String, String> {
    match value.strip_prefix('"') {
        None => Ok(value.to_owned()),
        Some(rest) => rest
            .strip_suffix('"')
            .map(str::to_owned)
            .ok_or_else(|| format!("unterminated quote in `{value}`")),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rendered with Vagrant 2.3.4's own template (Debian's vagrant package,
    // templates/commands/ssh_config/config.erb) through its TemplateRenderer.
    const ONE_WITH_SPACES: &str = "Host default
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile \"/home/ops/my boxes/.vagrant/machines/default/virtualbox/private_key\"
  IdentitiesOnly yes
  LogLevel FATAL

";

    const TWO: &str = "Host ecs1
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /home/ops/fleet/vagrant/.vagrant/machines/ecs1/virtualbox/private_key
  IdentitiesOnly yes
  LogLevel FATAL

Host ecs2
  HostName 127.0.0.1
  User vagrant
  Port 2200
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /home/ops/.vagrant.d/insecure_private_keys/vagrant.key.ed25519
  IdentityFile /home/ops/.vagrant.d/insecure_private_keys/vagrant.key.rsa
  IdentitiesOnly yes
  LogLevel FATAL
  ForwardAgent yes

";

    #[test]
    fn one_machine_with_a_quoted_path() {
        let machines = parse(ONE_WITH_SPACES).unwrap();
        assert_eq!(
            machines,
            [Machine {
                name: "default".into(),
                host_name: "127.0.0.1".into(),
                port: 2222,
                user: "vagrant".into(),
                identity_files: vec![PathBuf::from(
                    "/home/ops/my boxes/.vagrant/machines/default/virtualbox/private_key"
                )],
            }]
        );
    }

    #[test]
    fn several_machines_and_several_keys() {
        let machines = parse(TWO).unwrap();
        assert_eq!(machines.len(), 2);
        assert_eq!(machines[0].name, "ecs1");
        assert_eq!(machines[1].name, "ecs2");
        assert_eq!(machines[1].port, 2200);
        assert_eq!(machines[1].identity_files.len(), 2);
        // Neither key exists here: the first listed.
        assert_eq!(
            machines[1].identity(),
            Some(PathBuf::from(
                "/home/ops/.vagrant.d/insecure_private_keys/vagrant.key.ed25519"
            ))
        );
    }

    #[test]
    fn the_first_key_that_exists_wins() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = dir.path().join("vagrant.key.rsa");
        std::fs::write(&rsa, "key").unwrap();
        let text = format!(
            "Host default\n  HostName 127.0.0.1\n  IdentityFile {}/vagrant.key.ed25519\n  IdentityFile {}\n",
            dir.path().display(),
            rsa.display()
        );
        assert_eq!(parse(&text).unwrap()[0].identity(), Some(rsa));
    }

    #[test]
    fn keywords_ignore_case_and_take_equals() {
        let machines =
            parse("host box\n\thostname=10.0.0.5\n  PORT = 2022\n  user root\n").unwrap();
        assert_eq!(machines[0].host_name, "10.0.0.5");
        assert_eq!(machines[0].port, 2022);
        assert_eq!(machines[0].user, "root");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(
            parse("  HostName 127.0.0.1\n"),
            Err(ParseError::Line {
                line: 1,
                message: "`hostname` before any `Host` line".into()
            })
        );
        assert_eq!(
            parse("Host a\n  HostName h\n  Port twenty\n")
                .unwrap_err()
                .to_string(),
            "line 3: Port `twenty` is not a port number"
        );
        assert_eq!(
            parse("Host a\n  Port 22\n").unwrap_err().to_string(),
            "machine a: no HostName"
        );
        assert!(
            parse("Host a\n  HostName h\n  IdentityFile \"/x y\n")
                .unwrap_err()
                .to_string()
                .contains("unterminated quote")
        );
    }
}
