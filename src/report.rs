//! Progress lines on the real stderr, and the figures they show.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// A progress line on the real stderr, shown even when the test harness captures output.
pub fn progress(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// Milliseconds, for progress lines.
pub fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

/// `[12, 40] ms`, for progress lines.
pub fn list_ms(durations: &[Duration]) -> String {
    let list: Vec<String> = durations.iter().map(|d| ms(*d).to_string()).collect();
    format!("[{}] ms", list.join(", "))
}

/// Seconds since `start`, for progress lines.
pub fn secs(start: Instant) -> u64 {
    start.elapsed().as_secs()
}

/// `text`'s non-empty lines joined by ` | `, for progress lines.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
