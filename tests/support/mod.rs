//! Shared test helpers: the built binary, temporary sshd servers, lab fleets.
#![allow(dead_code)]
pub mod lab;
pub mod secrets;
pub mod sshd;
pub mod twin;

/// A minimal ecs-appliance checkout as `install` wants one: salt/minion, a
/// state, pillar/, in a git repository on branch master whose origin is the
/// appliance's own default source (appliance.include:8-9), so the real
/// appliance-update.sh would keep it.
pub fn appliance_checkout(dir: &std::path::Path) {
    use std::fs;
    use std::process::Command;
    fs::create_dir_all(dir.join("salt/appliance")).unwrap();
    fs::create_dir_all(dir.join("pillar")).unwrap();
    fs::write(
        dir.join("salt/minion"),
        "file_client: local\nfile_roots:\n  base:\n    - /app/appliance/salt\n",
    )
    .unwrap();
    fs::write(dir.join("salt/appliance/init.sls"), "# appliance\n").unwrap();
    fs::write(dir.join("pillar/top.sls"), "base: {}\n").unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=ecsfleet-test",
                "-c",
                "user.email=test@ecs.test",
            ])
            .args(args)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?} failed");
    };
    git(&["init", "-q", "-b", "master"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "appliance tree"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://github.com/ecs-org/ecs-appliance.git",
    ]);
}
