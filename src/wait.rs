//! Waiting for something to happen: one polling loop with a deadline.

use std::thread;
use std::time::{Duration, Instant};

/// Calls `check` every `every` until it returns true or `limit` has passed; `check` runs once
/// more after the last pause, so a condition met right at the limit counts. How long it took,
/// or `None` if it never became true.
pub fn poll_until(
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if check() {
            return Some(started.elapsed());
        }
        if started.elapsed() >= limit {
            return None;
        }
        thread::sleep(every);
    }
}
