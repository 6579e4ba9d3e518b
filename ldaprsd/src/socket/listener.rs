//! The Unix socket the modules talk to: framed requests in, framed responses out, the peer's
//! uid from `SO_PEERCRED`, and limits that keep one local user from stalling everyone: a cap
//! on each non-root uid's connections and on all of them together, root's own reserve (so
//! sshd, login and su never wait behind anyone), deadlines on every read and write, an idle
//! timeout and a request cap per connection.

use super::admission::Admission;
use super::dispatch::Service;
use crate::peer::Peer;
use crate::{debug, warn};
use futures_util::FutureExt;
use ldaprs_common::protocol::{self, ErrorCode, Response, HEADER_LEN, MAX_REQUEST};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use zeroize::Zeroizing;

/// A client that connects and does not send a whole request within this time (or stays idle
/// that long between requests) is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that does not read its answer within this time is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served on one connection before it is closed (the modules make one per call).
const MAX_REQUESTS_PER_CONNECTION: usize = 10_000;
/// Upper bound for answering one request (the modules give up earlier).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Binds the socket: creates its directory (0755) if needed, replaces a stale socket (never
/// another kind of file), and makes it connectable by everyone (NSS runs in every process).
pub fn bind(path: &str) -> std::io::Result<UnixListener> {
    let p = Path::new(path);
    if let Some(dir) = p.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(p) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(p)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{path} exists and is not a socket; refusing to replace it"),
            ));
        }
    }
    let l = UnixListener::bind(p)?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666))?;
    Ok(l)
}

/// The service answering now; SIGHUP swaps in a new one (see `daemon/reload.rs`).
pub type Current = Arc<std::sync::RwLock<Arc<Service>>>;

/// The current service (a cheap Arc clone; the lock is held only for the clone).
pub fn snapshot(current: &Current) -> Arc<Service> {
    current.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Accepts for ever. A connection is admitted or closed at once, never left waiting: accepting
/// must go on for root while other users' connections are at their caps.
pub async fn serve(listener: UnixListener, current: Current) {
    let admission = Arc::new(Admission::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let peer = match stream.peer_cred() {
            Ok(c) => Peer {
                uid: c.uid(),
                pid: c.pid().unwrap_or(0),
            },
            Err(e) => {
                warn!("no peer credentials: {e}");
                continue;
            }
        };
        let Some(ticket) = admission.admit(peer.uid) else {
            admission.refused(peer);
            continue; // dropped: the module sees EOF and answers UNAVAIL at once
        };
        let svc = snapshot(&current);
        tokio::spawn(async move {
            handle_conn(stream, peer, svc).await;
            drop(ticket);
        });
    }
}

async fn read_request(stream: &mut UnixStream) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let mut h = [0u8; HEADER_LEN];
    match stream.read_exact(&mut h).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let len = protocol::parse_header(&h, MAX_REQUEST).map_err(|e| e.to_string())?;
    // May hold a password: sized once from the header (never grown) and wiped on drop, also
    // when READ_TIMEOUT cuts the read short.
    let mut payload = Zeroizing::new(vec![0u8; len]);
    stream
        .read_exact(&mut payload[..])
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(payload))
}

async fn handle_conn(mut stream: UnixStream, peer: Peer, svc: Arc<Service>) {
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let payload = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
            Err(_) => return, // idle or too slow
            Ok(Ok(None)) => return,
            Ok(Ok(Some(p))) => p,
            Ok(Err(e)) => {
                debug!("bad request from pid {} uid {}: {e}", peer.pid, peer.uid);
                let resp = Response::Error {
                    code: ErrorCode::BadRequest,
                    message: e,
                };
                let frame = protocol::frame_response(&resp);
                let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&frame)).await;
                return;
            }
        };
        let started = std::time::Instant::now();
        let error = |code: ErrorCode, message: String| {
            Arc::new(protocol::frame_response(&Response::Error { code, message }))
        };
        let decoded = protocol::decode_request(&payload);
        // Wiped as soon as it is decoded; the decoded Request's Secrets wipe themselves.
        drop(payload);
        let frame = match decoded {
            Ok(req) => {
                // A panic inside a library (ldap3 panics on some malformed server data)
                // becomes an error answer, not a dead daemon. (Caught in place rather than in
                // a task of its own: one spawn and wake-up less per request.) Boxed: the
                // answering future is large, and inline it made every connection's task as
                // large, copied whole at each spawn and again when the task ends.
                let work =
                    std::panic::AssertUnwindSafe(Box::pin(svc.answer(req, peer))).catch_unwind();
                match tokio::time::timeout(ANSWER_TIMEOUT, work).await {
                    Ok(Ok(f)) => f,
                    Ok(Err(_)) => {
                        warn!(
                            "request from pid {} failed internally (panic caught)",
                            peer.pid
                        );
                        error(ErrorCode::Internal, "internal error".into())
                    }
                    Err(_) => error(ErrorCode::Unavailable, "timed out".into()),
                }
            }
            Err(e) => error(ErrorCode::BadRequest, e.to_string()),
        };
        match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                debug!(
                    "pid {} uid {} did not read its answer; dropped",
                    peer.pid, peer.uid
                );
                return;
            }
        }
        if crate::log::enabled(ldaprs_common::config::LogLevel::Debug) {
            debug!(
                "answered pid {} in {} µs",
                peer.pid,
                started.elapsed().as_micros()
            );
        }
    }
}
