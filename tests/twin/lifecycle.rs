//! The operator's main job on the twin, with the real scripts in the loop:
//! install the real ecs-appliance, push an env, activate (database, env,
//! reboot, the real prepare-* chain), create users whose names the real
//! helper would break on, a certificate, status, and a changed setting
//! applied by `push-env --activate`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

fn env_path(fleet: &TwinFleet, name: &str) -> std::path::PathBuf {
    fleet.dir().join(format!("env/{name}.ecs.test/env.yml"))
}

fn sql(fleet: &TwinFleet, name: &str, query: &str) -> String {
    fleet.inside_ok(
        name,
        &format!(
            "sudo -u postgres psql -d ecs -tA -F '|' -c {}",
            shell_quote(query)
        ),
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn install_activate_users_and_a_changed_setting_on_the_real_appliance() {
    let fleet = TwinFleet::up(110, 1);
    let host = fleet.name(0);
    let output = fleet.install(&host);
    assert!(output.status.success(), "install: {}", show(&output));
    // The pushed checkout keeps its origin: the real update would keep it.
    let origin = fleet.inside_ok(
        &host,
        "cd /app/appliance && gosu app git config --get remote.origin.url",
    );
    assert_eq!(origin, "https://github.com/ecs-org/ecs-appliance.git\n");

    let env = env_path(&fleet, &host);
    fleet.ecsfleet_ok(&[
        "env",
        "new",
        &format!("{host}.ecs.test"),
        "--out",
        env.to_str().unwrap(),
    ]);
    fleet.ecsfleet_ok(&["push-env", &host, "--yes"]);
    let output = fleet.ecsfleet(&["activate", &host, "--yes"]);
    assert!(output.status.success(), "activate: {}", show(&output));

    // The real prepare-env wrote the active env its own way: never byte-equal.
    let app_env = fleet.read_host_file(&host, "/app/env.yml").unwrap();
    let active = fleet.read_host_file(&host, "/run/active-env.yml").unwrap();
    let mut wanted = String::from_utf8(app_env)
        .unwrap()
        .trim_end_matches('\n')
        .to_string();
    wanted.push_str("\nUSERDATA_TYPE: local");
    assert_eq!(String::from_utf8(active).unwrap(), wanted);
    let status = fleet.ecsfleet_ok(&["--json", "status", &host]);
    let lines = json_lines(&status);
    let line = lines.iter().find(|l| l["host"] == host.as_str()).unwrap();
    assert_eq!(line["state"], "running", "{line}");
    assert_eq!(line["active_env_matches"], true, "{line}");
    assert_eq!(line["env_matches_local"], true, "{line}");

    // Names the real helper pastes into Python and breaks on.
    let dir = tempfile::tempdir().unwrap();
    for (i, (first, last, gender)) in [
        ("Dan", "O'Brien", "M"),
        ("Jürgen", "Müller-Lüdenscheidt", "m"),
        ("José", "Niño \\ '); import os #", "f"),
    ]
    .iter()
    .enumerate()
    {
        let email = format!("user{i}@example.org");
        let pass = dir.path().join(format!("user{i}.pass"));
        // Plain, very verbose, and --json: the passphrase never shows.
        let mode: &[&str] = [&[][..], &["-vv"][..], &["--json"][..]][i];
        let mut args = mode.to_vec();
        args.extend([
            "user",
            "create",
            &host,
            &email,
            first,
            last,
            gender,
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]);
        let output = fleet.ecsfleet(&args);
        assert!(
            output.status.success(),
            "user create {last}: {}",
            show(&output)
        );
        let passphrase = fs::read_to_string(&pass).unwrap();
        assert_eq!(passphrase.trim().len(), 16, "{passphrase:?}");
        assert_eq!(
            fs::metadata(&pass).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!shown.contains(passphrase.trim()), "{shown}");
        let row = sql(
            &fleet,
            &host,
            &format!(
                "select u.first_name, u.last_name, p.gender, p.is_internal from auth_user u \
             join users_userprofile p on p.user_id = u.id where u.email = '{email}'"
            ),
        );
        assert_eq!(row, format!("{first}|{last}|{}|t\n", gender.to_lowercase()));
    }

    let cert_pass = dir.path().join("cert.pass");
    let output = fleet.ecsfleet(&[
        "--json",
        "cert",
        "create",
        &host,
        "user0@example.org",
        "dan laptop",
        "--days",
        "30",
        "--passphrase-file",
        cert_pass.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "cert create: {}", show(&output));
    assert!(fs::read_to_string(&cert_pass).unwrap().trim().len() > 8);
    assert_eq!(
        sql(
            &fleet,
            &host,
            "select count(*) from pki_certificate where cn = 'dan laptop'"
        ),
        "1\n"
    );

    // A certificate for nobody: the real path prints "Error: could not find
    // user" and exits 0; ecsfleet fails with that text.
    let nobody = dir.path().join("nobody.pass");
    let output = fleet.ecsfleet(&[
        "cert",
        "create",
        &host,
        "nobody@example.org",
        "x",
        "--passphrase-file",
        nobody.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Error: could not find user nobody@example.org"),
        "{stderr}"
    );
    assert!(!nobody.exists());

    // A changed setting reaches the running appliance: push-env --activate
    // applies it by a restart (prepare-env is PartOf=appliance.service).
    let text = fs::read_to_string(&env).unwrap();
    let changed = text.replacen(
        "  userswitcher:\n    enabled: false",
        "  userswitcher:\n    enabled: true",
        1,
    );
    assert_ne!(text, changed);
    fs::write(&env, changed).unwrap();
    let output = fleet.ecsfleet(&["push-env", &host, "--yes", "--activate"]);
    assert!(
        output.status.success(),
        "push-env --activate: {}",
        show(&output)
    );
    let web_env = fleet.inside_ok(&host, "docker exec ecs_ecs.web_1 env");
    assert!(
        web_env
            .lines()
            .any(|l| l == "ECS_USERSWITCHER_ENABLED=true"),
        "{web_env}"
    );

    // `ecs HOST -- CMD`: the command's own bytes, the entrypoint's three
    // lines dropped; a script fed to manage.py shell that raises fails,
    // though the shell itself exits 0.
    let echoed = fleet.ecsfleet(&["ecs", &host, "-T", "--", "printf", "%s|", "a b", "O'Brien"]);
    assert!(echoed.status.success(), "{}", show(&echoed));
    assert_eq!(String::from_utf8_lossy(&echoed.stdout), "a b|O'Brien|");
    let mut raising = std::process::Command::new(env!("CARGO_BIN_EXE_ecsfleet"));
    raising
        .args([
            "-i",
            fleet.inventory().to_str().unwrap(),
            "--no-ssh-config",
            "ecs",
            &host,
            "-T",
            "--",
        ])
        .args(["./manage.py", "shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env_remove("SSH_AUTH_SOCK");
    let mut child = raising.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"x = 1\nraise ValueError('lab check')\n")
            .unwrap();
    }
    let raised = child.wait_with_output().unwrap();
    assert_eq!(raised.status.code(), Some(1), "{}", show(&raised));
    assert!(
        String::from_utf8_lossy(&raised.stderr)
            .contains("the script raised: ValueError: lab check"),
        "{}",
        show(&raised)
    );

    // Pushed and active already (the active env is derived, never
    // byte-equal): nothing to do, no restart.
    let boot_jobs = fleet.inside_ok(
        &host,
        "systemctl show -p ActiveEnterTimestampMonotonic --value appliance",
    );
    let again = fleet.ecsfleet_ok(&["--json", "push-env", &host, "--yes", "--activate"]);
    let lines = json_lines(&again);
    assert_eq!(lines[0]["result"], "unchanged", "{lines:?}");
    assert_eq!(
        fleet.inside_ok(
            &host,
            "systemctl show -p ActiveEnterTimestampMonotonic --value appliance"
        ),
        boot_jobs,
        "the appliance was not restarted"
    );

    // A `become` login, as on a Vagrant box: status reads the root-only files
    // (/app/env.yml and /run/active-env.yml are 0600) through sudo.
    let inventory = fs::read_to_string(fleet.inventory()).unwrap();
    let line = format!(
        "  {host}-vagrant: {{address: {}, user: vagrant, become: true, domain: {host}.ecs.test, env: ../env/{host}.ecs.test/env.yml}}\n",
        fleet.address(&host)
    );
    fs::write(fleet.inventory(), inventory + &line).unwrap();
    let as_vagrant = format!("{host}-vagrant");
    let status = fleet.ecsfleet_ok(&["--json", "status", &as_vagrant]);
    let lines = json_lines(&status);
    assert_eq!(lines[0]["state"], "running", "{lines:?}");
    assert_eq!(lines[0]["active_env_matches"], true, "{lines:?}");
    assert_eq!(lines[0]["env_matches_local"], true, "{lines:?}");
}
