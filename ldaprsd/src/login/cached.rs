//! Cached logins (`[offline] cache_credentials = true`), kept in `[offline] dir`/
//! `credentials.db`: per user an Argon2id hash of the password of the last successful online
//! login (PHC string: salt per user and the parameters in it; never the password), when that
//! was, the wrong offline passwords in a row and until when offline login is locked, and the
//! facts the access rules and the account state are evaluated from offline (the entry and the
//! groups of the last online account stage). `offline.rs` decides with them.

use crate::directory::mappings::MappingMatch;
use crate::ldap::Entry;
use crate::persist::codec::{Decoder, Encoder, Truncated};
use crate::persist::PersistDir;
use crate::{info, warn};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ldaprs_common::config::OfflineSection;
use ldaprs_common::protocol::Passwd;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

pub const FILE: &str = "credentials.db";
const KIND: &[u8; 4] = b"CRED";
pub const VERSION: u32 = 1;

/// What the access rules saw at the last online account stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedFacts {
    pub block: u32,
    pub passwd: Passwd,
    pub entry: Entry,
    /// Every group of the user (None: not evaluated, or not evaluable, last time).
    pub groups: Option<Vec<String>>,
    pub mapping: Option<MappingMatch>,
    /// The access filter as sent and whether the entry matched it.
    pub filter: Option<(String, bool)>,
    /// Unix time of that account stage.
    pub at: i64,
}

/// One user's cached login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedLogin {
    /// The Argon2id PHC string and the Unix time of the online login it came from.
    pub hash: Option<(String, i64)>,
    pub failures: u32,
    pub locked_until: i64,
    pub facts: Option<CachedFacts>,
    /// Changed at every removal of the hash, and new for every record made (memory only,
    /// from one counter that only grows): a hash made in the background for an older login
    /// is not stored over a later refusal, `cache forget` or `cache flush`.
    pub generation: u64,
}

/// The cached logins, in memory and in their file.
pub struct Credentials {
    dir: Option<PersistDir>,
    pub cfg: OfflineSection,
    settings: Vec<u8>,
    users: Mutex<HashMap<String, CachedLogin>>,
    writing: Mutex<()>,
    /// Replaced by an instance for other settings: never writes again.
    retired: AtomicBool,
    /// The last generation given (see [`CachedLogin::generation`]).
    generations: AtomicU64,
}

/// An Argon2id hash of `pw` with a fresh 16-byte salt (getrandom(2)) and the crate's default
/// parameters (19 MiB, 2 passes, 1 lane: RFC 9106's second recommendation, OWASP's minimum).
pub fn hash_password(pw: &[u8]) -> Option<String> {
    let mut salt = [0u8; 16];
    // SAFETY: getrandom writes at most 16 bytes into the 16-byte buffer.
    let n = unsafe { libc::getrandom(salt.as_mut_ptr().cast(), salt.len(), 0) };
    if n != 16 {
        return None;
    }
    let salt = SaltString::encode_b64(&salt).ok()?;
    Argon2::default()
        .hash_password(pw, &salt)
        .ok()
        .map(|h| h.to_string())
}

/// Whether `pw` matches the PHC string (its own parameters and salt).
pub fn verify_password(pw: &[u8], phc: &str) -> bool {
    PasswordHash::new(phc)
        .and_then(|h| Argon2::default().verify_password(pw, &h))
        .is_ok()
}

/// Argon2 jobs running at once, hashing and verifying, online and offline. Each takes 19 MiB
/// for a few tens of milliseconds: 256 root connections at once (socket/admission.rs) must
/// not mean 256 × 19 MiB on a laptop, and more jobs than cores only queue on the CPU anyway.
pub const ARGON2_AT_ONCE: usize = 2;
pub(super) static ARGON2_TURNS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(ARGON2_AT_ONCE);

/// [`hash_password`] on the blocking pool, waiting for one of the [`ARGON2_AT_ONCE`] turns.
pub async fn hash_bounded(pw: Zeroizing<Vec<u8>>) -> Option<String> {
    let _turn = ARGON2_TURNS.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .ok()
        .flatten()
}

/// [`verify_password`] on the blocking pool, waiting for one of the [`ARGON2_AT_ONCE`] turns.
pub async fn verify_bounded(pw: Zeroizing<Vec<u8>>, phc: String) -> bool {
    let Ok(_turn) = ARGON2_TURNS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_password(&pw, &phc))
        .await
        .unwrap_or(false)
}

fn encode_entry(e: &mut Encoder, x: &Entry) {
    e.str(&x.dn);
    e.u32(x.attrs.len() as u32);
    for (k, v) in &x.attrs {
        e.str(k);
        e.strs(v);
    }
}

fn decode_entry(d: &mut Decoder<'_>) -> Result<Entry, Truncated> {
    let dn = d.str()?;
    let attrs = (0..d.count(8)?)
        .map(|_| Ok((d.str()?, d.strs()?)))
        .collect::<Result<_, Truncated>>()?;
    Ok(Entry { dn, attrs })
}

fn encode_facts(e: &mut Encoder, f: &CachedFacts) {
    e.u32(f.block);
    let p = &f.passwd;
    for s in [&p.name, &p.gecos, &p.dir, &p.shell] {
        e.str(s);
    }
    e.u32(p.uid);
    e.u32(p.gid);
    encode_entry(e, &f.entry);
    e.u8(u8::from(f.groups.is_some()));
    e.strs(f.groups.as_deref().unwrap_or_default());
    e.u8(u8::from(f.mapping.is_some()));
    if let Some(m) = &f.mapping {
        e.u32(m.number as u32);
        e.str(&m.server);
        e.str(&m.group);
        e.u8(u8::from(m.allow_login));
        e.str(m.local_group.as_deref().unwrap_or_default());
        e.u8(u8::from(m.local_group.is_some()));
    }
    e.u8(u8::from(f.filter.is_some()));
    if let Some((s, m)) = &f.filter {
        e.str(s);
        e.u8(u8::from(*m));
    }
    e.i64(f.at);
}

fn decode_facts(d: &mut Decoder<'_>) -> Result<CachedFacts, Truncated> {
    let block = d.u32()?;
    let (name, gecos, dir, shell) = (d.str()?, d.str()?, d.str()?, d.str()?);
    let passwd = Passwd {
        name,
        uid: d.u32()?,
        gid: d.u32()?,
        gecos,
        dir,
        shell,
    };
    let entry = decode_entry(d)?;
    let has_groups = d.u8()? == 1;
    let groups = d.strs()?;
    let mapping = match d.u8()? {
        1 => {
            let (number, server, group) = (d.u32()? as usize, d.str()?, d.str()?);
            let allow_login = d.u8()? == 1;
            let local = d.str()?;
            let local_group = (d.u8()? == 1).then_some(local);
            Some(MappingMatch {
                number,
                server,
                group,
                allow_login,
                local_group,
            })
        }
        _ => None,
    };
    let filter = match d.u8()? {
        1 => Some((d.str()?, d.u8()? == 1)),
        _ => None,
    };
    Ok(CachedFacts {
        block,
        passwd,
        entry,
        groups: has_groups.then_some(groups),
        mapping,
        filter,
        at: d.i64()?,
    })
}

pub fn encode(settings: &[u8], users: &HashMap<String, CachedLogin>) -> Vec<u8> {
    let mut e = Encoder::default();
    e.bytes(settings);
    e.u32(users.len() as u32);
    for (name, u) in users {
        e.str(name);
        let (h, t) = u.hash.clone().unwrap_or_default();
        e.u8(u8::from(u.hash.is_some()));
        e.str(&h);
        e.i64(t);
        e.u32(u.failures);
        e.i64(u.locked_until);
        e.u8(u8::from(u.facts.is_some()));
        if let Some(f) = &u.facts {
            encode_facts(&mut e, f);
        }
    }
    e.buf
}

pub fn decode(body: &[u8]) -> Result<(Vec<u8>, HashMap<String, CachedLogin>), Truncated> {
    let mut d = Decoder::new(body);
    let settings = d.bytes()?.to_vec();
    let mut users = HashMap::new();
    for _ in 0..d.count(30)? {
        let name = d.str()?;
        let has = d.u8()? == 1;
        let (h, t) = (d.str()?, d.i64()?);
        let mut u = CachedLogin {
            hash: has.then_some((h, t)),
            failures: d.u32()?,
            locked_until: d.i64()?,
            facts: None,
            generation: 0,
        };
        if d.u8()? == 1 {
            u.facts = Some(decode_facts(&mut d)?);
        }
        users.insert(name, u);
    }
    if !d.is_empty() {
        return Err(Truncated);
    }
    Ok((settings, users))
}

impl Credentials {
    /// No cached logins (`cache_credentials = false`, or no usable directory).
    pub fn disabled(cfg: &OfflineSection) -> Credentials {
        Credentials {
            dir: None,
            cfg: cfg.clone(),
            settings: Vec::new(),
            users: Mutex::new(HashMap::new()),
            writing: Mutex::new(()),
            retired: AtomicBool::new(false),
            generations: AtomicU64::new(0),
        }
    }

    /// Opens `[offline] dir`/`credentials.db` when `cache_credentials` is on; a file that is
    /// not trusted is set aside with one warning. Off, an existing file is removed: hashes are
    /// never kept longer than the admin wants them.
    pub fn open(cfg: &OfflineSection, settings: &[u8]) -> Credentials {
        let mut c = Credentials::disabled(cfg);
        let dir = match PersistDir::open(&cfg.dir) {
            Ok((d, _)) => d,
            Err(e) => {
                if cfg.cache_credentials {
                    warn!("cached credentials off: {e}");
                }
                return c;
            }
        };
        if !cfg.cache_credentials {
            if dir.file(FILE).exists() {
                match dir.remove(FILE) {
                    Ok(()) => info!(
                        "cached credentials: [offline] cache_credentials is off; {} removed",
                        dir.file(FILE).display()
                    ),
                    Err(e) => warn!("cached credentials: {e}"),
                }
            }
            return c;
        }
        c.settings = settings.to_vec();
        *c.users.get_mut().unwrap_or_else(|p| p.into_inner()) = load(&dir, settings);
        c.dir = Some(dir);
        c
    }

    pub fn enabled(&self) -> bool {
        self.dir.is_some()
    }

    /// A copy of the user's cached login.
    pub fn get(&self, user: &str) -> Option<CachedLogin> {
        self.lock().get(user).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedLogin>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes one user's record (created if missing) and writes the file, off the request
    /// thread when a runtime is running.
    pub fn update(self: &Arc<Self>, user: &str, f: impl FnOnce(&mut CachedLogin)) {
        if !self.enabled() {
            return;
        }
        f(self.record(&mut self.lock(), user));
        self.save_soon();
    }

    /// A new generation, never given before by this instance.
    pub fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The user's record, made (with a new generation) when missing.
    fn record<'a>(
        &self,
        users: &'a mut HashMap<String, CachedLogin>,
        user: &str,
    ) -> &'a mut CachedLogin {
        users
            .entry(user.to_string())
            .or_insert_with(|| CachedLogin {
                generation: self.next_generation(),
                ..CachedLogin::default()
            })
    }

    /// The user's generation now (a record made in memory when missing): a hash made for
    /// this login is stored only if it is still the same then.
    pub fn generation(&self, user: &str) -> u64 {
        self.record(&mut self.lock(), user).generation
    }

    /// Changes an existing record under the lock (None when there is none): `f` returns its
    /// answer and whether the file must be written.
    pub fn try_update<R>(
        self: &Arc<Self>,
        user: &str,
        f: impl FnOnce(&mut CachedLogin) -> (R, bool),
    ) -> Option<R> {
        let (r, changed) = f(self.lock().get_mut(user)?);
        if changed {
            self.save_soon();
        }
        Some(r)
    }

    /// Forgets one user entirely (memory and disk). Whether there was something.
    pub fn forget(self: &Arc<Self>, user: &str) -> bool {
        let had = self.lock().remove(user).is_some();
        if had {
            self.save_soon();
        }
        had
    }

    /// Forgets everyone (memory and disk).
    /// Under the writing lock: a save under way finishes first, and none writes the old
    /// records after (every record made later has a new generation, so no hash being made
    /// for an earlier login is stored either).
    pub fn flush(&self) {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.lock().clear();
        if let Some(d) = &self.dir {
            if let Err(e) = d.remove(FILE) {
                warn!("cached credentials: {e}");
            }
        }
    }

    pub fn save(&self) {
        let Some(d) = &self.dir else {
            return;
        };
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if self.retired.load(Ordering::Relaxed) {
            return;
        }
        let body = encode(&self.settings, &self.lock());
        if let Err(e) = d.write(FILE, KIND, VERSION, &body) {
            warn!("cached credentials: {e}");
        }
    }

    /// Replaced by an instance opened for other settings: a write under way finishes, and
    /// none follows (the file belongs to the new instance).
    pub fn retire(&self) {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.retired.store(true, Ordering::Relaxed);
    }

    fn save_soon(self: &Arc<Self>) {
        let me = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(move || me.save());
            }
            Err(_) => me.save(),
        }
    }
}

fn load(dir: &PersistDir, settings: &[u8]) -> HashMap<String, CachedLogin> {
    let path = dir.file(FILE).display().to_string();
    let body = match dir.read(FILE, KIND, VERSION) {
        Ok(None) => return HashMap::new(),
        Ok(Some(b)) => b,
        Err(e) => {
            let moved = dir.set_aside(FILE);
            warn!("cached credentials {path} {e}: not used, set aside as {moved}; no user can log in offline until they log in online again");
            return HashMap::new();
        }
    };
    match decode(&body) {
        Ok((s, users)) if s == settings => {
            info!("cached credentials {path}: {} users", users.len());
            users
        }
        Ok(_) => {
            info!("cached credentials {path}: written under other [nss], [pam] or [[servers]] settings; not used");
            HashMap::new()
        }
        Err(Truncated) => {
            let moved = dir.set_aside(FILE);
            warn!("cached credentials {path} corrupt: its records do not decode: not used, set aside as {moved}");
            HashMap::new()
        }
    }
}
