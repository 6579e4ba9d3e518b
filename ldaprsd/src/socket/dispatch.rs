//! From a request to the room that answers it: lookups to `answers/`, the three PAM stages to
//! `login/`, status and explanations to `admin/` and `answers/explain.rs`. Who may ask what is
//! decided here (`FlushCache` for root only; failed logins of non-root callers slowed down).

use crate::admin::status::status;
use crate::answers::explain::short;
use crate::answers::frames::enumeration_key;
use crate::answers::publish::Publisher;
use crate::answers::{Answers, Key};
use crate::clock::Clock;
use crate::directory::local::LocalFiles;
use crate::directory::{Directory, IdLimits};
use crate::ldap::ServerBlock;
use crate::login::{DirectoryAccounts, Logins};
use crate::peer::Peer;
use crate::system::hostname::hostname;
use crate::{info, warn};
use ldaprs_common::config::Config;
use ldaprs_common::protocol::{AuthCode, ErrorCode, Request, Response};
use std::sync::Arc;
use std::time::Duration;

/// Delay before answering a failed authentication from a non-root caller (unix_chkpwd-style
/// brake on password guessing through the socket).
pub const NON_ROOT_FAILURE_DELAY: Duration = Duration::from_secs(2);

/// The daemon's answering side for one configuration (SIGHUP builds a new one).
pub struct Service {
    dir: Arc<Directory>,
    answers: Arc<Answers>,
    logins: Logins<DirectoryAccounts>,
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
    ) -> Service {
        Service::with_local_files(cfg, blocks, clock, LocalFiles::system(), publisher)
    }

    /// As [`Service::new`], with other local account files (tests).
    pub fn with_local_files(
        cfg: &Config,
        blocks: Vec<ServerBlock>,
        clock: Arc<dyn Clock>,
        local: LocalFiles,
        publisher: Option<Arc<Publisher>>,
    ) -> Service {
        let dir = Arc::new(Directory::new(cfg, blocks, clock.clone(), local));
        let answers = Arc::new(Answers::new(cfg, dir.clone(), clock.clone(), publisher));
        let accounts = DirectoryAccounts {
            dir: dir.clone(),
            answers: answers.clone(),
        };
        let logins = Logins::new(accounts, cfg.pam.clone(), hostname(), clock);
        Service {
            dir,
            answers,
            logins,
        }
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

    pub fn limits(&self) -> IdLimits {
        self.dir.limits()
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
        self.dir.probe_dead().await;
    }

    /// The encoded answer frame (enumerations are encoded once and reused).
    pub async fn answer(&self, req: Request, peer: Peer) -> Arc<Vec<u8>> {
        if let Some(f) = self.answers.cached_frame(&req) {
            return f;
        }
        let key = enumeration_key(&req);
        self.answers.frame_of(key, self.handle(req, peer)).await
    }

    /// Answers one request. Never panics on bad input; every branch logs its decision.
    pub async fn handle(&self, req: Request, peer: Peer) -> Response {
        let id = self.answers.next_id();
        match req {
            Request::UserByName(n) => self.answers.lookup(id, Key::UserName(n)).await,
            Request::UserByUid(u) => self.answers.lookup(id, Key::UserUid(u)).await,
            Request::AllUsers => self.answers.lookup(id, Key::AllUsers).await,
            Request::GroupByName(n) => self.answers.lookup(id, Key::GroupName(n)).await,
            Request::GroupByGid(g) => self.answers.lookup(id, Key::GroupGid(g)).await,
            Request::AllGroups => self.answers.lookup(id, Key::AllGroups).await,
            Request::GroupsOfUser(n) => match self.answers.lookup(id, Key::GroupsOf(n)).await {
                Response::Groups(gs) => Response::Gids(gs.iter().map(|g| g.gid).collect()),
                other => other,
            },
            Request::Authenticate {
                user,
                password,
                ctx,
            } => {
                let resp = self
                    .logins
                    .authenticate(id, &user, &password, &ctx, peer)
                    .await;
                slow_down_failure(peer, &resp).await;
                resp
            }
            Request::AccountCheck { user, ctx } => self.logins.account(id, &user, &ctx, peer).await,
            Request::ChangePassword {
                user,
                old,
                new,
                ctx,
            } => {
                let resp = self
                    .logins
                    .change_password(id, &user, old.as_ref(), &new, &ctx, peer)
                    .await;
                slow_down_failure(peer, &resp).await;
                resp
            }
            Request::Status => status(&self.answers),
            Request::Explain(inner) => Box::pin(self.explain(*inner, peer)).await,
            Request::FlushCache => self.flush_cache(id, peer),
        }
    }

    /// A lookup, answered, with how it was answered (`ldaprsctl user show`).
    async fn explain(&self, req: Request, peer: Peer) -> Response {
        let mut lines = match self.answers.explain_lines(&req).await {
            Ok(l) => l,
            Err(resp) => return resp,
        };
        let answer = Box::pin(self.handle(req, peer)).await;
        lines.push(("answer".into(), short(&answer)));
        Response::Status(lines)
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
        info!("req={id} cache flushed by uid 0 (pid {})", peer.pid);
        Response::Ok
    }
}

/// A failed login of a non-root caller waits before its answer.
async fn slow_down_failure(peer: Peer, resp: &Response) {
    if !peer.is_root() && !succeeded(resp) {
        tokio::time::sleep(NON_ROOT_FAILURE_DELAY).await;
    }
}
