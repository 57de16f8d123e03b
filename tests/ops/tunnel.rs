//! `tunnel HOST SERVICE`: local connections forwarded to the host's service.

use super::*;

#[test]
fn tunnel_forwards_local_connections_to_the_service_on_the_host() {
    let fleet = LabFleet::up(74, 1);
    let host = fleet.name(0);
    // pghero's address (127.0.0.1:5081, pghero-container.service:16) inside the host: a web server that
    // serves the host's own /root, which only the host's namespace sees.
    let probe = format!("served from inside {host}, pid {}\n", std::process::id());
    fs::write(fleet.host_path(&host, "/root/probe.txt"), &probe).unwrap();
    fleet.ssh_ok(
        &host,
        "cd /root && (setsid python3 -m http.server --bind 127.0.0.1 5081 >/dev/null 2>&1 </dev/null &)",
    );
    wait_for("the web server on the host", LONG, || {
        std::net::TcpStream::connect(("127.0.0.1", 5081)).is_ok()
    });

    let mut child = fleet_cmd(&fleet, &["tunnel", &host, "pghero", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("a local URL first: {first:?}"))
        .to_owned();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_ne!(address, "127.0.0.1:5081");
    // Two connections in a row, each a full round trip.
    for _ in 0..2 {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(LONG)).unwrap();
        stream
            .write_all(b"GET /probe.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200"), "{response}");
        assert!(response.ends_with(&probe), "{response}");
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{host}: forwarding {address} to 127.0.0.1:5081 (pghero)"
        )),
        "{}",
        show(&out)
    );
    // The port is free again.
    assert!(std::net::TcpStream::connect(&address).is_err());
    assert!(!stderr(&out).contains("warning"), "{}", show(&out));

    // A service that is not running: said at the start, the tunnel stays.
    let mut child = fleet_cmd(&fleet, &["tunnel", &host, "grafana", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = BufReader::new(child.stderr.take().unwrap());
    let mut lines = String::new();
    while !lines.contains("warning") {
        assert_ne!(stderr_pipe.read_line(&mut lines).unwrap(), 0, "{lines}");
    }
    assert!(
        lines.contains(&format!(
            "warning: {host}: the host could not connect to 127.0.0.1:3000"
        )),
        "{lines}"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
