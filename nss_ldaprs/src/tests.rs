//! Unit tests of the module's boundary code: the panic guard with `*errnop`, the C-side
//! initgroups array, and packing into `struct passwd`.
#![allow(clippy::undocumented_unsafe_blocks)]

use super::*;
use ldaprs_common::nss::ERANGE;

#[test]
fn panics_become_unavail_and_set_errno() {
    let mut err = 0;
    let st = guard(&mut err, || {
        let v: Vec<u8> = Vec::new();
        #[allow(clippy::indexing_slicing)]
        let _ = v[1];
        OK
    });
    assert_eq!(st, NssStatus::Unavail);
    assert_eq!(err, libc::EAGAIN);
}

#[test]
fn initgroups_grows_dedups_skips_and_honours_limit() {
    let mut start: c_long = 1;
    let mut size: c_long = 1;
    // SAFETY: test allocation with malloc as glibc would.
    let arr = unsafe { libc::malloc(std::mem::size_of::<gid_t>()) }.cast::<gid_t>();
    unsafe { *arr = 100 };
    let mut groups = arr;
    let st = unsafe {
        add_gids(
            &[100, 5, 6, 7, 8], // unique (the daemon dedupes); 100 is already in the array
            6,
            &mut start,
            &mut size,
            &mut groups,
            0,
        )
    };
    assert_eq!(st.0, NssStatus::Success);
    let got = unsafe { std::slice::from_raw_parts(groups, start as usize) }.to_vec();
    assert_eq!(got, vec![100, 5, 7, 8]);
    assert!(size >= start);
    // limit 2: only one more fits.
    let mut start2: c_long = 1;
    let mut size2: c_long = 1;
    let st = unsafe { add_gids(&[1, 2, 3], 0, &mut start2, &mut size2, &mut groups, 2) };
    assert_eq!(st.0, NssStatus::Success);
    assert_eq!(start2, 2);
    assert_eq!(size2, 2);
    unsafe { libc::free(groups.cast()) };
}

#[test]
fn passwd_erange_then_success() {
    let p = ldaprs_common::protocol::Passwd {
        name: "alice".into(),
        uid: 1,
        gid: 2,
        gecos: "A".into(),
        dir: "/h".into(),
        shell: "/s".into(),
    };
    // SAFETY: zeroed passwd is a valid out-parameter.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut small = [0 as c_char; 4];
    let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, small.as_mut_ptr(), small.len()) };
    assert_eq!(r, ERANGE);
    let mut big = [0 as c_char; 64];
    let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, big.as_mut_ptr(), big.len()) };
    assert_eq!(r, OK);
    let name = unsafe { CStr::from_ptr(pw.pw_name) };
    assert_eq!(name.to_str().unwrap(), "alice");
    assert_eq!(pw.pw_uid, 1);
    let r = unsafe { fill_passwd(&p.borrowed(), &mut pw, std::ptr::null_mut(), 0) };
    assert_eq!(r, UNAVAIL);
}
