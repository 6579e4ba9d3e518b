//! The libldap floor inside this process (OpenLDAP's client library through FFI): the same
//! `ldap_search_ext_s` as ../shared/bench/ldapbind.c `search`, with the daemon's attributes.
//! Only here so that `interleave` can alternate it with the Rust clients op by op.

use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr;

#[repr(C)]
struct Ldap {
    _p: [u8; 0],
}
#[repr(C)]
struct Message {
    _p: [u8; 0],
}

#[link(name = "ldap")]
extern "C" {
    fn ldap_initialize(ld: *mut *mut Ldap, uri: *const c_char) -> c_int;
    fn ldap_set_option(ld: *mut Ldap, option: c_int, value: *const c_void) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn ldap_search_ext_s(
        ld: *mut Ldap,
        base: *const c_char,
        scope: c_int,
        filter: *const c_char,
        attrs: *const *const c_char,
        attrsonly: c_int,
        sctrls: *const c_void,
        cctrls: *const c_void,
        timeout: *const c_void,
        sizelimit: c_int,
        res: *mut *mut Message,
    ) -> c_int;
    fn ldap_count_entries(ld: *mut Ldap, res: *mut Message) -> c_int;
    fn ldap_msgfree(res: *mut Message) -> c_int;
    fn ldap_unbind_ext_s(ld: *mut Ldap, s: *const c_void, c: *const c_void) -> c_int;
}

const OPT_PROTOCOL_VERSION: c_int = 0x0011;
const OPT_REFERRALS: c_int = 0x0008;
const SCOPE_SUBTREE: c_int = 2;

/// One libldap connection (opened by the first search).
pub struct Conn {
    ld: *mut Ldap,
    base: CString,
    attrs: Vec<CString>,
}

impl Conn {
    pub fn new(uri: &str, base: &str) -> Result<Conn, String> {
        let u = CString::new(uri).map_err(|e| e.to_string())?;
        let mut ld = ptr::null_mut();
        // SAFETY: ld is a valid out-pointer, u a NUL-terminated string alive for the call.
        let rc = unsafe { ldap_initialize(&mut ld, u.as_ptr()) };
        if rc != 0 || ld.is_null() {
            return Err(format!("ldap_initialize {uri}: {rc}"));
        }
        let v3: c_int = 3;
        // SAFETY: ld is a live handle; the options take a pointer to an int / LDAP_OPT_OFF (NULL).
        unsafe {
            ldap_set_option(
                ld,
                OPT_PROTOCOL_VERSION,
                &v3 as *const c_int as *const c_void,
            );
            ldap_set_option(ld, OPT_REFERRALS, ptr::null());
        }
        let attrs = crate::ATTRS
            .iter()
            .map(|a| CString::new(*a).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let base = CString::new(base).map_err(|e| e.to_string())?;
        Ok(Conn { ld, base, attrs })
    }

    /// The daemon's search for `name`: the number of entries.
    pub fn search(&mut self, name: &str) -> Result<usize, String> {
        let f = CString::new(crate::filter(name)).map_err(|e| e.to_string())?;
        let mut attrs: Vec<*const c_char> = self.attrs.iter().map(|a| a.as_ptr()).collect();
        attrs.push(ptr::null());
        let mut res = ptr::null_mut();
        // SAFETY: every pointer is live for the call (strings owned above, attrs
        // NULL-terminated); res is an out-pointer freed below.
        let rc = unsafe {
            ldap_search_ext_s(
                self.ld,
                self.base.as_ptr(),
                SCOPE_SUBTREE,
                f.as_ptr(),
                attrs.as_ptr(),
                0,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                2,
                &mut res,
            )
        };
        // SAFETY: res is either NULL or a message list libldap allocated for us.
        let n = unsafe {
            let n = if res.is_null() {
                0
            } else {
                ldap_count_entries(self.ld, res)
            };
            if !res.is_null() {
                ldap_msgfree(res);
            }
            n
        };
        if rc != 0 {
            return Err(format!("libldap rc {rc}"));
        }
        Ok(n.max(0) as usize)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: ld is live and not used after this.
        unsafe {
            ldap_unbind_ext_s(self.ld, ptr::null(), ptr::null());
        }
    }
}
