//! The stall limit: when requests are in flight and none has completed for the limit,
//! the account has stopped answering, and waiting longer only delays the failure. Every
//! request of a provider shares one [`Stall`], so one slow list among lists that move
//! is not a stall, and a command idle between requests (a confirmation prompt) is not
//! one either.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// The stall limit when none is given: five minutes without a request completing.
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(300);

/// When a request last completed and which are in flight, shared by every client of a
/// provider.
#[derive(Debug)]
pub struct Stall {
    limit: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When a request last completed, or when one started while none was in flight.
    progress: Instant,
    /// Requests in flight by the order they started: the first is the oldest.
    in_flight: BTreeMap<u64, (String, Instant)>,
    next: u64,
}

/// A request in flight; dropping it (answered, failed or abandoned) completes it.
pub(crate) struct InFlight<'a> {
    stall: &'a Stall,
    id: u64,
}

impl Stall {
    /// A stall limit of `limit`, to share among the clients of one provider.
    pub fn new(limit: Duration) -> Arc<Stall> {
        Arc::new(Stall {
            limit,
            state: Mutex::new(State {
                progress: Instant::now(),
                in_flight: BTreeMap::new(),
                next: 0,
            }),
        })
    }

    /// How long requests may go without one completing.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `label` (method and path) in flight until the returned guard drops.
    pub(crate) fn begin(&self, label: &str) -> InFlight<'_> {
        let now = Instant::now();
        let mut s = self.state();
        // Time spent with nothing in flight is the command's own, not the account's.
        if s.in_flight.is_empty() {
            s.progress = now;
        }
        let id = s.next;
        s.next += 1;
        s.in_flight.insert(id, (label.to_string(), now));
        InFlight { stall: self, id }
    }

    /// Resolves once no request has completed for the limit, with a message naming the
    /// oldest request in flight; never while requests keep completing.
    pub(crate) async fn stalled(&self) -> String {
        loop {
            let deadline = self.state().progress + self.limit;
            if Instant::now() >= deadline {
                return self.describe();
            }
            tokio::time::sleep_until(deadline).await;
        }
    }

    fn describe(&self) -> String {
        let s = self.state();
        let (label, since) = s
            .in_flight
            .values()
            .next()
            .map_or(("a request", s.progress), |(l, t)| (l.as_str(), *t));
        let waited = Duration::from_secs(since.elapsed().as_secs());
        format!(
            "{label}: no request completed for {:?}, the stall limit (--stall-timeout); roster stopped waiting for this one after {waited:?}",
            self.limit
        )
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = self.stall.state();
        s.in_flight.remove(&self.id);
        s.progress = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_waits_alone_past_the_limit_is_named() {
        let stall = Stall::new(Duration::from_millis(50));
        let _first = stall.begin("GET /users");
        let _second = stall.begin("GET /ccaas/queues");
        let why = stall.stalled().await;
        assert!(
            why.starts_with("GET /users: no request completed for 50ms"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn requests_that_complete_keep_the_others_waiting() {
        let stall = Stall::new(Duration::from_millis(300));
        let _slow = stall.begin("GET /users");
        let started = Instant::now();
        let moving = async {
            for _ in 0..6 {
                drop(stall.begin("GET /Users"));
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        };
        tokio::select! {
            why = stall.stalled() => panic!("stalled while requests completed: {why}"),
            () = moving => {}
        }
        stall.stalled().await;
        // The last completion came after five pauses, and the limit ran from there.
        assert!(started.elapsed() >= Duration::from_millis(150 + 300));
    }

    #[tokio::test]
    async fn time_with_nothing_in_flight_does_not_count() {
        let stall = Stall::new(Duration::from_millis(40));
        tokio::time::sleep(Duration::from_millis(60)).await;
        let _request = stall.begin("PUT /Users/7");
        let started = Instant::now();
        stall.stalled().await;
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
}
