//! The passwd and group entries the daemon answers, owned and borrowed from a payload.

/// One passwd entry as the daemon answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// One group entry as the daemon answers it; `members` are user names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A passwd entry borrowing its strings from a payload (the NSS fast path packs straight from
/// the shared map's bytes into the caller's buffer, without allocating each string).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswdRef<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub gecos: &'a str,
    pub dir: &'a str,
    pub shell: &'a str,
}

/// A group entry borrowing its strings from a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRef<'a> {
    pub name: &'a str,
    pub gid: u32,
    pub members: Vec<&'a str>,
}

impl Passwd {
    pub fn borrowed(&self) -> PasswdRef<'_> {
        PasswdRef {
            name: &self.name,
            uid: self.uid,
            gid: self.gid,
            gecos: &self.gecos,
            dir: &self.dir,
            shell: &self.shell,
        }
    }
}

impl Group {
    pub fn borrowed(&self) -> GroupRef<'_> {
        GroupRef {
            name: &self.name,
            gid: self.gid,
            members: self.members.iter().map(String::as_str).collect(),
        }
    }
}
