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

/// The C string given to `pam_set_item` is one buffer of its final size (no growth that
/// would leave the password in freed memory) and is refused when the password holds a NUL.
#[test]
fn password_items_are_built_without_reallocation() {
    use ldaprs_common::protocol::Secret;
    let c = host::nul_terminated(&Secret::from_slice(b"hunter2")).unwrap();
    assert_eq!(&c[..], b"hunter2\0");
    assert_eq!(c.capacity(), c.len());
    assert!(host::nul_terminated(&Secret::from_slice(b"a\0b")).is_none());
}
