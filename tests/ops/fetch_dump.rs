//! `backup fetch-dump`: the latest dump from the backup, byte for byte.

use super::*;

#[test]
fn backup_fetch_dump_downloads_the_latest_dump() {
    let fleet = LabFleet::up(67, 1);
    let host = fleet.name(0);
    make_running(&fleet, &host);
    assert!(
        psql(&fleet, &host, "create table dumped(x int)")
            .status
            .success()
    );
    fleet.ssh_ok(&host, "systemctl start appliance-backup");
    let backup = fleet
        .read_host_file(&host, "/var/lib/ecs-lab/backup/ecs-pgdump/ecs.pgdump.gz")
        .expect("the simulated backup holds a dump");

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("dump.gz");
    let out = run_ok(
        &fleet,
        &[
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(
        stderr(&out).contains("the latest database dump is in"),
        "{}",
        show(&out)
    );
    let got = fs::read(&out_file).unwrap();
    assert_eq!(
        got, backup,
        "the download is the backup's dump, byte for byte"
    );
    let mut header = Vec::new();
    flate2::read::GzDecoder::new(&got[..])
        .take(5)
        .read_to_end(&mut header)
        .unwrap();
    assert_eq!(header, b"PGDMP", "a pg_dump custom-format archive");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        fs::metadata(&out_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(has_call(
        &fleet,
        &host,
        &[
            "duply",
            "/root/.duply/appliance-backup",
            "fetch",
            "ecs-pgdump/ecs.pgdump.gz",
            "/root/ecsfleet-fetch-dump.pgdump.gz"
        ]
    ));
    assert!(
        !fleet.host_file_exists(&host, "/root/ecsfleet-fetch-dump.pgdump.gz"),
        "the host's copy is removed"
    );
    assert!(!dir.path().join("dump.gz.partial").exists());

    // An existing file is kept unless --force; --json says what arrived.
    let out = run(
        &fleet,
        &[
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = run_ok(
        &fleet,
        &[
            "--json",
            "backup",
            "fetch-dump",
            &host,
            "--out",
            out_file.to_str().unwrap(),
            "--force",
        ],
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["host"], host.as_str());
    assert_eq!(line["bytes"], backup.len() as u64);
    assert_eq!(line["sha256"].as_str().unwrap().len(), 64);
}
