//! The two GSS-API calls of our own (MIT krb5's `libgssapi_krb5`, through libgssapi-sys): the
//! daemon's initiator credential from a client keytab into a credential cache of its own
//! (`gss_acquire_cred_from`, the MIT cred-store extension, gssapi_ext.h), and a context
//! opened towards the directory's principal before the LDAP bind, so that a KDC error arrives
//! here with its krb5 code rather than inside the bind's text.

use libgssapi::context::{ClientCtx, CtxFlags};
use libgssapi::credential::Cred;
use libgssapi::error::{Error, MajorFlags};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL};
use libgssapi_sys as sys;
use std::ffi::CString;
use std::time::Duration;

/// The OID of a krb5 principal name (1.2.840.113554.1.2.2.1, RFC 1964 §2.1.1).
const KRB5_PRINCIPAL_OID: [u8; 10] = *b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01";

fn gss_err(major: u32, minor: u32) -> Error {
    Error {
        major: MajorFlags::from_bits_retain(major),
        minor,
    }
}

/// An initiator credential for `principal` from `keytab`, its tickets kept in `ccache`
/// (e.g. `MEMORY:ldaprsd-corp`). MIT gets a TGT from the keytab here when the cache has none
/// or it is past half its life (acquire_cred.c, `maybe_get_initial_cred`); the KDC's errors
/// come back as the minor code. Blocking: the AS exchange talks to the KDC.
pub fn acquire_from_keytab(
    principal: &str,
    keytab: &str,
    ccache: &str,
) -> Result<(Cred, Duration), Error> {
    let no_nul = || gss_err(MajorFlags::GSS_S_BAD_NAME.bits(), 0);
    let name_c = CString::new(principal).map_err(|_| no_nul())?;
    let kt_c = CString::new(keytab).map_err(|_| no_nul())?;
    let cc_c = CString::new(ccache).map_err(|_| no_nul())?;
    let key_kt = c"client_keytab";
    let key_cc = c"ccache";
    let mut oid_bytes = KRB5_PRINCIPAL_OID;
    let mut oid = sys::gss_OID_desc {
        length: oid_bytes.len() as u32,
        elements: oid_bytes.as_mut_ptr().cast(),
    };
    let mut buf = sys::gss_buffer_desc {
        length: name_c.as_bytes().len(),
        value: name_c.as_ptr() as *mut std::ffi::c_void,
    };
    let mut minor: u32 = 0;
    let mut name: sys::gss_name_t = std::ptr::null_mut();
    // SAFETY: `buf` points at `name_c`'s bytes and `oid` at `oid_bytes`, both alive for the
    // call; gss_import_name copies them into the new name, released below.
    let major = unsafe { sys::gss_import_name(&mut minor, &mut buf, &mut oid, &mut name) };
    if major != sys::GSS_S_COMPLETE {
        return Err(gss_err(major, minor));
    }
    let mut elements = [
        sys::gss_key_value_element_desc {
            key: key_kt.as_ptr(),
            value: kt_c.as_ptr(),
        },
        sys::gss_key_value_element_desc {
            key: key_cc.as_ptr(),
            value: cc_c.as_ptr(),
        },
    ];
    let store = sys::gss_key_value_set_desc {
        count: elements.len() as u32,
        elements: elements.as_mut_ptr(),
    };
    let mut cred: sys::gss_cred_id_t = std::ptr::null_mut();
    let mut lifetime: u32 = 0;
    // SAFETY: every pointer is to a live local (the strings, the store, the out-parameters);
    // GSS_C_NO_OID_SET (null) asks for the default mechanisms; the cred-store strings are
    // read during the call only. The returned credential is owned by `Cred` (released on
    // drop), the name is released right after.
    let major = unsafe {
        let m = sys::gss_acquire_cred_from(
            &mut minor,
            name,
            sys::_GSS_C_INDEFINITE,
            std::ptr::null_mut(),
            sys::GSS_C_INITIATE as sys::gss_cred_usage_t,
            &store,
            &mut cred,
            std::ptr::null_mut(),
            &mut lifetime,
        );
        let mut m2 = 0u32;
        sys::gss_release_name(&mut m2, &mut name);
        m
    };
    if major != sys::GSS_S_COMPLETE {
        return Err(gss_err(major, minor));
    }
    Ok((Cred::from(cred), Duration::from_secs(u64::from(lifetime))))
}

/// Opens (the first step of) a context from `cred` to `target` (`ldap/host[@REALM]`): the
/// TGS exchange for the directory's ticket, which lands in the credential cache where the
/// LDAP bind finds it. Blocking.
pub fn reach_service(cred: &Cred, target: &str) -> Result<(), Error> {
    let name = Name::new(target.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))?
        .canonicalize(Some(&GSS_MECH_KRB5))?;
    let mut ctx = ClientCtx::new(
        Some(cred.clone()),
        name,
        CtxFlags::GSS_C_MUTUAL_FLAG,
        Some(&GSS_MECH_KRB5),
    );
    ctx.step(None, None).map(|_| ())
}

/// The seconds left on `cred` (0 when expired or unknown).
pub fn lifetime(cred: &Cred) -> Duration {
    cred.lifetime().unwrap_or_default()
}

/// The client principal of `cred`, for the log.
pub fn principal_of(cred: &Cred) -> Option<String> {
    cred.name().ok().map(|n| n.to_string())
}
