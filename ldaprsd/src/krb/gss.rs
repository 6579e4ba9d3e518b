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
    let store = [(c"client_keytab", keytab), (c"ccache", ccache)];
    acquire_from(Some(principal), sys::GSS_C_INITIATE, &store)
}

/// An acceptor credential from `keytab` (for `principal`, or any key in it): what proves a
/// ticket came from the real KDC, which alone knows these keys.
pub fn acceptor_from_keytab(principal: Option<&str>, keytab: &str) -> Result<Cred, Error> {
    acquire_from(principal, sys::GSS_C_ACCEPT, &[(c"keytab", keytab)]).map(|(c, _)| c)
}

/// `gss_acquire_cred_from` for `principal` (a krb5 principal name) or the default, with the
/// cred-store entries `store`; the credential and its lifetime.
fn acquire_from(
    principal: Option<&str>,
    usage: u32,
    store: &[(&std::ffi::CStr, &str)],
) -> Result<(Cred, Duration), Error> {
    let bad = || gss_err(MajorFlags::GSS_S_BAD_NAME.bits(), 0);
    let values: Vec<CString> = store
        .iter()
        .map(|(_, v)| CString::new(*v).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let mut minor: u32 = 0;
    let mut name: sys::gss_name_t = std::ptr::null_mut();
    if let Some(p) = principal {
        let name_c = CString::new(p).map_err(|_| bad())?;
        let mut oid_bytes = KRB5_PRINCIPAL_OID;
        let mut oid = sys::gss_OID_desc {
            length: oid_bytes.len() as u32,
            elements: oid_bytes.as_mut_ptr().cast(),
        };
        let mut buf = sys::gss_buffer_desc {
            length: name_c.as_bytes().len(),
            value: name_c.as_ptr() as *mut std::ffi::c_void,
        };
        // SAFETY: `buf` points at `name_c`'s bytes and `oid` at `oid_bytes`, both alive for
        // the call; gss_import_name copies them into the new name, released below.
        let major = unsafe { sys::gss_import_name(&mut minor, &mut buf, &mut oid, &mut name) };
        if major != sys::GSS_S_COMPLETE {
            return Err(gss_err(major, minor));
        }
    }
    let mut elements: Vec<sys::gss_key_value_element_desc> = store
        .iter()
        .zip(&values)
        .map(|((k, _), v)| sys::gss_key_value_element_desc {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let set = sys::gss_key_value_set_desc {
        count: elements.len() as u32,
        elements: elements.as_mut_ptr(),
    };
    let mut cred: sys::gss_cred_id_t = std::ptr::null_mut();
    let mut lifetime: u32 = 0;
    // SAFETY: every pointer is to a live local (the strings, the store, the out-parameters);
    // a null name asks for the default, GSS_C_NO_OID_SET (null) for the default mechanisms;
    // the cred-store strings are read during the call only. The returned credential is owned
    // by `Cred` (released on drop), the name is released right after.
    let major = unsafe {
        let m = sys::gss_acquire_cred_from(
            &mut minor,
            name,
            sys::_GSS_C_INDEFINITE,
            std::ptr::null_mut(),
            usage as sys::gss_cred_usage_t,
            &set,
            &mut cred,
            std::ptr::null_mut(),
            &mut lifetime,
        );
        if !name.is_null() {
            let mut m2 = 0u32;
            sys::gss_release_name(&mut m2, &mut name);
        }
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
    first_token(cred, target, CtxFlags::GSS_C_MUTUAL_FLAG).map(|_| ())
}

/// The first token of a context from `cred` to `target` (the AP-REQ with its ticket).
fn first_token(cred: &Cred, target: &str, flags: CtxFlags) -> Result<Vec<u8>, Error> {
    let name = Name::new(target.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))?
        .canonicalize(Some(&GSS_MECH_KRB5))?;
    let mut ctx = ClientCtx::new(Some(cred.clone()), name, flags, Some(&GSS_MECH_KRB5));
    Ok(ctx
        .step(None, None)?
        .map(|b| b.to_vec())
        .unwrap_or_default())
}

/// A user's credential from `password` (the AS exchange, MIT's
/// `gss_acquire_cred_with_password`, into a memory cache of its own). Blocking.
pub fn acquire_with_password(principal: &str, password: &str) -> Result<Cred, Error> {
    let name = Name::new(principal.as_bytes(), Some(&GSS_NT_KRB5_PRINCIPAL))?;
    let mut mechs = libgssapi::oid::OidSet::new()?;
    mechs.add(&GSS_MECH_KRB5)?;
    Cred::acquire_with_password(
        Some(&name),
        password,
        None,
        libgssapi::credential::CredUsage::Initiate,
        Some(&mechs),
    )
}

/// Does a ticket for `target` obtained with `user` decrypt with `acceptor`'s keys? The
/// check that makes a spoofed KDC (one that does not hold our keytab's keys) useless.
pub fn verify_with(user: &Cred, target: &str, acceptor: Cred) -> Result<(), VerifyError> {
    let token = first_token(user, target, CtxFlags::empty()).map_err(VerifyError::Ticket)?;
    let mut server = libgssapi::context::ServerCtx::new(Some(acceptor));
    server.step(&token).map(|_| ()).map_err(VerifyError::Accept)
}

/// Which half of [`verify_with`] failed.
pub enum VerifyError {
    /// No service ticket for the host principal (the KDC does not know it).
    Ticket(Error),
    /// The ticket does not decrypt with the keytab.
    Accept(Error),
}

/// The seconds left on `cred` (0 when expired or unknown).
pub fn lifetime(cred: &Cred) -> Duration {
    cred.lifetime().unwrap_or_default()
}

/// The client principal of `cred`, for the log.
pub fn principal_of(cred: &Cred) -> Option<String> {
    cred.name().ok().map(|n| n.to_string())
}
