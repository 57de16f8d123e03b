//! [`Control`]: how a run is told to stop. Two ways, shared by every host
//! task: *interrupt* (Ctrl-C) aborts the step in flight, releases the lock
//! and ends the host; *stop* (`--fail-fast` after a failure) lets the step in
//! flight finish and starts no further step or host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Control {
    interrupted: Arc<watch::Sender<bool>>,
    stopped: Arc<AtomicBool>,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            interrupted: Arc::new(watch::Sender::new(false)),
            stopped: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Control {
    pub fn interrupt(&self) {
        self.interrupted.send_replace(true);
    }

    pub fn is_interrupted(&self) -> bool {
        *self.interrupted.borrow()
    }

    /// Resolves once [`interrupt`](Self::interrupt) was called (at once if
    /// it already was).
    pub async fn interrupted(&self) {
        let mut rx = self.interrupted.subscribe();
        let _ = rx.wait_for(|&v| v).await;
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Stopped or interrupted: start nothing new.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst) || self.is_interrupted()
    }

    /// Ctrl-C (SIGINT) or SIGTERM interrupts the run; a second one exits at
    /// once with 130.
    pub fn on_ctrl_c(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let control = self.clone();
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot watch for Ctrl-C; an interrupted run may leave host locks");
            return;
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!(
                "interrupted: stopping and releasing host locks (Ctrl-C again to quit at once)"
            );
            control.interrupt();
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            std::process::exit(130);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupt_wakes_waiters_and_stops() {
        crate::run::runtime().block_on(async {
            let control = Control::default();
            assert!(!control.is_stopped());
            let waiter = {
                let c = control.clone();
                tokio::spawn(async move { c.interrupted().await })
            };
            control.interrupt();
            waiter.await.unwrap();
            assert!(control.is_stopped());
            control.interrupted().await;
        });
    }
}
