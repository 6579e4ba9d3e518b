//! Latencies of one run, their percentiles (ldapbind.c's definition) and the JSON line.

use crate::Args;
use std::time::Instant;

/// Every operation's latency (ns), the successes and the wall time of the run.
#[derive(Default)]
pub struct Run {
    pub lat_ns: Vec<u64>,
    pub ok: u64,
    pub errors: u64,
    pub last_error: String,
    pub wall_s: f64,
}

impl Run {
    /// One operation that started at `t0`: `found` is the number of entries it returned
    /// (exactly one is a success), or the error.
    pub fn record(&mut self, t0: Instant, found: Result<usize, String>) {
        self.lat_ns.push(t0.elapsed().as_nanos() as u64);
        match found {
            Ok(1) => self.ok += 1,
            Ok(n) => {
                self.errors += 1;
                self.last_error = format!("{n} entries");
            }
            Err(e) => {
                self.errors += 1;
                self.last_error = e;
            }
        }
    }

    /// Merges the runs of several tasks.
    pub fn merge(&mut self, o: Run) {
        self.lat_ns.extend(o.lat_ns);
        self.ok += o.ok;
        self.errors += o.errors;
        if !o.last_error.is_empty() {
            self.last_error = o.last_error;
        }
    }

    pub fn json(mut self, a: &Args, cpu_us: f64) -> String {
        self.lat_ns.sort_unstable();
        let n = self.lat_ns.len();
        let pct = |p: f64| -> f64 {
            if n == 0 {
                return 0.0;
            }
            let idx = ((p * n as f64 + 0.999999) as usize).clamp(1, n);
            self.lat_ns.get(idx - 1).copied().unwrap_or(0) as f64 / 1000.0
        };
        let mean = if n == 0 {
            0.0
        } else {
            self.lat_ns.iter().sum::<u64>() as f64 / n as f64 / 1000.0
        };
        let per = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
        format!(
            concat!(
                "{{\"label\":\"{}\",\"op\":\"ldap3_{}\",\"inflight\":{},\"conns\":{},",
                "\"nodelay\":{},\"n\":{},\"ok\":{},\"errors\":{},\"last_error\":{:?},",
                "\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"max_us\":{:.2},",
                "\"mean_us\":{:.2},\"ops_s\":{:.1},\"cpu_us_per_op\":{:.2},\"wall_s\":{:.4}}}"
            ),
            a.label,
            a.mode,
            a.inflight,
            a.conns,
            a.nodelay,
            n,
            self.ok,
            self.errors,
            self.last_error,
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0),
            mean,
            if self.wall_s > 0.0 {
                n as f64 / self.wall_s
            } else {
                0.0
            },
            per(cpu_us),
            self.wall_s,
        )
    }
}

/// User + system CPU time of this process so far, in µs.
pub fn cpu_us() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
