//! The lifecycle commands on the twin, with the real scripts in the loop
//! (ported from the old lab's tests/lifecycle.rs and fleet_ops.rs): install
//! twice, activate, a real appliance-update that finds new upstream commits
//! (one host updates ECS, the other the appliance and reboots for a pending
//! reboot-required), `update --serial 1 --max-fail 1` stopped by a failing
//! highstate with the appliance's own text, `update` refused on a host
//! without the appliance, restart without a database, recover, stop, start,
//! and `push-env --activate` restarting (never rebooting) a running host.
//! Twin hosts 146..=151.

use std::fs;
use std::process::Output;

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

/// The NDJSON lines of a `--json` run.
fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn host_finished(events: &[serde_json::Value], host: &str) -> serde_json::Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "host_finished" && e["host"] == host)
        .unwrap_or_else(|| panic!("no host_finished for {host}: {events:?}"))
        .clone()
}

fn host_result(events: &[serde_json::Value], host: &str) -> String {
    host_finished(events, host)["result"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `step_finished` event of `host`'s step called `name`.
fn step(events: &[serde_json::Value], host: &str, name: &str) -> serde_json::Value {
    events
        .iter()
        .rev()
        .find(|e| e["event"] == "step_finished" && e["host"] == host && e["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?} of {host}: {events:?}"))
        .clone()
}

fn env_path(fleet: &TwinFleet, name: &str) -> std::path::PathBuf {
    fleet.dir().join(format!("env/{name}.ecs.test/env.yml"))
}

fn new_env(fleet: &TwinFleet, name: &str) {
    let env = env_path(fleet, name);
    fleet.ecsfleet_ok(&[
        "env",
        "new",
        &format!("{name}.ecs.test"),
        "--out",
        env.to_str().unwrap(),
    ]);
}

fn tag(fleet: &TwinFleet, host: &str, name: &str) -> String {
    String::from_utf8(
        fleet
            .read_host_file(host, &format!("/app/etc/tags/{name}"))
            .unwrap_or_default(),
    )
    .unwrap()
    .trim()
    .to_owned()
}

fn is_active(fleet: &TwinFleet, host: &str, unit: &str) -> String {
    let out = fleet.inside(host, &format!("systemctl is-active {unit}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// What the real prepare-env makes of /app/env.yml: the env as env.include
/// reads it, `USERDATA_TYPE: local` appended (env.include:91-133).
fn assert_env_active(fleet: &TwinFleet, host: &str) {
    let app_env = String::from_utf8(fleet.read_host_file(host, "/app/env.yml").unwrap()).unwrap();
    let active =
        String::from_utf8(fleet.read_host_file(host, "/run/active-env.yml").unwrap()).unwrap();
    assert_eq!(
        active,
        format!("{}\nUSERDATA_TYPE: local", app_env.trim_end_matches('\n')),
        "{host}"
    );
}

/// Installed, env pushed, activated: the real appliance running on `hosts`.
fn install_and_activate(fleet: &TwinFleet, hosts: &[&str]) {
    let source = fleet.appliance_checkout();
    let mut install = vec!["install"];
    install.extend_from_slice(hosts);
    install.extend(["--yes", "--appliance-source", source.to_str().unwrap()]);
    fleet.ecsfleet_ok(&install);
    for host in hosts {
        new_env(fleet, host);
    }
    let mut push = vec!["push-env"];
    push.extend_from_slice(hosts);
    push.push("--yes");
    fleet.ecsfleet_ok(&push);
    let mut activate = vec!["activate"];
    activate.extend_from_slice(hosts);
    activate.push("--yes");
    fleet.ecsfleet_ok(&activate);
}

#[test]
fn install_twice_activate_then_update_finds_new_upstream_commits_and_reboots_when_asked() {
    let fleet = TwinFleet::up(146, 2);
    let [ecs_host, appliance_host] = [fleet.name(0), fleet.name(1)];
    let source = fleet.appliance_checkout();
    let src = source.to_str().unwrap();

    let out = fleet.ecsfleet_ok(&[
        "--json",
        "install",
        "--all",
        "--appliance-source",
        src,
        "--yes",
    ]);
    let ev = events(&out);
    let minion = fs::read(source.join("salt/minion")).unwrap();
    for host in fleet.names() {
        assert_eq!(host_result(&ev, &host), "ok", "{}", show(&out));
        assert!(
            fleet.calls(&host).contains(
                &[
                    "salt-call",
                    "state.highstate",
                    "pillar={\"appliance\": {\"enabled\": true}}",
                    "--retcode-passthrough",
                    "--out=json"
                ]
                .map(String::from)
                .to_vec()
            ),
            "{:?}",
            fleet.calls(&host)
        );
        // The real common/init.sls:15-17 places the pushed minion.
        assert_eq!(
            fleet.read_host_file(&host, "/app/appliance/salt/minion"),
            Some(minion.clone())
        );
        assert_eq!(
            fleet.read_host_file(&host, "/etc/salt/minion"),
            Some(minion.clone())
        );
        // The checkout goes with its .git: the appliance's own update keeps
        // a tree whose origin is its source (appliance-update.sh:116-137).
        assert!(fleet.host_file_exists(&host, "/app/appliance/.git/HEAD"));
        assert!(fleet.host_file_exists(&host, "/etc/systemd/system/appliance-update.service"));
        assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
        let note = step(&ev, &host, "highstate")["note"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(note.starts_with("salt: "), "{note}");
    }

    // Again: the tree is already there, nothing is pushed.
    let out = fleet.ecsfleet_ok(&[
        "--json",
        "install",
        "--all",
        "--appliance-source",
        src,
        "--yes",
    ]);
    let ev = events(&out);
    for host in fleet.names() {
        assert_eq!(
            step(&ev, &host, "push the appliance source")["result"],
            "ok",
            "{ev:?}"
        );
    }

    for host in fleet.names() {
        new_env(&fleet, &host);
    }
    fleet.ecsfleet_ok(&["push-env", "--all", "--yes"]);
    let boots: Vec<String> = fleet.names().iter().map(|h| fleet.boot_id(h)).collect();
    let out = fleet.ecsfleet_ok(&["--json", "activate", "--all", "--yes"]);
    let ev = events(&out);
    for (host, boot) in fleet.names().iter().zip(&boots) {
        assert_eq!(host_result(&ev, host), "ok", "{ev:?}");
        // One reboot, followed by its boot id.
        let note = step(&ev, host, "reboot")["note"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(note.ends_with("boot id changed"), "{note}");
        assert_ne!(&fleet.boot_id(host), boot, "{host} rebooted");
        assert_env_active(&fleet, host);
        assert!(!fleet.host_file_exists(host, "/var/www/html/503.html"));
        assert!(!fleet.host_file_exists(host, "/run/ecsfleet.lock"));
        assert_eq!(is_active(&fleet, host, "appliance"), "active");
        assert_eq!(
            fleet.inside_ok(
                host,
                "sudo -u postgres psql -tAc \"SELECT datname FROM pg_database WHERE datname = 'ecs'\""
            ),
            "ecs\n"
        );
    }

    // Upstream moves on: a new ECS commit for one host, a new appliance
    // commit for the other, which also has a reboot pending. An untracked
    // file in the pushed tree shows the update keeps the tree (same origin:
    // fetch, checkout -f, reset --hard, appliance-update.sh:184-214) rather
    // than deleting and re-cloning it.
    let ecs_target = fleet.mirror_commit(&ecs_host, "ecs", "master");
    let appliance_target = fleet.mirror_commit(&appliance_host, "ecs-appliance", "master");
    fleet.inside_ok(
        &appliance_host,
        "touch /app/appliance/kept-by-the-update /run/reboot-required",
    );
    let before: Vec<(String, String)> = fleet
        .names()
        .iter()
        .map(|h| {
            (
                tag(&fleet, h, "last_running_ecs"),
                tag(&fleet, h, "last_running_appliance"),
            )
        })
        .collect();
    let boots: Vec<String> = fleet.names().iter().map(|h| fleet.boot_id(h)).collect();
    let out = fleet.ecsfleet_ok(&["update", "--all", "--yes"]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(table.contains("ecs before"), "{table}");
    let row = |host: &str| {
        table
            .lines()
            .find(|l| l.contains(&format!(" {host} ")))
            .unwrap_or_else(|| panic!("no row for {host}: {table}"))
            .to_owned()
    };

    // The ECS host: the new ECS commit built and running
    // (appliance-update.sh:140-161,252-257,332-334; prepare-ecs.sh:121),
    // no appliance update (no tag: the install writes none), no reboot.
    let (ecs_before, appliance_before) = &before[0];
    assert_ne!(ecs_before, &ecs_target);
    assert_eq!(tag(&fleet, &ecs_host, "last_running_ecs"), ecs_target);
    assert_eq!(appliance_before, "");
    assert_eq!(tag(&fleet, &ecs_host, "last_running_appliance"), "");
    assert_eq!(fleet.boot_id(&ecs_host), boots[0]);
    let r = row(&ecs_host);
    assert!(
        r.contains(&format!(" {} ", &ecs_before[..12]))
            && r.contains(&format!(" {} ", &ecs_target[..12])),
        "{table}"
    );
    assert!(r.contains(" no ") && r.contains(" ok "), "{table}");

    // The appliance host: highstate of the new commit, its tag written
    // (appliance-update.sh:207-224), then the pending reboot before any
    // restart (322-330); ECS unchanged.
    assert_eq!(
        tag(&fleet, &appliance_host, "last_running_appliance"),
        appliance_target
    );
    assert_eq!(
        fleet.inside_ok(
            &appliance_host,
            "cd /app/appliance && gosu app git rev-parse HEAD"
        ),
        format!("{appliance_target}\n")
    );
    assert_eq!(
        fleet.inside_ok(
            &appliance_host,
            "cd /app/appliance && gosu app git config --get remote.origin.url"
        ),
        "https://github.com/ecs-org/ecs-appliance.git\n"
    );
    assert!(fleet.host_file_exists(&appliance_host, "/app/appliance/kept-by-the-update"));
    assert_ne!(fleet.boot_id(&appliance_host), boots[1]);
    assert_eq!(
        tag(&fleet, &appliance_host, "last_running_ecs"),
        before[1].0
    );
    let r = row(&appliance_host);
    assert!(
        r.contains(&format!(" {} ", &appliance_target[..12])),
        "{table}"
    );
    assert!(r.contains(" yes ") && r.contains(" ok "), "{table}");

    for host in fleet.names() {
        assert_eq!(is_active(&fleet, &host, "appliance"), "active", "{host}");
        assert!(!fleet.host_file_exists(&host, "/var/www/html/503.html"));
        assert!(!fleet.host_file_exists(&host, "/run/ecsfleet.lock"));
    }
    // The ECS host's update ran to its end without a reboot.
    let journal = fleet.inside_ok(
        &ecs_host,
        "journalctl -b -q --no-pager -o cat -u appliance-update",
    );
    assert!(
        journal.contains("need_ecs_update=true")
            && journal.contains("need_appliance_update=false")
            && journal.contains("Information: restarting appliance"),
        "{journal}"
    );
}

#[test]
fn update_serial_one_max_fail_one_stops_at_a_failing_highstate_with_the_appliances_text() {
    let fleet = TwinFleet::up(148, 3);
    let [ok, failing, bare] = [fleet.name(0), fleet.name(1), fleet.name(2)];
    install_and_activate(&fleet, &[&ok, &failing]);

    // A host without the appliance: refused before anything starts.
    let out = fleet.ecsfleet(&["update", &bare, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {bare}: update step 2/6 \"appliance installed and not failed\" (stock/update.yml:"
        )) && stderr.contains(
            "the appliance is not installed (no appliance-update.service): ecsfleet install first"
        ),
        "{stderr}"
    );
    assert!(!fleet.host_file_exists(&bare, "/run/ecsfleet.lock"));

    // The failing host's update wants a highstate (a new appliance commit),
    // and the highstate fails.
    fleet.mirror_commit(&failing, "ecs-appliance", "master");
    fleet.fault(&failing, "highstate-fails", true);
    let out = fleet.ecsfleet(&[
        "--json",
        "update",
        &ok,
        &failing,
        &bare,
        "--serial",
        "1",
        "--max-fail",
        "1",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let ev = events(&out);
    assert_eq!(host_result(&ev, &ok), "ok", "{}", show(&out));
    assert_eq!(host_result(&ev, &failing), "failed");
    assert_eq!(host_result(&ev, &bare), "not_started");
    // Strictly one after the other.
    let pos = |event: &str, host: &str| {
        ev.iter()
            .position(|e| e["event"] == event && e["host"] == host)
            .unwrap_or_else(|| panic!("no {event} for {host}"))
    };
    assert!(pos("host_finished", &ok) < pos("host_started", &failing));
    assert!(
        !ev.iter()
            .any(|e| e["event"] == "host_started" && e["host"] == bare.as_str())
    );
    // The real appliance-update.sh's failure path (207-222): the page
    // "Appliance Error" / "salt-call state.highstate failed with error 2"
    // (the stand-in's --retcode-passthrough code), exit 1, the unit failed;
    // the wait ends at once with that text, long before its 65 min.
    let wait = step(&ev, &failing, "wait for appliance-update to finish");
    assert_eq!(wait["result"], "failed", "{wait}");
    assert!(wait["seconds"].as_f64().unwrap() < 180.0, "{wait}");
    assert_eq!(
        host_finished(&ev, &failing)["error"],
        "appliance-update failed: Appliance Error: salt-call state.highstate failed with error 2 (journalctl -u appliance-update)",
        "{}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 host not started"), "{stderr}");
    assert_eq!(is_active(&fleet, &failing, "appliance-update"), "failed");
    // No failed flag: the appliance keeps running behind the error page.
    assert!(!fleet.host_file_exists(&failing, "/run/appliance-failed"));
    assert_eq!(is_active(&fleet, &failing, "appliance"), "active");
    for host in [&ok, &failing] {
        assert!(!fleet.host_file_exists(host, "/run/ecsfleet.lock"));
    }
    assert!(
        !fleet.host_file_exists(&bare, "/app/appliance"),
        "the third host was never touched"
    );

    // The fault gone, the next update finishes: the failed run had already
    // reset the tree to its target and touched force.update.ecs
    // (appliance-update.sh:213-216), so no highstate now, ECS rebuilt and
    // the appliance restarted (255-257,332-334), the error page gone.
    fleet.fault(&failing, "highstate-fails", false);
    let out = fleet.ecsfleet(&["update", &failing, "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!fleet.host_file_exists(&failing, "/var/www/html/503.html"));
    assert_eq!(is_active(&fleet, &failing, "appliance"), "active");
    assert_eq!(tag(&fleet, &failing, "last_running_appliance"), "");
}

#[test]
fn restart_without_a_database_fails_recover_stop_start_then_push_env_activate_restarts() {
    let fleet = TwinFleet::up(151, 1);
    let host = fleet.name(0);
    let output = fleet.install(&host);
    assert!(output.status.success(), "install: {}", show(&output));
    new_env(&fleet, &host);
    fleet.ecsfleet_ok(&["push-env", &host, "--yes"]);
    fleet.inside_ok(&host, "env-update.sh >/dev/null");

    // No ecs database: prepare-appliance fails, appliance-failed@ raises
    // the flag and replaces the page with its generic one
    // (tests/twin/failure.rs). The wait sees the flag with whichever page
    // is up (prepare-appliance's own "Appliance Standby" page, then
    // appliance-failed@'s generic "Appliance Error" one) and the prepare
    // unit's cause behind it (the old simulator's page named the cause).
    let out = fleet.ecsfleet(&["restart", &host, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        error.starts_with(&format!(
            "error: {host}: restart step 2/2 \"wait until running\" (stock/restart.yml:"
        )) && error.contains(") failed: the appliance failed: Appliance ")
            && (error.ends_with(
                " (cause: Appliance Standby: Appliance is in standby, no postgresql database named ecs)"
            ) || error.ends_with(
                "the appliance failed: Appliance Standby: Appliance is in standby, no postgresql database named ecs"
            )),
        "{stderr}"
    );
    assert!(fleet.host_file_exists(&host, "/run/appliance-failed"));
    // The cause behind the generic page, as status shows it.
    let status = fleet.ecsfleet(&["--json", "status", &host]);
    assert_eq!(status.status.code(), Some(1), "{}", show(&status));
    let line = events(&status)
        .into_iter()
        .find(|l| l["host"] == host.as_str())
        .unwrap();
    assert_eq!(line["state"], "failed", "{line}");
    assert_eq!(
        line["failure_cause"],
        "Appliance Standby: Appliance is in standby, no postgresql database named ecs"
    );

    fleet.inside_ok(
        &host,
        "sudo -u postgres createdb ecs -T template0 -l de_DE.utf8",
    );
    let out = fleet.ecsfleet_ok(&["recover", &host, "--yes"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" ok "),
        "{}",
        show(&out)
    );
    assert!(!fleet.host_file_exists(&host, "/run/appliance-failed"));
    assert!(!fleet.host_file_exists(&host, "/var/www/html/503.html"));
    assert_eq!(is_active(&fleet, &host, "appliance"), "active");
    assert_env_active(&fleet, &host);

    // stop and start round trip.
    fleet.ecsfleet_ok(&["stop", &host, "--yes"]);
    assert_ne!(is_active(&fleet, &host, "appliance"), "active");
    fleet.ecsfleet_ok(&["start", &host, "--yes"]);
    assert_eq!(is_active(&fleet, &host, "appliance"), "active");
    assert!(!fleet.host_file_exists(&host, "/var/www/html/503.html"));

    // push-env --activate of a changed env (from fleet_ops.rs): env-update.sh
    // and a restart, never a reboot, not even with one pending (only
    // appliance-update reboots for it, appliance-update.sh:322-330); it
    // waits until the appliance runs again.
    let env = env_path(&fleet, &host);
    let mut text = fs::read_to_string(&env).unwrap();
    text.push_str("# second version\n");
    fs::write(&env, &text).unwrap();
    fleet.inside_ok(
        &host,
        "touch /run/reboot-required /run/ecsfleet-test-marker",
    );
    let boot = fleet.boot_id(&host);
    let started = fleet.inside_ok(
        &host,
        "systemctl show -p InvocationID --value prepare-appliance",
    );
    let out = fleet.ecsfleet_ok(&["push-env", &host, "--yes", "--activate"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.contains(&format!(" {host} ")))
        .unwrap_or_else(|| panic!("{}", show(&out)));
    assert!(row.contains(" activated "), "{}", show(&out));
    assert!(row.contains("; running"), "{}", show(&out));
    // The diff first, then progress: the appliance's own pages while the
    // prepare chain runs (e.g. prepare-ecs.sh's "Appliance Update" /
    // "Pulling base images"), each on a line of its own, host first.
    assert!(stdout.contains("+# second version\n"), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.trim().is_empty(), "{}", show(&out));
    for line in stderr.lines().filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with(&format!("{host}: starting: Appliance ")),
            "{}",
            show(&out)
        );
    }
    assert!(!stderr.contains("reconnecting"), "{stderr}");
    assert_eq!(fleet.boot_id(&host), boot, "not rebooted");
    assert!(fleet.host_file_exists(&host, "/run/ecsfleet-test-marker"));
    // The prepare chain ran again (PartOf=appliance.service).
    assert_ne!(
        fleet.inside_ok(
            &host,
            "systemctl show -p InvocationID --value prepare-appliance"
        ),
        started
    );
    assert_eq!(
        fleet.read_host_file(&host, "/app/env.yml").unwrap(),
        text.as_bytes()
    );
    assert_env_active(&fleet, &host);
    let status = fleet.ecsfleet_ok(&["--json", "status", &host]);
    let line = events(&status)
        .into_iter()
        .find(|l| l["host"] == host.as_str())
        .unwrap();
    assert_eq!(line["state"], "running", "{line}");
    assert_eq!(line["active_env_matches"], true, "{line}");
    assert_eq!(line["reboot_required"], true, "{line}");

    // Once more as JSON: one line, the verdict and the new checksum.
    text.push_str("# third version\n");
    fs::write(&env, &text).unwrap();
    let out = fleet.ecsfleet_ok(&["--json", "push-env", &host, "--yes", "--activate"]);
    let lines = events(&out);
    assert_eq!(lines.len(), 1, "{}", show(&out));
    assert_eq!(lines[0]["host"], host.as_str());
    assert_eq!(lines[0]["result"], "activated");
    let sha = sha256_hex(text.as_bytes());
    assert_eq!(
        lines[0]["detail"],
        format!("sha256 {}; running", &sha[..12]),
        "{}",
        show(&out)
    );
    assert_env_active(&fleet, &host);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
