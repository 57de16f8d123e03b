//! `ecsfleet tunnel HOST metrics|alerts|grafana|pghero [--port P]`: local
//! port forwarding over the SSH connection to the monitoring services the
//! appliance keeps off the network (APPLIANCE.md: Prometheus
//! 172.17.0.1:9090, Alertmanager 172.17.0.1:9093, Grafana 127.0.0.1:3000,
//! pghero 127.0.0.1:5081; the units bind exactly there: grafana.service:23,
//! pghero-container.service:16, and `localhost` may resolve to ::1 first). Listens on 127.0.0.1 only, prints the local URL,
//! and forwards every connection through one SSH connection until Ctrl-C.

use std::io::Write as _;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use tokio::signal::unix::SignalKind;

use super::one_host::OneHost;
use crate::args::GlobalArgs;
use crate::error::{Error, Outcome, Result};

#[derive(Debug, Args)]
#[command(after_help = "The services run only when enabled in the env \
(appliance.metric.server, .gui, .pghero). The tunnel listens on 127.0.0.1 only and runs until \
Ctrl-C (exit 0); the local URL is the first line on stdout.

Examples:
  ecsfleet tunnel ecs-vienna grafana               http://127.0.0.1:3000/
  ecsfleet tunnel ecs-vienna metrics --port 19090  http://127.0.0.1:19090/
  ecsfleet tunnel ecs-vienna pghero --port 0       any free local port")]
pub struct TunnelArgs {
    /// The host (one inventory name)
    pub host: String,
    /// What to reach
    #[arg(value_enum)]
    pub service: Service,
    /// Local port [default: the service's own port; 0 picks a free one]
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// Prometheus, 172.17.0.1:9090
    Metrics,
    /// Alertmanager, 172.17.0.1:9093
    Alerts,
    /// Grafana, 127.0.0.1:3000 (grafana.service:23)
    Grafana,
    /// pghero, 127.0.0.1:5081 (pghero-container.service:16)
    Pghero,
}

impl Service {
    /// Where the service listens, as the host sees it.
    pub fn remote(self) -> (&'static str, u16) {
        match self {
            Service::Metrics => ("172.17.0.1", 9090),
            Service::Alerts => ("172.17.0.1", 9093),
            Service::Grafana => ("127.0.0.1", 3000),
            Service::Pghero => ("127.0.0.1", 5081),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Metrics => "prometheus",
            Service::Alerts => "alertmanager",
            Service::Grafana => "grafana",
            Service::Pghero => "pghero",
        }
    }
}

pub fn run(args: TunnelArgs, global: &GlobalArgs) -> Result<Outcome> {
    let host = OneHost::load(&args.host, global)?;
    let (remote_host, remote_port) = args.service.remote();
    let local_port = args.port.unwrap_or(remote_port);
    let runtime = crate::run::runtime();
    runtime.block_on(async {
        // Before anything is printed: a Ctrl-C right after the URL must end
        // the tunnel cleanly, not kill it.
        let mut interrupt = tokio::signal::unix::signal(SignalKind::interrupt())
            .map_err(|e| Error::io("installing the Ctrl-C handler", e))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", local_port))
            .await
            .map_err(|e| {
                Error::usage(format!(
                    "cannot listen on 127.0.0.1:{local_port}: {e}; pick another with --port P (0 picks a free one)"
                ))
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("the local listener", e))?;
        let connection = Arc::new(host.connect().await?);
        let url = format!("http://{local}/");
        {
            let mut stdout = std::io::stdout();
            let line = if global.json {
                serde_json::json!({
                    "host": host.name,
                    "service": args.service.name(),
                    "local": local.to_string(),
                    "remote": format!("{remote_host}:{remote_port}"),
                    "url": url,
                })
                .to_string()
            } else {
                url.clone()
            };
            let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
        }
        if !global.json && !global.quiet {
            eprintln!(
                "{}: forwarding {local} to {remote_host}:{remote_port} ({}) on the host; Ctrl-C ends",
                host.name,
                args.service.name()
            );
        }
        if let Err(e) = connection.can_reach(remote_host, remote_port).await {
            eprintln!("warning: {e}");
        }
        let name = host.name.clone();
        let serve = async {
            loop {
                let (socket, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("{name}: accepting a local connection: {e}");
                        continue;
                    }
                };
                if connection.is_closed() {
                    return Err(host.error("the SSH connection closed; the tunnel is down"));
                }
                let connection = connection.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection.forward(socket, remote_host, remote_port).await {
                        eprintln!("warning: {e}");
                    }
                });
            }
        };
        let ended = tokio::select! {
            result = serve => result,
            () = until_closed(&connection) => {
                Err(host.error("the SSH connection closed; the tunnel is down"))
            }
            _ = interrupt.recv() => Ok(Outcome::Success),
        };
        if let Ok(connection) = Arc::try_unwrap(connection) {
            connection.close().await;
        }
        ended
    })
}

/// Resolves when the SSH connection is gone (keepalives notice a dead peer).
async fn until_closed(connection: &crate::ssh::Connection) {
    while !connection.is_closed() {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grafana and pghero bind 127.0.0.1 exactly (grafana.service:23,
    /// pghero-container.service:16); `localhost` may resolve to ::1 first.
    #[test]
    fn targets_are_where_the_real_units_listen() {
        assert_eq!(Service::Grafana.remote(), ("127.0.0.1", 3000));
        assert_eq!(Service::Pghero.remote(), ("127.0.0.1", 5081));
        assert_eq!(Service::Metrics.remote(), ("172.17.0.1", 9090));
        assert_eq!(Service::Alerts.remote(), ("172.17.0.1", 9093));
    }
}
