//! Where "now" comes from: one clock for the cache, the login rules and the account state, so
//! that tests control time instead of sleeping (STYLE.md: time is a parameter).

use std::time::Instant;

/// The monotonic time (expiry, refresh) and the wall-clock time (account expiry dates, shadow
/// ageing), both from one source.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch.
    fn unix_now(&self) -> i64;
}

/// The real clocks.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
