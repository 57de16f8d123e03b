use super::*;
use serde_json::json;

const EXAMPLE: &str = "\
defaults: {user: root, port: 22, identity: keys/ops_ed25519, become: false}
known_hosts: known_hosts            # relative to this file; OpenSSH format
hosts:
  ecs-vienna:
    address: ecs.example.org        # name or IP; may be a ~/.ssh/config Host alias
    port: 22
    user: root
    identity: keys/ops_ed25519      # relative to this file, or ~/...
    proxy_jump: bastion             # another host here, or user@host:port
    become: false                   # true: run via `sudo -n` (Vagrant boxes)
    domain: ecs.example.org
    env: env/ecs.example.org/env.yml
    groups: [production, vienna]
    vars: {studies_per_month: 100}
groups:
  production: {vars: {serial: 2}}
";

fn parse(text: &str) -> Result<Inventory, InventoryError> {
    Inventory::parse(text, Path::new("inventory/hosts.yml"))
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(inventory) => panic!("expected an error, got {inventory:#?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn full_example_parses_to_the_right_values() {
    let inventory = parse(EXAMPLE).unwrap();
    assert_eq!(inventory.path, Path::new("inventory/hosts.yml"));
    assert_eq!(
        inventory.known_hosts.as_deref(),
        Some(Path::new("inventory/known_hosts"))
    );
    assert_eq!(inventory.hosts.len(), 1);
    let host = &inventory.hosts[0];
    assert_eq!(host.name, "ecs-vienna");
    assert_eq!(host.address, "ecs.example.org");
    assert_eq!(host.port, 22);
    assert_eq!(host.user, "root");
    assert_eq!(
        host.identity.as_deref(),
        Some(Path::new("inventory/keys/ops_ed25519"))
    );
    assert_eq!(host.proxy_jump.as_deref(), Some("bastion"));
    assert!(!host.become_);
    assert_eq!(host.domain.as_deref(), Some("ecs.example.org"));
    assert_eq!(
        host.env.as_deref(),
        Some(Path::new("inventory/env/ecs.example.org/env.yml"))
    );
    assert_eq!(host.groups, ["production", "vienna"]);
    assert_eq!(host.vars["studies_per_month"], json!(100));
    assert!(host.explicit.port && host.explicit.user && host.explicit.identity);
    // `vienna` is implicit: named by a host, not defined.
    assert_eq!(
        inventory.groups.keys().collect::<Vec<_>>(),
        ["production", "vienna"]
    );
    assert_eq!(inventory.groups["production"].vars["serial"], json!(2));
    assert!(inventory.groups["vienna"].vars.is_empty());
}

#[test]
fn defaults_fill_what_hosts_leave_out_and_address_defaults_to_name() {
    let inventory = parse(
        "defaults: {user: admin, port: 2222, identity: ~/.ssh/id_ops, become: true}\n\
             hosts:\n  a:\n  b: {user: vagrant, port: 22, become: false}\n",
    )
    .unwrap();
    let a = &inventory.hosts[0];
    assert_eq!(
        (a.address.as_str(), a.user.as_str(), a.port, a.become_),
        ("a", "admin", 2222, true)
    );
    if let Some(home) = std::env::var_os("HOME") {
        assert_eq!(a.identity, Some(PathBuf::from(home).join(".ssh/id_ops")));
    }
    assert_eq!(a.explicit, crate::Explicit::default());
    let b = &inventory.hosts[1];
    assert_eq!((b.user.as_str(), b.port, b.become_), ("vagrant", 22, false));
    assert!(b.explicit.port && b.explicit.user && b.explicit.become_);
}

#[test]
fn anchors_and_merge_keys_work() {
    let inventory = parse(
        "hosts:\n  a: &lab {port: 2201, groups: [lab]}\n  b:\n    <<: *lab\n    port: 2202\n",
    )
    .unwrap();
    let b = &inventory.hosts[1];
    assert_eq!(
        (b.port, b.groups.as_slice()),
        (2202, ["lab".to_owned()].as_slice())
    );
}

#[test]
fn hosts_keep_file_order() {
    let inventory = parse("hosts:\n  zeta: {}\n  alpha: {}\n  mid: {}\n").unwrap();
    let names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn empty_inventories_are_fine() {
    for text in [
        "",
        "# nothing yet\n",
        "hosts:\n",
        "hosts: {}\n",
        "groups: {}\n",
    ] {
        let inventory = parse(text).unwrap();
        assert!(inventory.hosts.is_empty(), "{text:?}");
    }
}

#[test]
fn absolute_paths_stay_absolute() {
    let inventory = parse("hosts:\n  a: {identity: /etc/keys/k, env: /srv/env.yml}\n").unwrap();
    assert_eq!(
        inventory.hosts[0].identity.as_deref(),
        Some(Path::new("/etc/keys/k"))
    );
    assert_eq!(
        inventory.hosts[0].env.as_deref(),
        Some(Path::new("/srv/env.yml"))
    );
}

#[test]
fn vars_are_arbitrary_yaml_as_json() {
    let inventory = parse(
            "hosts:\n  a:\n    vars:\n      list: [1, two, {three: 3.5}]\n      nested: {x: null, y: true}\n      7: seven\n",
        )
        .unwrap();
    let vars = &inventory.hosts[0].vars;
    assert_eq!(vars["list"], json!([1, "two", {"three": 3.5}]));
    assert_eq!(vars["nested"], json!({"x": null, "y": true}));
    assert_eq!(vars["7"], json!("seven"));
}

#[test]
fn merged_vars_layer_groups_in_host_order_then_host() {
    let inventory = parse(
        "hosts:\n  a: {groups: [one, two], vars: {c: host}}\n  b: {groups: [two, one]}\n\
             groups:\n  one: {vars: {a: one, b: one, c: one}}\n  two: {vars: {b: two, c: two}}\n",
    )
    .unwrap();
    let a = inventory.merged_vars(&inventory.hosts[0]);
    assert_eq!(json!(a), json!({"a": "one", "b": "two", "c": "host"}));
    let b = inventory.merged_vars(&inventory.hosts[1]);
    assert_eq!(json!(b), json!({"a": "one", "b": "one", "c": "one"}));
}

#[test]
fn unknown_host_key_names_the_path_and_suggests() {
    assert_eq!(
        error("hosts:\n  ecs-vienna:\n    address: x\n    prot: 22\n"),
        "inventory/hosts.yml:4:5: hosts.ecs-vienna.prot: unknown key `prot`, did you mean `port`?"
    );
}

#[test]
fn unknown_key_without_close_match_has_no_suggestion() {
    assert_eq!(
        error("hosts:\n  a:\n    colour: red\n"),
        "inventory/hosts.yml:3:5: hosts.a.colour: unknown key `colour`"
    );
}

#[test]
fn unknown_top_level_key_suggests() {
    assert_eq!(
        error("defaults: {}\nhost:\n  a: {}\n"),
        "inventory/hosts.yml:2:1: host: unknown key `host`, did you mean `hosts`?"
    );
    assert_eq!(
        error("known-hosts: kh\n"),
        "inventory/hosts.yml:1:1: known-hosts: unknown key `known-hosts`, did you mean `known_hosts`?"
    );
}

#[test]
fn wrong_type_for_port_points_at_the_value() {
    let text = "hosts:\n  web-1:\n    address: 10.0.0.1\n    port: twenty-two\n";
    assert_eq!(
        error(text),
        "inventory/hosts.yml:4:11: hosts.web-1.port: expected an integer"
    );
    assert_eq!(
        error("hosts:\n  web-1: {port: '22'}\n"),
        "inventory/hosts.yml:2:17: hosts.web-1.port: expected an integer"
    );
    assert_eq!(
        error("hosts:\n  web-1: {port: 70000}\n"),
        "inventory/hosts.yml:2:17: hosts.web-1.port: expected a port number between 1 and 65535"
    );
}

#[test]
fn other_wrong_types() {
    assert_eq!(
        error("hosts:\n  a: {become: yes please}\n"),
        "inventory/hosts.yml:2:15: hosts.a.become: expected true or false"
    );
    assert_eq!(
        error("hosts:\n  a:\n    become: yes\n"),
        "inventory/hosts.yml:3:13: hosts.a.become: expected true or false"
    );
    assert_eq!(
        error("hosts:\n  a: {groups: lab}\n"),
        "inventory/hosts.yml:2:15: hosts.a.groups: expected a list"
    );
    assert_eq!(
        error("hosts:\n  a: {groups: [lab, 3]}\n"),
        "inventory/hosts.yml:2:21: hosts.a.groups[1]: expected a string"
    );
    assert_eq!(
        error("hosts:\n  a: {user: [root]}\n"),
        "inventory/hosts.yml:2:13: hosts.a.user: expected a string"
    );
    assert_eq!(
        error("hosts: [a, b]\n"),
        "inventory/hosts.yml:1:8: hosts: expected a mapping, found a list"
    );
    assert_eq!(
        error("- a\n- b\n"),
        "inventory/hosts.yml:1:1: expected a mapping, found a list"
    );
    assert_eq!(
        error("defaults: {port: x}\n"),
        "inventory/hosts.yml:1:18: defaults.port: expected an integer"
    );
}

#[test]
fn duplicate_host_names_are_errors() {
    assert_eq!(
        error("hosts:\n  a: {}\n  b: {}\n  a: {port: 2}\n"),
        "inventory/hosts.yml:4:3: hosts.a: duplicate host `a` (first at line 2)"
    );
}

#[test]
fn duplicate_keys_inside_a_host_and_vars_are_errors() {
    assert_eq!(
        error("hosts:\n  a:\n    port: 1\n    port: 2\n"),
        "inventory/hosts.yml:4:5: hosts.a.port: duplicate key `port` (first at line 3)"
    );
    assert_eq!(
        error("hosts:\n  a:\n    vars:\n      x: 1\n      x: 2\n"),
        "inventory/hosts.yml:5:7: hosts.a.vars.x: duplicate key `x` (first at line 4)"
    );
}

#[test]
fn bad_host_names_are_errors() {
    assert_eq!(
        error("hosts:\n  ok: {}\n  web*1: {}\n"),
        "inventory/hosts.yml:3:3: hosts.web*1: invalid host name `web*1`: '*' is not allowed (use letters, digits, `.`, `_` and `-`)"
    );
    assert_eq!(
        error("hosts:\n  'lab 1': {}\n"),
        "inventory/hosts.yml:2:3: hosts.lab 1: invalid host name `lab 1`: ' ' is not allowed (use letters, digits, `.`, `_` and `-`)"
    );
    assert_eq!(
        error("hosts:\n  '': {}\n"),
        "inventory/hosts.yml:2:3: hosts.: host name is empty"
    );
    assert_eq!(
        error("hosts:\n  a: {groups: ['lab?']}\n"),
        "inventory/hosts.yml:2:16: hosts.a.groups[0]: invalid group name `lab?`: '?' is not allowed (use letters, digits, `.`, `_` and `-`)"
    );
}

#[test]
fn group_named_like_a_host_is_an_error() {
    assert_eq!(
        error("hosts:\n  lab: {}\n  b: {}\ngroups:\n  lab: {vars: {x: 1}}\n"),
        "inventory/hosts.yml:5:3: groups.lab: group `lab` has the same name as a host"
    );
    // An implicit group (only named by a host) is checked too.
    assert_eq!(
        error("hosts:\n  a: {groups: [prod, b]}\n  b: {}\n"),
        "inventory/hosts.yml:2:22: hosts.a.groups[1]: group `b` has the same name as a host"
    );
}

#[test]
fn unknown_group_key_suggests() {
    assert_eq!(
        error("groups:\n  prod:\n    var: {x: 1}\n"),
        "inventory/hosts.yml:3:5: groups.prod.var: unknown key `var`, did you mean `vars`?"
    );
}

#[test]
fn syntax_errors_carry_the_file_and_position() {
    let text = error("hosts:\n  a: {port: 22\n  b: {}\n");
    assert!(text.starts_with("inventory/hosts.yml:"), "{text}");
    let position: Vec<&str> = text.splitn(4, ':').collect();
    assert!(position[1].parse::<u64>().unwrap() >= 2, "{text}");
    assert!(!text.contains('\n'));
}

#[test]
fn load_reads_the_file_and_reports_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.yml");
    std::fs::write(&path, "hosts:\n  a: {identity: k}\n").unwrap();
    let inventory = Inventory::load(&path).unwrap();
    assert_eq!(inventory.hosts[0].identity, Some(dir.path().join("k")));
    let missing = dir.path().join("nope.yml");
    let err = Inventory::load(&missing).unwrap_err();
    assert!(matches!(err, InventoryError::Read { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()));
}

#[test]
fn tilde_expansion() {
    let home = Some(PathBuf::from("/home/op"));
    assert_eq!(
        expand_tilde("~", home.clone()),
        Some(PathBuf::from("/home/op"))
    );
    assert_eq!(
        expand_tilde("~/k", home.clone()),
        Some(PathBuf::from("/home/op/k"))
    );
    assert_eq!(expand_tilde("~bob/k", home.clone()), None);
    assert_eq!(expand_tilde("k", home), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn parse_never_panics(text in "\\PC*") {
        let _ = parse(&text);
    }

    #[test]
    fn parse_never_panics_on_yamlish_text(
        text in "(hosts|groups|defaults|vars|port|  |- |: |\\{|\\}|\\[|\\]|,|'|\"|&a|\\*a|!!|#|\n|[a-z0-9]{1,3}){0,40}"
    ) {
        let _ = parse(&text);
    }
}
