//! The shape of env.yml as the appliance reads it (APPLIANCE.md, "Configure
//! and activate"): every known key, its type, and which keys are required.

/// What a key's value must be. Null is accepted everywhere (an empty value
/// means "not set" to the appliance) except for required keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    /// A list of strings.
    StrList,
    /// A mapping with the given keys.
    Map(&'static [Field]),
    /// A list of mappings with the given keys.
    MapList(&'static [Field]),
}

/// One known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

use Kind::{Bool, Map, MapList, Str, StrList};

const GIT: &[Field] = &[f("branch", Str), f("source", Str), f("commitid", Str)];

const APPLIANCE: &[Field] = &[
    req("domain", Str),
    f("allowed_hosts", Str),
    f("standby", Bool),
    f(
        "ssl",
        Map(&[
            f("letsencrypt", Map(&[f("enabled", Bool)])),
            f("client_certs_mandatory", Bool),
            f("key", Str),
            f("cert", Str),
        ]),
    ),
    f("sentry", Map(&[f("dsn", Str)])),
    f(
        "metric",
        Map(&[
            f("exporter", Bool),
            f("server", Bool),
            f("gui", Bool),
            f("pghero", Bool),
        ]),
    ),
    f("git", Map(GIT)),
    f(
        "extra",
        Map(&[
            f(
                "files",
                MapList(&[
                    f("path", Str),
                    f("contents", Str),
                    f("owner", Str),
                    f("permissions", Str),
                ]),
            ),
            f("packages", StrList),
            f("states", Str),
        ]),
    ),
    f("update", Map(&[f("automatic", Bool), f("oncalendar", Str)])),
    f(
        "storage",
        Map(&[
            f("setup", Str),
            f("ignore", Map(&[f("volatile", Bool), f("data", Bool)])),
        ]),
    ),
    req("dkim", Map(&[req("key", Str)])),
    req(
        "backup",
        Map(&[
            req("url", Str),
            f("options", Str),
            f(
                "mount",
                Map(&[
                    f("type", Str),
                    f("source", Str),
                    f("target", Str),
                    f("options", Str),
                ]),
            ),
            req("encrypt", Str),
        ]),
    ),
];

const ECS: &[Field] = &[
    f("git", Map(GIT)),
    f("database", Str),
    f("migrate", Map(&[f("auto", Bool)])),
    f(
        "userswitcher",
        Map(&[f("enabled", Bool), f("parameter", Str)]),
    ),
    req("settings", Str),
    req("vault_encrypt", Str),
    req("vault_sign", Str),
];

/// The top level of env.yml.
pub const ROOT: &[Field] = &[
    f("ssh_authorized_keys", StrList),
    f("ssh_deprecated_keys", StrList),
    f("disable_root", Bool),
    req("appliance", Map(APPLIANCE)),
    req("ecs", Map(ECS)),
];
