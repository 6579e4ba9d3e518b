//! Unit tests of the sssd.conf reader and translation. Every translation is loaded with
//! ldaprs's strict config parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::report::Report;
use super::sssd_ini::parse;
use super::{translate, Source};
use ldaprs_common::config::{self, Config};

fn sssd(text: &str) -> (String, Report, Config) {
    let (toml, report) = translate(Source::Sssd, text, "/etc/sssd/sssd.conf");
    let cfg = config::parse("test", &toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    (toml, report, cfg)
}

fn why<'a>(r: &'a Report, option_start: &str) -> &'a str {
    &r.unsupported
        .iter()
        .find(|i| i.option.starts_with(option_start))
        .unwrap_or_else(|| panic!("{option_start} not in {:#?}", r.unsupported))
        .what
}

fn what<'a>(r: &'a Report, option_start: &str) -> &'a str {
    &r.translated
        .iter()
        .find(|i| i.option.starts_with(option_start))
        .unwrap_or_else(|| panic!("{option_start} not in {:#?}", r.translated))
        .what
}

#[test]
fn reader_sections_comments_and_values() {
    let ini = parse(concat!(
        "# comment\n; also a comment\n// C++ comment\n/* C comment\nid_provider = nope\n*/\n",
        "[sssd]\ndomains=a\n",
        "[domain/a]\n  ldap_uri   =   ldap://x  \n",
        "ldap_access_filter = (memberOf=cn=x) # not a comment\n",
        "ldap_default_bind_dn = \"cn=quoted\"\n",
        "LDAP_Schema = rfc2307bis\n",
        "\n[ domain/a ]\nldap_uri = ldap://y\n",
    ));
    assert!(ini.errors.is_empty(), "{:?}", ini.errors);
    let got: Vec<(&str, &str, &str)> = ini
        .keys
        .iter()
        .map(|k| (k.section.as_str(), k.key.as_str(), k.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("sssd", "domains", "a"),
            (
                "domain/a",
                "ldap_access_filter",
                "(memberOf=cn=x) # not a comment"
            ),
            ("domain/a", "ldap_default_bind_dn", "\"cn=quoted\""),
            ("domain/a", "ldap_schema", "rfc2307bis"),
            ("domain/a", "ldap_uri", "ldap://y"),
        ]
    );
    // The first ldap_uri was replaced by the one in the repeated section (SSSD keeps the last).
    assert_eq!(ini.replaced.len(), 1);
    assert_eq!(ini.replaced[0].value, "ldap://x");
    assert_eq!(ini.replaced[0].line, 10);
}

#[test]
fn reader_has_no_continuation_lines() {
    // SSSD parses with INI_PARSE_NOWRAP: an indented line is a key of its own, and one
    // without `=` is an error (it does not continue the previous value).
    let ini =
        parse("[domain/a]\nldap_uri = ldap://x,\n    ldap://y\n  ldap_schema = ad\n[broken\n");
    assert_eq!(ini.get("domain/a", "ldap_uri").unwrap().value, "ldap://x,");
    assert_eq!(ini.get("domain/a", "ldap_schema").unwrap().value, "ad");
    assert_eq!(ini.errors.len(), 2);
    assert_eq!(ini.errors[0].0, 3);
    assert!(ini.errors[0].1.contains("does not fold"));
    assert_eq!(ini.errors[1].0, 5);
    let (_, r, _) = sssd("[domain/a]\nid_provider = ldap\nldap_uri = ldap://x,\n    ldap://y\n");
    assert!(r
        .unsupported
        .iter()
        .any(|i| i.at == "line 4" && i.what.contains("SSSD stops")));
}

const FULL: &str = "\
[sssd]
config_file_version = 2
services = nss, pam, sudo
domains = LDAP, AD

[nss]
filter_users = root,ldap
filter_groups = root
entry_negative_timeout = 20

[pam]
offline_credentials_expiration = 2

[domain/LDAP]
id_provider = ldap
auth_provider = ldap
access_provider = simple
simple_allow_groups = admins, ssh-users
simple_deny_users = mallory, eve
ldap_schema = rfc2307bis
ldap_uri = ldap://ldap1.example.com, ldap://ldap2.example.com
ldap_backup_uri = ldap://ldap3.example.com
ldap_search_base = dc=example,dc=com
ldap_user_search_base = ou=people,dc=example,dc=com?subtree?(employeeType=staff)
ldap_group_search_base = ou=groups,dc=example,dc=com?onelevel?
ldap_default_bind_dn = cn=reader,dc=example,dc=com
ldap_default_authtok = s3cret#notacomment
ldap_id_use_start_tls = true
ldap_tls_reqcert = allow
ldap_tls_cacert = /etc/ssl/certs/ca.pem
ldap_user_object_class = inetOrgPerson
ldap_user_name = uid
ldap_user_home_directory = homeDirectory
ldap_group_member = uniqueMember
ldap_group_nesting_level = 4
min_id = 2000
max_id = 60000
enumerate = false
cache_credentials = true
entry_cache_timeout = 300
ldap_referrals = true
override_homedir = /home/%u
ldap_search_timeout = 4
ldap_network_timeout = 3
debug_level = 6
some_unknown_option = 1

[domain/AD]
id_provider = ad
ad_domain = example.com

[domain/OLD]
id_provider = ldap
";

#[test]
fn full_file_translates_and_loads() {
    let (toml, r, cfg) = sssd(FULL);
    assert_eq!(cfg.servers.len(), 1);
    let s = &cfg.servers[0];
    assert_eq!(s.name, "LDAP");
    assert_eq!(
        s.uris(),
        vec![
            "ldap://ldap1.example.com",
            "ldap://ldap2.example.com",
            "ldap://ldap3.example.com"
        ]
    );
    assert_eq!(s.schema, config::Schema::Rfc2307bis);
    assert_eq!(s.base, "dc=example,dc=com");
    assert_eq!(s.users.base.as_deref(), Some("ou=people,dc=example,dc=com"));
    assert_eq!(
        s.users.filter.as_deref(),
        Some("(&(objectClass=inetOrgPerson)(employeeType=staff))")
    );
    assert_eq!(s.groups.base, None);
    assert_eq!(s.bind_dn.as_deref(), Some("cn=reader,dc=example,dc=com"));
    assert!(s.bind_password_file.is_some());
    assert_eq!(s.tls.mode, config::TlsMode::Starttls);
    assert!(!s.tls.verify);
    assert_eq!(s.users.attributes.home.as_deref(), Some("homeDirectory"));
    assert_eq!(
        s.groups.member_attributes,
        Some(vec!["uniqueMember".to_string()])
    );
    assert!(s.groups.nested);
    assert_eq!(s.groups.nesting_depth, 4);
    assert_eq!((s.timeout, s.connect_timeout), (4.0, 3.0));
    assert_eq!((cfg.nss.min_uid, cfg.nss.min_gid()), (2000, 2000));
    assert_eq!(cfg.nss.ignore_users, vec!["root", "ldap"]);
    assert_eq!((cfg.cache.entry_ttl, cfg.cache.negative_ttl), (300, 20));
    assert_eq!(cfg.pam.allow_groups, vec!["admins", "ssh-users"]);
    assert_eq!(
        cfg.pam.access_filter.as_deref(),
        Some("(!(|(uid=mallory)(uid=eve)))")
    );
    assert_eq!(cfg.daemon.log_level, config::LogLevel::Debug);
    // The password is never printed, even with a `#` in it.
    assert!(!toml.contains("s3cret") && !r.summary("x").contains("s3cret"));
    assert!(r
        .todo
        .iter()
        .any(|t| t.contains("line 27, ldap_default_authtok")));
    assert!(why(&r, "ldap_group_search_base").contains("subtree"));
    assert!(why(&r, "cache_credentials").contains("offline login is not supported yet"));
    assert!(why(&r, "enumerate").contains("always answers"));
    assert!(why(&r, "max_id").contains("no upper id limit"));
    assert!(what(&r, "ldap_referrals").contains("referral_hosts"));
    assert!(why(&r, "services").contains("sudo"));
    assert!(why(&r, "some_unknown_option").contains("not translated"));
    assert!(why(&r, "ad_domain").contains("domain AD is not imported"));
    assert!(why(&r, "id_provider = ldap").contains("not in [sssd] domains"));
    assert!(what(&r, "ldap_backup_uri").contains("after the ldap_uri"));
    // Every key is accounted for (ldap_uri holds two URIs).
    let keys = parse(FULL).keys.len();
    assert_eq!(r.translated.len() + r.unsupported.len(), keys + 1);
}

#[test]
fn access_provider_ldap_filter_and_order() {
    let (_, r, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldaps://x\nldap_search_base = dc=x\n",
        "access_provider = ldap\nldap_access_order = filter, host, expire, ppolicy\n",
        "ldap_access_filter = memberOf=cn=ops,ou=groups,dc=x\n",
        "ldap_user_authorized_host = allowedHost\n",
        "simple_allow_users = bob\n",
    ));
    assert_eq!(
        cfg.pam.access_filter.as_deref(),
        Some("(&(memberOf=cn=ops,ou=groups,dc=x)(|(allowedHost=$hostname)(allowedHost=\\2a)))")
    );
    assert!(what(&r, "ldap_access_order").contains("(!name) are not honoured"));
    assert!(why(&r, "simple_allow_users").contains("not used with access_provider = ldap"));
    // An untranslatable rule is reported; a `$` in an SSSD filter is a literal.
    let (_, r, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldaps://x\nldap_search_base = dc=x\n",
        "access_provider = ldap\nldap_access_order = filter, nosuchrule\n",
        "ldap_access_filter = (cn=a$b)\n",
    ));
    assert_eq!(cfg.pam.access_filter.as_deref(), Some("(cn=a$$b)"));
    assert!(why(&r, "ldap_access_order").contains("nosuchrule"));
}

#[test]
fn simple_allow_users_with_groups_is_not_translated() {
    let (_, r, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldap://x\nldap_search_base = dc=x\n",
        "access_provider = simple\nsimple_allow_users = bob\nsimple_allow_groups = ops\n",
    ));
    assert_eq!(cfg.pam.allow_groups, vec!["ops"]);
    assert_eq!(cfg.pam.access_filter, None);
    assert!(why(&r, "simple_allow_users").contains("both match"));
    // Alone, allowed users become a filter on the name attribute (escaped).
    let (_, _, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldap://x\nldap_search_base = dc=x\n",
        "ldap_schema = ad\naccess_provider = simple\nsimple_allow_users = bob, a*b\n",
    ));
    assert_eq!(
        cfg.pam.access_filter.as_deref(),
        Some("(|(sAMAccountName=bob)(sAMAccountName=a\\2ab))")
    );
    assert_eq!(cfg.servers[0].schema, config::Schema::Ad);
    assert!(cfg.servers[0].groups.nested);
}

#[test]
fn two_domains_share_the_global_tables() {
    let (_, r, cfg) = sssd(concat!(
        "[sssd]\ndomains = one, two\n",
        "[domain/one]\nid_provider = ldap\nldap_uri = ldap://a\nldap_search_base = dc=a\nmin_id = 1000\n",
        "[domain/two]\nid_provider = ldap\nldap_uri = ldap://b\nldap_search_base = dc=b\nmin_id = 5000\nentry_cache_user_timeout = 60\nentry_cache_group_timeout = 30\n",
    ));
    assert_eq!(
        cfg.servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    assert_eq!(cfg.nss.min_uid, 1000);
    assert!(why(&r, "min_id = 5000").contains("domain one set it first"));
    assert_eq!(cfg.cache.entry_ttl, 30);
    assert_eq!(cfg.servers[0].schema, config::Schema::Rfc2307);
    assert!(!cfg.servers[0].groups.nested);
}

#[test]
fn no_ldap_domain_gives_a_placeholder_and_options_stay_listed() {
    let (_, r, cfg) = sssd(
        "[sssd]\ndomains = files\n[domain/files]\nid_provider = files\n[sudo]\nsudo_timed = true\n",
    );
    assert_eq!(cfg.servers[0].uris(), vec!["ldap://ldap.example.com"]);
    assert!(why(&r, "id_provider = files").contains("reads /etc/passwd"));
    assert!(why(&r, "sudo_timed").contains("[sudo] section"));
    assert!(!r.todo.is_empty());
    // A domain without ldap_uri or base gets placeholders and steps.
    let (_, r, cfg) = sssd("[domain/d]\nid_provider = ldap\nldap_tls_cert = /c.pem\n");
    assert_eq!(cfg.servers[0].base, "dc=example,dc=com");
    assert_eq!(r.todo.len(), 2, "{:?}", r.todo);
    assert!(why(&r, "ldap_tls_cert").contains("both"));
}

#[test]
fn plain_ldap_service_bind_is_a_step_not_a_downgrade() {
    // SSSD sent the service bind in clear but refused users' passwords without TLS; ldaprs
    // has one switch for both, so it stays off and the admin is told.
    let (_, r, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldap://x\nldap_search_base = dc=x\n",
        "ldap_default_bind_dn = cn=r,dc=x\nldap_default_authtok = pw\n",
    ));
    assert!(!cfg.servers[0].allow_cleartext_passwords);
    assert!(r.todo.iter().any(|t| t.contains("plain ldap://")));
    let (_, _, cfg) = sssd(concat!(
        "[domain/d]\nid_provider = ldap\nldap_uri = ldap://x\nldap_search_base = dc=x\n",
        "ldap_auth_disable_tls_never_use_in_production = true\n",
    ));
    assert!(cfg.servers[0].allow_cleartext_passwords);
}

#[test]
fn ad_id_mapping_and_token_groups_translate() {
    let (toml, r, cfg) = sssd(concat!(
        "[domain/corp]\nid_provider = ldap\nldap_schema = ad\nldap_uri = ldaps://dc1.corp.example\n",
        "ldap_search_base = DC=corp,DC=example\nldap_user_object_class = user\n",
        "ldap_id_mapping = true\nldap_idmap_range_min = 100000\nldap_idmap_range_max = 2000100000\n",
        "ldap_idmap_range_size = 100000\nldap_idmap_default_domain_sid = S-1-5-21-1-2-3\n",
        "ldap_use_tokengroups = true\n",
    ));
    let m = &cfg.servers[0].idmap;
    assert!(m.enabled(), "{toml}");
    assert_eq!(
        (m.range_min, m.range_max, m.range_size),
        (100_000, 2_000_100_000, 100_000)
    );
    assert!(cfg.servers[0].groups.token_groups, "{toml}");
    // The user filter asks for no uidNumber once ids come from objectSid.
    let f = cfg.servers[0].users.filter.clone().unwrap_or_default();
    assert!(!f.contains("uidNumber"), "{f}");
    assert!(what(&r, "ldap_id_mapping").contains("[servers.idmap] mode = \"sid\""));
    assert!(why(&r, "ldap_idmap_default_domain_sid").contains("no default domain in slice 0"));
    // Without the ad schema, id mapping is refused with the reason.
    let (_, r, cfg) =
        sssd("[domain/x]\nid_provider = ldap\nldap_uri = ldap://x\nldap_id_mapping = true\n");
    assert!(!cfg.servers[0].idmap.enabled());
    assert!(why(&r, "ldap_id_mapping").contains("need ldap_schema = ad"));
}
