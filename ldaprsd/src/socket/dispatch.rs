//! From a request to the room that answers it: lookups to `answers/`, the three PAM stages to
//! `login/`, status and explanations to `admin/` and `answers/explain.rs`. Who may ask what is
//! decided here (`FlushCache` for root only; failed logins of non-root callers slowed down;
//! SSH keys for any caller, their directory work metered per uid).

use super::offline_files::OfflineFiles;
use super::throttle::{RateLimit, Throttle, FAILURE_DELAY, SSH_KEYS_BURST, SSH_KEYS_PER_SEC};
use crate::admin::status::status;
use crate::answers::explain::short;
use crate::answers::frames::enumeration_key;
use crate::answers::lookup::owned;
use crate::answers::publish::Publisher;
use crate::answers::{Answers, Key};
use crate::clock::Clock;
use crate::directory::local::LocalFiles;
use crate::directory::ssh_keys::authorized_lines;
use crate::directory::{Directory, IdLimits};
use crate::ldap::{Entry, ServerBlock};
use crate::login::{DirectoryAccounts, Logins};
use crate::peer::Peer;
use crate::system::hostname::hostname;
use crate::{debug, info, warn};
use ldaprs_common::config::Config;
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{AuthCode, ErrorCode, Request, Response};
use std::sync::Arc;

/// The daemon's answering side for one configuration (SIGHUP builds a new one).
pub struct Service {
    dir: Arc<Directory>,
    answers: Arc<Answers>,
    logins: Logins<DirectoryAccounts>,
    throttle: Throttle,
    /// Directory work for SSH keys, per non-root uid.
    key_rate: RateLimit,
    clock: Arc<dyn Clock>,
    files: Arc<OfflineFiles>,
}

/// The requests for one user or group, answered by the shared cached answer.
fn single_lookup(req: &Request) -> Option<Key> {
    match req {
        Request::UserByName(n) => Some(Key::UserName(n.clone())),
        Request::UserByUid(u) => Some(Key::UserUid(*u)),
        Request::GroupByName(n) => Some(Key::GroupName(n.clone())),
        Request::GroupByGid(g) => Some(Key::GroupGid(*g)),
        _ => None,
    }
}

fn succeeded(resp: &Response) -> bool {
    matches!(
        resp,
        Response::Auth {
            code: AuthCode::Success,
            ..
        }
    )
}

impl Service {
    pub fn new(
        cfg: &Config,
        blocks: Vec<ServerBlock>,
        clock: Arc<dyn Clock>,
        publisher: Option<Arc<Publisher>>,
        files: Arc<OfflineFiles>,
    ) -> Service {
        Service::with_local_files(cfg, blocks, clock, LocalFiles::system(), publisher, files)
    }

    /// As [`Service::new`], with other local account files (tests).
    pub fn with_local_files(
        cfg: &Config,
        blocks: Vec<ServerBlock>,
        clock: Arc<dyn Clock>,
        local: LocalFiles,
        publisher: Option<Arc<Publisher>>,
        files: Arc<OfflineFiles>,
    ) -> Service {
        if let Some(p) = &publisher {
            p.set_limits(cfg.nss.min_uid, cfg.nss.min_gid());
        }
        let dir = Arc::new(Directory::new(cfg, blocks, clock.clone(), local));
        let answers = Arc::new(Answers::new(
            cfg,
            dir.clone(),
            clock.clone(),
            publisher,
            files.stored.clone(),
        ));
        let accounts = DirectoryAccounts {
            dir: dir.clone(),
            answers: answers.clone(),
        };
        let logins = Logins::new(accounts, cfg.pam.clone(), hostname(), clock.clone())
            .with_credentials(files.credentials.clone());
        // The local names reach the shared map at the first background tick (`probe_dead`),
        // not here: start-up stays as short as it was (the socket is already visible).
        Service {
            dir,
            answers,
            logins,
            throttle: Throttle::default(),
            key_rate: RateLimit::new(SSH_KEYS_BURST, SSH_KEYS_PER_SEC),
            clock,
            files,
        }
    }

    /// The persistent files (shared with the service that replaces this one).
    pub fn files(&self) -> &Arc<OfflineFiles> {
        &self.files
    }

    /// Background refresh of entries in use (see `answers/refresh.rs`).
    pub async fn run_refresher(self: Arc<Self>) {
        self.answers.clone().run_refresher().await
    }

    /// Retired by a reload: stop the refresher (it holds a reference to the answers).
    pub fn shutdown(&self) {
        self.answers.shutdown();
    }

    pub fn blocks(&self) -> &[ServerBlock] {
        self.dir.blocks()
    }

    pub fn limits(&self) -> &IdLimits {
        self.dir.limits()
    }

    /// At a stop: the persistent cache written, then memory and the map emptied.
    pub fn stop(&self) {
        self.answers.stored().save();
        self.flush();
    }

    /// Forgets everything cached: answers, the shared map, DNs, what binds taught.
    pub fn flush(&self) {
        self.answers.flush();
        self.logins.flush();
    }

    /// Background work: notice changed local account files (so that the shared map, which
    /// the NSS module reads without asking us, stops answering a name that became local) and
    /// probe dead URIs so that requests never pay for it.
    pub async fn probe_dead(&self) {
        self.answers.check_local_files();
        self.answers.keep_local_names_fresh();
        self.dir.probe_dead().await;
        // Notices (and logs) the change between online and offline.
        self.answers.is_offline();
        self.answers.save_stored_soon();
    }

    /// The encoded answer frame (enumerations are encoded once and reused).
    pub async fn answer(&self, req: Request, peer: Peer) -> Arc<Vec<u8>> {
        if let Some(f) = self.answers.cached_frame(&req) {
            return f;
        }
        if let Some(key) = single_lookup(&req) {
            // Encoded straight from the answer the cache shares (never copied on the way).
            let id = self.answers.next_id();
            let asker = (!peer.is_root()).then_some(peer.uid);
            let r = self.answers.lookup_as(id, key, asker).await;
            return Arc::new(ldaprs_common::protocol::frame_response(&r));
        }
        if let Some(key) = enumeration_key(&req) {
            let id = self.answers.next_id();
            return self.answers.enumeration(id, key).await;
        }
        Arc::new(ldaprs_common::protocol::frame_response(
            &self.handle(req, peer).await,
        ))
    }

    /// Answers one request. Never panics on bad input; every branch logs its decision.
    pub async fn handle(&self, req: Request, peer: Peer) -> Response {
        let id = self.answers.next_id();
        // Non-root callers' "not found" answers count against their quota in the shared map.
        let asker = (!peer.is_root()).then_some(peer.uid);
        let lookup = |key| async move { owned(self.answers.lookup_as(id, key, asker).await) };
        match req {
            Request::UserByName(n) => lookup(Key::UserName(n)).await,
            Request::UserByUid(u) => lookup(Key::UserUid(u)).await,
            Request::AllUsers => self.answers.enumeration_answer(id, Key::AllUsers).await,
            Request::GroupByName(n) => lookup(Key::GroupName(n)).await,
            Request::GroupByGid(g) => lookup(Key::GroupGid(g)).await,
            Request::AllGroups => self.answers.enumeration_answer(id, Key::AllGroups).await,
            Request::GroupsOfUser(n) => match lookup(Key::GroupsOf(n)).await {
                Response::Groups(gs) => Response::Gids(gs.iter().map(|g| g.gid).collect()),
                other => other,
            },
            Request::AccountCheck { user, ctx } => self.logins.account(id, &user, &ctx, peer).await,
            Request::Authenticate { .. } | Request::ChangePassword { .. } => {
                self.login(id, req, peer).await
            }
            Request::Status if peer.is_root() => status(&self.answers),
            Request::Status => refused(id, peer, "status"),
            Request::Explain(inner) => Box::pin(self.explain(id, *inner, peer)).await,
            Request::FlushCache => self.flush_cache(id, peer),
            Request::SshKeys { user } => self.ssh_keys(id, user, peer).await,
            Request::CacheShow { .. } | Request::CacheForget { .. } if !peer.is_root() => {
                refused(id, peer, "the offline cache")
            }
            Request::CacheShow { user } => {
                let mut lines = vec![("user".to_string(), user.clone())];
                lines.extend(self.answers.describe_stored(&user));
                lines.extend(self.logins.describe_cached(&user));
                Response::Status(lines)
            }
            Request::CacheForget { user } => {
                let stored = self.answers.forget_everywhere(&user);
                let login = self.logins.forget_cached(&user);
                info!("req={id} cache forget {user} by uid 0 (pid {}): stored answers {}, cached login {}", peer.pid, if stored { "removed" } else { "none" }, if login { "removed" } else { "none" });
                Response::Ok
            }
        }
    }

    /// The SSH keys of a user, for sshd's `AuthorizedKeysCommand`. Any uid may ask (sshd runs
    /// the command as `nobody`); a cached answer costs nothing, one that needs the directory
    /// is metered per non-root uid. Keys only for a user the account stage of service `sshd`
    /// lets in; the caller never learns why there are none (the log says).
    async fn ssh_keys(&self, id: u64, user: String, peer: Peer) -> Response {
        if !valid_name(&user) {
            return Response::NotFound;
        }
        if let Some(r) = self.answers.cached_ssh_keys(&user) {
            debug!("req={id} ssh keys user={user}: from cache");
            return r;
        }
        if !peer.is_root() && !self.key_rate.allow(peer.uid, self.clock.now()) {
            warn!("req={id} ssh keys user={user} refused for uid {} (pid {}): more than {SSH_KEYS_BURST} at once or {SSH_KEYS_PER_SEC} a second", peer.uid, peer.pid);
            return Response::Error {
                code: ErrorCode::PermissionDenied,
                message: "rate limited".into(),
            };
        }
        let resp = match self.logins.account_for_keys(id, &user, peer).await {
            (AuthCode::Success, Some((bi, entry))) => {
                Response::SshKeys(self.keys_of(id, &user, bi, &entry))
            }
            (AuthCode::UserUnknown, _) => Response::NotFound,
            (AuthCode::Unavailable, _) => Response::Error {
                code: ErrorCode::Unavailable,
                message: "directory unavailable".into(),
            },
            _ => Response::SshKeys(Vec::new()),
        };
        self.answers.remember_ssh_keys(&user, &resp);
        resp
    }

    /// The valid authorized_keys lines on the user's entry (`directory/ssh_keys.rs`).
    fn keys_of(&self, id: u64, user: &str, block: usize, entry: &Entry) -> Vec<String> {
        let Some(attr) = self
            .dir
            .blocks()
            .get(block)
            .and_then(|b| b.eff.attr_ssh_key.as_ref())
        else {
            return Vec::new();
        };
        let lines = authorized_lines(user, attr, entry.values(attr));
        info!(
            "req={id} ssh keys user={user}: {} key(s) from {attr}",
            lines.len()
        );
        lines
    }

    /// Authentication and password changes: a non-root caller's requests are answered one at a
    /// time per uid, and a failure holds its turn for the failure delay (see `throttle.rs`).
    async fn login(&self, id: u64, req: Request, peer: Peer) -> Response {
        let _turn = match peer.is_root() {
            true => None,
            false => Some(self.throttle.turn(peer.uid).await),
        };
        let resp = match req {
            Request::Authenticate {
                user,
                password,
                ctx,
            } => {
                self.logins
                    .authenticate(id, &user, &password, &ctx, peer)
                    .await
            }
            Request::ChangePassword {
                user,
                old,
                new,
                ctx,
            } => {
                self.logins
                    .change_password(id, &user, old.as_ref(), &new, &ctx, peer)
                    .await
            }
            _ => return refused(id, peer, "this request"),
        };
        if !peer.is_root() && !succeeded(&resp) {
            tokio::time::sleep(FAILURE_DELAY).await;
        }
        resp
    }

    /// A lookup, answered, with how it was answered (`ldaprsctl user show`).
    /// Root sees everything; a non-root caller may ask about its own user only, and sees the
    /// answer without the servers, bases, filters or DNs.
    async fn explain(&self, id: u64, req: Request, peer: Peer) -> Response {
        if !peer.is_root() {
            return self.explain_own(id, req, peer).await;
        }
        let mut lines = match self.answers.explain_lines(&req).await {
            Ok(l) => l,
            Err(resp) => return resp,
        };
        let answer = Box::pin(self.handle(req, peer)).await;
        lines.push(("answer".into(), short(&answer)));
        Response::Status(lines)
    }

    async fn explain_own(&self, id: u64, req: Request, peer: Peer) -> Response {
        let own = match &req {
            Request::UserByUid(u) => *u == peer.uid,
            Request::UserByName(_) => true,
            _ => false,
        };
        let query = format!("{req:?}");
        let answer = if own {
            Box::pin(self.handle(req, peer)).await
        } else {
            Response::NotFound
        };
        match answer {
            Response::User(p) if own && p.uid == peer.uid => Response::Status(vec![
                ("query".into(), query),
                ("answer".into(), short(&Response::User(p))),
            ]),
            _ => refused(id, peer, "explanations of other users"),
        }
    }

    fn flush_cache(&self, id: u64, peer: Peer) -> Response {
        if !peer.is_root() {
            warn!("req={id} cache flush refused for uid {}", peer.uid);
            return Response::Error {
                code: ErrorCode::PermissionDenied,
                message: "only root may flush the cache".into(),
            };
        }
        self.flush();
        self.answers.stored().flush();
        self.logins.credentials().flush();
        info!("req={id} cache flushed by uid 0 (pid {})", peer.pid);
        Response::Ok
    }
}

/// A request a non-root caller may not make.
fn refused(id: u64, peer: Peer, what: &str) -> Response {
    warn!(
        "req={id} {what} refused for uid {} (pid {})",
        peer.uid, peer.pid
    );
    Response::Error {
        code: ErrorCode::PermissionDenied,
        message: format!("only root may ask for {what}"),
    }
}
