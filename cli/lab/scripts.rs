//! The host-side scripts of the lab, embedded in the binary and written into
//! every host's directories by `lab up`: the supervisor (the host's "init"),
//! the simulator's shared library, the simulated commands that stand in
//! /usr/local/sbin from the start, and the payload the simulated highstate
//! installs (helper scripts a fresh host does not have yet).

/// The supervisor, run as the first process of the host's namespaces.
pub const SUPERVISOR: &str = include_str!("scripts/supervisor.sh");

/// Sourced by the supervisor and every simulated command.
pub const LIB: &str = include_str!("scripts/lib.sh");

/// Simulated commands in the host's /usr/local/sbin before any install.
pub const SBIN: &[(&str, &str)] = &[
    ("apt-get", include_str!("scripts/bin/apt-get")),
    ("docker", include_str!("scripts/bin/docker")),
    ("duply", include_str!("scripts/bin/duply")),
    ("gosu", include_str!("scripts/bin/gosu")),
    ("journalctl", include_str!("scripts/bin/journalctl")),
    ("nproc", include_str!("scripts/bin/nproc")),
    ("reboot", include_str!("scripts/bin/reboot")),
    ("salt-call", include_str!("scripts/bin/salt-call")),
    ("shutdown", include_str!("scripts/bin/shutdown")),
    ("systemctl", include_str!("scripts/bin/systemctl")),
];

/// What the simulated highstate installs, by path below the host's
/// /var/lib/ecs-lab/payload.
pub const PAYLOAD: &[(&str, &str)] = &[
    (
        "create-internal-user.sh",
        include_str!("scripts/payload/create-internal-user.sh"),
    ),
    (
        "create-client-certificate.sh",
        include_str!("scripts/payload/create-client-certificate.sh"),
    ),
    (
        "env-create.sh",
        include_str!("scripts/payload/env-create.sh"),
    ),
    (
        "env-package.sh",
        include_str!("scripts/payload/env-package.sh"),
    ),
    (
        "env-update.sh",
        include_str!("scripts/payload/env-update.sh"),
    ),
    (
        "recover-from-backup.sh",
        include_str!("scripts/payload/recover-from-backup.sh"),
    ),
    ("fault/mktemp", include_str!("scripts/fault/mktemp")),
    ("fault/head", include_str!("scripts/fault/head")),
    ("fault/dd", include_str!("scripts/fault/dd")),
    (
        "share/env.include",
        include_str!("scripts/payload/share/env.include"),
    ),
    (
        "share/appliance.include",
        include_str!("scripts/payload/share/appliance.include"),
    ),
    (
        "share/prepare-env.sh",
        include_str!("scripts/payload/share/prepare-env.sh"),
    ),
    (
        "share/prepare-appliance.sh",
        include_str!("scripts/payload/share/prepare-appliance.sh"),
    ),
    (
        "share/prepare-ecs.sh",
        include_str!("scripts/payload/share/prepare-ecs.sh"),
    ),
    (
        "share/appliance-update.sh",
        include_str!("scripts/payload/share/appliance-update.sh"),
    ),
    (
        "share/appliance-backup.sh",
        include_str!("scripts/payload/share/appliance-backup.sh"),
    ),
];
