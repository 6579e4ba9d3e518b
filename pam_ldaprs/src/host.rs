//! The PAM host side of the module: [`RealHost`], the `PamHost` of `ldaprs_common::pam_flow`
//! over a real `pam_handle_t` (items, the conversation, syslog), and [`SocketDaemon`], its
//! `Daemon` over ldaprsd's socket. Passwords copied out of libpam or the application are wiped
//! from the copies this module frees or hands back, and every copy it makes is a buffer of
//! its final size that is wiped on drop (`Secret`, `Zeroizing`): no reallocation leaves one
//! behind in the host's (sshd's, login's) memory.

use crate::sys::{self, PamHandle};
use ldaprs_common::client::{self, CallOptions, ClientError};
use ldaprs_common::pam_flow::{Daemon, Level, PamCode, PamHost};
use ldaprs_common::protocol::{PamContext, Request, Response, Secret};
use ldaprs_common::DEFAULT_SOCKET;
use libc::{c_char, c_int, c_void};
use std::ffi::{CStr, CString};
use zeroize::{Zeroize, Zeroizing};

/// `PamHost` over a real `pam_handle_t`.
pub(crate) struct RealHost {
    pub(crate) pamh: *mut PamHandle,
    pub(crate) silent: bool,
    pub(crate) debug: bool,
}

impl RealHost {
    fn string_item(&self, item: c_int) -> String {
        let mut p: *const c_void = std::ptr::null();
        // SAFETY: pamh is the handle libpam gave us; p receives a pointer owned by libpam.
        let rc = unsafe { sys::pam_get_item(self.pamh, item, &mut p) };
        if rc != sys::PAM_SUCCESS || p.is_null() {
            return String::new();
        }
        // SAFETY: string items are NUL-terminated C strings owned by libpam.
        unsafe { CStr::from_ptr(p.cast::<c_char>()) }
            .to_string_lossy()
            .into_owned()
    }

    /// One conversation round with a single message; returns the response text, if any.
    fn converse(&mut self, style: c_int, text: &str) -> Result<Option<Secret>, PamCode> {
        let mut conv: *const c_void = std::ptr::null();
        // SAFETY: as in string_item.
        let rc = unsafe { sys::pam_get_item(self.pamh, sys::PAM_CONV, &mut conv) };
        if rc != sys::PAM_SUCCESS || conv.is_null() {
            return Err(PamCode::ConvErr);
        }
        // SAFETY: the PAM_CONV item is a struct pam_conv owned by the application.
        let conv = unsafe { &*conv.cast::<sys::PamConv>() };
        let Some(f) = conv.conv else {
            return Err(PamCode::ConvErr);
        };
        let ctext = CString::new(text).map_err(|_| PamCode::ConvErr)?;
        let msg = sys::PamMessage {
            msg_style: style,
            msg: ctext.as_ptr(),
        };
        let mut msgp: *const sys::PamMessage = &msg;
        let mut resp: *mut sys::PamResponse = std::ptr::null_mut();
        // SAFETY: one valid message; the application allocates `resp` with malloc.
        let rc = unsafe { f(1, &mut msgp, &mut resp, conv.appdata_ptr) };
        if rc != sys::PAM_SUCCESS {
            return Err(PamCode::ConvErr);
        }
        if resp.is_null() {
            return Ok(None);
        }
        // SAFETY: resp points to one pam_response allocated by the application.
        let text_ptr = unsafe { (*resp).resp };
        let answer = if text_ptr.is_null() {
            None
        } else {
            // SAFETY: a NUL-terminated string allocated by the application.
            let len = unsafe { libc::strlen(text_ptr) };
            // SAFETY: len bytes are readable and writable at text_ptr (the application's
            // malloc'ed reply, which is ours now).
            let bytes = unsafe { std::slice::from_raw_parts_mut(text_ptr.cast::<u8>(), len) };
            // Copied once into a buffer of exactly its size, then the application's copy is
            // wiped before it is freed.
            let secret = Secret::from_slice(bytes);
            bytes.zeroize();
            // SAFETY: malloc'ed by the application; we own it now (pam_conv(3)).
            unsafe { libc::free(text_ptr.cast::<c_void>()) };
            Some(secret)
        };
        // SAFETY: the response array is ours to free (pam_conv(3)).
        unsafe { libc::free(resp.cast::<c_void>()) };
        Ok(answer)
    }
}

impl RealHost {
    /// A password item (`PAM_AUTHTOK`, `PAM_OLDAUTHTOK`), copied.
    fn secret_item(&self, item: c_int) -> Option<Secret> {
        let mut p: *const c_void = std::ptr::null();
        // SAFETY: as in string_item.
        let rc = unsafe { sys::pam_get_item(self.pamh, item, &mut p) };
        if rc != sys::PAM_SUCCESS || p.is_null() {
            return None;
        }
        // SAFETY: password items are NUL-terminated strings owned by libpam.
        let bytes = unsafe { CStr::from_ptr(p.cast::<c_char>()) }.to_bytes();
        Some(Secret::from_slice(bytes))
    }

    /// Sets a password item. No `CString`: `CString::new` grows its `Vec` by one byte for the
    /// NUL (a reallocation leaving the password behind in freed memory, inside sshd) and
    /// hands the bytes back unwiped when they hold a NUL. The C string is built here in one
    /// buffer of its final size and wiped when dropped; libpam keeps its own copy.
    fn set_secret_item(&mut self, item: c_int, password: &Secret) {
        let Some(c) = nul_terminated(password) else {
            self.log(
                Level::Notice,
                "a password with a NUL byte cannot be passed on to other modules",
            );
            return;
        };
        // SAFETY: `c` is a NUL-terminated string that lives until after the call; libpam
        // copies it (pam_set_item(3)).
        unsafe { sys::pam_set_item(self.pamh, item, c.as_ptr().cast::<c_void>()) };
    }
}

impl PamHost for RealHost {
    fn user(&mut self) -> Result<String, PamCode> {
        let mut user: *const c_char = std::ptr::null();
        // SAFETY: pamh is valid; user receives a libpam-owned string.
        let rc = unsafe { sys::pam_get_user(self.pamh, &mut user, std::ptr::null()) };
        if rc != sys::PAM_SUCCESS || user.is_null() {
            return Err(PamCode::UserUnknown);
        }
        // SAFETY: a NUL-terminated string owned by libpam.
        let s = unsafe { CStr::from_ptr(user) };
        // A non-UTF-8 name cannot be valid; an empty string fails validation later.
        Ok(s.to_str().map(str::to_owned).unwrap_or_default())
    }

    fn authtok(&mut self) -> Option<Secret> {
        self.secret_item(sys::PAM_AUTHTOK)
    }

    fn set_authtok(&mut self, password: &Secret) {
        self.set_secret_item(sys::PAM_AUTHTOK, password);
    }

    fn old_authtok(&mut self) -> Option<Secret> {
        self.secret_item(sys::PAM_OLDAUTHTOK)
    }

    fn set_old_authtok(&mut self, password: &Secret) {
        self.set_secret_item(sys::PAM_OLDAUTHTOK, password);
    }

    fn caller_is_root(&mut self) -> bool {
        // SAFETY: getuid(2) cannot fail and has no preconditions.
        unsafe { libc::getuid() == 0 }
    }

    fn info_message(&mut self, msg: &str) {
        if !self.silent {
            let _ = self.converse(sys::PAM_TEXT_INFO, msg);
        }
    }

    fn prompt_password(&mut self, prompt: &str) -> Result<Secret, PamCode> {
        match self.converse(sys::PAM_PROMPT_ECHO_OFF, prompt)? {
            Some(s) => Ok(s),
            None => Err(PamCode::ConvErr),
        }
    }

    fn error_message(&mut self, msg: &str) {
        if !self.silent {
            let _ = self.converse(sys::PAM_ERROR_MSG, msg);
        }
    }

    fn context(&mut self) -> PamContext {
        PamContext {
            service: self.string_item(sys::PAM_SERVICE),
            rhost: self.string_item(sys::PAM_RHOST),
            tty: self.string_item(sys::PAM_TTY),
        }
    }

    fn log(&mut self, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let prio = match level {
            Level::Error => libc::LOG_ERR,
            Level::Warning => libc::LOG_WARNING,
            Level::Notice => libc::LOG_NOTICE,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        };
        let text = CString::new(msg.replace('\0', "?")).unwrap_or_default();
        // SAFETY: "%s" with one C string argument; pam_syslog logs to authpriv.
        unsafe { sys::pam_syslog(self.pamh, prio, c"%s".as_ptr(), text.as_ptr()) };
    }
}

/// `password` and a NUL, in one buffer allocated at its final size and wiped on drop; `None`
/// if the password holds a NUL (C cannot carry it).
pub(crate) fn nul_terminated(password: &Secret) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = password.expose();
    if bytes.contains(&0) {
        return None;
    }
    let mut c = Zeroizing::new(Vec::with_capacity(bytes.len().saturating_add(1)));
    c.extend_from_slice(bytes);
    c.push(0);
    Some(c)
}

pub(crate) struct SocketDaemon;

impl Daemon for SocketDaemon {
    fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        client::call(DEFAULT_SOCKET, req, CallOptions::PAM)
    }
}
