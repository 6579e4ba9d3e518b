//! Unit tests of the nslcd.conf reader and translation, and of the TOML writer. Every
//! translation is loaded with ldaprs's strict config parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::nslcd_conf::{parse, split_map};
use super::report::Report;
use super::{translate, Source};
use ldaprs_common::config::{self, Config};

/// Translates, checks the result loads, and returns it with the report.
fn nslcd(text: &str) -> (String, Report, Config) {
    let (toml, report) = translate(Source::Nslcd, text, "/etc/nslcd.conf");
    let cfg = config::parse("test", &toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    (toml, report, cfg)
}

/// The lines that are not comments.
fn body(toml: &str) -> String {
    toml.lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn unsupported<'a>(r: &'a Report, option_start: &str) -> &'a str {
    &r.unsupported
        .iter()
        .find(|i| i.option.starts_with(option_start))
        .unwrap_or_else(|| panic!("{option_start} not in {:#?}", r.unsupported))
        .what
}

fn translated<'a>(r: &'a Report, option_start: &str) -> &'a str {
    &r.translated
        .iter()
        .find(|i| i.option.starts_with(option_start))
        .unwrap_or_else(|| panic!("{option_start} not in {:#?}", r.translated))
        .what
}

#[test]
fn reader_comments_blanks_case_and_trailing_space() {
    let opts =
        parse("# comment\n\n   # indented comment\nURI\tldap://a   \nbase  dc=x\r\n  threads 5\n");
    let got: Vec<(usize, &str, &str)> = opts
        .iter()
        .map(|o| (o.line, o.keyword.as_str(), o.rest.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (4, "uri", "ldap://a"),
            (5, "base", "dc=x"),
            (6, "threads", "5")
        ]
    );
}

#[test]
fn reader_has_no_continuation_lines_nor_trailing_comments() {
    // A trailing backslash is part of the value and the next line is an option of its own,
    // as in nslcd's cfg_read; a `#` after the keyword is part of the value.
    let opts = parse("uri ldap://a \\\n ldap://b\nbase dc=x # people\n");
    assert_eq!(opts.len(), 3);
    assert_eq!(opts[0].rest, "ldap://a \\");
    assert_eq!(opts[1].keyword, "ldap://b");
    assert_eq!(opts[2].rest, "dc=x # people");
    let (_, r, _) = nslcd("uri ldap://a \\\n ldap://b\nbase dc=x\n");
    assert!(unsupported(&r, "uri \\").contains("not an ldap://"));
    let unknown = unsupported(&r, "ldap://b");
    assert!(unknown.contains("not an nslcd.conf(5) option"), "{unknown}");
}

#[test]
fn reader_quoting_and_maps() {
    assert_eq!(
        split_map("passwd ou=people,dc=x"),
        (Some("passwd"), "ou=people,dc=x")
    );
    assert_eq!(split_map("Hosts ou=h"), (Some("hosts"), "ou=h"));
    assert_eq!(split_map("ou=people,dc=x"), (None, "ou=people,dc=x"));
    let (toml, r, cfg) = nslcd(concat!(
        "uri ldap://a\nbase \"\"\nbase dc=x\n",
        "map passwd gecos \"${gecos:-$cn}\"\n",
        "map passwd homeDirectory \"/home/$uid\"\n",
        "map passwd userPassword \"x\"\n",
        "map group userPassword \"*\"\n",
        "map passwd loginShell \"/bin/sh\"\n",
    ));
    assert!(unsupported(&r, "base \"\"").contains("empty base"));
    assert!(translated(&r, "map passwd gecos").contains("default"));
    assert!(unsupported(&r, "map passwd homeDirectory").contains("expressions"));
    assert!(translated(&r, "map passwd userPassword").contains("\"x\""));
    assert!(unsupported(&r, "map group userPassword").contains("password field"));
    assert!(unsupported(&r, "map passwd loginShell").contains("expressions"));
    assert_eq!(cfg.servers[0].base, "dc=x");
    assert!(!body(&toml).contains("home ="), "{toml}");
    // With userPassword "x" mapped, no note about the password field.
    assert!(!r.notes.iter().any(|n| n.contains("password field")));
}

#[test]
fn unknown_options_are_listed_without_their_value() {
    let (toml, r, _) = nslcd("uri ldap://a\nbase dc=x\nbindpwd hunter2\n");
    let i = r.unsupported.iter().find(|i| i.at == "line 3").unwrap();
    assert_eq!(i.option, "bindpwd (value not shown)");
    assert!(i.what.contains("unknown keyword"));
    assert!(!toml.contains("hunter2"));
    assert!(!r.summary("nslcd x").contains("hunter2"));
}

const FULL: &str = "\
# /etc/nslcd.conf
uid nslcd
gid nslcd
threads 5
uri ldap://ldap1.example.com ldaps://ldap2.example.com:1636/
uri DNS
base dc=example,dc=com
base passwd ou=people,dc=example,dc=com
base group ou=groups,dc=example,dc=com
base hosts ou=hosts,dc=example,dc=com
binddn cn=reader,dc=example,dc=com
bindpw s3cret with spaces
rootpwmoddn cn=admin,dc=example,dc=com
rootpwmodpw r00t-secret
ssl start_tls
tls_reqcert allow
tls_cacertfile /etc/ssl/certs/ca.pem
tls_cert /etc/ldap/client.pem
tls_key /etc/ldap/client.key
bind_timelimit 5
timelimit 200
idle_timelimit 60
reconnect_sleeptime 1
reconnect_retrytime 10
filter passwd (&(objectClass=posixAccount)(loginShell=/bin/bash))
filter group (objectClass=posixGroup)
map passwd uid sAMAccountName
map passwd uidNumber objectSid:S-1-5-21-1
map group member uniqueMember
nss_min_uid 1000
nss_nested_groups yes
nss_initgroups_ignoreusers ALLLOCAL
pam_authz_search (&(objectClass=posixGroup)(cn=ssh-users)(memberUid=$username))
pam_authz_search (&(objectClass=posixAccount)(uid=${username})(|(host=$hostname)(host=\\\\*)))
pam_authz_search (&(uid=$username)(host=$fqdn))
validnames /^[a-z]+$/i
ignorecase yes
referrals no
pagesize 1000
log /var/log/nslcd.log debug
";

#[test]
fn full_file_translates_and_loads() {
    let (toml, r, cfg) = nslcd(FULL);
    let s = &cfg.servers[0];
    assert_eq!(
        s.uris(),
        vec![
            "ldap://ldap1.example.com",
            "ldaps://ldap2.example.com:1636/"
        ]
    );
    assert_eq!(s.base, "dc=example,dc=com");
    assert_eq!(s.users.base.as_deref(), Some("ou=people,dc=example,dc=com"));
    assert_eq!(
        s.groups.base.as_deref(),
        Some("ou=groups,dc=example,dc=com")
    );
    assert_eq!(s.bind_dn.as_deref(), Some("cn=reader,dc=example,dc=com"));
    assert_eq!(
        s.bind_password_file.as_deref(),
        Some(std::path::Path::new("/etc/ldaprs/bind_password"))
    );
    assert_eq!(s.admin_dn.as_deref(), Some("cn=admin,dc=example,dc=com"));
    assert_eq!(s.tls.mode, config::TlsMode::Starttls);
    assert!(!s.tls.verify);
    assert!(s.tls.client_cert.is_some() && s.tls.client_key.is_some());
    assert_eq!((s.connect_timeout, s.timeout), (5.0, 120.0));
    assert_eq!((s.retry_dead_after, s.retry_dead_max), (1.0, 10.0));
    assert_eq!(s.schema, config::Schema::Rfc2307bis);
    assert_eq!(
        s.groups.member_attributes,
        Some(vec!["memberUid".to_string(), "uniqueMember".to_string()])
    );
    assert!(s.groups.nested);
    assert_eq!(s.users.attributes.name.as_deref(), Some("sAMAccountName"));
    assert_eq!(s.users.attributes.uid_number, None);
    assert_eq!(cfg.nss.min_uid, 1000);
    assert_eq!(cfg.pam.allow_groups, vec!["ssh-users"]);
    assert_eq!(
        cfg.pam.access_filter.as_deref(),
        Some("(&(objectClass=posixAccount)(uid=$username)(|(host=$hostname)(host=\\2a)))")
    );
    assert_eq!(cfg.daemon.log_level, config::LogLevel::Debug);
    // Neither password is ever printed; the steps name the files.
    for secret in ["s3cret", "r00t-secret"] {
        assert!(!toml.contains(secret) && !r.summary("x").contains(secret));
    }
    assert!(r
        .todo
        .iter()
        .any(|t| t.contains("line 12, bindpw") && t.contains("/etc/ldaprs/bind_password")));
    assert!(r
        .todo
        .iter()
        .any(|t| t.contains("line 14, rootpwmodpw") && t.contains("/etc/ldaprs/admin_password")));
    // What is not supported says why.
    assert!(unsupported(&r, "uri DNS").contains("DNS SRV"));
    assert!(unsupported(&r, "base hosts").contains("passwd and group"));
    assert!(unsupported(&r, "map passwd uidNumber").contains("objectSid"));
    assert!(unsupported(&r, "pam_authz_search (&(uid=$username)(host=$fqdn))").contains("$fqdn"));
    assert!(unsupported(&r, "ignorecase yes").contains("byte for byte"));
    assert!(unsupported(&r, "referrals no").contains("no setting to ignore them"));
    assert!(translated(&r, "timelimit 200").contains("120"));
    // Every option line is accounted for (line 5 holds two URIs).
    let options = super::nslcd_conf::parse(FULL).len();
    assert_eq!(r.translated.len() + r.unsupported.len(), options + 1);
    // In file order, in the comments too.
    assert!(toml.find("line 2: uid").unwrap() < toml.find("line 4: threads").unwrap());
}

#[test]
fn ssl_on_makes_ldap_uris_ldaps() {
    let (_, r, cfg) = nslcd("uri ldap://a ldap://b:1636\nbase dc=x\nssl on\n");
    assert_eq!(cfg.servers[0].uris(), vec!["ldaps://a", "ldaps://b:1636"]);
    assert_eq!(cfg.servers[0].tls.mode, config::TlsMode::Ldaps);
    assert!(r.notes.iter().any(|n| n.contains("port 389")));
    // With an ldapi:// URI the mode stays auto (ldaps:// URIs use TLS anyway).
    let (_, _, cfg) = nslcd("uri ldapi:///run/slapd/ldapi ldap://a\nbase dc=x\nssl yes\n");
    assert_eq!(cfg.servers[0].tls.mode, config::TlsMode::Auto);
}

#[test]
fn missing_uri_and_base_become_placeholders_to_fill_in() {
    let (_, r, cfg) = nslcd("uri DNS\n");
    assert_eq!(cfg.servers[0].uris(), vec!["ldap://ldap.example.com"]);
    assert_eq!(cfg.servers[0].base, "dc=example,dc=com");
    assert_eq!(r.todo.len(), 2, "{:?}", r.todo);
    // A per-map base stands in for the missing plain one.
    let (_, _, cfg) = nslcd("uri ldap://a\nbase passwd ou=people,dc=x\n");
    assert_eq!(cfg.servers[0].base, "ou=people,dc=x");
    assert_eq!(cfg.servers[0].users.base, None);
}

#[test]
fn binds_need_both_halves() {
    let (toml, r, cfg) = nslcd("uri ldap://a\nbase dc=x\nbinddn cn=r,dc=x\n");
    assert_eq!(cfg.servers[0].bind_dn, None);
    assert!(unsupported(&r, "binddn").contains("anonymous"));
    assert!(!body(&toml).contains("bind_dn"));
    let (_, r, cfg) = nslcd("uri ldap://a\nbase dc=x\nbindpw x\nrootpwmodpw y\n");
    assert_eq!(cfg.servers[0].bind_password_file, None);
    assert!(unsupported(&r, "bindpw").contains("without binddn"));
    assert!(unsupported(&r, "rootpwmodpw").contains("without rootpwmoddn"));
    let (_, r, _) = nslcd("uri ldap://a\nbase dc=x\ntls_cert /c.pem\n");
    assert!(unsupported(&r, "tls_cert").contains("both"));
}

#[test]
fn numbers_are_checked_and_kept_in_range() {
    let (_, r, cfg) =
        nslcd("uri ldap://a\nbase dc=x\ntimelimit 0\nbind_timelimit x\nnss_min_uid 0\n");
    assert!(unsupported(&r, "timelimit 0").contains("always limits"));
    assert!(unsupported(&r, "bind_timelimit x").contains("not a number"));
    assert_eq!(cfg.servers[0].timeout, 5.0);
    assert_eq!(cfg.nss.min_uid, 1);
    assert!(translated(&r, "nss_min_uid 0").contains("uid 0 is never served"));
}

#[test]
fn default_membership_writes_nothing_and_rfc2307bis_comes_from_member_maps() {
    let (toml, _, cfg) = nslcd("uri ldap://a\nbase dc=x\n");
    assert_eq!(cfg.servers[0].schema, config::Schema::Rfc2307);
    assert!(!body(&toml).contains("member_attributes"));
    let (toml, r, cfg) = nslcd("uri ldap://a\nbase dc=x\nmap group member member\n");
    assert_eq!(cfg.servers[0].schema, config::Schema::Rfc2307bis);
    assert!(!body(&toml).contains("member_attributes"));
    assert!(translated(&r, "map group member").contains("nothing to write"));
    let (_, _, cfg) = nslcd("uri ldap://a\nbase dc=x\nmap group memberUid uid\n");
    assert_eq!(cfg.servers[0].schema, config::Schema::Rfc2307);
    assert_eq!(
        cfg.servers[0].groups.member_attributes,
        Some(vec!["uid".to_string(), "member".to_string()])
    );
}

#[test]
fn authz_expressions() {
    use super::authz::{group_search, nslcd_to_template};
    assert_eq!(
        nslcd_to_template("(uid=${username})").unwrap(),
        "(uid=$username)"
    );
    assert_eq!(nslcd_to_template("(x=\\$a)").unwrap(), "(x=$$a)");
    assert_eq!(nslcd_to_template("(host=\\\\*)").unwrap(), "(host=\\2a)");
    assert_eq!(nslcd_to_template("(cn=\\\\2a)").unwrap(), "(cn=\\2a)");
    assert!(nslcd_to_template("(x=${rhost:-none})")
        .unwrap_err()
        .contains("default"));
    assert!(nslcd_to_template("(x=$ruser)")
        .unwrap_err()
        .contains("$ruser"));
    assert!(nslcd_to_template("(x=${uid}abc)")
        .unwrap_err()
        .contains("followed by a letter"));
    assert_eq!(
        group_search("(&(cn=admins)(objectClass=posixGroup)(member=$dn))"),
        Some("admins".to_string())
    );
    assert_eq!(
        group_search("(&(objectClass=posixGroup)(cn=a*)(memberUid=$username))"),
        None
    );
    assert_eq!(group_search("(&(cn=admins)(memberUid=bob))"), None);
    assert_eq!(
        group_search("(&(cn=admins)(|(memberUid=$username)(member=$dn)))"),
        None
    );
    // Two group searches: nslcd wants both, allow_groups would accept either.
    let (_, r, cfg) = nslcd(concat!(
        "uri ldap://a\nbase dc=x\n",
        "pam_authz_search (&(cn=a)(memberUid=$username))\n",
        "pam_authz_search (&(cn=b)(memberUid=$username))\n",
        "pam_authz_search (uid=$username\n",
    ));
    assert_eq!(cfg.pam.allow_groups, vec!["a"]);
    assert!(r
        .unsupported
        .iter()
        .any(|i| i.at == "line 4" && i.what.contains("second group search")));
    assert!(r
        .unsupported
        .iter()
        .any(|i| i.at == "line 5" && i.what.contains("by hand")));
    assert_eq!(cfg.pam.access_filter, None);
}

#[test]
fn toml_strings_are_escaped() {
    use super::toml_out::{quote, value};
    assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    assert_eq!(value(&super::draft::Value::Float(5.0)), "5.0");
    assert_eq!(
        value(&super::draft::Value::List(vec!["a".into(), "b\"".into()])),
        "[\"a\", \"b\\\"\"]"
    );
    // Quotes and backslashes in values survive the round trip through the strict parser.
    let (_, _, cfg) =
        nslcd("uri ldap://a\nbase o=\"Q\\, Inc\",dc=x\nfilter passwd (cn=a\\2a\"b)\n");
    assert_eq!(cfg.servers[0].base, "o=\"Q\\, Inc\",dc=x");
    assert_eq!(
        cfg.servers[0].users.filter.as_deref(),
        Some("(cn=a\\2a\"b)")
    );
}

#[test]
fn plain_ldap_keeps_working_as_nslcd_did_and_says_so() {
    let (_, r, cfg) = nslcd("uri ldap://a ldaps://b\nbase dc=x\n");
    assert!(cfg.servers[0].allow_cleartext_passwords);
    assert!(r.todo.iter().any(|t| t.contains("in clear text")));
    for conf in [
        "uri ldap://a\nbase dc=x\nssl start_tls\n",
        "uri ldaps://a ldapi:///\nbase dc=x\n",
    ] {
        let (_, r, cfg) = nslcd(conf);
        assert!(!cfg.servers[0].allow_cleartext_passwords, "{conf}");
        assert!(r.todo.is_empty(), "{conf}: {:?}", r.todo);
    }
}
