//! `ldaprsctl user show` / `group show`: a lookup with how it was answered — the daemon's
//! cache, the shared map, and for each server block the base, the exact filter and what it
//! returned, and a user's SSH key fingerprints as `ssh-keygen -l` prints them.

use super::key::Key;
use super::state::Answers;
use crate::directory::ssh_keys::parse_values;
use crate::directory::Reject;
use crate::ldap::{Entry, ServerBlock};
use ldaprs_common::config::Membership;
use ldaprs_common::filter::{self, eq};
use ldaprs_common::protocol::{ErrorCode, Request, Response};
use ldaprs_common::shm::Kind;

/// A question, as the cache and the shared map know it.
struct Asked {
    key: Key,
    kind: Kind,
    name: Option<String>,
    id: Option<u32>,
}

fn asked(req: &Request) -> Option<Asked> {
    let (key, kind, name, id) = match req {
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
        _ => return None,
    };
    Some(Asked {
        key,
        kind,
        name,
        id,
    })
}

/// One answer in a line, as an admin reads it.
pub fn short(r: &Response) -> String {
    match r {
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
    }
}

fn entries_found(v: &[crate::ldap::Entry]) -> String {
    format!(
        "{} entr{}{}",
        v.len(),
        if v.len() == 1 { "y" } else { "ies" },
        v.first()
            .map(|x| format!(" ({}{})", x.dn, if v.len() > 1 { ", ..." } else { "" }))
            .unwrap_or_default()
    )
}

/// `ssh key` lines: each key on the entries, as `ssh-keygen -l` prints it (and its options),
/// or why it is not answered.
fn ssh_key_lines(b: &ServerBlock, entries: &[Entry]) -> Vec<(String, String)> {
    let Some(attr) = &b.eff.attr_ssh_key else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| !e.values(attr).is_empty()) {
        for (line, k) in parse_values(e.values(attr)) {
            let shown = match k {
                Ok(k) => match &k.options {
                    Some(o) => format!("{} [options {o}]", k.keygen_line()),
                    None => k.keygen_line(),
                },
                Err(err) => {
                    let start: String = line.chars().take(40).collect();
                    format!("dropped ({attr}): {err}; starts {start:?}")
                }
            };
            out.push(("ssh key".to_string(), shown));
        }
    }
    out
}

impl Answers {
    /// The lines that explain `req` before its answer (which the caller appends), or the
    /// error answer for a request that is not a lookup.
    pub async fn explain_lines(&self, req: &Request) -> Result<Vec<(String, String)>, Response> {
        let Some(a) = asked(req) else {
            return Err(Response::Error {
                code: ErrorCode::BadRequest,
                message: "only lookups can be explained".into(),
            });
        };
        let mut lines = vec![("query".to_string(), format!("{req:?}"))];
        lines.push((
            "daemon cache".into(),
            match self.cache.get_fresh(&a.key, self.clock.now()) {
                Some((r, due)) => format!(
                    "hit{}: {}",
                    if due { " (refresh due)" } else { "" },
                    short(&r)
                ),
                None => "miss".into(),
            },
        ));
        if let Some(p) = &self.publisher {
            lines.push((
                "shared map".into(),
                p.describe(a.kind, a.name.as_deref(), a.id),
            ));
        }
        for b in self.dir.blocks() {
            let Some((base, f)) = self.search_for(b, req) else {
                continue;
            };
            let t = std::time::Instant::now();
            let attrs = self.explain_attrs(b, req);
            let (found, hidden) = match b.search(&base, &f, &attrs, false).await {
                Ok(v) => {
                    let mut notes = self.hidden_reasons(b, req, &v);
                    notes.extend(ssh_key_lines(b, &v));
                    (entries_found(&v), notes)
                }
                Err(err) => (format!("error: {err}"), Vec::new()),
            };
            lines.push((
                format!("server {}", b.name()),
                format!(
                    "base \"{base}\" filter {f}: {found} in {} µs",
                    t.elapsed().as_micros()
                ),
            ));
            lines.extend(hidden);
            lines.extend(b.status());
        }
        Ok(lines)
    }

    /// The attributes an explanation reads: enough to tell why an entry is not served.
    fn explain_attrs(&self, b: &ServerBlock, req: &Request) -> Vec<String> {
        match req {
            Request::UserByName(_) | Request::UserByUid(_) => {
                let mut a = b.user_attrs();
                a.extend(b.eff.attr_ssh_key.clone());
                a
            }
            Request::GroupByName(_) | Request::GroupByGid(_) => {
                vec![b.eff.attr_group_name.clone(), b.eff.attr_group_gid.clone()]
            }
            _ => vec!["1.1".to_string()],
        }
    }

    /// `hidden` lines: each entry found that is not served, the rule, and the key to change it.
    fn hidden_reasons(
        &self,
        b: &ServerBlock,
        req: &Request,
        entries: &[Entry],
    ) -> Vec<(String, String)> {
        let local = self.dir.local().fresh_db();
        let rejects: Vec<(String, Reject)> = entries
            .iter()
            .filter_map(|e| {
                let r = match req {
                    Request::UserByName(n) => self.dir.user_record(b, e, Some(n), &local).err(),
                    Request::UserByUid(_) => self.dir.user_record(b, e, None, &local).err(),
                    Request::GroupByName(n) => self.dir.group_header(b, e, Some(n)).err(),
                    Request::GroupByGid(_) => self.dir.group_header(b, e, None).err(),
                    _ => None,
                };
                r.map(|r| (e.dn.clone(), r))
            })
            .collect();
        let mut out: Vec<(String, String)> = rejects
            .iter()
            .map(|(dn, r)| {
                let change = r
                    .config_key()
                    .map(|k| format!(" ({k} to change it)"))
                    .unwrap_or_default();
                (
                    "hidden".to_string(),
                    format!("{}{change}; entry {dn}", r.reason()),
                )
            })
            .collect();
        let served = entries.len() - rejects.len();
        if served > 1 && matches!(req, Request::UserByName(_) | Request::UserByUid(_)) {
            out.push((
                "hidden".to_string(),
                format!("{served} entries match: answering either could be the wrong person"),
            ));
        }
        out
    }

    /// The base and the exact filter block `b` is asked with for `req`.
    fn search_for(&self, b: &ServerBlock, req: &Request) -> Option<(String, String)> {
        let e = &b.eff;
        Some(match req {
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
                let forms = self
                    .dir
                    .cached_forms(b)
                    .unwrap_or_else(|| e.member_forms.clone());
                let dn = self.dir.user_dn(n).map(|(_, dn)| dn);
                let terms: Vec<String> = forms
                    .iter()
                    .map(|f| match (f, &dn) {
                        (Membership::Names(a), _) => eq(a, n),
                        (Membership::Dns(a), Some(dn)) => eq(a, dn),
                        (Membership::Dns(a), None) => format!("({a}=<DN of {n}>)"),
                    })
                    .collect();
                let member = match terms.as_slice() {
                    [one] => one.clone(),
                    many => format!("(|{})", many.concat()),
                };
                (e.group_base.clone(), filter::and(&e.group_filter, &member))
            }
            _ => return None,
        })
    }
}
