//! Which names and ids only the host may answer: the local files plus `[nss] ignore_users`
//! and `ignore_groups`, and whether that set changed since the answers were made.

use super::local::{LocalDb, LocalFiles};
use ldaprs_common::config::NssSection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct LocalPolicy {
    files: LocalFiles,
    ignore_users: Vec<String>,
    ignore_groups: Vec<String>,
    /// The generation of the local files the cached answers were made with.
    seen: AtomicU64,
}

impl LocalPolicy {
    pub fn new(files: LocalFiles, nss: &NssSection) -> LocalPolicy {
        LocalPolicy {
            files,
            ignore_users: nss.ignore_users.clone(),
            ignore_groups: nss.ignore_groups.clone(),
            seen: AtomicU64::new(0),
        }
    }

    /// The local files as the current request found them (checked at its start by
    /// [`LocalPolicy::changed`]; see `LocalFiles::last`).
    pub fn db(&self) -> Arc<LocalDb> {
        self.files.last()
    }

    /// The local files as they are now (two `stat` calls): for work that does not start
    /// with a lookup's check (a login's entry, `ldaprsctl` explanations).
    pub fn fresh_db(&self) -> Arc<LocalDb> {
        self.files.get()
    }

    /// True once after the local files changed: every cached answer must go then (a user
    /// added to /etc/passwd must stop being answered from the directory at once, including
    /// from cached enumerations and the shared map).
    pub fn changed(&self) -> bool {
        let db = self.files.get();
        let before = self.seen.swap(db.generation, Ordering::Relaxed);
        before != 0 && before != db.generation
    }

    /// `[nss] ignore_users`.
    pub fn ignore_users(&self) -> &[String] {
        &self.ignore_users
    }

    /// `[nss] ignore_groups`.
    pub fn ignore_groups(&self) -> &[String] {
        &self.ignore_groups
    }

    /// A user name that only the local files may answer.
    pub fn user(&self, db: &LocalDb, name: &str) -> bool {
        db.has_user(name) || self.ignore_users.iter().any(|u| u == name)
    }

    /// A group name or gid that only the local files may answer.
    pub fn group(&self, db: &LocalDb, name: &str, gid: u32) -> bool {
        db.has_group(name) || db.has_gid(gid) || self.ignore_groups.iter().any(|g| g == name)
    }
}
