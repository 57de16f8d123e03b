//! What the operator's `~/.ssh/config` says about a host: HostName, Port,
//! User, IdentityFile and ProxyJump, read the way OpenSSH reads them.
//!
//! A small parser of our own, not the ssh2-config crate: ssh2-config 0.9 does
//! not know `Match`, so with unknown keywords allowed the directives of a
//! `Match` block silently land in the `Host` block above it. Here:
//!
//! - `Host` lines take several patterns with `*`, `?` and `!` negation; a
//!   block applies when a plain pattern matches and no negated one does.
//!   Directives before the first `Host` apply to every host.
//! - For each keyword the first value obtained wins, top to bottom, as in
//!   OpenSSH; `IdentityFile` values accumulate. `ProxyJump none` stops later
//!   ProxyJump values.
//! - `Include` is honoured, with globs (sorted) and `~`; a relative path is
//!   taken from `~/.ssh/`. An `Include` inside a `Host` block applies the
//!   included file only under that block. Nesting is limited to 16 levels.
//! - `keyword value`, `keyword=value` and double-quoted values are read;
//!   a `#` starts a comment.
//!
//! Unsupported, on purpose: `Match` (a `Match` block never applies, except
//! `Match all`, which applies always), and `%` tokens (only `%h` and `%%` in
//! HostName are expanded; elsewhere they stay literal). Unknown keywords are
//! ignored rather than refused. Every other keyword is kept unread.

use std::path::{Path, PathBuf};

use crate::error::SshConfigError;
use crate::inventory::expand_tilde;
use crate::wildcard;

/// A parsed ssh_config (with its includes).
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    rules: Vec<Rule>,
    home: Option<PathBuf>,
}

/// One directive with the conditions under which it applies (all must hold).
#[derive(Debug, Clone)]
struct Rule {
    scope: Vec<Cond>,
    keyword: String,
    args: Vec<String>,
}

#[derive(Debug, Clone)]
enum Cond {
    Host(Vec<String>),
    Never,
}

/// What ssh_config sets for one host alias; `None`/empty where it is silent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshHostConfig {
    /// `HostName`: the real address for the alias.
    pub hostname: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `IdentityFile`s in order, `~` expanded.
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump` as written (possibly a comma list); `none` reads as `None`.
    pub proxy_jump: Option<String>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

impl SshConfig {
    /// `~/.ssh/config`, if there is a home directory.
    pub fn default_path() -> Option<PathBuf> {
        home_dir().map(|home| home.join(".ssh").join("config"))
    }

    /// Reads `~/.ssh/config`; an empty config if it does not exist.
    pub fn load_default() -> Result<SshConfig, SshConfigError> {
        match SshConfig::default_path() {
            Some(path) if path.exists() => SshConfig::load(&path),
            _ => Ok(SshConfig::default()),
        }
    }

    /// Reads the config file at `path`; `~` is `$HOME`.
    pub fn load(path: &Path) -> Result<SshConfig, SshConfigError> {
        SshConfig::load_with_home(path, home_dir().as_deref())
    }

    /// Reads the config file at `path` with `home` for `~` and for relative
    /// `Include`s (`home/.ssh/...`).
    pub fn load_with_home(path: &Path, home: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let text = read(path)?;
        let mut config = SshConfig {
            rules: Vec::new(),
            home: home.map(Path::to_path_buf),
        };
        config.read(&text, path, &[], 0)?;
        Ok(config)
    }

    /// Parses config text; `~` is `$HOME`.
    pub fn parse(text: &str) -> Result<SshConfig, SshConfigError> {
        SshConfig::parse_with_home(text, home_dir().as_deref())
    }

    /// Parses config text with `home` for `~` and relative `Include`s.
    pub fn parse_with_home(text: &str, home: Option<&Path>) -> Result<SshConfig, SshConfigError> {
        let mut config = SshConfig {
            rules: Vec::new(),
            home: home.map(Path::to_path_buf),
        };
        config.read(text, Path::new("ssh_config"), &[], 0)?;
        Ok(config)
    }

    /// What applies to `alias` (the name ssh would be given on its command
    /// line; for an inventory host, its `address`).
    pub fn lookup(&self, alias: &str) -> SshHostConfig {
        let mut found = SshHostConfig::default();
        let (mut hostname, mut port, mut user, mut jump) = (false, false, false, false);
        for rule in &self.rules {
            if !rule.scope.iter().all(|cond| cond.holds(alias)) {
                continue;
            }
            let first = rule.args[0].as_str();
            match rule.keyword.as_str() {
                "hostname" if !hostname => {
                    hostname = true;
                    found.hostname = Some(expand_host_tokens(first, alias));
                }
                "port" if !port => {
                    port = true;
                    found.port = first.parse().ok();
                }
                "user" if !user => {
                    user = true;
                    found.user = Some(first.to_owned());
                }
                "proxyjump" if !jump => {
                    jump = true;
                    let value = rule.args.join(",");
                    found.proxy_jump = (!value.eq_ignore_ascii_case("none")).then_some(value);
                }
                "identityfile" => {
                    let path = expand_tilde(first, self.home.clone())
                        .unwrap_or_else(|| PathBuf::from(first));
                    if !found.identity_files.contains(&path) {
                        found.identity_files.push(path);
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// Adds the directives of `text` (read from `source`) under `outer`.
    fn read(
        &mut self,
        text: &str,
        source: &Path,
        outer: &[Cond],
        depth: usize,
    ) -> Result<(), SshConfigError> {
        let syntax = |line: usize, message: String| SshConfigError::Syntax {
            path: source.to_path_buf(),
            line,
            message,
        };
        let mut scope = outer.to_vec();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let mut words = tokenize(line).map_err(|message| syntax(number, message))?;
            if words.is_empty() {
                continue;
            }
            let keyword = words.remove(0).to_ascii_lowercase();
            if words.is_empty() {
                return Err(syntax(number, format!("`{keyword}` needs an argument")));
            }
            match keyword.as_str() {
                "host" => {
                    scope = outer.to_vec();
                    scope.push(Cond::Host(words));
                }
                "match" => {
                    scope = outer.to_vec();
                    let all = words.len() == 1 && words[0].eq_ignore_ascii_case("all");
                    if !all {
                        scope.push(Cond::Never);
                    }
                }
                "include" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(syntax(number, "too many nested Includes".to_owned()));
                    }
                    for pattern in &words {
                        for file in self.include_files(pattern, source) {
                            let text = read(&file)?;
                            self.read(&text, &file, &scope, depth + 1)?;
                        }
                    }
                }
                _ => {
                    if keyword == "port" && !matches!(words[0].parse::<u16>(), Ok(p) if p > 0) {
                        return Err(syntax(number, format!("bad port `{}`", words[0])));
                    }
                    self.rules.push(Rule {
                        scope: scope.clone(),
                        keyword,
                        args: words,
                    });
                }
            }
        }
        Ok(())
    }

    /// The files an `Include` argument names, sorted; none if none match.
    fn include_files(&self, pattern: &str, source: &Path) -> Vec<PathBuf> {
        let path = match expand_tilde(pattern, self.home.clone()) {
            Some(path) => path,
            None if Path::new(pattern).is_absolute() => PathBuf::from(pattern),
            None => match &self.home {
                Some(home) => home.join(".ssh").join(pattern),
                None => source.parent().unwrap_or(Path::new("")).join(pattern),
            },
        };
        let Some(text) = path.to_str() else {
            return vec![path];
        };
        let mut files: Vec<PathBuf> = match glob::glob(text) {
            Ok(paths) => paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }
}

impl Cond {
    fn holds(&self, alias: &str) -> bool {
        match self {
            Cond::Host(patterns) => {
                wildcard::match_list(patterns.iter().map(String::as_str), alias) == Some(true)
            }
            Cond::Never => false,
        }
    }
}

fn read(path: &Path) -> Result<String, SshConfigError> {
    std::fs::read_to_string(path).map_err(|source| SshConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `%h` is the alias, `%%` a percent sign; other tokens stay as written.
fn expand_host_tokens(value: &str, alias: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(alias),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Splits a line into keyword and arguments: whitespace separates, an `=`
/// may follow the keyword, double quotes group, `#` starts a comment.
fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let line = line.trim();
    let keyword_end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = &line[..keyword_end];
    if keyword.is_empty() || keyword.starts_with('#') {
        return Ok(Vec::new());
    }
    let mut rest = line[keyword_end..].trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start();
    }
    let mut words = vec![keyword.to_owned()];
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next_if(|c| quoted || !c.is_whitespace()) {
            if c == '"' {
                quoted = !quoted;
            } else {
                word.push(c);
            }
        }
        if quoted {
            return Err("unterminated quote".to_owned());
        }
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Inventory;

    fn config(text: &str) -> SshConfig {
        SshConfig::parse_with_home(text, Some(Path::new("/home/op"))).unwrap()
    }

    #[test]
    fn host_patterns_and_first_value_wins() {
        let config = config(
            "Host vienna\n  HostName ecs.example.org\n  User admin\n\
             Host *.lab lab?\n  Port 2222\n  User labuser\n\
             Host *\n  User fallback\n  Port 22\n",
        );
        assert_eq!(
            config.lookup("vienna"),
            SshHostConfig {
                hostname: Some("ecs.example.org".into()),
                port: Some(22),
                user: Some("admin".into()),
                ..SshHostConfig::default()
            }
        );
        let lab = config.lookup("lab1");
        assert_eq!(
            (lab.port, lab.user.as_deref()),
            (Some(2222), Some("labuser"))
        );
        let other = config.lookup("h.lab");
        assert_eq!(other.port, Some(2222));
        let none = config.lookup("elsewhere");
        assert_eq!(
            (none.port, none.user.as_deref()),
            (Some(22), Some("fallback"))
        );
    }

    #[test]
    fn global_directives_come_first_and_win() {
        let config = config("User everyone\nHost a\n  User alice\n");
        assert_eq!(config.lookup("a").user.as_deref(), Some("everyone"));
    }

    #[test]
    fn negation_excludes() {
        let config =
            config("Host *.example.org !bastion.example.org\n  ProxyJump bastion.example.org\n");
        assert_eq!(
            config.lookup("ecs.example.org").proxy_jump.as_deref(),
            Some("bastion.example.org")
        );
        assert_eq!(config.lookup("bastion.example.org").proxy_jump, None);
        // Only negated patterns never match.
        assert_eq!(self::config("Host !x\n User u\n").lookup("y").user, None);
    }

    #[test]
    fn match_blocks_never_apply_except_match_all() {
        let config = config(
            "Host a\n  User alice\nMatch host a exec true\n  Port 2200\n  User matched\n\
             Host a\n  Port 2201\nMatch all\n  IdentityFile ~/.ssh/id_all\n",
        );
        let a = config.lookup("a");
        assert_eq!(a.user.as_deref(), Some("alice"));
        assert_eq!(a.port, Some(2201));
        assert_eq!(a.identity_files, [PathBuf::from("/home/op/.ssh/id_all")]);
    }

    #[test]
    fn syntax_variants_and_tokens() {
        let config = config(
            "# comment\n\nHost=a\n  HostName=%h.example.org # trailing\n  Port = 2222\n\
             \tIdentityFile \"~/keys/with space\"\n  IdentityFile ~/.ssh/id_ed25519\n  ProxyJump j1,j2\n",
        );
        assert_eq!(
            config.lookup("a"),
            SshHostConfig {
                hostname: Some("a.example.org".into()),
                port: Some(2222),
                user: None,
                identity_files: vec![
                    "/home/op/keys/with space".into(),
                    "/home/op/.ssh/id_ed25519".into()
                ],
                proxy_jump: Some("j1,j2".into()),
            }
        );
    }

    #[test]
    fn proxy_jump_none_stops_later_values() {
        let config = config("Host direct\n  ProxyJump none\nHost *\n  ProxyJump bastion\n");
        assert_eq!(config.lookup("direct").proxy_jump, None);
        assert_eq!(
            config.lookup("other").proxy_jump.as_deref(),
            Some("bastion")
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = SshConfig::parse_with_home("Host a\n  Port abc\n", None).unwrap_err();
        assert_eq!(err.to_string(), "ssh_config:2: bad port `abc`");
        let err = SshConfig::parse_with_home("Host\n", None).unwrap_err();
        assert_eq!(err.to_string(), "ssh_config:1: `host` needs an argument");
        let err = SshConfig::parse_with_home("User \"x\n", None).unwrap_err();
        assert_eq!(err.to_string(), "ssh_config:1: unterminated quote");
    }

    #[test]
    fn include_with_globs_relative_to_dot_ssh_and_scoped() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        std::fs::create_dir_all(ssh.join("conf.d")).unwrap();
        std::fs::write(ssh.join("conf.d/20-b.conf"), "Host b\n  User bob\n").unwrap();
        std::fs::write(
            ssh.join("conf.d/10-a.conf"),
            "Host a\n  User alice\n  Port 2201\nHost b\n  Port 2202\n",
        )
        .unwrap();
        std::fs::write(ssh.join("scoped"), "User scoped\n").unwrap();
        std::fs::write(
            ssh.join("config"),
            "Include conf.d/*.conf\nHost c\n  Include ~/.ssh/scoped\n  Port 2203\n\
             Host *\n  User default\n  Port 22\nInclude nothing-matches-*\n",
        )
        .unwrap();
        let config = SshConfig::load_with_home(&ssh.join("config"), Some(home.path())).unwrap();
        let a = config.lookup("a");
        assert_eq!((a.user.as_deref(), a.port), (Some("alice"), Some(2201)));
        // 10-a.conf is read before 20-b.conf: its Port for b comes first.
        let b = config.lookup("b");
        assert_eq!((b.user.as_deref(), b.port), (Some("bob"), Some(2202)));
        let c = config.lookup("c");
        assert_eq!((c.user.as_deref(), c.port), (Some("scoped"), Some(2203)));
        // The scoped include does not leak to other hosts.
        assert_eq!(config.lookup("d").user.as_deref(), Some("default"));
    }

    #[test]
    fn include_cycles_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, format!("Include {}\n", path.display())).unwrap();
        let err = SshConfig::load_with_home(&path, Some(dir.path())).unwrap_err();
        assert!(
            err.to_string().ends_with("too many nested Includes"),
            "{err}"
        );
    }

    #[test]
    fn inventory_precedence_explicit_then_ssh_config_then_defaults() {
        let mut inventory = Inventory::parse(
            "defaults: {user: deploy, port: 2000, identity: /keys/default}\n\
             hosts:\n  explicit: {address: vienna, user: me, port: 22, identity: /keys/mine, proxy_jump: j}\n  \
             implicit: {address: vienna}\n  plain: {}\n",
            Path::new("/fleet/inventory/hosts.yml"),
        )
        .unwrap();
        let ssh = config(
            "Host vienna\n  HostName ecs.example.org\n  User sshuser\n  Port 2222\n  \
             IdentityFile ~/.ssh/id_vienna\n  ProxyJump bastion\n",
        );
        inventory.apply_ssh_config(&ssh);
        let explicit = &inventory.hosts[0];
        assert_eq!(explicit.address, "ecs.example.org");
        assert_eq!((explicit.user.as_str(), explicit.port), ("me", 22));
        assert_eq!(explicit.identity.as_deref(), Some(Path::new("/keys/mine")));
        assert_eq!(explicit.proxy_jump.as_deref(), Some("j"));
        let implicit = &inventory.hosts[1];
        assert_eq!(implicit.address, "ecs.example.org");
        assert_eq!((implicit.user.as_str(), implicit.port), ("sshuser", 2222));
        assert_eq!(
            implicit.identity.as_deref(),
            Some(Path::new("/home/op/.ssh/id_vienna"))
        );
        assert_eq!(implicit.proxy_jump.as_deref(), Some("bastion"));
        // ssh_config silent: inventory defaults stay.
        let plain = &inventory.hosts[2];
        assert_eq!(plain.address, "plain");
        assert_eq!((plain.user.as_str(), plain.port), ("deploy", 2000));
        assert_eq!(plain.identity.as_deref(), Some(Path::new("/keys/default")));
        assert_eq!(plain.proxy_jump, None);
    }
}
