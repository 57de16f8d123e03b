//! `ecsfleet hosts`: the inventory as a table (or JSON lines).

use crate::args::{GlobalArgs, Selection};
use crate::error::{Outcome, Result};
use crate::fleet::Fleet;

pub fn run(patterns: Vec<String>, global: &GlobalArgs) -> Result<Outcome> {
    let fleet = Fleet::load(global)?;
    let all = patterns.is_empty();
    let hosts = if all && fleet.inventory.hosts.is_empty() {
        Vec::new()
    } else {
        fleet.select(&Selection { patterns, all })?
    };
    if global.json {
        for host in hosts {
            let line = serde_json::json!({
                "name": host.name,
                "address": host.address,
                "port": host.port,
                "user": host.user,
                "become": host.become_,
                "proxy_jump": host.proxy_jump,
                "groups": host.groups,
                "domain": host.domain,
                "env": host.env,
            });
            println!("{line}");
        }
        return Ok(Outcome::Success);
    }
    let mut table = crate::report::table(["host", "address", "user", "groups", "domain"]);
    for host in hosts {
        let address = if host.port == 22 {
            host.address.clone()
        } else {
            format!("{}:{}", host.address, host.port)
        };
        let user = if host.become_ {
            format!("{} (sudo)", host.user)
        } else {
            host.user.clone()
        };
        table.add_row([
            host.name.clone(),
            address,
            user,
            host.groups.join(", "),
            host.domain.clone().unwrap_or_default(),
        ]);
    }
    println!("{table}");
    Ok(Outcome::Success)
}
