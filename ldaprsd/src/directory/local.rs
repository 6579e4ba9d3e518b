//! The local account files, `/etc/passwd` and `/etc/group`, read directly: the daemon never
//! asks NSS (it would ask itself, DESIGN.md hard rule 7). Names and ids found here are never
//! answered from the directory ("local users first"), and `[[servers.group_mappings]]` find
//! the gid of their `local_group` here.
//!
//! The parse is cached and redone when a file's modification time, size or inode changes
//! (editors and `useradd` replace the file, which changes the inode).

use crate::warn;
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the local files say, at one moment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LocalDb {
    /// User name → uid.
    pub users: HashMap<String, u32>,
    pub uids: HashSet<u32>,
    /// Group name → gid.
    pub groups: HashMap<String, u32>,
    pub gids: HashSet<u32>,
    /// Counts the parses: a new value means the files changed (answers cached before may
    /// name what is now local).
    pub generation: u64,
}

impl LocalDb {
    pub fn has_user(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }
    pub fn has_uid(&self, uid: u32) -> bool {
        self.uids.contains(&uid)
    }
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }
    pub fn has_gid(&self, gid: u32) -> bool {
        self.gids.contains(&gid)
    }
    pub fn gid_of(&self, group: &str) -> Option<u32> {
        self.groups.get(group).copied()
    }
}

/// `name:passwd:id:...` lines → (name, id). Comments, blank lines, NIS compat entries
/// (`+`/`-`) and malformed lines are skipped.
fn parse_ids(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.trim();
            let _pw = f.next()?;
            let id = f.next()?.trim().parse::<u32>().ok()?;
            (!name.is_empty()).then(|| (name.to_string(), id))
        })
        .collect()
}

/// A file's identity for change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: i64,
    mtime_nsec: i64,
    size: u64,
    ino: u64,
}

fn stamp(p: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(p).ok()?;
    Some(Stamp {
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
        size: m.size(),
        ino: m.ino(),
    })
}

struct Cached {
    stamps: (Option<Stamp>, Option<Stamp>),
    db: Arc<LocalDb>,
}

/// The two files and the last parse of them.
pub struct LocalFiles {
    passwd: PathBuf,
    group: PathBuf,
    cached: Mutex<Option<Cached>>,
    parses: std::sync::atomic::AtomicU64,
}

impl LocalFiles {
    pub fn new(passwd: impl Into<PathBuf>, group: impl Into<PathBuf>) -> LocalFiles {
        LocalFiles {
            passwd: passwd.into(),
            group: group.into(),
            cached: Mutex::new(None),
            parses: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `/etc/passwd` and `/etc/group`.
    pub fn system() -> LocalFiles {
        LocalFiles::new("/etc/passwd", "/etc/group")
    }

    /// The current view: two `stat` calls, and a new parse only if a file changed. `root`
    /// (uid and gid 0) is always local, even if the files cannot be read.
    pub fn get(&self) -> Arc<LocalDb> {
        let stamps = (stamp(&self.passwd), stamp(&self.group));
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref() {
            if c.stamps == stamps {
                return c.db.clone();
            }
        }
        let mut db = LocalDb {
            generation: self
                .parses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1,
            ..Default::default()
        };
        for (path, is_passwd) in [(&self.passwd, true), (&self.group, false)] {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    for (name, id) in parse_ids(&text) {
                        if is_passwd {
                            db.uids.insert(id);
                            db.users.entry(name).or_insert(id);
                        } else {
                            db.gids.insert(id);
                            db.groups.entry(name).or_insert(id);
                        }
                    }
                }
                Err(e) => warn!(
                    "cannot read {}: {e}; only root counts as local",
                    path.display()
                ),
            }
        }
        db.users.entry("root".into()).or_insert(0);
        db.uids.insert(0);
        db.groups.entry("root".into()).or_insert(0);
        db.gids.insert(0);
        let db = Arc::new(db);
        *cached = Some(Cached {
            stamps,
            db: db.clone(),
        });
        db
    }

    /// The last parse, without looking at the files again (the first call parses them). A
    /// request checks the files once at its start ([`LocalFiles::get`], through
    /// `LocalPolicy::changed`); the rest of its work uses this view: two `stat` calls per
    /// lookup instead of eight.
    pub fn last(&self) -> Arc<LocalDb> {
        if let Some(c) = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return c.db.clone();
        }
        self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_skips_odd_lines() {
        let v = parse_ids("root:x:0:0:root:/root:/bin/bash\n# comment\n\n+nis::::::\nbad line\nsvc:x:999:999::/:/usr/sbin/nologin\nneg:x:-1:0::/:\n");
        assert_eq!(v, vec![("root".to_string(), 0), ("svc".to_string(), 999)]);
    }

    #[test]
    fn refreshes_when_a_file_changes() {
        let dir = std::env::temp_dir().join(format!("ldaprs-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (p, g) = (dir.join("passwd"), dir.join("group"));
        std::fs::write(&p, "alice:x:1000:1000::/home/alice:/bin/sh\n").unwrap();
        std::fs::write(&g, "sudo:x:27:alice\n").unwrap();
        let f = LocalFiles::new(&p, &g);
        let a = f.get();
        assert!(a.has_user("alice") && a.has_uid(1000) && a.has_user("root"));
        assert_eq!(a.gid_of("sudo"), Some(27));
        assert!(!a.has_user("bob"));
        // Unchanged: the same parse.
        assert!(Arc::ptr_eq(&a, &f.get()));
        // Replaced (new inode, as useradd does): a new parse.
        let tmp = dir.join("passwd.new");
        std::fs::write(
            &tmp,
            "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        // `last` does not look at the files: the old parse until the next check.
        assert!(Arc::ptr_eq(&a, &f.last()));
        let b = f.get();
        assert!(Arc::ptr_eq(&b, &f.last()));
        assert!(b.has_user("bob") && b.has_uid(1001));
        assert_eq!((a.generation, b.generation), (1, 2));
        // Gone: only root is local.
        std::fs::remove_file(&p).unwrap();
        let c = f.get();
        assert!(!c.has_user("alice") && c.has_user("root") && c.has_gid(27));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
