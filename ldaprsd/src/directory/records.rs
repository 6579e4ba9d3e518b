//! Entries to records: a user entry becomes a passwd record only when every rule holds (exact
//! name, numeric ids at or above the minimum, fields without control characters).

use crate::ldap::Entry;
use ldaprs_common::config::Effective;
use ldaprs_common::names::{valid_field, valid_name};
use ldaprs_common::protocol::Passwd;

/// Why an entry was not turned into a record (logged at debug level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    Missing(&'static str),
    BadNumber(&'static str),
    BadName(String),
    BelowMinimum(&'static str, u32),
    BadField(&'static str),
    NameMismatch,
}

fn number(e: &Entry, attr: &str, what: &'static str) -> Result<u32, Reject> {
    let v = e.first(attr).ok_or(Reject::Missing(what))?;
    v.trim().parse::<u32>().map_err(|_| Reject::BadNumber(what))
}

/// Limits applied to every answer.
#[derive(Debug, Clone, Copy)]
pub struct IdLimits {
    pub min_uid: u32,
    pub min_gid: u32,
}

/// Turns a user entry into a passwd record, or says why not. With `wanted`, the entry must
/// carry exactly that name (byte for byte: LDAP matched it case-insensitively).
pub fn entry_to_passwd(
    e: &Entry,
    eff: &Effective,
    lim: IdLimits,
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
    let uid = number(e, &eff.attr_uid, "uidNumber")?;
    let gid = number(e, &eff.attr_gid, "gidNumber")?;
    if uid < lim.min_uid {
        return Err(Reject::BelowMinimum("uid", uid));
    }
    if gid < lim.min_gid {
        return Err(Reject::BelowMinimum("gid", gid));
    }
    let gecos = e
        .first(&eff.attr_gecos)
        .or_else(|| e.first("cn"))
        .unwrap_or("")
        .to_string();
    let dir = e.first(&eff.attr_home).unwrap_or("").to_string();
    let shell = e.first(&eff.attr_shell).unwrap_or("").to_string();
    for (v, what) in [(&gecos, "gecos"), (&dir, "home"), (&shell, "shell")] {
        if !valid_field(v) {
            return Err(Reject::BadField(what));
        }
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

    const LIM: IdLimits = IdLimits {
        min_uid: 1000,
        min_gid: 1000,
    };

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
        let p = entry_to_passwd(&e, &eff(), LIM, Some("alice")).unwrap();
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
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BelowMinimum("uid", 0))
        );
        let e = entry(&[
            ("uid", &["evil"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["0"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
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
            entry_to_passwd(&e, &eff(), LIM, Some("ALICE")),
            Err(Reject::NameMismatch)
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["-1"]),
            ("gidNumber", &["10001"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BadNumber("uidNumber"))
        );
        let e = entry(&[
            ("uid", &["alice"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
            ("homeDirectory", &["/x:y"]),
        ]);
        assert_eq!(
            entry_to_passwd(&e, &eff(), LIM, None),
            Err(Reject::BadField("home"))
        );
        let e = entry(&[
            ("uid", &["bad name"]),
            ("uidNumber", &["10001"]),
            ("gidNumber", &["10001"]),
        ]);
        assert!(matches!(
            entry_to_passwd(&e, &eff(), LIM, None),
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
            entry_to_passwd(&e, &eff(), LIM, Some("alice.l"))
                .unwrap()
                .name,
            "alice.l"
        );
    }
}
