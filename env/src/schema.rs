//! The shape of env.yml as the appliance reads it (APPLIANCE.md, "env.yml"):
//! every known key, its type, which keys are required, and which keys the
//! appliance still accepts but no longer reads (dead) or reads under a new
//! name (deprecated). The real ecs-appliance code is the judge: a key it
//! reads is known here, whatever its template shows.

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
    /// A mapping of anything (string keys only): what Salt reads whole
    /// (`kernel`, `appliance.storage.setup`).
    AnyMap,
}

/// A key the appliance accepts but that deserves a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    None,
    /// Nothing reads it; the text says why.
    Dead(&'static str),
    /// Read, under an old name; the text says what to use.
    Deprecated(&'static str),
}

/// One known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub note: Note,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
        note: Note::None,
    }
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
        note: Note::None,
    }
}

/// A key with no reader: accepted with a warning, its value not checked
/// beyond what flatyaml needs (string keys).
const fn dead(name: &'static str, kind: Kind, why: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        note: Note::Dead(why),
    }
}

const fn deprecated(name: &'static str, kind: Kind, instead: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        note: Note::Deprecated(instead),
    }
}

use Kind::{AnyMap, Bool, Map, MapList, Str, StrList};

const GIT: &[Field] = &[f("branch", Str), f("source", Str), f("commitid", Str)];

const APPLIANCE: &[Field] = &[
    req("domain", Str),
    dead(
        "allowed_hosts",
        Str,
        "nginx's server_name is appliance.domain (prepare-nginx.sh) and Django's ALLOWED_HOSTS is set in ecs.settings",
    ),
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
                    deprecated(
                        "content",
                        Str,
                        "use contents (prepare-extra.sh still writes content, with a warning, and prefers it over contents)",
                    ),
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
            f("setup", AnyMap),
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
    f(
        "migrate",
        Map(&[dead(
            "auto",
            Bool,
            "prepare-ecs.sh migrates whenever the ECS commit changes, whatever this says",
        )]),
    ),
    f(
        "userswitcher",
        Map(&[
            f("enabled", Bool),
            dead(
                "parameter",
                Str,
                "only ecs.userswitcher.enabled reaches ECS (ECS_USERSWITCHER_ENABLED in docker-compose.yml)",
            ),
        ]),
    ),
    req("settings", Str),
    req("vault_encrypt", Str),
    req("vault_sign", Str),
];

/// The top level of env.yml: it is the Salt pillar too (pillar/env.sls), so
/// Salt-read keys live here beside `appliance` and `ecs`.
pub const ROOT: &[Field] = &[
    f("ssh_authorized_keys", StrList),
    f("ssh_deprecated_keys", StrList),
    // cloud-init's, when the env is user-data (env-template.yml:75-76).
    f("disable_root", Bool),
    f("http_proxy", Str),
    f("no_proxy", Str),
    f("kernel", AnyMap),
    dead(
        "storage",
        AnyMap,
        "only salt/storage/init.sls reads it and no top file or include applies that state; appliance.storage.setup is the key that is read",
    ),
    req("appliance", Map(APPLIANCE)),
    req("ecs", Map(ECS)),
];
