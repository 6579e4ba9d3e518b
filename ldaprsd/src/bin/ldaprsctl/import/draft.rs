//! The ldaprs.toml being built by an import: tables of keys in the order they are first set,
//! each key with the source line it came from. Only keys that exist in
//! `ldaprs_common::config` are ever set (the tests load the result with the strict parser).

/// A value as it will be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<String>),
}

/// One key of a table and where it came from (`nslcd.conf:12`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: &'static str,
    pub value: Value,
    pub from: String,
}

/// One TOML table: its keys in the order they were first set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub entries: Vec<Entry>,
}

impl Table {
    /// Sets `key` (a later value replaces an earlier one, as in both source formats).
    pub fn set(&mut self, key: &'static str, value: Value, from: &str) {
        let e = Entry {
            key,
            value,
            from: from.to_string(),
        };
        match self.entries.iter_mut().find(|x| x.key == key) {
            Some(old) => *old = e,
            None => self.entries.push(e),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|e| e.key != key);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The string value of `key`, if it is set to a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// One `[[servers]]` block and its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerDraft {
    /// `name`, `uri`, `schema`, `base`, `bind_dn`, timeouts …
    pub main: Table,
    pub tls: Table,
    pub users: Table,
    pub user_attrs: Table,
    pub groups: Table,
    pub group_attrs: Table,
    pub idmap: Table,
}

impl ServerDraft {
    pub fn new(name: &str, from: &str) -> ServerDraft {
        let mut s = ServerDraft::default();
        s.main.set("name", Value::Str(name.to_string()), from);
        s
    }

    /// The tables below `[[servers]]`, with their headers, in the order they are written.
    pub fn subtables(&self) -> [(&'static str, &Table); 6] {
        [
            ("servers.tls", &self.tls),
            ("servers.idmap", &self.idmap),
            ("servers.users", &self.users),
            ("servers.users.attributes", &self.user_attrs),
            ("servers.groups", &self.groups),
            ("servers.groups.attributes", &self.group_attrs),
        ]
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub daemon: Table,
    pub cache: Table,
    pub nss: Table,
    pub pam: Table,
    pub servers: Vec<ServerDraft>,
}

impl Draft {
    /// The top-level tables with their headers, in the order they are written.
    pub fn tables(&self) -> [(&'static str, &Table); 4] {
        [
            ("daemon", &self.daemon),
            ("cache", &self.cache),
            ("nss", &self.nss),
            ("pam", &self.pam),
        ]
    }
}

/// `[daemon] log_level` from a level name, keeping the most verbose one seen.
pub fn raise_log_level(daemon: &mut Table, level: &'static str, from: &str) {
    const ORDER: [&str; 4] = ["error", "warning", "info", "debug"];
    let rank = |l: &str| ORDER.iter().position(|x| *x == l).unwrap_or(0);
    let keep = daemon
        .str("log_level")
        .is_some_and(|old| rank(old) >= rank(level));
    if !keep {
        daemon.set("log_level", Value::Str(level.to_string()), from);
    }
}
