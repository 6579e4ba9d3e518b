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

/// The age in seconds at `now` of something made at `t`, when it is at most `max`. A negative
/// age (made "in the future": the clock went back since) counts as expired, never as fresh:
/// otherwise setting the clock back would keep it valid indefinitely (BOOT-06).
pub fn age_within(now: i64, t: i64, max: i64) -> Option<i64> {
    let age = now.saturating_sub(t);
    (0..=max).contains(&age).then_some(age)
}

/// `2026-12-01 13:05:09 UTC` from Unix seconds (civil-from-days, H. Hinnant's algorithm).
pub fn utc(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A duration in seconds as people read it: `42 s`, `5 min 3 s`, `2 h 10 min`, `3 d 4 h`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_796_131_509), "2026-12-01 13:25:09 UTC");
        assert_eq!(super::age(59), "59 s");
        assert_eq!(super::age(3_723), "1 h 2 min");
        assert_eq!(super::age(90_000), "1 d 1 h");
        assert_eq!(super::age_within(1100, 1000, 100), Some(100));
        assert_eq!(super::age_within(1101, 1000, 100), None);
        assert_eq!(
            super::age_within(999, 1000, 100),
            None,
            "the clock went back"
        );
    }
}
