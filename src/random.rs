//! Random names and ids for what the tests make (databases, roles, request ids, notes).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
