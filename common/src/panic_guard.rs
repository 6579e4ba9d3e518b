//! The one panic boundary of the two modules (DESIGN.md hard rule 2): every `extern "C"` body
//! runs under [`guard`], which stops a panic with `catch_unwind` and answers the module's safe
//! failure code instead (`NSS_STATUS_UNAVAIL`, `PAM_SYSTEM_ERR`).
//!
//! The panic hook of the module's own std is replaced by a silent one first, once per module,
//! so that a panic never prints on the host's stderr (hard rule 3: never write to fds 0-2).
//! `panic = "unwind"` is kept in the workspace profile for this: "abort" would kill sshd or
//! login instead.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

static QUIET_PANICS: Once = Once::new();

/// Runs `body`; a panic inside it returns `on_panic` and prints nothing.
///
/// Tested in `common/tests/panic_guard.rs`, a test binary of its own: the silent hook would
/// also silence the messages of every other test in the same binary.
pub fn guard<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}
