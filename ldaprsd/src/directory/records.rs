//! Entries to records: a user entry becomes a passwd record only when every rule holds (exact
//! name, numeric ids at or above the minimum, fields without control characters).

use crate::ldap::Entry;
use ldaprs_common::config::Effective;
use ldaprs_common::names::{valid_field, valid_name};
use ldaprs_common::protocol::Passwd;

/// Why an entry was not turned into a record: logged once per cache period (see
/// `Directory::hidden`) and shown by `ldaprsctl user show` with the key that changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    Missing(&'static str),
    BadNumber(&'static str),
    BadName(String),
    BelowMinimum(&'static str, u32),
    BadField(&'static str),
    /// A field longer than [`MAX_FIELD`] bytes.
    TooLong(&'static str, usize),
    /// The entry does not carry the name asked for byte for byte (LDAP matched it ignoring
    /// case or spaces): an ordinary miss, not worth a warning.
    NameMismatch,
    /// The name (or uid) belongs to the host: `/etc/passwd` or `[nss] ignore_users`.
    Local(&'static str),
    /// The primary gid is a group of the host's own `/etc/group`.
    LocalPrimaryGid(u32),
    /// Two entries claim the same name or id.
    Duplicate(&'static str),
    /// A group whose gid is below `min_gid`.
    GroupBelowMinimum(u32),
    /// The home directory is not an absolute path.
    RelativeHome,
    /// `[servers.idmap]` gives the entry no id (`idmap.rs`).
    IdMap(String),
}

/// The longest gecos, home or shell served (PATH_MAX for paths; a gecos is a line of text).
/// Longer values hide the entry: a record must fit the buffers glibc's callers grow.
pub const MAX_FIELD: usize = 4096;

impl Reject {
    /// The rule, in words, for the log and for `ldaprsctl user show`.
    pub fn reason(&self) -> String {
        match self {
            Reject::Missing(a) => format!("no {a} attribute"),
            Reject::BadNumber(a) => format!("{a} is not a number from 0 to 4294967295"),
            Reject::BadName(n) => format!(
                "the name {:?} is not a valid user name ([A-Za-z0-9._@-], no leading '-')",
                n
            ),
            Reject::BelowMinimum("uid", n) => format!("uid {n} is below min_uid"),
            Reject::BelowMinimum(what, n) => format!("primary {what} {n} is below min_gid"),
            Reject::BadField(f) => {
                format!("the {f} field contains a control character or ':'")
            }
            Reject::TooLong(f, n) => {
                format!("the {f} field is {n} bytes (more than {MAX_FIELD})")
            }
            Reject::NameMismatch => "the entry's name differs from the name asked".into(),
            Reject::Local(what) => {
                format!("the {what} is a local one (/etc/passwd or ignore_users)")
            }
            Reject::LocalPrimaryGid(g) => {
                format!("primary gid {g} is a local group (/etc/group)")
            }
            Reject::Duplicate(what) => format!("another entry has the same {what}"),
            Reject::GroupBelowMinimum(g) => format!("gid {g} is below min_gid"),
            Reject::RelativeHome => "the home directory is not an absolute path".into(),
            Reject::IdMap(why) => format!("no id from objectSid: {why}"),
        }
    }

    /// The config key that changes the rule, if one does.
    pub fn config_key(&self) -> Option<&'static str> {
        match self {
            Reject::BelowMinimum("uid", _) => Some("[nss] min_uid"),
            Reject::BelowMinimum(..) | Reject::LocalPrimaryGid(_) => {
                Some("[nss] allow_primary_gids or min_gid")
            }
            Reject::GroupBelowMinimum(_) => Some("[nss] min_gid"),
            Reject::Missing(_) | Reject::BadNumber(_) => Some("[servers.users.attributes]"),
            Reject::Local("name") => Some("[nss] ignore_users"),
            Reject::IdMap(_) => Some("[servers.idmap]"),
            _ => None,
        }
    }

    /// Whether an admin should hear about it (a case-variant miss is not news).
    pub fn worth_warning(&self) -> bool {
        !matches!(self, Reject::NameMismatch)
    }
}

/// A uid or gid: decimal digits only (no sign: `+1001` is not 1001), and never 4294967295,
/// which is `(uid_t) -1` to chown(2) and setresuid(2) ("leave unchanged").
fn number(e: &Entry, attr: &str, what: &'static str) -> Result<u32, Reject> {
    let v = e.first(attr).ok_or(Reject::Missing(what))?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::BadNumber(what));
    }
    match v.parse::<u32>() {
        Ok(n) if n != u32::MAX => Ok(n),
        _ => Err(Reject::BadNumber(what)),
    }
}

/// Limits applied to every answer.
#[derive(Debug, Clone)]
pub struct IdLimits {
    pub min_uid: u32,
    pub min_gid: u32,
    /// Primary gids served although below `min_gid` or local (`[nss] allow_primary_gids`).
    pub allow_primary_gids: Vec<u32>,
}

impl IdLimits {
    /// Whether a user's primary gid may be served (`local`: it is a gid of `/etc/group`).
    pub fn primary_gid_ok(&self, gid: u32, local: bool) -> Result<(), Reject> {
        if gid == 0 {
            return Err(Reject::BelowMinimum("gid", 0));
        }
        if self.allow_primary_gids.contains(&gid) {
            return Ok(());
        }
        if gid < self.min_gid {
            return Err(Reject::BelowMinimum("gid", gid));
        }
        if local {
            return Err(Reject::LocalPrimaryGid(gid));
        }
        Ok(())
    }
}

/// The gecos, home and shell of an entry, each checked.
fn fields(e: &Entry, eff: &Effective) -> Result<(String, String, String), Reject> {
    let gecos = e
        .first(&eff.attr_gecos)
        .or_else(|| e.first("cn"))
        .unwrap_or("")
        .to_string();
    let dir = e.first(&eff.attr_home).unwrap_or("").to_string();
    let shell = e.first(&eff.attr_shell).unwrap_or("").to_string();
    for (v, what) in [(&gecos, "gecos"), (&dir, "home"), (&shell, "shell")] {
        if v.len() > MAX_FIELD {
            return Err(Reject::TooLong(what, v.len()));
        }
        if !valid_field(v) {
            return Err(Reject::BadField(what));
        }
    }
    // A relative home would be resolved against whatever directory a login starts in.
    if !dir.is_empty() && !dir.starts_with('/') {
        return Err(Reject::RelativeHome);
    }
    Ok((gecos, dir, shell))
}

/// Turns a user entry into a passwd record, or says why not. With `wanted`, the entry must
/// carry exactly that name (byte for byte: LDAP matched it case-insensitively). The primary
/// gid is checked against the limits as if it were not local; the caller, which knows the
/// local files, checks that too ([`IdLimits::primary_gid_ok`]).
pub fn entry_to_passwd(
    e: &Entry,
    eff: &Effective,
    lim: &IdLimits,
    wanted: Option<&str>,
) -> Result<Passwd, Reject> {
    let names = e.values(&eff.attr_name);
    let name = match wanted {
        Some(w) => names
            .iter()
            .find(|n| n.as_str() == w)
            .ok_or(Reject::NameMismatch)?,
        None => names.first().ok_or(Reject::Missing("name"))?,
    };
    if !valid_name(name) {
        return Err(Reject::BadName(name.clone()));
    }
    let (uid, gid) = match &eff.idmap {
        Some(m) => super::idmap::user_ids(e, eff, m).map_err(|x| Reject::IdMap(x.0))?,
        None => (
            number(e, &eff.attr_uid, "uidNumber")?,
            number(e, &eff.attr_gid, "gidNumber")?,
        ),
    };
    if uid < lim.min_uid {
        return Err(Reject::BelowMinimum("uid", uid));
    }
    lim.primary_gid_ok(gid, false)?;
    let (gecos, mut dir, mut shell) = fields(e, eff)?;
    // Mapped users get the configured home and shell, the same on every host.
    if let Some(m) = &eff.idmap {
        dir = m.home.replace("%u", name);
        shell = m.shell.clone();
    }
    Ok(Passwd {
        name: name.clone(),
        uid,
        gid,
        gecos,
        dir,
        shell,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldaprs_common::config;

    fn eff() -> Effective {
        config::parse(
            "t",
            "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\n",
        )
        .unwrap()
        .servers[0]
            .effective()
    }

    fn entry(pairs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: "uid=alice,ou=people,dc=x".into(),
            attrs: pairs
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.iter().map(|s| s.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }

    fn lim() -> IdLimits {
        IdLimits {
            min_uid: 1000,
            min_gid: 1000,
            allow_primary_gids: vec![100],
        }
    }

    #[test]
    fn a_full_entry_converts() {
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
            ("cn", &["Alice"]),
            ("homeDirectory", &["/home/alice"]),
            ("loginShell", &["/bin/bash"]),
        ]);
        let p = entry_to_passwd(&e, &eff(), &lim(), Some("alice")).unwrap();
        assert_eq!(
            p,
            Passwd {
                name: "alice".into(),
                uid: 10001,
                gid: 10001,
                gecos: "Alice".into(),
                dir: "/home/alice".into(),
                shell: "/bin/bash".into()
            }
        );
    }

    #[test]
    fn root_and_low_ids_are_refused() {
        let e = entry(&[
            ("uid", &["evil"]),
            ("uidNumber", &["0"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), None),
            Err(Reject::BelowMinimum("uid", 0))
        );
        let e = entry(&[
            ("uid", &["evil"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["0"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), None),
            Err(Reject::BelowMinimum("gid", 0))
        );
    }

    #[test]
    fn case_variants_and_bad_values_are_refused() {
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), Some("ALICE")),
            Err(Reject::NameMismatch)
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["-1"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), None),
            Err(Reject::BadNumber("uidNumber"))
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
            ("homeDirectory", &["/x:y"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), None),
            Err(Reject::BadField("home"))
        );
        let e = entry(&[
            ("uid", &["bad name"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert!(matches!(
            entry_to_passwd(&e, &eff(), &lim(), None),
            Err(Reject::BadName(_))
        ));
    }

    #[test]
    fn second_name_value_matches_exactly() {
        let e = entry(&[
            ("uid", &["alice", "alice.l"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), &lim(), Some("alice.l"))
                .unwrap()
                .name,
            "alice.l"
        );
    }

    #[test]
    fn numbers_are_plain_digits_and_fields_have_no_controls() {
        for (uid, ok) in [
            ("10001", true),
            (" 10001 ", true),
            ("+10001", false),
            ("4294967295", false),
            ("0x10", false),
            ("", false),
            ("-1", false),
        ] {
            let e = entry(&[
                ("uid", &["alice"]),
                ("uidNumber", &[uid]),
                ("gidNumber", &["10001"]),
                ("homeDirectory", &["/home/alice"]),
            ]);
            assert_eq!(
                entry_to_passwd(&e, &eff(), &lim(), None).is_ok(),
                ok,
                "{uid:?}"
            );
        }
        for (home, gecos, want) in [
            ("home/alice", "Alice", Some(Reject::RelativeHome)),
            (
                "/home/alice",
                "Alice\u{1b}[2J",
                Some(Reject::BadField("gecos")),
            ),
            ("/home/alice", "Alice\tL", Some(Reject::BadField("gecos"))),
            ("/home/alice", "Alice Liddell", None),
        ] {
            let e = entry(&[
                ("uid", &["alice"]),
                ("uidNumber", &["10001"]),
                ("gidNumber", &["10001"]),
                ("gecos", &[gecos]),
                ("homeDirectory", &[home]),
            ]);
            assert_eq!(
                entry_to_passwd(&e, &eff(), &lim(), None).err(),
                want,
                "{home} {gecos:?}"
            );
        }
    }
}
