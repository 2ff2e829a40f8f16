//! Test harness for the cargo-generate template in `template/`.
//!
//! The tests live in `tests/`: each file there renders the template through the real
//! `cargo generate` and checks the result. This library holds what the tests that run a
//! rendered service share:
//!
//! - [`process`]: starting the service binary and watching it (`Launch`, `Proc`, free ports);
//! - [`http`]: a raw HTTP/1.1 client over a plain `TcpStream`;
//! - [`postgres`]: `psql`, database URLs and throwaway databases;
//! - [`proxy`]: a TCP proxy that can play a database outage.

pub mod http;
pub mod postgres;
pub mod process;
pub mod proxy;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// A progress line on the real stderr, shown even when the test harness captures output.
pub fn progress(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// A temporary folder outside the repository (in the system temp folder).
pub fn new_temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(std::env::temp_dir())
        .expect("create temporary folder")
}

/// 16 random hex digits, different on every call.
pub fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// A random version-4 UUID in its text form.
pub fn random_uuid() -> String {
    let (a, b) = (random_hex(), random_hex());
    format!(
        "{}-{}-4{}-8{}-{}",
        &a[..8],
        &a[8..12],
        &a[13..16],
        &b[..3],
        &b[4..16]
    )
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
