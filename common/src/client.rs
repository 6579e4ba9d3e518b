//! Blocking, bounded, fork-safe client used by the NSS and PAM modules.
//!
//! Rules it keeps (DESIGN.md, hard rules 4–6):
//! - one connection per call: nothing is shared between threads or across `fork()`, so a child
//!   can never read its parent's reply, and no fd outlives the call;
//! - the fd is created `SOCK_CLOEXEC | SOCK_NONBLOCK` and moved to ≥ 3 if the host closed its
//!   stdio, so a stray write can never land on a terminal or a file the host opened as fd 2;
//! - writes use `MSG_NOSIGNAL` (a daemon that dies mid-call must not SIGPIPE the host);
//! - every wait is a `poll` bounded by one overall deadline, retried on `EINTR` with the
//!   remaining time;
//! - the reply size is bounded by [`MAX_RESPONSE`], never by the peer's length field alone;
//! - a missing socket or a refused connection is reported at once as [`ClientError::Unavailable`]
//!   so that NSS answers `UNAVAIL` and `files` users keep working.

use crate::protocol::{self, DecodeError, Request, Response, HEADER_LEN, MAX_RESPONSE};
use std::ffi::CString;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

/// Why a call did not produce a response.
#[derive(Debug)]
pub enum ClientError {
    /// No daemon is listening (no socket file, connection refused): answer UNAVAIL now.
    Unavailable(io::Error),
    /// The daemon accepted but did not answer in time.
    Timeout,
    /// Reading or writing failed after the connection was made.
    Io(io::Error),
    /// The reply was not a valid frame.
    Protocol(DecodeError),
    /// The peer on the socket is not the daemon we trust with a password.
    UntrustedPeer(u32),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unavailable(e) => write!(f, "ldaprsd is not reachable: {e}"),
            ClientError::Timeout => write!(f, "ldaprsd did not answer in time"),
            ClientError::Io(e) => write!(f, "talking to ldaprsd failed: {e}"),
            ClientError::Protocol(e) => write!(f, "bad reply from ldaprsd: {e}"),
            ClientError::UntrustedPeer(uid) => {
                write!(
                    f,
                    "the socket is served by uid {uid}, not by the daemon's owner"
                )
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// How a call is made.
#[derive(Clone, Copy, Debug)]
pub struct CallOptions {
    /// Overall budget for connect + write + read.
    pub timeout: Duration,
    /// Check with `SO_PEERCRED` that the peer is root or the owner of the socket's directory
    /// before sending anything (used before sending a password).
    pub require_trusted_peer: bool,
}

impl CallOptions {
    /// NSS lookups: a hung daemon costs at most 3 s (DESIGN.md target).
    pub const NSS: CallOptions = CallOptions {
        timeout: Duration::from_millis(2900),
        require_trusted_peer: false,
    };
    /// PAM calls: the daemon may need a failover round; every PAM call ends within 12 s.
    pub const PAM: CallOptions = CallOptions {
        timeout: Duration::from_secs(11),
        require_trusted_peer: true,
    };
}

/// An fd this call created and therefore owns; closed on drop. Never wraps a foreign fd.
struct OwnedSock(libc::c_int);

impl Drop for OwnedSock {
    fn drop(&mut self) {
        // SAFETY: the fd was returned by socket()/fcntl() in this call and is closed exactly once.
        unsafe { libc::close(self.0) };
    }
}

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn remaining(deadline: Instant) -> Result<libc::c_int, ClientError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ClientError::Timeout);
    }
    // Round up so that a 0.4 ms remainder still waits instead of spinning.
    let ms = left.as_millis().saturating_add(1);
    Ok(libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX))
}

/// Waits until `fd` is ready for `events` or the deadline passes.
fn wait(fd: libc::c_int, events: libc::c_short, deadline: Instant) -> Result<(), ClientError> {
    loop {
        let ms = remaining(deadline)?;
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: pfd is a valid pollfd on our stack and nfds is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc > 0 {
            return Ok(());
        }
        if rc == 0 {
            return Err(ClientError::Timeout);
        }
        let e = last_err();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(ClientError::Io(e));
        }
    }
}

fn connect(path: &str, deadline: Instant) -> Result<OwnedSock, ClientError> {
    let cpath = CString::new(path)
        .map_err(|_| ClientError::Unavailable(io::Error::from(io::ErrorKind::InvalidInput)))?;
    // SAFETY: plain socket(2) call; the result is checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(ClientError::Unavailable(last_err()));
    }
    let mut sock = OwnedSock(fd);
    if fd < 3 {
        // The host runs with stdio closed: never keep fd 0-2, a later write by anyone to
        // "stderr" would hit our socket (and ours theirs). F_DUPFD_CLOEXEC picks the lowest ≥ 3.
        // SAFETY: fcntl on an fd we own; result checked.
        let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if moved < 0 {
            return Err(ClientError::Unavailable(last_err()));
        }
        sock = OwnedSock(moved); // the old value is dropped (closed) here
    }

    // SAFETY: sockaddr_un is plain old data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = cpath.as_bytes_with_nul();
    if bytes.len() > addr.sun_path.len() {
        return Err(ClientError::Unavailable(io::Error::from(
            io::ErrorKind::InvalidInput,
        )));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes.iter()) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    loop {
        // SAFETY: addr is a valid sockaddr_un of `len` bytes, fd is our socket.
        let rc = unsafe {
            libc::connect(
                sock.0,
                (&addr as *const libc::sockaddr_un).cast::<libc::sockaddr>(),
                len,
            )
        };
        if rc == 0 {
            return Ok(sock);
        }
        let e = last_err();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // AF_UNIX: the listen backlog is full (daemon hung or flooded). Retry briefly
            // within the deadline rather than blocking.
            Some(libc::EAGAIN) => {
                remaining(deadline)?;
                std::thread::sleep(Duration::from_millis(5));
            }
            Some(libc::EINPROGRESS) => {
                wait(sock.0, libc::POLLOUT, deadline)?;
                return Ok(sock);
            }
            _ => return Err(ClientError::Unavailable(e)),
        }
    }
}

/// uid of the process on the other end of the socket.
fn peer_uid(fd: libc::c_int) -> Result<u32, ClientError> {
    // SAFETY: ucred is plain old data.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred/len point to valid stack memory of the size passed.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(ClientError::Io(last_err()));
    }
    Ok(cred.uid)
}

/// The owner of the directory holding the socket (root-owned `/run/ldaprs`, or the daemon's
/// own user when systemd's `RuntimeDirectory=` made it).
fn socket_dir_owner(path: &str) -> Option<u32> {
    let dir = std::path::Path::new(path).parent()?;
    let meta = std::fs::metadata(dir).ok()?;
    Some(std::os::unix::fs::MetadataExt::uid(&meta))
}

fn send_all(fd: libc::c_int, mut buf: &[u8], deadline: Instant) -> Result<(), ClientError> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice of buf.len() bytes.
        let n = unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            buf = buf.get(n as usize..).unwrap_or_default();
            continue;
        }
        let e = last_err();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => wait(fd, libc::POLLOUT, deadline)?,
            _ => return Err(ClientError::Io(e)),
        }
    }
    Ok(())
}

/// Reads what has arrived (at least one byte) into `out`.
fn recv_some(fd: libc::c_int, out: &mut [u8], deadline: Instant) -> Result<usize, ClientError> {
    loop {
        // SAFETY: out is a valid writable slice of out.len() bytes.
        let n = unsafe { libc::recv(fd, out.as_mut_ptr().cast::<libc::c_void>(), out.len(), 0) };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            return Err(ClientError::Io(io::Error::from(
                io::ErrorKind::UnexpectedEof,
            )));
        }
        let e = last_err();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => wait(fd, libc::POLLIN, deadline)?,
            _ => return Err(ClientError::Io(e)),
        }
    }
}

/// Reads exactly `out.len()` bytes.
fn recv_exact(fd: libc::c_int, out: &mut [u8], deadline: Instant) -> Result<(), ClientError> {
    let mut filled = 0usize;
    while filled < out.len() {
        let rest = out.get_mut(filled..).unwrap_or_default();
        filled += recv_some(fd, rest, deadline)?;
    }
    Ok(())
}

/// The first read of an answer: a single lookup's whole frame arrives in one `recv`.
const FIRST_READ: usize = 4096;

/// Reads one response frame, growing the buffer only as bytes really arrive. The daemon
/// sends one frame per request; bytes after it are ignored (the connection is closed).
fn recv_frame(fd: libc::c_int, deadline: Instant) -> Result<Vec<u8>, ClientError> {
    let mut first = [0u8; FIRST_READ];
    let mut have = 0usize;
    while have < HEADER_LEN {
        have += recv_some(fd, first.get_mut(have..).unwrap_or_default(), deadline)?;
    }
    let mut h = [0u8; HEADER_LEN];
    for (d, b) in h.iter_mut().zip(first.iter()) {
        *d = *b;
    }
    let len = protocol::parse_header(&h, MAX_RESPONSE).map_err(ClientError::Protocol)?;
    let inline = (have - HEADER_LEN).min(len);
    const CHUNK: usize = 64 * 1024;
    let mut payload = Vec::with_capacity(len.min(CHUNK));
    payload.extend_from_slice(
        first
            .get(HEADER_LEN..HEADER_LEN + inline)
            .unwrap_or_default(),
    );
    while payload.len() < len {
        let start = payload.len();
        let step = CHUNK.min(len - start);
        payload.resize(start + step, 0);
        let tail = payload.get_mut(start..).unwrap_or_default();
        recv_exact(fd, tail, deadline)?;
    }
    Ok(payload)
}

/// Sends one request to the daemon at `path` and returns its response.
pub fn call(path: &str, req: &Request, opts: CallOptions) -> Result<Response, ClientError> {
    let payload = call_raw(path, req, opts)?;
    protocol::decode_response(&payload).map_err(ClientError::Protocol)
}

/// As [`call`], but returns the undecoded response payload (the NSS module walks large
/// enumerations in place with [`protocol::PayloadCursor`]).
pub fn call_raw(path: &str, req: &Request, opts: CallOptions) -> Result<Vec<u8>, ClientError> {
    let deadline = Instant::now() + opts.timeout;
    let sock = connect(path, deadline)?;
    if opts.require_trusted_peer {
        let uid = peer_uid(sock.0)?;
        let trusted = uid == 0 || Some(uid) == socket_dir_owner(path);
        if !trusted {
            return Err(ClientError::UntrustedPeer(uid));
        }
    }
    // The frame may hold a password: it is built at its exact size (no reallocation leaves
    // a copy) and wiped, whole allocation, when dropped right after sending.
    let frame = protocol::frame_request(req);
    let sent = send_all(sock.0, &frame, deadline);
    drop(frame);
    sent?;
    // Nothing more will be asked on this connection: the daemon sees the end right after
    // answering, instead of waiting for it in another wake-up.
    // SAFETY: shutdown(2) on our own socket; a failure changes nothing for this call.
    unsafe { libc::shutdown(sock.0, libc::SHUT_WR) };
    recv_frame(sock.0, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{frame_response, Passwd};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    fn tmp_sock(tag: &str) -> String {
        let dir = std::env::temp_dir().join(format!("ldaprs-client-{tag}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("sock");
        let _ = std::fs::remove_file(&p);
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn missing_socket_is_unavailable_at_once() {
        let t = Instant::now();
        let r = call(
            "/nonexistent/ldaprs/socket",
            &Request::AllUsers,
            CallOptions::NSS,
        );
        assert!(matches!(r, Err(ClientError::Unavailable(_))), "{r:?}");
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn silent_daemon_times_out_within_budget() {
        let path = tmp_sock("silent");
        let _l = UnixListener::bind(&path).unwrap(); // accepts (backlog) but never answers
        let opts = CallOptions {
            timeout: Duration::from_millis(300),
            require_trusted_peer: false,
        };
        let t = Instant::now();
        let r = call(&path, &Request::AllUsers, opts);
        assert!(matches!(r, Err(ClientError::Timeout)), "{r:?}");
        let el = t.elapsed();
        assert!(
            el >= Duration::from_millis(290) && el < Duration::from_millis(800),
            "{el:?}"
        );
    }

    #[test]
    fn answers_are_decoded_and_oversize_headers_refused() {
        let path = tmp_sock("answer");
        let l = UnixListener::bind(&path).unwrap();
        let srv = std::thread::spawn(move || {
            // 1st connection: a proper answer.
            let (mut s, _) = l.accept().unwrap();
            let mut h = [0u8; HEADER_LEN];
            s.read_exact(&mut h).unwrap();
            let n = protocol::parse_header(&h, protocol::MAX_REQUEST).unwrap();
            let mut p = vec![0; n];
            s.read_exact(&mut p).unwrap();
            assert_eq!(protocol::decode_request(&p).unwrap(), Request::UserByUid(5));
            let resp = Response::User(Passwd {
                name: "a".into(),
                uid: 5,
                gid: 5,
                gecos: String::new(),
                dir: "/".into(),
                shell: "/bin/sh".into(),
            });
            s.write_all(&frame_response(&resp)).unwrap();
            // 2nd connection: a header claiming 1 GiB.
            let (mut s, _) = l.accept().unwrap();
            let _ = s.read(&mut [0u8; 64]);
            s.write_all(&protocol::header(1 << 30)).unwrap();
            // 3rd: closes without answering.
            let (s, _) = l.accept().unwrap();
            drop(s);
        });
        let r = call(&path, &Request::UserByUid(5), CallOptions::NSS).unwrap();
        assert!(matches!(r, Response::User(ref p) if p.uid == 5));
        let r = call(&path, &Request::UserByUid(5), CallOptions::NSS);
        assert!(
            matches!(r, Err(ClientError::Protocol(DecodeError::TooLarge(_)))),
            "{r:?}"
        );
        let r = call(&path, &Request::UserByUid(5), CallOptions::NSS);
        assert!(matches!(r, Err(ClientError::Io(_))), "{r:?}");
        srv.join().unwrap();
    }
}
