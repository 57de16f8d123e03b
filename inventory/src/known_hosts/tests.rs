use std::process::Command;

use super::*;

/// A syntactically valid key: the algorithm name, then 32 seed bytes.
fn key(algorithm: &str, seed: u8) -> HostKey {
    let mut blob = Vec::new();
    for part in [algorithm.as_bytes(), &[seed; 32][..]] {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    HostKey::new(algorithm, blob)
}

fn store(lines: &[String]) -> KnownHosts {
    KnownHosts::parse(&lines.join("\n"), Path::new("kh"))
}

fn ed(seed: u8) -> HostKey {
    key("ssh-ed25519", seed)
}

#[test]
fn plain_host_on_port_22() {
    let kh = store(&[format!(
        "ecs.example.org,10.0.0.1 {} comment here",
        ed(1).to_openssh()
    )]);
    assert_eq!(kh.check("ecs.example.org", 22, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("ECS.example.org", 22, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("10.0.0.1", 22, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("other", 22, &ed(1)), Verdict::Unknown);
    // A plain entry does not cover another port.
    assert_eq!(kh.check("ecs.example.org", 2222, &ed(1)), Verdict::Unknown);
}

#[test]
fn bracketed_host_port() {
    let kh = store(&[format!("[lab1]:2222 {}", ed(1).to_openssh())]);
    assert_eq!(kh.check("lab1", 2222, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("lab1", 22, &ed(1)), Verdict::Unknown);
    assert_eq!(kh.check("lab1", 2223, &ed(1)), Verdict::Unknown);
}

#[test]
fn wildcards_and_negation() {
    let kh = store(&[
        format!("*.lab,!bad.lab {}", ed(1).to_openssh()),
        format!("[127.0.0.1?]:22?? {}", ed(2).to_openssh()),
    ]);
    assert_eq!(kh.check("h1.lab", 22, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("bad.lab", 22, &ed(1)), Verdict::Unknown);
    assert_eq!(kh.check("127.0.0.12", 2201, &ed(2)), Verdict::Trusted);
}

#[test]
fn revoked_wins_over_trusted() {
    let kh = store(&[
        format!("ecs {}", ed(1).to_openssh()),
        format!("@revoked * {}", ed(1).to_openssh()),
    ]);
    assert_eq!(
        kh.check("ecs", 22, &ed(1)),
        Verdict::Revoked {
            source: "kh".into(),
            line: 2
        }
    );
}

#[test]
fn changed_key_lists_the_known_ones_including_other_types() {
    let kh = store(&[
        format!("ecs {}", ed(1).to_openssh()),
        format!("other {}", ed(9).to_openssh()),
        format!("ecs {}", key("ecdsa-sha2-nistp256", 3).to_openssh()),
    ]);
    assert_eq!(
        kh.check("ecs", 22, &ed(2)),
        Verdict::Changed {
            known: vec![
                (ed(1), "kh".into(), 1),
                (key("ecdsa-sha2-nistp256", 3), "kh".into(), 3)
            ]
        }
    );
    // Only a key of another type is known.
    let kh = store(&[format!("ecs {}", key("ssh-rsa", 4).to_openssh())]);
    let Verdict::Changed { known } = kh.check("ecs", 22, &ed(1)) else {
        panic!()
    };
    assert_eq!(known[0].0.algorithm, "ssh-rsa");
    // One of several known keys matching is enough.
    let kh = store(&[
        format!("ecs {}", key("ssh-rsa", 4).to_openssh()),
        format!("ecs {}", ed(1).to_openssh()),
    ]);
    assert_eq!(kh.check("ecs", 22, &ed(1)), Verdict::Trusted);
}

#[test]
fn cert_authority_never_trusts_a_plain_key() {
    let kh = store(&[format!("@cert-authority *.lab {}", ed(1).to_openssh())]);
    assert_eq!(kh.len(), 1);
    assert_eq!(kh.check("h.lab", 22, &ed(1)), Verdict::Unknown);
}

#[test]
fn malformed_lines_are_skipped_with_warnings() {
    let text = format!(
        "# comment\n\nonlyhost\n@bogus h {k}\nh ssh-ed25519 !!!notbase64\n|1|x|y {k}\nh ssh-rsa {b64}\ngood {k}\n",
        k = ed(1).to_openssh(),
        b64 = STANDARD.encode(&ed(1).blob),
    );
    let kh = KnownHosts::parse(&text, Path::new("kh"));
    let lines: Vec<usize> = kh.warnings().iter().map(|w| w.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7]);
    assert_eq!(
        kh.warnings()[1].to_string(),
        "kh:4: unknown marker `@bogus`"
    );
    assert_eq!(
        kh.warnings()[4].message,
        "key type `ssh-rsa` does not match the key's own type `ssh-ed25519`"
    );
    assert_eq!(kh.check("good", 22, &ed(1)), Verdict::Trusted);
}

#[test]
fn load_skips_missing_files_and_keeps_sources() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    std::fs::write(&a, format!("x {}\n", ed(1).to_openssh())).unwrap();
    let kh = KnownHosts::load(&[dir.path().join("missing"), a.clone()]).unwrap();
    assert_eq!(
        kh.check("x", 22, &ed(2)),
        Verdict::Changed {
            known: vec![(ed(1), a, 1)]
        }
    );
    assert!(
        KnownHosts::load(&[dir.path().join("nope")])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn append_then_check_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet/known_hosts");
    KnownHosts::append(&path, "Lab1", 2222, &ed(1)).unwrap();
    KnownHosts::append(&path, "ecs", 22, &ed(2)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!(
            "[lab1]:2222 {}\necs {}\n",
            ed(1).to_openssh(),
            ed(2).to_openssh()
        )
    );
    let kh = KnownHosts::load(std::slice::from_ref(&path)).unwrap();
    assert_eq!(kh.check("lab1", 2222, &ed(1)), Verdict::Trusted);
    assert_eq!(kh.check("ecs", 22, &ed(2)), Verdict::Trusted);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        // 0644 unless the umask takes more away.
        assert_eq!(mode & 0o7133, 0);
    }
    // A file without a final newline gets one first.
    std::fs::write(&path, format!("ecs {}", ed(2).to_openssh())).unwrap();
    KnownHosts::append(&path, "b", 22, &ed(3)).unwrap();
    let kh = KnownHosts::load(std::slice::from_ref(&path)).unwrap();
    assert!(kh.warnings().is_empty());
    assert_eq!(kh.check("b", 22, &ed(3)), Verdict::Trusted);
    assert!(KnownHosts::append(&path, "a b", 22, &ed(3)).is_err());
}

#[test]
fn openssh_text_round_trips_and_bad_text_is_refused() {
    let k = ed(7);
    assert_eq!(HostKey::from_openssh(&k.to_openssh()).unwrap(), k);
    assert_eq!(HostKey::from_blob(k.blob.clone()).unwrap(), k);
    assert_eq!(
        HostKey::from_openssh("ssh-ed25519"),
        Err(HostKeyError::Shape)
    );
    assert_eq!(
        HostKey::from_openssh("ssh-ed25519 ***"),
        Err(HostKeyError::Base64)
    );
    assert_eq!(
        HostKey::from_openssh("ssh-ed25519 AAAA"),
        Err(HostKeyError::Truncated)
    );
}

fn ssh_keygen(args: &[&str]) -> String {
    let output = Command::new("ssh-keygen")
        .args(args)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        output.status.success(),
        "ssh-keygen {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Generates a real key pair; returns its public key.
fn real_key(dir: &Path, name: &str, kind: &str) -> (HostKey, PathBuf) {
    let path = dir.join(name);
    let p = path.to_str().unwrap();
    ssh_keygen(&["-q", "-t", kind, "-f", p, "-N", "", "-C", "test"]);
    let public = path.with_extension("pub");
    let text = std::fs::read_to_string(&public).unwrap();
    (HostKey::from_openssh(&text).unwrap(), public)
}

#[test]
fn fingerprint_equals_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["ed25519", "ecdsa", "rsa"] {
        let (key, public) = real_key(dir.path(), kind, kind);
        let listed = ssh_keygen(&["-l", "-E", "sha256", "-f", public.to_str().unwrap()]);
        let expected = listed.split_whitespace().nth(1).unwrap();
        assert_eq!(key.fingerprint(), expected, "{kind}");
    }
}

#[test]
fn hashed_entries_from_ssh_keygen_h() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = real_key(dir.path(), "host", "ed25519");
    let (other, _) = real_key(dir.path(), "other", "ed25519");
    let path = dir.path().join("known_hosts");
    std::fs::write(
        &path,
        format!(
            "ecs.example.org {k}\n[lab.example.org]:2222 {k}\n",
            k = key.to_openssh()
        ),
    )
    .unwrap();
    ssh_keygen(&["-H", "-f", path.to_str().unwrap()]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("example.org"), "not hashed: {text}");
    assert_eq!(text.matches("|1|").count(), 2, "{text}");
    let kh = KnownHosts::load(std::slice::from_ref(&path)).unwrap();
    assert!(kh.warnings().is_empty(), "{:?}", kh.warnings());
    assert_eq!(kh.check("ecs.example.org", 22, &key), Verdict::Trusted);
    assert_eq!(kh.check("lab.example.org", 2222, &key), Verdict::Trusted);
    assert_eq!(kh.check("lab.example.org", 22, &key), Verdict::Unknown);
    assert_eq!(
        kh.check("elsewhere.example.org", 22, &key),
        Verdict::Unknown
    );
    let Verdict::Changed { known } = kh.check("ecs.example.org", 22, &other) else {
        panic!("expected Changed");
    };
    assert_eq!(known, vec![(key, path, 1)]);
}
