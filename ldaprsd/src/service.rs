//! What the daemon does with each request: cache first, then the `[[servers]]` blocks in order.
//! Authentication and account decisions are made here, never in the modules.

use crate::access::first_mapping;
use crate::cache::{Clock, TtlCache};
use crate::directory::{entry_to_passwd, first_rdn, DirError, Entry, IdLimits, ServerBlock};
use crate::local::{LocalDb, LocalFiles};
use crate::membership::UserRef;
use crate::publish::{Publisher, Subject};
use crate::{debug, info, warn};
use ldaprs_common::config::{Config, Membership, NssSection, PamSection};
use ldaprs_common::filter::{self, eq};
use ldaprs_common::names::valid_name;
use ldaprs_common::protocol::{AuthCode, ErrorCode, Group, Passwd, Request, Response};
use ldaprs_common::shm::Kind;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// An enumeration parses every entry of the directory (tens of megabytes for 100,000 users)
/// and frees it again; glibc keeps freed memory for reuse unless asked to give it back.
fn release_memory() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

/// Cache keys: one per kind of question.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    UserName(String),
    UserUid(u32),
    GroupName(String),
    GroupGid(u32),
    GroupsOf(String),
    AllUsers,
    AllGroups,
}

/// Who is asking (from `SO_PEERCRED`).
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub uid: u32,
    pub pid: i32,
}

/// A failed lookup: `Unavailable` when no block could answer.
pub(crate) type Lookup<T> = Result<Option<T>, DirError>;

/// Delay before answering a failed authentication from a non-root caller (unix_chkpwd-style
/// brake on password guessing through the socket).
pub(crate) const NON_ROOT_FAILURE_DELAY: Duration = Duration::from_secs(2);

/// Most member DNs resolved by lookup (those whose RDN is not the name attribute) per group.
const MAX_DN_LOOKUPS: usize = 5000;

pub struct Service {
    pub(crate) blocks: Vec<ServerBlock>,
    cache: TtlCache<Key, Response>,
    /// user name → (block index, DN), for membership by DN and for binds.
    pub(crate) user_dns: TtlCache<String, (usize, String)>,
    /// member DN → user name (None: not a user).
    dn_names: TtlCache<String, Option<String>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) entry_ttl: Duration,
    negative_ttl: Duration,
    pub(crate) pam: PamSection,
    pub(crate) limits: IdLimits,
    next_id: AtomicU64,
    /// `/etc/passwd` and `/etc/group`: never answered from the directory.
    pub(crate) local: LocalFiles,
    /// `[nss] ignore_users` and `ignore_groups`.
    nss: NssSection,
    /// What the last successful bind of a user said (see `login.rs`).
    pub(crate) memo: TtlCache<String, crate::login::AuthMemo>,
    /// For `$hostname` in the access filter (gethostname(2), never DNS).
    pub(crate) hostname: String,
    /// The generation of the local files the cached answers were made with.
    local_seen: AtomicU64,
    publisher: Option<Arc<Publisher>>,
    /// Encoded enumeration answers (see [`Service::answer`]).
    frames: TtlCache<Key, Arc<Vec<u8>>>,
    refresh_tx: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Key>>>,
    refreshing: std::sync::Mutex<HashSet<Key>>,
}

/// This host's name from the kernel (no resolver, no NSS).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it or
    // truncates (we stop at the first NUL or the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

fn unavailable(e: &DirError) -> Response {
    Response::Error {
        code: ErrorCode::Unavailable,
        message: e.to_string(),
    }
}

impl Service {
    pub fn new(cfg: &Config, blocks: Vec<ServerBlock>, clock: Arc<dyn Clock>) -> Service {
        Service::with_local_files(cfg, blocks, clock, LocalFiles::system())
    }

    /// As [`Service::new`], with other local account files (tests).
    pub fn with_local_files(
        cfg: &Config,
        blocks: Vec<ServerBlock>,
        clock: Arc<dyn Clock>,
        local: LocalFiles,
    ) -> Service {
        Service {
            blocks,
            cache: TtlCache::default(),
            user_dns: TtlCache::default(),
            dn_names: TtlCache::default(),
            clock,
            entry_ttl: Duration::from_secs(cfg.cache.entry_ttl),
            negative_ttl: Duration::from_secs(cfg.cache.negative_ttl),
            pam: cfg.pam.clone(),
            limits: IdLimits {
                min_uid: cfg.nss.min_uid,
                min_gid: cfg.nss.min_gid(),
            },
            next_id: AtomicU64::new(1),
            local,
            nss: cfg.nss.clone(),
            memo: TtlCache::default(),
            hostname: hostname(),
            local_seen: AtomicU64::new(0),
            publisher: None,
            frames: TtlCache::default(),
            refresh_tx: std::sync::Mutex::new(None),
            refreshing: std::sync::Mutex::new(HashSet::new()),
        }
    }

    /// Publishes every cached user, group and initgroups answer into the shared-memory map.
    pub fn with_publisher(mut self, p: Option<Arc<Publisher>>) -> Service {
        self.publisher = p;
        self
    }

    /// Background refresh: entries asked for in the last quarter of their TTL are answered
    /// from the cache at once and fetched again here, so entries in use never expire.
    pub async fn run_refresher(self: Arc<Self>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Key>();
        *self.refresh_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        while let Some(key) = rx.recv().await {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let resp = self.fetch(&key).await;
            match resp {
                Ok(r) => {
                    debug!("req={id} refreshed {key:?}");
                    self.remember(key.clone(), &r);
                }
                Err(e) => {
                    debug!("req={id} refresh of {key:?} failed, keeping the cached answer: {e}")
                }
            }
            self.refreshing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
    }

    /// Retired by a reload: stop the refresher (it holds a reference to us).
    pub fn shutdown(&self) {
        self.refresh_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    fn request_refresh(&self, key: &Key) {
        let mut set = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        if set.contains(key) {
            return;
        }
        if let Some(tx) = self
            .refresh_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if tx.send(key.clone()).is_ok() {
                set.insert(key.clone());
            }
        }
    }

    /// The local files as they are now. When they changed, every cached answer goes (a user
    /// added to /etc/passwd must stop being answered from the directory at once, including
    /// from cached enumerations and the shared map).
    pub(crate) fn local_db(&self) -> Arc<LocalDb> {
        let db = self.local.get();
        let before = self.local_seen.swap(db.generation, Ordering::Relaxed);
        if before != 0 && before != db.generation {
            info!("local account files changed: cached answers dropped");
            if let Some(p) = &self.publisher {
                p.clear();
            }
            self.cache.clear();
            self.frames.clear();
        }
        db
    }

    /// A user name that only the local files may answer.
    pub(crate) fn local_user(&self, db: &LocalDb, name: &str) -> bool {
        db.has_user(name) || self.nss.ignore_users.iter().any(|u| u == name)
    }

    fn local_group(&self, db: &LocalDb, name: &str, gid: u32) -> bool {
        db.has_group(name) || db.has_gid(gid) || self.nss.ignore_groups.iter().any(|g| g == name)
    }

    pub fn limits(&self) -> IdLimits {
        self.limits
    }

    fn cached(&self, key: &Key) -> Option<Response> {
        let (r, due) = self.cache.get_fresh(key, self.clock.now())?;
        if due {
            self.request_refresh(key);
        }
        Some(r)
    }

    fn remember(&self, key: Key, resp: &Response) {
        let ttl = match resp {
            Response::NotFound => self.negative_ttl,
            Response::Error { .. } => return,
            _ => self.entry_ttl,
        };
        if let Some(p) = &self.publisher {
            match (&key, resp) {
                (Key::UserName(n), _) => p.publish(Subject::UserName(n), resp, ttl),
                (Key::UserUid(u), _) => p.publish(Subject::UserUid(*u), resp, ttl),
                (Key::GroupName(n), _) => p.publish(Subject::GroupName(n), resp, ttl),
                (Key::GroupGid(g), _) => p.publish(Subject::GroupGid(*g), resp, ttl),
                (Key::GroupsOf(n), _) => p.publish(Subject::GroupsOf(n), resp, ttl),
                // An enumeration also answers every single lookup it contains.
                (Key::AllUsers, Response::Users(v)) => {
                    for u in v {
                        p.publish_user(u, ttl);
                    }
                }
                (Key::AllGroups, Response::Groups(v)) => {
                    for g in v {
                        p.publish_group(g, ttl);
                    }
                }
                _ => {}
            }
        }
        if matches!(key, Key::AllUsers | Key::AllGroups) {
            // Enumerations are kept encoded only (see `answer`): no second copy of every
            // entry in the cache.
            let frame = Arc::new(ldaprs_common::protocol::frame_response(resp));
            self.frames.put(key, frame, ttl, self.clock.now());
            return;
        }
        self.cache.put(key, resp.clone(), ttl, self.clock.now());
    }

    /// The encoded answer frame. Enumerations (a megabyte for 10,000 users) are encoded once
    /// and served from `frames` until the cached answer changes.
    pub async fn answer(&self, req: Request, peer: Peer) -> Arc<Vec<u8>> {
        let key = match &req {
            Request::AllUsers => Some(Key::AllUsers),
            Request::AllGroups => Some(Key::AllGroups),
            _ => None,
        };
        if let Some(k) = &key {
            let _ = self.local_db();
            if let Some((f, due)) = self.frames.get_fresh(k, self.clock.now()) {
                if due {
                    self.request_refresh(k);
                }
                return f;
            }
        }
        let resp = self.handle(req, peer).await;
        // `remember` stored the encoded enumeration; use it rather than encoding twice.
        if let (Some(k), Response::Users(_) | Response::Groups(_)) = (&key, &resp) {
            if let Some(f) = self.frames.get(k, self.clock.now()) {
                return f;
            }
        }
        Arc::new(ldaprs_common::protocol::frame_response(&resp))
    }

    /// Answers one request. Never panics on bad input; every branch logs its decision.
    pub async fn handle(&self, req: Request, peer: Peer) -> Response {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match req {
            Request::UserByName(n) => self.lookup(id, Key::UserName(n)).await,
            Request::UserByUid(u) => self.lookup(id, Key::UserUid(u)).await,
            Request::AllUsers => self.lookup(id, Key::AllUsers).await,
            Request::GroupByName(n) => self.lookup(id, Key::GroupName(n)).await,
            Request::GroupByGid(g) => self.lookup(id, Key::GroupGid(g)).await,
            Request::AllGroups => self.lookup(id, Key::AllGroups).await,
            Request::GroupsOfUser(n) => match self.lookup(id, Key::GroupsOf(n)).await {
                Response::Groups(gs) => Response::Gids(gs.iter().map(|g| g.gid).collect()),
                other => other,
            },
            Request::Authenticate {
                user,
                password,
                ctx,
            } => {
                let resp = self.authenticate(id, &user, &password, &ctx, peer).await;
                if peer.uid != 0
                    && !matches!(
                        resp,
                        Response::Auth {
                            code: AuthCode::Success,
                            ..
                        }
                    )
                {
                    tokio::time::sleep(NON_ROOT_FAILURE_DELAY).await;
                }
                resp
            }
            Request::AccountCheck { user, ctx } => self.account(id, &user, &ctx, peer).await,
            Request::ChangePassword {
                user,
                old,
                new,
                ctx,
            } => {
                let resp = self
                    .change_password(id, &user, old.as_ref(), &new, &ctx, peer)
                    .await;
                let failed = !matches!(
                    resp,
                    Response::Auth {
                        code: AuthCode::Success,
                        ..
                    }
                );
                if peer.uid != 0 && failed {
                    tokio::time::sleep(NON_ROOT_FAILURE_DELAY).await;
                }
                resp
            }
            Request::Status => self.status(),
            Request::Explain(inner) => Box::pin(self.explain(*inner, peer)).await,
            Request::FlushCache => {
                if peer.uid != 0 {
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
    }

    /// Background work: probe dead URIs so that requests never pay for it.
    pub async fn probe_dead(&self) {
        // Also notice changed local account files, so that the shared map (which the NSS
        // module reads without asking us) stops answering a name that became local.
        let _ = self.local_db();
        futures_util::future::join_all(self.blocks.iter().map(|b| b.probe_dead())).await;
    }

    pub fn blocks(&self) -> &[ServerBlock] {
        &self.blocks
    }

    /// A lookup, answered, with how it was answered: the daemon's cache, the shared map, and
    /// for each server block the base, the exact filter and what it returned.
    async fn explain(&self, req: Request, peer: Peer) -> Response {
        let (key, kind, name, id) = match &req {
            Request::UserByName(n) => (
                Key::UserName(n.clone()),
                Kind::Passwd,
                Some(n.clone()),
                None,
            ),
            Request::UserByUid(u) => (Key::UserUid(*u), Kind::Passwd, None, Some(*u)),
            Request::GroupByName(n) => (
                Key::GroupName(n.clone()),
                Kind::Group,
                Some(n.clone()),
                None,
            ),
            Request::GroupByGid(g) => (Key::GroupGid(*g), Kind::Group, None, Some(*g)),
            Request::GroupsOfUser(n) => (
                Key::GroupsOf(n.clone()),
                Kind::Initgroups,
                Some(n.clone()),
                None,
            ),
            _ => {
                return Response::Error {
                    code: ErrorCode::BadRequest,
                    message: "only lookups can be explained".into(),
                }
            }
        };
        let short = |r: &Response| match r {
            Response::User(p) => format!(
                "{}:x:{}:{}:{}:{}:{}",
                p.name, p.uid, p.gid, p.gecos, p.dir, p.shell
            ),
            Response::Group(g) => format!(
                "{}:x:{}:{} ({} members)",
                g.name,
                g.gid,
                g.members.join(","),
                g.members.len()
            ),
            Response::Groups(gs) => gs
                .iter()
                .map(|g| format!("{}({})", g.name, g.gid))
                .collect::<Vec<_>>()
                .join(" "),
            Response::Gids(g) => g.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
            Response::NotFound => "not found".into(),
            Response::Error { message, .. } => format!("error: {message}"),
            other => format!("{other:?}"),
        };
        let mut lines = vec![("query".to_string(), format!("{req:?}"))];
        lines.push((
            "daemon cache".into(),
            match self.cache.get_fresh(&key, self.clock.now()) {
                Some((r, due)) => format!(
                    "hit{}: {}",
                    if due { " (refresh due)" } else { "" },
                    short(&r)
                ),
                None => "miss".into(),
            },
        ));
        if let Some(p) = &self.publisher {
            lines.push(("shared map".into(), p.describe(kind, name.as_deref(), id)));
        }
        for b in &self.blocks {
            let e = &b.eff;
            let (base, f) = match &req {
                Request::UserByName(n) => (
                    e.user_base.clone(),
                    filter::and(&e.user_filter, &eq(&e.attr_name, n)),
                ),
                Request::UserByUid(u) => (
                    e.user_base.clone(),
                    filter::and(&e.user_filter, &eq(&e.attr_uid, &u.to_string())),
                ),
                Request::GroupByName(n) => (
                    e.group_base.clone(),
                    filter::and(&e.group_filter, &eq(&e.attr_group_name, n)),
                ),
                Request::GroupByGid(g) => (
                    e.group_base.clone(),
                    filter::and(&e.group_filter, &eq(&e.attr_group_gid, &g.to_string())),
                ),
                Request::GroupsOfUser(n) => {
                    let member = match &e.membership {
                        Membership::Names(a) => eq(a, n),
                        Membership::Dns(a) => match self.user_dns.get(n, self.clock.now()) {
                            Some((_, dn)) => eq(a, &dn),
                            None => format!("({a}=<DN of {n}>)"),
                        },
                    };
                    (e.group_base.clone(), filter::and(&e.group_filter, &member))
                }
                _ => continue,
            };
            let t = std::time::Instant::now();
            let found = match b.search(&base, &f, &["1.1".to_string()], false).await {
                Ok(v) => format!(
                    "{} entr{}{}",
                    v.len(),
                    if v.len() == 1 { "y" } else { "ies" },
                    v.first()
                        .map(|x| format!(" ({}{})", x.dn, if v.len() > 1 { ", ..." } else { "" }))
                        .unwrap_or_default()
                ),
                Err(err) => format!("error: {err}"),
            };
            lines.push((
                format!("server {}", b.name()),
                format!(
                    "base \"{base}\" filter {f}: {found} in {} µs",
                    t.elapsed().as_micros()
                ),
            ));
            lines.extend(b.status());
        }
        let answer = Box::pin(self.handle(req, peer)).await;
        lines.push(("answer".into(), short(&answer)));
        Response::Status(lines)
    }

    pub fn flush(&self) {
        if let Some(p) = &self.publisher {
            p.clear();
        }
        self.cache.clear();
        self.frames.clear();
        self.user_dns.clear();
        self.dn_names.clear();
        self.memo.clear();
    }

    /// Caches a user record learnt from a bind.
    pub(crate) fn remember_user(&self, name: &str, p: &Passwd) {
        self.remember(Key::UserName(name.to_string()), &Response::User(p.clone()));
    }

    /// Forgets what is cached about one user (after a password change).
    pub(crate) fn forget_user(&self, name: &str) {
        self.cache.remove(&Key::UserName(name.to_string()));
        self.cache.remove(&Key::GroupsOf(name.to_string()));
    }

    fn status(&self) -> Response {
        let mut lines = vec![
            (
                "ldaprsd".to_string(),
                format!("{} (pid {})", env!("CARGO_PKG_VERSION"), std::process::id()),
            ),
            ("cache entries".to_string(), self.cache.len().to_string()),
        ];
        if let Some(p) = &self.publisher {
            lines.push(("shared map".to_string(), p.path().to_string()));
        }
        for b in &self.blocks {
            lines.extend(b.status());
        }
        Response::Status(lines)
    }

    /// Whether the local files (or the ignore lists) own this question. Checked before the
    /// cache, so that a user added to `/etc/passwd` stops being answered from the directory
    /// at once.
    fn shadowed_by_local(&self, key: &Key) -> bool {
        let local = self.local_db();
        match key {
            Key::UserName(n) | Key::GroupsOf(n) => self.local_user(&local, n),
            Key::UserUid(u) => local.has_uid(*u),
            Key::GroupName(n) => self.local_group(&local, n, u32::MAX),
            Key::GroupGid(g) => local.has_gid(*g),
            Key::AllUsers | Key::AllGroups => false,
        }
    }

    /// Drops from a cached enumeration what the local files now own.
    fn without_local(&self, resp: Response) -> Response {
        let local = self.local_db();
        match resp {
            Response::Users(v) => Response::Users(
                v.into_iter()
                    .filter(|p| !self.local_user(&local, &p.name) && !local.has_uid(p.uid))
                    .collect(),
            ),
            Response::Groups(v) => Response::Groups(
                v.into_iter()
                    .filter(|g| !self.local_group(&local, &g.name, g.gid))
                    .collect(),
            ),
            other => other,
        }
    }

    async fn lookup(&self, id: u64, key: Key) -> Response {
        if self.shadowed_by_local(&key) {
            debug!("req={id} {key:?}: a local (or ignored) name or id: not asked to the directory");
            return Response::NotFound;
        }
        if let Some(r) = self.cached(&key) {
            debug!("req={id} {key:?}: from cache");
            return match key {
                Key::AllUsers | Key::AllGroups => self.without_local(r),
                _ => r,
            };
        }
        let t0 = std::time::Instant::now();
        let resp = self.fetch(&key).await;
        if crate::log::enabled(ldaprs_common::config::LogLevel::Debug) {
            debug!(
                "req={id} {key:?}: directory answered in {} µs",
                t0.elapsed().as_micros()
            );
        }
        if matches!(key, Key::AllUsers | Key::AllGroups) {
            release_memory();
        }
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                warn!("req={id} {key:?}: {e}");
                unavailable(&e)
            }
        };
        debug!(
            "req={id} {key:?}: {}",
            match &resp {
                Response::NotFound => "not found".to_string(),
                Response::Error { .. } => "unavailable".to_string(),
                Response::Users(v) => format!("{} users", v.len()),
                Response::Groups(v) => format!("{} groups", v.len()),
                _ => "found".to_string(),
            }
        );
        self.remember(key, &resp);
        resp
    }

    /// Asks the directory (no cache).
    async fn fetch(&self, key: &Key) -> Result<Response, DirError> {
        let r = match key {
            Key::UserName(n) => self.user_by_name(n).await.map(|o| o.map(Response::User)),
            Key::UserUid(u) => self.user_by_uid(*u).await.map(|o| o.map(Response::User)),
            Key::AllUsers => self.all_users().await.map(|v| Some(Response::Users(v))),
            Key::GroupName(n) => self.group_by_name(n).await.map(|o| o.map(Response::Group)),
            Key::GroupGid(g) => self.group_by_gid(*g).await.map(|o| o.map(Response::Group)),
            Key::AllGroups => self.all_groups().await.map(|v| Some(Response::Groups(v))),
            Key::GroupsOf(n) => Box::pin(self.groups_of(n))
                .await
                .map(|o| o.map(Response::Groups)),
        };
        r.map(|o| o.unwrap_or(Response::NotFound))
    }

    /// Asks each block in order; the first block that finds something answers. `Err` only when
    /// nothing was found and at least one block could not be asked.
    async fn first_hit<'s, T, F, Fut>(&'s self, mut ask: F) -> Lookup<T>
    where
        F: FnMut(usize, &'s ServerBlock) -> Fut,
        Fut: std::future::Future<Output = Lookup<T>> + 's,
    {
        let mut err = None;
        for (i, b) in self.blocks.iter().enumerate() {
            match ask(i, b).await {
                Ok(Some(t)) => return Ok(Some(t)),
                Ok(None) => {}
                Err(e) => {
                    warn!("{e}");
                    err = Some(e);
                }
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    pub(crate) fn convert_users(
        &self,
        b: &ServerBlock,
        entries: &[Entry],
        wanted: Option<&str>,
    ) -> Vec<(Passwd, String)> {
        let local = self.local_db();
        entries
            .iter()
            .filter_map(|e| match entry_to_passwd(e, &b.eff, self.limits, wanted) {
                Ok(p) if self.local_user(&local, &p.name) || local.has_uid(p.uid) => {
                    debug!(
                        "server {}: skipping {}: name or uid {} is local (or ignored)",
                        b.name(),
                        e.dn,
                        p.uid
                    );
                    None
                }
                Ok(p) => Some((p, e.dn.clone())),
                Err(r) => {
                    debug!("server {}: skipping {}: {r:?}", b.name(), e.dn);
                    None
                }
            })
            .collect()
    }

    async fn user_by_name(&self, name: &str) -> Lookup<Passwd> {
        Ok(self.user_by_name_full(name).await?.map(|(p, _)| p))
    }

    /// The user and its DN, fresh from the directory.
    async fn user_by_name_full(&self, name: &str) -> Lookup<(Passwd, String)> {
        if !valid_name(name) || self.local_user(&self.local_db(), name) {
            return Ok(None);
        }
        let hit = self
            .first_hit(|i, b| async move {
                let entries = b.find_users(&eq(&b.eff.attr_name, name), false).await?;
                let mut users = self.convert_users(b, &entries, Some(name));
                if users.len() > 1 {
                    // Two entries claim the name: answering either could be the wrong person.
                    warn!(
                        "server {}: {} entries match user {name}; refusing to pick one",
                        b.name(),
                        users.len()
                    );
                    return Err(DirError::Server(format!("ambiguous user {name}")));
                }
                Ok(users.pop().map(|(p, dn)| (i, p, dn)))
            })
            .await?;
        Ok(hit.map(|(i, p, dn)| {
            self.user_dns.put(
                name.to_string(),
                (i, dn.clone()),
                self.entry_ttl,
                self.clock.now(),
            );
            (p, dn)
        }))
    }

    async fn user_by_uid(&self, uid: u32) -> Lookup<Passwd> {
        if uid < self.limits.min_uid || self.local_db().has_uid(uid) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let entries = b
                .find_users(&eq(&b.eff.attr_uid, &uid.to_string()), false)
                .await?;
            Ok(self
                .convert_users(b, &entries, None)
                .into_iter()
                .map(|(p, _)| p)
                .find(|p| p.uid == uid))
        })
        .await
    }

    async fn all_users(&self) -> Result<Vec<Passwd>, DirError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut err = None;
        for b in &self.blocks {
            match b.all_user_entries().await {
                Ok(entries) => {
                    for (p, _) in self.convert_users(b, &entries, None) {
                        if seen.insert(p.name.clone()) {
                            out.push(p);
                        }
                    }
                }
                Err(e) => err = Some(e),
            }
        }
        match err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    fn group_attrs(b: &ServerBlock) -> Vec<String> {
        let e = &b.eff;
        let member = match &e.membership {
            Membership::Names(a) | Membership::Dns(a) => a.clone(),
        };
        vec![e.attr_group_name.clone(), e.attr_group_gid.clone(), member]
    }

    async fn find_groups(
        &self,
        b: &ServerBlock,
        extra: &str,
        paged: bool,
    ) -> Result<Vec<Entry>, DirError> {
        let f = filter::and(&b.eff.group_filter, extra);
        b.search(&b.eff.group_base, &f, &Self::group_attrs(b), paged)
            .await
    }

    /// Member DN → user name: the RDN when it is the name attribute, else a lookup (cached).
    pub(crate) async fn member_name(
        &self,
        b: &ServerBlock,
        dn: &str,
        lookups: &mut usize,
    ) -> Option<String> {
        if let Some((t, v)) = first_rdn(dn) {
            if t.eq_ignore_ascii_case(&b.eff.attr_name) {
                return valid_name(v).then(|| v.to_string());
            }
        }
        if let Some(n) = self.dn_names.get(&dn.to_string(), self.clock.now()) {
            return n;
        }
        if *lookups >= MAX_DN_LOOKUPS {
            return None;
        }
        *lookups += 1;
        let name = match b
            .search(
                dn,
                &b.eff.user_filter,
                std::slice::from_ref(&b.eff.attr_name),
                false,
            )
            .await
        {
            Ok(entries) => entries
                .first()
                .and_then(|e| e.first(&b.eff.attr_name))
                .filter(|n| valid_name(n))
                .map(str::to_string),
            Err(_) => None,
        };
        self.dn_names.put(
            dn.to_string(),
            name.clone(),
            self.entry_ttl,
            self.clock.now(),
        );
        name
    }

    async fn convert_group(
        &self,
        b: &ServerBlock,
        e: &Entry,
        wanted: Option<&str>,
    ) -> Option<Group> {
        let names = e.values(&b.eff.attr_group_name);
        let name = match wanted {
            Some(w) => names.iter().find(|n| n.as_str() == w)?,
            None => names.first()?,
        };
        if !valid_name(name) {
            return None;
        }
        let gid = e.first(&b.eff.attr_group_gid)?.trim().parse::<u32>().ok()?;
        if gid < self.limits.min_gid {
            debug!(
                "server {}: skipping group {name}: gid {gid} below min_gid",
                b.name()
            );
            return None;
        }
        if self.local_group(&self.local_db(), name, gid) {
            debug!(
                "server {}: skipping group {name}: name or gid {gid} is local (or ignored)",
                b.name()
            );
            return None;
        }
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        match &b.eff.membership {
            Membership::Names(attr) => {
                // A 5,000-member group: one copy of each name, duplicates found by reference.
                let vals = e.values(attr);
                let mut unique: HashSet<&str> = HashSet::with_capacity(vals.len());
                members = vals
                    .iter()
                    .filter(|m| valid_name(m) && unique.insert(m.as_str()))
                    .cloned()
                    .collect();
            }
            Membership::Dns(attr) => {
                for m in self.dn_members(b, e, attr).await {
                    if seen.insert(m.clone()) {
                        members.push(m);
                    }
                }
            }
        }
        Some(Group {
            name: name.clone(),
            gid,
            members,
        })
    }

    async fn group_by_name(&self, name: &str) -> Lookup<Group> {
        if !valid_name(name) || self.local_group(&self.local_db(), name, u32::MAX) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let entries = self
                .find_groups(b, &eq(&b.eff.attr_group_name, name), false)
                .await?;
            for e in &entries {
                if let Some(g) = self.convert_group(b, e, Some(name)).await {
                    return Ok(Some(g));
                }
            }
            Ok(None)
        })
        .await
    }

    async fn group_by_gid(&self, gid: u32) -> Lookup<Group> {
        if gid < self.limits.min_gid || self.local_db().has_gid(gid) {
            return Ok(None);
        }
        self.first_hit(|_, b| async move {
            let entries = self
                .find_groups(b, &eq(&b.eff.attr_group_gid, &gid.to_string()), false)
                .await?;
            for e in &entries {
                if let Some(g) = self.convert_group(b, e, None).await {
                    return Ok(Some(g));
                }
            }
            Ok(None)
        })
        .await
    }

    async fn all_groups(&self) -> Result<Vec<Group>, DirError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut err = None;
        for b in &self.blocks {
            let attrs = Self::group_attrs(b);
            match b
                .search_all(
                    &b.eff.group_base,
                    &b.eff.group_filter,
                    &b.eff.attr_group_name,
                    &attrs,
                )
                .await
            {
                Ok(entries) => {
                    for e in &entries {
                        if let Some(g) = self.convert_group(b, e, None).await {
                            if seen.insert(g.name.clone()) {
                                out.push(g);
                            }
                        }
                    }
                }
                Err(e) => err = Some(e),
            }
        }
        match err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    /// The user's supplementary groups (name and gid, members left empty), or None if the user
    /// does not exist. Local (and ignored) users are never looked up: initgroups for root or
    /// a system user costs no LDAP search. The local group of the first matching
    /// `[[servers.group_mappings]]` is added (its gid from `/etc/group`).
    async fn groups_of(&self, name: &str) -> Lookup<Vec<Group>> {
        if !valid_name(name) || self.local_user(&self.local_db(), name) {
            return Ok(None);
        }
        // The user must exist (and pass the id limits) before we say anything about it.
        match Box::pin(self.lookup(0, Key::UserName(name.to_string()))).await {
            Response::User(_) => {}
            Response::NotFound => return Ok(None),
            Response::Error { message, .. } => return Err(DirError::Unreachable(message)),
            _ => return Ok(None),
        };
        let needs_entry = self.blocks.iter().any(|b| {
            b.eff.attr_member_of.is_some() || matches!(&b.eff.group_search, Some((_, Some(a))) if !a.eq_ignore_ascii_case("dn"))
        });
        let home = if needs_entry {
            match self.user_entry_fresh(name).await? {
                Some((i, _, e)) => Some((i, e.dn.clone(), Some(e))),
                None => self
                    .memo
                    .get(&name.to_string(), self.clock.now())
                    .map(|m| (m.block, m.dn.clone(), m.entry.clone())),
            }
        } else {
            match self.user_dns.get(&name.to_string(), self.clock.now()) {
                Some((i, dn)) => Some((i, dn, None)),
                // Cached passwd without a cached DN (evicted, or caching off): ask again.
                None => self.user_by_name_full(name).await?.map(|(_, dn)| {
                    let i = self
                        .user_dns
                        .get(&name.to_string(), self.clock.now())
                        .map(|(i, _)| i)
                        .unwrap_or(0);
                    (i, dn, None)
                }),
            }
        };
        let home_ref = home
            .as_ref()
            .map(|(i, dn, e)| (*i, dn.as_str(), e.as_ref()));
        let per_block = self.all_block_groups(name, home_ref, false).await?;
        let local = self.local_db();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (b, bg) in self.blocks.iter().zip(&per_block) {
            if !bg.complete {
                warn!(
                    "server {}: groups of {name}: {}; answering the groups found",
                    b.name(),
                    bg.note.as_deref().unwrap_or("incomplete")
                );
            }
            for g in &bg.posix {
                let (Some(gname), Some(gid)) = (&g.name, g.gid) else {
                    continue;
                };
                if gid >= self.limits.min_gid
                    && valid_name(gname)
                    && !self.local_group(&local, gname, gid)
                    && seen.insert(gid)
                {
                    out.push(Group {
                        name: gname.clone(),
                        gid,
                        members: Vec::new(),
                    });
                }
            }
        }
        if let Some(m) = self
            .blocks
            .iter()
            .zip(&per_block)
            .find_map(|(b, bg)| first_mapping(b.name(), &b.cfg.group_mappings, &bg.all))
        {
            if let Some(lg) = &m.local_group {
                match local.gid_of(lg) {
                    Some(gid) => {
                        debug!("groups of {name}: group mapping #{} of server {} (member of {}) adds local group {lg} ({gid})", m.number, m.server, m.group);
                        if seen.insert(gid) {
                            out.push(Group { name: lg.clone(), gid, members: Vec::new() });
                        }
                    }
                    None => warn!("group mapping #{} of server {}: local_group {lg} is not in /etc/group; not added", m.number, m.server),
                }
            }
        }
        Ok(Some(out))
    }

    /// The user's groups in every block; the user's own block gets its DN and entry, the
    /// others its DN (for member DNs) or name (for memberUid). `force_all`: collect every
    /// group reached, POSIX or not (access rules).
    pub(crate) async fn all_block_groups(
        &self,
        name: &str,
        home: Option<(usize, &str, Option<&Entry>)>,
        force_all: bool,
    ) -> Result<Vec<crate::membership::BlockGroups>, DirError> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let (dn, entry) = match home {
                Some((hi, dn, e)) => (Some(dn), if hi == i { e } else { None }),
                None => (None, None),
            };
            let user = UserRef { name, dn, entry };
            let need_all = force_all || !b.cfg.group_mappings.is_empty();
            out.push(self.block_groups(b, &user, need_all).await?);
        }
        Ok(out)
    }

    /// The user, fresh from the directory, with the attributes a login needs
    /// ([`ServerBlock::account_attrs`]): block index, passwd record and entry.
    pub(crate) async fn user_entry_fresh(&self, name: &str) -> Lookup<(usize, Passwd, Entry)> {
        if !valid_name(name) || self.local_user(&self.local_db(), name) {
            return Ok(None);
        }
        self.first_hit(|i, b| async move {
            let f = filter::and(&b.eff.user_filter, &eq(&b.eff.attr_name, name));
            let entries = b
                .search(&b.eff.user_base, &f, &b.account_attrs(), false)
                .await?;
            let mut users: Vec<(Passwd, Entry)> = self
                .convert_users(b, &entries, Some(name))
                .into_iter()
                .filter_map(|(p, dn)| entries.iter().find(|e| e.dn == dn).map(|e| (p, e.clone())))
                .collect();
            if users.len() > 1 {
                warn!(
                    "server {}: {} entries match user {name}; refusing to pick one",
                    b.name(),
                    users.len()
                );
                return Err(DirError::Server(format!("ambiguous user {name}")));
            }
            Ok(users.pop().map(|(p, e)| {
                self.user_dns.put(
                    name.to_string(),
                    (i, e.dn.clone()),
                    self.entry_ttl,
                    self.clock.now(),
                );
                (i, p, e)
            }))
        })
        .await
    }

    /// The name of the group with this gid (the primary group), if the directory has one.
    pub(crate) async fn primary_group_name(&self, gid: u32) -> Result<Option<String>, DirError> {
        match self.lookup(0, Key::GroupGid(gid)).await {
            Response::Group(g) => Ok(Some(g.name)),
            Response::Error { message, .. } => Err(DirError::Unreachable(message)),
            _ => Ok(None),
        }
    }
}
