//! Integration tests for issue 5's operate commands against lab hosts:
//! restore, db recreate, backup fetch-dump, logs, tunnel, shell, ecs, stats.
//! Assertions read the simulator's call logs, the hosts' files and the real
//! PostgreSQL of each host, not only exit codes. Host indices 66..=89
//! (127.0.0.76 and up) belong to these files; the helpers they share are here.

mod db_recreate;
mod ecs;
mod fetch_dump;
mod logs;
mod push_env_lock;
mod shell;
mod stats;
mod tunnel;

use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::lab::{LabFleet, fleet_cmd, run, run_ok, show, wait_for};

const LONG: Duration = Duration::from_secs(60);

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn has_call(fleet: &LabFleet, host: &str, argv: &[&str]) -> bool {
    fleet.calls(host).iter().any(|c| c == argv)
}

/// Installed by hand (quicker than `install`), env active, database
/// there, appliance started and running.
/// The simulator saw `docker exec FLAG ecs_ecs.web_1 /start run ARGS...`,
/// the manual's way into the web container.
fn ran_in_web(fleet: &LabFleet, host: &str, flag: &str, args: &[&str]) -> bool {
    let mut argv = vec!["docker", "exec", flag, "ecs_ecs.web_1", "/start", "run"];
    argv.extend_from_slice(args);
    has_call(fleet, host, &argv)
}

fn make_running(fleet: &LabFleet, name: &str) {
    fleet.ssh_ok(
        name,
        "mkdir -p /etc/salt /app/appliance/salt && echo 'file_client: local' > /etc/salt/minion && \
         salt-call state.highstate --retcode-passthrough pillar='{\"appliance\": {\"enabled\": true}}' >/dev/null && \
         printf '#cloud-config\\nappliance:\\n  domain: x.ecs.test\\necs:\\n  database: ecs\\n' > /app/env.yml && \
         chmod 0600 /app/env.yml && sudo -u postgres createdb ecs -T template0 -l de_DE.utf8 && \
         cp /app/env.yml /run/active-env.yml && systemctl start appliance",
    );
    wait_for("the appliance to run", LONG, || {
        fleet
            .ssh(
                name,
                "systemctl is-active appliance && test ! -e /var/www/html/503.html",
            )
            .status
            .success()
    });
}

/// What the host's real PostgreSQL answers to `sql` in the ecs database.
fn psql(fleet: &LabFleet, host: &str, sql: &str) -> Output {
    fleet.ssh(host, &format!("gosu postgres psql -X -tA ecs -c \"{sql}\""))
}

fn running(fleet: &LabFleet, host: &str) -> bool {
    fleet
        .ssh(host, "systemctl is-active appliance && test ! -e /var/www/html/503.html && test ! -e /run/appliance-failed")
        .status
        .success()
}
