//! The shared panic boundary of the two modules, in a test binary of its own (the silent
//! panic hook it installs is process-wide).
#![allow(clippy::indexing_slicing, clippy::panic)]

use ldaprs_common::panic_guard::guard;

#[test]
fn a_panic_becomes_the_failure_code_and_a_value_passes_through() {
    let v: Vec<u8> = Vec::new();
    assert_eq!(guard(-1, || i32::from(v[3])), -1);
    assert_eq!(guard(-1, || 7), 7);
    assert_eq!(guard("unavail", || panic!("boom")), "unavail");
    // The hook stays silent and is installed once: a second panic is stopped the same way.
    assert_eq!(guard(4, || panic!("again")), 4);
}
