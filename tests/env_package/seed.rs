//! Seed images: `env package --cidata` and `cidata`, read back with
//! isoinfo and blkid, and loop-mounted where the kernel has isofs.

use std::path::Path;
use std::process::Command;

use super::{assert_no_secret, generated_env, mode, ok_in, run_in, secrets_of, tool};

fn isoinfo(dir: &Path, args: &[&str]) -> Vec<u8> {
    tool(dir, "isoinfo", args)
}

/// Mount the image read-only and compare its files, where the kernel can
/// mount ISO 9660 at all (sandboxes often lack isofs and loop devices).
fn mount_and_compare(dir: &Path, iso: &str, files: &[(&str, &[u8])]) {
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.trim_end().ends_with("iso9660"))
    {
        let _ = Command::new("modprobe").arg("isofs").output();
        let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
        if !filesystems
            .lines()
            .any(|l| l.trim_end().ends_with("iso9660"))
        {
            eprintln!("skipping the loop mount of {iso}: this kernel has no iso9660 file system");
            return;
        }
    }
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-o", "loop,ro", "-t", "iso9660"])
        .arg(dir.join(iso))
        .arg(&mnt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&mounted.stderr);
    if !mounted.status.success() && stderr.contains("loop") {
        eprintln!("skipping the loop mount of {iso}: no loop device ({stderr})");
        return;
    }
    assert!(mounted.status.success(), "mount {iso}: {stderr}");
    let read: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                std::fs::read(mnt.join(name)).unwrap_or_default(),
            )
        })
        .collect();
    let _ = Command::new("umount").arg(&mnt).status();
    for ((name, want), (_, got)) in files.iter().zip(read) {
        assert_eq!(&got[..], *want, "{name} as mounted");
    }
}

#[test]
fn env_package_cidata_is_a_seed_image_that_isoinfo_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = generated_env(dir.path(), "ecs.example.org");
    let secrets = secrets_of(&text);
    let ran = ok_in(
        dir.path(),
        &[
            "env",
            "package",
            "env.yml",
            "--plain",
            "--cidata",
            "--date",
            "2026-11-25",
        ],
    );
    assert_no_secret(&ran, &secrets);
    let iso = "ecs.example.org.env.2026-11-25.cidata.iso";
    assert_eq!(mode(&dir.path().join(iso)), 0o600);
    let info = String::from_utf8(isoinfo(dir.path(), &["-d", "-i", iso])).unwrap();
    assert!(info.contains("\nVolume id: cidata\n"), "{info}");
    assert!(info.contains("Joliet"), "{info}");
    let listing = String::from_utf8(isoinfo(dir.path(), &["-J", "-f", "-i", iso])).unwrap();
    assert_eq!(listing, "/meta-data\n/user-data\n");
    let user_data = isoinfo(dir.path(), &["-J", "-x", "/user-data", "-i", iso]);
    assert_eq!(user_data, text.as_bytes());
    let meta_data = isoinfo(dir.path(), &["-J", "-x", "/meta-data", "-i", iso]);
    let meta_text = "instance-id: iid-ecs.example.org\nlocal-hostname: ecs.example.org\n";
    assert_eq!(String::from_utf8(meta_data).unwrap(), meta_text);
    // The plain ISO 9660 names carry the same data.
    let primary = isoinfo(dir.path(), &["-x", "/USER_DAT.;1", "-i", iso]);
    assert_eq!(primary, text.as_bytes());
    // blkid finds it by the label cloud-init looks for.
    let blkid = Command::new("blkid")
        .args(["-p", "-o", "value", "-s", "LABEL"])
        .arg(dir.path().join(iso))
        .output();
    if let Ok(blkid) = blkid {
        assert_eq!(String::from_utf8_lossy(&blkid.stdout).trim(), "cidata");
    }
    mount_and_compare(
        dir.path(),
        iso,
        &[
            ("user-data", text.as_bytes()),
            ("meta-data", meta_text.as_bytes()),
        ],
    );
}

pub(super) fn ssh_keygen(dir: &Path) -> String {
    let key = dir.join("id_test");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(dir.join("id_test.pub"));
    tool(
        dir,
        "ssh-keygen",
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", "op's key", "-f", "id_test",
        ],
    );
    std::fs::read_to_string(dir.join("id_test.pub")).unwrap()
}

#[test]
fn cidata_writes_a_seed_that_gives_the_key_to_the_default_user_and_root() {
    let dir = tempfile::tempdir().unwrap();
    let public = ssh_keygen(dir.path());
    let ran = ok_in(
        dir.path(),
        &[
            "--json",
            "cidata",
            "--key",
            "id_test.pub",
            "--out",
            "seed.iso",
            "--hostname",
            "ecs-vienna",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(ran.stdout.trim()).unwrap();
    assert_eq!(json["path"], "seed.iso");
    assert_eq!(json["keys"], 1);
    let iid = json["instance_id"].as_str().unwrap().to_string();
    assert!(iid.starts_with("iid-") && iid.len() == 20, "{iid}");
    assert_eq!(mode(&dir.path().join("seed.iso")), 0o600);
    let info = String::from_utf8(isoinfo(dir.path(), &["-d", "-i", "seed.iso"])).unwrap();
    assert!(info.contains("\nVolume id: cidata\n"), "{info}");
    let user_data = String::from_utf8(isoinfo(
        dir.path(),
        &["-J", "-x", "/user-data", "-i", "seed.iso"],
    ))
    .unwrap();
    assert_eq!(
        user_data,
        format!(
            "#cloud-config\n\
             # ecsfleet cidata: the operator's keys for the default user and root\n\
             ssh_authorized_keys:\n  - '{}'\ndisable_root: false\nssh_pwauth: false\n",
            public.trim().replace('\'', "''")
        )
    );
    let meta_data = isoinfo(dir.path(), &["-J", "-x", "/meta-data", "-i", "seed.iso"]);
    assert_eq!(
        String::from_utf8(meta_data).unwrap(),
        format!("instance-id: {iid}\nlocal-hostname: ecs-vienna\n")
    );
    // Refuses to replace without --force.
    let again = run_in(
        dir.path(),
        &["cidata", "--key", "id_test.pub", "--out", "seed.iso"],
    );
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        "error: seed.iso: already exists (use --force to overwrite)\n"
    );
}

#[test]
fn cidata_rejects_a_malformed_key_with_a_precise_message_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ssh_keygen(dir.path());
    let private = std::fs::read_to_string(dir.path().join("id_test")).unwrap();
    let cases: [(&str, &str, String); 5] = [
        (
            "private",
            "id_test",
            "error: --key id_test: line 1: this is a PRIVATE key; pass its public half \
             (the .pub file, or `ssh-keygen -y -f KEY > KEY.pub`)\n"
                .to_string(),
        ),
        (
            "garbage",
            "garbage.pub",
            "error: --key garbage.pub: line 2: expected an OpenSSH public key \
             `TYPE BASE64 [COMMENT]` with TYPE one of ssh-ed25519, ssh-rsa, \
             ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521 \
             (authorized_keys options are not accepted here)\n"
                .to_string(),
        ),
        (
            "truncated",
            "cut.pub",
            "error: --key cut.pub: line 1: ssh-ed25519: the key data is not an SSH public key\n"
                .to_string(),
        ),
        (
            "empty",
            "empty.pub",
            "error: --key empty.pub: no public key in the file (only blank or comment \
             lines); expected a line such as `ssh-ed25519 AAAA... you@host`\n"
                .to_string(),
        ),
        (
            "missing",
            "nothere.pub",
            "error: --key nothere.pub: No such file or directory (os error 2)\n".to_string(),
        ),
    ];
    std::fs::write(dir.path().join("garbage.pub"), "# ops\nhello world\n").unwrap();
    std::fs::write(
        dir.path().join("cut.pub"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.pub"), "\n# nobody\n").unwrap();
    for (what, file, expected) in cases {
        let ran = run_in(dir.path(), &["cidata", "--key", file, "--out", "seed.iso"]);
        assert_eq!(ran.code, 2, "{what}: {ran:#?}");
        assert_eq!(ran.stderr, expected, "{what}");
        assert_eq!(ran.stdout, "", "{what}");
        assert!(
            !dir.path().join("seed.iso").exists(),
            "{what}: wrote the image"
        );
        for line in private.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !ran.stderr.contains(line),
                "{what}: printed the private key"
            );
        }
    }
}
