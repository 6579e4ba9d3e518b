//! Password changes at the KDC (RFC 3244, kpasswd) for `[servers.auth] method = "krb5"`, through
//! MIT's libkrb5: an initial ticket for `kadmin/changepw` with the current password (which a
//! KDC grants even when the password has expired), then `krb5_change_password`. libkrb5 is
//! declared here by hand, only the calls and structures used (krb5.h of MIT krb5 1.17+); it
//! is linked by the daemon's crate alone.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::time::Duration;
use zeroize::Zeroizing;

#[repr(C)]
struct Data {
    magic: i32,
    length: u32,
    data: *mut c_char,
}

#[repr(C)]
struct Keyblock {
    magic: i32,
    enctype: i32,
    length: u32,
    contents: *mut u8,
}

#[repr(C)]
struct Times {
    authtime: i32,
    starttime: i32,
    endtime: i32,
    renew_till: i32,
}

/// `krb5_creds` (krb5.h).
#[repr(C)]
struct Creds {
    magic: i32,
    client: *mut c_void,
    server: *mut c_void,
    keyblock: Keyblock,
    times: Times,
    is_skey: u32,
    ticket_flags: i32,
    addresses: *mut *mut c_void,
    ticket: Data,
    second_ticket: Data,
    authdata: *mut *mut c_void,
}

type Context = *mut c_void;
type Principal = *mut c_void;

#[link(name = "krb5")]
extern "C" {
    fn krb5_init_context(ctx: *mut Context) -> i32;
    fn krb5_free_context(ctx: Context);
    fn krb5_parse_name(ctx: Context, name: *const c_char, p: *mut Principal) -> i32;
    fn krb5_free_principal(ctx: Context, p: Principal);
    #[allow(clippy::too_many_arguments)]
    fn krb5_get_init_creds_password(
        ctx: Context,
        creds: *mut Creds,
        client: Principal,
        password: *const c_char,
        prompter: *const c_void,
        data: *mut c_void,
        start_time: i32,
        in_tkt_service: *const c_char,
        options: *mut c_void,
    ) -> i32;
    fn krb5_change_password(
        ctx: Context,
        creds: *mut Creds,
        newpw: *const c_char,
        result_code: *mut c_int,
        result_code_string: *mut Data,
        result_string: *mut Data,
    ) -> i32;
    fn krb5_free_cred_contents(ctx: Context, creds: *mut Creds);
    fn krb5_free_data_contents(ctx: Context, d: *mut Data);
    fn krb5_get_error_message(ctx: Context, code: i32) -> *const c_char;
    fn krb5_free_error_message(ctx: Context, msg: *const c_char);
}

/// What the KDC said to a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KpasswdOutcome {
    Changed,
    /// The current password is wrong.
    WrongPassword,
    /// The KDC's policy refused the new password (KRB5_KPASSWD_SOFTERROR): its words.
    Rejected(String),
    /// Another refusal or error: its words.
    Failed(String),
    /// No KDC or kpasswd server answered.
    Unavailable(String),
}

/// A libkrb5 context, freed on drop.
struct Ctx(Context);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the context came from krb5_init_context and is freed once, here.
        unsafe { krb5_free_context(self.0) }
    }
}

impl Ctx {
    fn message(&self, code: i32) -> String {
        // SAFETY: krb5_get_error_message returns a NUL-terminated string owned by us until
        // krb5_free_error_message, called right after the copy.
        unsafe {
            let m = krb5_get_error_message(self.0, code);
            if m.is_null() {
                return format!("krb5 error {code}");
            }
            let s = CStr::from_ptr(m).to_string_lossy().into_owned();
            krb5_free_error_message(self.0, m);
            s
        }
    }
}

fn data_text(d: &Data) -> String {
    if d.data.is_null() || d.length == 0 {
        return String::new();
    }
    // SAFETY: libkrb5 filled `d` with `length` bytes at `data` (krb5_change_password).
    let bytes = unsafe { std::slice::from_raw_parts(d.data.cast::<u8>(), d.length as usize) };
    String::from_utf8_lossy(bytes).into_owned()
}

/// A libkrb5 context.
fn context() -> Result<Ctx, KpasswdOutcome> {
    let mut raw: Context = std::ptr::null_mut();
    // SAFETY: krb5_init_context writes a new context into `raw`; it is owned by `Ctx`.
    let code = unsafe { krb5_init_context(&mut raw) };
    if code != 0 || raw.is_null() {
        return Err(KpasswdOutcome::Failed(format!(
            "krb5_init_context failed ({code})"
        )));
    }
    Ok(Ctx(raw))
}

/// An initial ticket for `kadmin/changepw` with `password`: proof that the password is right
/// even when it has expired (the KDC grants this service then). Freed by the caller with
/// krb5_free_cred_contents.
fn changepw_ticket(ctx: &Ctx, principal: &str, password: &str) -> Result<Creds, KpasswdOutcome> {
    let nul = || KpasswdOutcome::Failed("a NUL byte in the name or the password".into());
    let name = CString::new(principal).map_err(|_| nul())?;
    let pw = Zeroizing::new(
        CString::new(password)
            .map_err(|_| nul())?
            .into_bytes_with_nul(),
    );
    let mut client: Principal = std::ptr::null_mut();
    // SAFETY: `name` is NUL-terminated and alive; the principal is freed below.
    let code = unsafe { krb5_parse_name(ctx.0, name.as_ptr(), &mut client) };
    if code != 0 {
        return Err(KpasswdOutcome::Failed(format!(
            "{principal}: {}",
            ctx.message(code)
        )));
    }
    // SAFETY: an all-zero krb5_creds is the documented initial state (pointers null).
    let mut creds: Creds = unsafe { std::mem::zeroed() };
    // SAFETY: every pointer is live for the call: the context, `creds` (filled by the call),
    // the principal, the NUL-terminated password and service name; no prompter, no options.
    let code = unsafe {
        let c = krb5_get_init_creds_password(
            ctx.0,
            &mut creds,
            client,
            pw.as_ptr().cast(),
            std::ptr::null(),
            std::ptr::null_mut(),
            0,
            c"kadmin/changepw".as_ptr(),
            std::ptr::null_mut(),
        );
        krb5_free_principal(ctx.0, client);
        c
    };
    if code == 0 {
        return Ok(creds);
    }
    Err(match super::errors::kind_of_code(code) {
        super::errors::Kind::WrongKey => KpasswdOutcome::WrongPassword,
        super::errors::Kind::KdcUnreachable => KpasswdOutcome::Unavailable(ctx.message(code)),
        _ => KpasswdOutcome::Failed(ctx.message(code)),
    })
}

/// Is `password` the current (perhaps expired) password of `principal`? Blocking.
pub fn check_blocking(principal: &str, password: &str) -> Result<(), KpasswdOutcome> {
    let ctx = context()?;
    let mut creds = changepw_ticket(&ctx, principal, password)?;
    // SAFETY: filled by krb5_get_init_creds_password, freed once.
    unsafe { krb5_free_cred_contents(ctx.0, &mut creds) };
    Ok(())
}

/// Changes the password of `principal` from `old` to `new`. Blocking (KDC and kpasswd
/// round trips); run it on the blocking pool.
pub fn change_blocking(principal: &str, old: &str, new: &str) -> KpasswdOutcome {
    let ctx = match context() {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut creds = match changepw_ticket(&ctx, principal, old) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let Ok(new_c) = CString::new(new) else {
        // SAFETY: filled by krb5_get_init_creds_password, freed once.
        unsafe { krb5_free_cred_contents(ctx.0, &mut creds) };
        return KpasswdOutcome::Failed("a NUL byte in the new password".into());
    };
    let new_c = Zeroizing::new(new_c.into_bytes_with_nul());
    let mut result: c_int = 0;
    let mut code_string = Data {
        magic: 0,
        length: 0,
        data: std::ptr::null_mut(),
    };
    let mut result_string = Data {
        magic: 0,
        length: 0,
        data: std::ptr::null_mut(),
    };
    // SAFETY: `creds` holds the changepw ticket; the new password is NUL-terminated; the
    // out-parameters and the ticket are freed right after, once each.
    let code = unsafe {
        krb5_change_password(
            ctx.0,
            &mut creds,
            new_c.as_ptr().cast(),
            &mut result,
            &mut code_string,
            &mut result_string,
        )
    };
    let (what, why) = (data_text(&code_string), data_text(&result_string));
    // SAFETY: each was filled (or left zeroed) by libkrb5 and is freed once.
    unsafe {
        krb5_free_data_contents(ctx.0, &mut code_string);
        krb5_free_data_contents(ctx.0, &mut result_string);
        krb5_free_cred_contents(ctx.0, &mut creds);
    }
    if code != 0 {
        let m = format!("kpasswd: {}", ctx.message(code));
        return if super::errors::kind_of_code(code) == super::errors::Kind::KdcUnreachable {
            KpasswdOutcome::Unavailable(m)
        } else {
            KpasswdOutcome::Failed(m)
        };
    }
    let words = if why.trim().is_empty() {
        what.clone()
    } else {
        format!("{what}: {why}")
    };
    match result {
        0 => KpasswdOutcome::Changed,
        4 => KpasswdOutcome::Rejected(words),
        n => KpasswdOutcome::Failed(format!("kpasswd result {n}: {words}")),
    }
}

/// [`change_blocking`] on the blocking pool within `timeout`.
pub async fn change(principal: &str, old: &str, new: &str, timeout: Duration) -> KpasswdOutcome {
    let (p, o, n) = (
        principal.to_string(),
        Zeroizing::new(old.to_string()),
        Zeroizing::new(new.to_string()),
    );
    let work = tokio::task::spawn_blocking(move || change_blocking(&p, &o, &n));
    match tokio::time::timeout(timeout, work).await {
        Err(_) => KpasswdOutcome::Unavailable(format!(
            "kpasswd: no answer within {:.1}s",
            timeout.as_secs_f64()
        )),
        Ok(Err(e)) => KpasswdOutcome::Failed(format!("kpasswd: {e}")),
        Ok(Ok(o)) => o,
    }
}
