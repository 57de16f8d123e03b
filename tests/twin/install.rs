//! `ecsfleet install` of the real ecs-appliance on a twin host: every
//! script and unit the states copy verbatim arrives byte for byte as the
//! pinned commit has it, enabled as the states enable it.

use std::process::Command;

use crate::support::lab::show;
use crate::support::twin::TwinFleet;

const PINNED: &str = "1aaa4d9828b37855e6e01e6250597e81f14c997b";

/// (path on the host, path in the repository): the files the states place
/// with `file.managed` from `salt://` without a template (lab/TWIN.md).
const VERBATIM: &[(&str, &str)] = &[
    (
        "/usr/local/share/appliance/env.include",
        "salt/common/env.include",
    ),
    ("/usr/local/sbin/env-create.sh", "salt/common/env-create.sh"),
    (
        "/usr/local/sbin/env-package.sh",
        "salt/common/env-package.sh",
    ),
    ("/usr/local/sbin/env-update.sh", "salt/common/env-update.sh"),
    ("/usr/local/bin/flatyaml.py", "salt/common/flatyaml.py"),
    ("/usr/local/bin/ravencat.py", "salt/common/ravencat.py"),
    (
        "/usr/local/share/appliance/appliance.include",
        "salt/appliance/scripts/appliance.include",
    ),
    (
        "/usr/local/share/appliance/prepare-env.sh",
        "salt/appliance/scripts/prepare-env.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-appliance.sh",
        "salt/appliance/scripts/prepare-appliance.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-ecs.sh",
        "salt/appliance/scripts/prepare-ecs.sh",
    ),
    (
        "/usr/local/sbin/create-internal-user.sh",
        "salt/appliance/scripts/create-internal-user.sh",
    ),
    (
        "/usr/local/sbin/create-client-certificate.sh",
        "salt/appliance/scripts/create-client-certificate.sh",
    ),
    (
        "/usr/local/share/appliance/appliance-backup.sh",
        "salt/appliance/backup/appliance-backup.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-backup.sh",
        "salt/appliance/backup/prepare-backup.sh",
    ),
    (
        "/usr/local/sbin/recover-from-backup.sh",
        "salt/appliance/backup/recover-from-backup.sh",
    ),
    (
        "/usr/local/share/appliance/appliance-update.sh",
        "salt/appliance/update/appliance-update.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-update.sh",
        "salt/appliance/update/prepare-update.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-storage.sh",
        "salt/appliance/storage/prepare-storage.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-extra.sh",
        "salt/appliance/extra/prepare-extra.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-postgresql.sh",
        "salt/appliance/postgresql/prepare-postgresql.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-metric.sh",
        "salt/appliance/metric/prepare-metric.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-ssl.sh",
        "salt/appliance/ssl/prepare-ssl.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-postfix.sh",
        "salt/appliance/postfix/prepare-postfix.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-stunnel.sh",
        "salt/appliance/stunnel/prepare-stunnel.sh",
    ),
    (
        "/usr/local/share/appliance/prepare-nginx.sh",
        "salt/appliance/nginx/prepare-nginx.sh",
    ),
    (
        "/etc/systemd/system/appliance.service",
        "salt/appliance/systemd/appliance.service",
    ),
    (
        "/etc/systemd/system/prepare-env.service",
        "salt/appliance/systemd/prepare-env.service",
    ),
    (
        "/etc/systemd/system/prepare-appliance.service",
        "salt/appliance/systemd/prepare-appliance.service",
    ),
    (
        "/etc/systemd/system/prepare-ecs.service",
        "salt/appliance/systemd/prepare-ecs.service",
    ),
    (
        "/etc/systemd/system/appliance-cleanup.service",
        "salt/appliance/systemd/appliance-cleanup.service",
    ),
    (
        "/etc/systemd/system/appliance-failed@.service",
        "salt/appliance/systemd/appliance-failed@.service",
    ),
    (
        "/etc/systemd/system/service-failed@.service",
        "salt/appliance/systemd/service-failed@.service",
    ),
    (
        "/etc/systemd/system/watch-ecs-ca.service",
        "salt/appliance/systemd/watch-ecs-ca.service",
    ),
    (
        "/etc/systemd/system/watch-ecs-ca.path",
        "salt/appliance/systemd/watch-ecs-ca.path",
    ),
    (
        "/etc/systemd/system/mail-to-sentry.service",
        "salt/appliance/systemd/mail-to-sentry.service",
    ),
    (
        "/etc/systemd/system/mail-to-sentry.path",
        "salt/appliance/systemd/mail-to-sentry.path",
    ),
    (
        "/etc/systemd/system/appliance-update.service",
        "salt/appliance/update/appliance-update.service",
    ),
    (
        "/etc/systemd/system/appliance-backup.service",
        "salt/appliance/backup/appliance-backup.service",
    ),
    (
        "/etc/systemd/system/appliance-backup.timer",
        "salt/appliance/backup/appliance-backup.timer",
    ),
];

#[test]
fn every_placed_script_and_unit_is_byte_identical_to_the_pinned_commit() {
    let fleet = TwinFleet::up(111, 1);
    let host = fleet.name(0);
    let output = fleet.install(&host);
    assert!(output.status.success(), "install: {}", show(&output));
    let checkout = fleet.appliance_checkout();
    let mut differ = Vec::new();
    for (on_host, in_repo) in VERBATIM {
        let pinned = Command::new("git")
            .arg("-C")
            .arg(&checkout)
            .args(["show", &format!("{PINNED}:{in_repo}")])
            .output()
            .unwrap();
        assert!(
            pinned.status.success(),
            "git show {in_repo}: {}",
            show(&pinned)
        );
        let placed = fleet.read_host_file(&host, on_host);
        if placed.as_deref() != Some(&pinned.stdout[..]) {
            differ.push(*on_host);
        }
    }
    assert!(
        differ.is_empty(),
        "not byte-identical to {PINNED}: {differ:?}"
    );
    // Enabled as the states enable them; the appliance not started yet.
    let units = fleet.inside_ok(
        &host,
        "systemctl is-enabled appliance.service appliance-backup.timer appliance-update.timer \
         watch-ecs-ca.path mail-to-sentry.path; systemctl is-active appliance.service || true",
    );
    assert_eq!(
        units,
        "enabled\nenabled\nenabled\nenabled\nenabled\ninactive\n"
    );
    let page = String::from_utf8(
        fleet
            .read_host_file(&host, "/var/www/html/503.html")
            .unwrap(),
    )
    .unwrap();
    assert!(
        page.contains("System Information") && page.contains("uninitialized"),
        "{page}"
    );
    // The highstate went through the stand-in, which recorded it.
    assert!(
        fleet
            .calls(&host)
            .iter()
            .any(|c| c.len() > 1 && c[0] == "salt-call" && c[1] == "state.highstate"),
        "{:?}",
        fleet.calls(&host)
    );
}
