//! Fan-out of one piece of work over many hosts with bounded concurrency.
//! One host failing never stops the others; results come back in the order
//! of the hosts given.
//!
//! The playbook executor lives in the submodules: [`fleet_run`] runs a
//! playbook over selected hosts ([`schedule`] decides who starts when,
//! [`executor`] walks one host's plan over a [`transport::Transport`]),
//! [`lock`] keeps two operators apart, [`journal`] remembers finished steps,
//! [`events`] turns what happens into progress, NDJSON and tables.

pub mod control;
pub mod events;
pub mod executor;
pub mod fleet_run;
pub mod journal;
pub mod lock;
pub mod output;
pub mod schedule;
pub mod transport;
pub mod tree;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

pub async fn for_each_host<T, R, F, Fut>(items: Vec<T>, forks: usize, work: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(forks.max(1)));
    let work = Arc::new(work);
    let mut tasks = Vec::with_capacity(items.len());
    for item in items {
        let limit = limit.clone();
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("fan-out limit is never closed");
            work(item).await
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("a host task panicked"));
    }
    results
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_than_forks_at_once_and_results_in_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let results = runtime().block_on(for_each_host((0..20).collect(), 3, move |i: u32| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        }));
        assert_eq!(results, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
