//! Unit tests of the module's boundary code.

use super::*;

#[test]
fn panic_becomes_system_err() {
    let rc = guard(|| {
        let v: Vec<u8> = Vec::new();
        #[allow(clippy::indexing_slicing)]
        let x = v[3];
        c_int::from(x)
    });
    assert_eq!(rc, sys::PAM_SYSTEM_ERR);
}
