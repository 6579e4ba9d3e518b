//! What the randomized tests (`fuzz_*.rs`) share: a counting global allocator, the per-case
//! oracle (no panic, no hang, no allocation beyond a bound) and the proptest runner set-up.
//!
//! Each test binary that uses it declares the allocator itself:
//! `#[global_allocator] static A: support::Counting = support::Counting;`.
//! (Also included by ldaprsd/tests through `#[path]`.)
#![allow(dead_code)]

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Cases per target in `cargo test` (fast; the long run is `LDAPRS_FUZZ_CASES` with
/// `--ignored`, see docs/FUZZING.md).
pub const CI_CASES: u32 = 3_000;

/// Longest time one case may take before it counts as a hang. Every target is linear in its
/// input of at most a few KiB and runs in microseconds; this leaves room for a loaded CI
/// machine and a debug build.
pub const HANG: Duration = Duration::from_secs(2);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, counting what the current thread allocates while a
/// [`measure`] is running on it (other test threads are not counted).
pub struct Counting;

fn note(grow: usize, shrink: usize) {
    // try_with: never panic in the allocator, even while a thread's locals are torn down.
    let armed = ARMED.try_with(Cell::get).unwrap_or(false);
    if !armed {
        return;
    }
    let _ = COUNT.try_with(|c| c.set(c.get() + usize::from(grow > 0)));
    let _ = LARGEST.try_with(|c| c.set(c.get().max(grow)));
    let _ = LIVE.try_with(|live| {
        let now = live.get() + grow as isize - shrink as isize;
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counting only
// touches const-initialised thread locals without destructors (they never allocate).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, layout.size());
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A reallocation is one allocation of the new size (and the old one freed).
        note(new_size, layout.size());
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What one case allocated and how long it took.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Allocations made (reallocations included).
    pub count: usize,
    /// The largest single allocation, in bytes.
    pub largest: usize,
    /// The most bytes live at once, counted from the start of the case.
    pub peak: usize,
    pub took: Duration,
}

/// Counting on for this thread while it lives (off again on unwind too).
struct Armed;

impl Armed {
    fn on() -> Armed {
        ARMED.set(true);
        Armed
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.set(false);
    }
}

/// Runs `f` on this thread with the counting armed.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    COUNT.set(0);
    LARGEST.set(0);
    LIVE.set(0);
    PEAK.set(0);
    let t = Instant::now();
    let r = {
        let _armed = Armed::on();
        f()
    };
    let usage = Usage {
        count: COUNT.get(),
        largest: LARGEST.get(),
        peak: usize::try_from(PEAK.get()).unwrap_or(0),
        took: t.elapsed(),
    };
    (r, usage)
}

/// The oracle for one call: it returned (a panic is caught by proptest and fails the case),
/// within [`HANG`], and neither a single allocation nor the peak of live bytes exceeded
/// `max_alloc`.
pub fn check<R>(what: &str, max_alloc: usize, f: impl FnOnce() -> R) -> Result<R, TestCaseError> {
    check_split(what, max_alloc, max_alloc, f)
}

/// [`check`] with separate bounds for one allocation and for the live bytes at peak.
pub fn check_split<R>(
    what: &str,
    max_single: usize,
    max_peak: usize,
    f: impl FnOnce() -> R,
) -> Result<R, TestCaseError> {
    let (r, u) = measure(f);
    if u.took > HANG {
        return Err(TestCaseError::fail(format!("{what}: took {:?}", u.took)));
    }
    if u.largest > max_single || u.peak > max_peak {
        return Err(TestCaseError::fail(format!(
            "{what}: allocated {} bytes at once (bound {max_single}), {} live at peak \
             (bound {max_peak})",
            u.largest, u.peak
        )));
    }
    Ok(r)
}

/// Cases for the long run: `LDAPRS_FUZZ_CASES`, else a million.
pub fn long_cases() -> u32 {
    std::env::var("LDAPRS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

/// Runs `test` on `cases` inputs drawn from `strategy` (proptest: a failure is shrunk to a
/// small input and printed), then prints the count and the wall time.
pub fn run<S: Strategy>(
    target: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = Instant::now();
    let done = Cell::new(0u64);
    let result = runner.run(&strategy, |v| {
        done.set(done.get() + 1);
        test(v)
    });
    eprintln!(
        "fuzz {target}: {} cases run ({} asked) in {:.1} s",
        done.get(),
        cases,
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("fuzz {target}: {e}");
    }
}
