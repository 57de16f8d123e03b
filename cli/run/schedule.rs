//! Who starts when: hosts in the order given, at most `forks` at once, in
//! rolling batches of `serial` (a batch starts when the previous one has
//! completely finished), and a failure budget: once `max_fail` hosts have
//! failed, no further host starts (hosts in flight finish). `fail_fast` is a
//! budget of one that also stops hosts in flight between steps
//! ([`Control::stop`]). A Ctrl-C ([`Control::interrupt`]) starts nothing more.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::control::Control;

#[derive(Debug, Clone)]
pub struct Policy {
    pub forks: usize,
    /// Hosts per batch; `None`: one batch of all.
    pub serial: Option<usize>,
    /// Stop starting hosts after this many failures.
    pub max_fail: Option<usize>,
    pub fail_fast: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            forks: 50,
            serial: None,
            max_fail: None,
            fail_fast: false,
        }
    }
}

impl Policy {
    fn budget(&self) -> usize {
        match (self.max_fail, self.fail_fast) {
            (_, true) => 1,
            (Some(n), false) => n.max(1),
            (None, false) => usize::MAX,
        }
    }
}

/// Runs `work` for each item as the policy allows; `None` for items never
/// started. `failed` says whether a result counts against the budget.
pub async fn schedule<T, R, F, Fut>(
    items: Vec<T>,
    policy: &Policy,
    control: &Control,
    work: F,
    failed: fn(&R) -> bool,
) -> Vec<Option<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let total = items.len();
    let batch_size = policy.serial.unwrap_or(total).max(1);
    let budget = policy.budget();
    let failures = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(policy.forks.max(1)));
    let work = Arc::new(work);
    let mut results: Vec<Option<R>> = (0..total).map(|_| None).collect();
    let mut items = items.into_iter().enumerate().peekable();
    while items.peek().is_some() {
        let mut running = JoinSet::new();
        for (index, item) in items.by_ref().take(batch_size) {
            let permit = limit
                .clone()
                .acquire_owned()
                .await
                .expect("fork limit is never closed");
            if control.is_stopped() || failures.load(Ordering::SeqCst) >= budget {
                continue;
            }
            let (work, failures, control) = (work.clone(), failures.clone(), control.clone());
            let fail_fast = policy.fail_fast;
            running.spawn(async move {
                let result = work(item).await;
                if failed(&result) {
                    failures.fetch_add(1, Ordering::SeqCst);
                    if fail_fast {
                        control.stop();
                    }
                }
                drop(permit);
                (index, result)
            });
        }
        while let Some(joined) = running.join_next().await {
            let (index, result) = joined.expect("a host task panicked");
            results[index] = Some(result);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    fn run(
        policy: Policy,
        failing: &'static [u32],
        hosts: u32,
    ) -> (Vec<Option<bool>>, Vec<String>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let control = Control::default();
        let l = log.clone();
        let results = crate::run::runtime().block_on(schedule(
            (1..=hosts).collect(),
            &policy,
            &control,
            move |i: u32| {
                let l = l.clone();
                async move {
                    l.lock().unwrap().push(format!("start {i}"));
                    // Wide gaps between ends: a loaded machine must not reorder them.
                    tokio::time::sleep(Duration::from_millis(60 * u64::from(i))).await;
                    l.lock().unwrap().push(format!("end {i}"));
                    !failing.contains(&i)
                }
            },
            |ok: &bool| !ok,
        ));
        let log = log.lock().unwrap().clone();
        (results, log)
    }

    #[test]
    fn serial_one_max_fail_one_stops_after_the_first_failure() {
        let policy = Policy {
            forks: 50,
            serial: Some(1),
            max_fail: Some(1),
            fail_fast: false,
        };
        let (results, log) = run(policy, &[2], 4);
        assert_eq!(results, [Some(true), Some(false), None, None]);
        assert_eq!(log, ["start 1", "end 1", "start 2", "end 2"]);
    }

    #[test]
    fn batches_finish_before_the_next_starts() {
        let policy = Policy {
            serial: Some(2),
            ..Policy::default()
        };
        let (results, log) = run(policy, &[], 5);
        assert!(results.iter().all(|r| *r == Some(true)));
        let pos = |s: &str| log.iter().position(|l| l == s).unwrap();
        assert!(pos("end 2") < pos("start 3"));
        assert!(pos("end 4") < pos("start 5"));
        assert!(pos("start 2") < pos("end 1"));
    }

    #[test]
    fn max_fail_two_lets_hosts_in_flight_finish() {
        let policy = Policy {
            forks: 2,
            max_fail: Some(2),
            ..Policy::default()
        };
        // 1 and 2 fail; 3 would start when 1 ends (1 failure): it runs; then
        // 2 ends (2 failures): 4 and 5 never start.
        let (results, _) = run(policy, &[1, 2], 5);
        assert_eq!(results, [Some(false), Some(false), Some(true), None, None]);
    }

    #[test]
    fn fail_fast_stops_new_hosts_and_flags_running_ones() {
        let control = Control::default();
        let policy = Policy {
            forks: 1,
            fail_fast: true,
            ..Policy::default()
        };
        let c = control.clone();
        let results = crate::run::runtime().block_on(schedule(
            vec![1, 2, 3],
            &policy,
            &control,
            move |i: u32| {
                let _ = &c;
                async move { i != 1 }
            },
            |ok: &bool| !ok,
        ));
        assert_eq!(results, [Some(false), None, None]);
        assert!(control.is_stopped());
    }
}
