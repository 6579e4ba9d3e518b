//! nslcd.conf options about the daemon itself (`threads`, `uid`, `gid`, `log`), NSS
//! behaviour (`nss_*`, `validnames`, `ignorecase`), PAM (`pam_*`) and nslcd's caches; and
//! the `pam_authz_search` filters, translated together at the end.

use super::authz;
use super::draft::{raise_log_level, Value};
use super::nslcd::St;
use super::nslcd_conf::{boolean, integer, Opt};

const DAEMON_USER: &str = "the packaged systemd unit runs ldaprsd as the system user _ldaprs ([daemon] user is only for a daemon started as root outside systemd)";

/// Handles `o` if it is one of this file's options.
pub fn handle(st: &mut St, o: &Opt) -> bool {
    match o.keyword.as_str() {
        "threads" => st.no(o, "ldaprsd answers every request on one asynchronous runtime: no thread count to set"),
        "uid" | "gid" => st.no(o, DAEMON_USER),
        "log" => log(st, o),
        "nss_initgroups_ignoreusers" => ignoreusers(st, o),
        "nss_min_uid" => min_uid(st, o),
        "nss_uid_offset" | "nss_gid_offset" => match integer(&o.rest) {
            Some(0) => st.ok(o, "ldaprs serves the directory's numbers as they are (nothing to write)"),
            _ => st.no(o, "ldaprs serves the directory's numbers as they are (no offset setting)"),
        },
        "nss_nested_groups" => match boolean(&o.rest) {
            Some(true) => st.nested = Some(o.clone()),
            _ => st.ok(o, "ldaprs does not follow nested groups unless [servers.groups] nested = true (nothing to write)"),
        },
        "nss_getgrent_skipmembers" => flag(st, o, "ldaprs always lists a group's members", "ldaprs lists a group's members too"),
        "nss_disable_enumeration" => flag(st, o, "ldaprs always answers enumerations (getent passwd, getent group), with paged searches", "ldaprs answers enumerations too"),
        "validnames" => st.no(o, "ldaprs's rule for names is fixed: [A-Za-z0-9._@-], a trailing $ for machine accounts, no leading -"),
        "ignorecase" => flag(st, o, "ldaprs matches names byte for byte (ALICE is not alice): a case-insensitive match would let ALICE log in as alice", "ldaprs matches names byte for byte too"),
        "pam_authc_ppolicy" => match boolean(&o.rest) {
            Some(false) => st.no(o, "ldaprs always sends the password policy control with a user's bind"),
            _ => st.ok(o, "ldaprs sends the password policy control with every user bind (nothing to write)"),
        },
        "pam_authc_search" => match o.rest.as_str() {
            "BASE" => st.ok(o, "ldaprs confirms every user bind with \"Who am I?\" (nothing to write)"),
            _ => st.no(o, "ldaprs confirms every user bind with \"Who am I?\"; no other search after the bind"),
        },
        "pam_authz_search" => st.authz.push(o.clone()),
        "pam_password_prohibit_message" => st.no(o, "ldaprs has no setting to forbid password changes"),
        "reconnect_invalidate" => st.no(o, "not needed: ldaprs keeps its own cache (no nscd to flush); `ldaprsctl cache flush` empties it"),
        "cache" => st.no(o, "ldaprs caches every answer (member DN lookups included) for [cache] entry_ttl; there is no separate dn2uid cache"),
        _ => return false,
    }
    true
}

/// A yes/no option whose "yes" ldaprs cannot do and whose "no" is what it does anyway.
fn flag(st: &mut St, o: &Opt, yes_unsupported: &str, no_same: &str) {
    match boolean(&o.rest) {
        Some(false) => st.ok(o, format!("{no_same} (nothing to write)")),
        _ => st.no(o, yes_unsupported),
    }
}

fn log(st: &mut St, o: &Opt) {
    let words = o.words();
    let scheme = words.first().copied().unwrap_or("");
    let level = match words.get(1).map(|l| l.to_ascii_lowercase()).as_deref() {
        None | Some("info") | Some("notice") => "info",
        Some("crit") | Some("error") | Some("err") => "error",
        Some("warning") => "warning",
        Some("debug") => "debug",
        Some(_) => return st.no(o, "not a level nslcd accepts"),
    };
    if scheme.eq_ignore_ascii_case("none") {
        return st.no(
            o,
            "ldaprsd always logs (errors at least) to standard error, the journal under systemd",
        );
    }
    raise_log_level(&mut st.d.daemon, level, &o.from());
    let place = if scheme.starts_with('/') {
        format!("; ldaprsd logs to standard error (the journal under systemd), not to {scheme}")
    } else {
        "; ldaprsd logs to standard error (the journal under systemd)".to_string()
    };
    st.ok(o, format!("[daemon] log_level = \"{level}\"{place}"));
}

fn ignoreusers(st: &mut St, o: &Opt) {
    let names: Vec<&str> = o
        .words()
        .into_iter()
        .flat_map(|w| w.split(','))
        .filter(|n| !n.is_empty())
        .collect();
    if names.iter().all(|n| n.eq_ignore_ascii_case("alllocal")) {
        return st.ok(o, "ldaprs never asks the directory about names in /etc/passwd: ALLLOCAL is built in (nothing to write)");
    }
    st.no(o, "ldaprs never asks the directory about users in /etc/passwd (ALLLOCAL is built in), but it cannot skip only the groups of a directory user ([nss] ignore_users hides the user entirely)");
}

fn min_uid(st: &mut St, o: &Opt) {
    let Some(n) = integer(&o.rest).filter(|n| *n >= 0) else {
        return st.no(o, "not a number");
    };
    st.min_uid = true;
    let v = n.clamp(1, i64::from(u32::MAX));
    st.d.nss.set("min_uid", Value::Int(v), &o.from());
    let mut what = format!("[nss] min_uid = {v}; ldaprs also hides groups below it ([nss] min_gid defaults to min_uid), nslcd did not");
    if v != n {
        what.push_str(" (uid 0 is never served)");
    }
    st.ok(o, what);
}

/// The `pam_authz_search` filters (all must match): a "member of group G" search becomes
/// `[pam] allow_groups = ["G"]`, the others are ANDed into `[pam] access_filter`.
pub fn finish_authz(st: &mut St) {
    let mut filter = String::new();
    let mut from = String::new();
    let mut group = false;
    for o in std::mem::take(&mut st.authz) {
        let t = match authz::nslcd_to_template(&o.rest) {
            Ok(t) => t,
            Err(e) => {
                st.no(&o, format!("{e}; write [pam] access_filter by hand"));
                continue;
            }
        };
        if let Some(g) = authz::group_search(&t) {
            if group {
                st.no(&o, "a second group search: ldaprs's allow_groups lets in members of any listed group, nslcd required every search to match");
                continue;
            }
            group = true;
            st.d.pam
                .set("allow_groups", Value::List(vec![g.clone()]), &o.from());
            st.ok(&o, format!("[pam] allow_groups = [\"{g}\"] (members of {g}, as [servers.groups] finds them)"));
            continue;
        }
        if let Err(e) = authz::check(&t) {
            st.no(&o, format!("{e}; write [pam] access_filter by hand"));
            continue;
        }
        filter = authz::and(&filter, &t);
        if from.is_empty() {
            from = o.from();
        }
        st.ok(&o, "[pam] access_filter: tested on the user's own entry (nslcd searched the passwd bases for any entry that matches; a filter about other entries needs rewriting)");
    }
    if !filter.is_empty() {
        st.d.pam.set("access_filter", Value::Str(filter), &from);
    }
}
