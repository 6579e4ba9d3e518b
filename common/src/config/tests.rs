use super::effective::Membership;
use super::load::parse;
use super::secrets::read_secret;

const GOOD: &str = r#"
[daemon]
socket = "/run/ldaprs/socket"

[cache]
entry_ttl = 600
negative_ttl = 30

[nss]
min_uid = 1000

[pam]
allow_groups = []
deny_groups = []

[[servers]]
name = "corp"
uri = ["ldaps://ldap1.example.com", "ldaps://ldap2.example.com"]
schema = "rfc2307bis"
base = "dc=example,dc=com"
bind_dn = "cn=reader,dc=example,dc=com"
bind_password_file = "/etc/ldaprs/bind_password"
timeout = 5

[servers.tls]
mode = "auto"
ca_file = "/etc/ssl/certs/ca-certificates.crt"
verify = true

[servers.users]
base = "ou=people,dc=example,dc=com"
filter = "(objectClass=posixAccount)"
attributes = { name = "uid", gecos = "cn", home = "homeDirectory", shell = "loginShell" }

[servers.groups]
base = "ou=groups,dc=example,dc=com"
nested = true
"#;

#[test]
fn design_contract_parses() {
    let c = parse("t.toml", GOOD).unwrap();
    assert_eq!(c.servers.len(), 1);
    let s = &c.servers[0];
    assert_eq!(s.uris().len(), 2);
    let e = s.effective();
    assert_eq!(e.user_base, "ou=people,dc=example,dc=com");
    assert_eq!(e.attr_gecos, "cn");
    assert_eq!(e.membership, Membership::Dns("member".into()));
    assert_eq!(c.nss.min_gid(), 1000);
}

#[test]
fn example_config_in_packaging_parses() {
    let src = include_str!("../../../packaging/ldaprs.toml");
    let c = parse("packaging/ldaprs.toml", src).unwrap();
    assert!(!c.servers.is_empty());
}

#[test]
fn example_config_commented_keys_parse() {
    // The commented examples of the packaged config, uncommented, are valid too.
    let src = include_str!("../../../packaging/ldaprs.toml");
    let mut on = String::new();
    for l in src.lines() {
        let keyish = l.strip_prefix("# ").filter(|r| {
            r.starts_with('[')
                || r.split('=')
                    .next()
                    .is_some_and(|k| !k.trim().is_empty() && !k.trim().contains(' '))
                    && r.contains(" = ")
        });
        on.push_str(keyish.unwrap_or(l));
        on.push('\n');
    }
    let c = parse("packaging/ldaprs.toml (uncommented)", &on).unwrap();
    let s = &c.servers[0];
    assert_eq!(s.group_mappings.len(), 1);
    assert_eq!(s.group_mappings[0].local_group.as_deref(), Some("sudo"));
    assert!(s.admin_dn.is_some());
    assert!(c.pam.access_filter.is_some());
    let e = s.effective();
    assert_eq!(
        e.attr_member_of, None,
        "member_of is described in prose only"
    );
    assert!(e.group_search.is_some());
    assert_eq!(c.nss.min_gid, Some(1000));
}

#[test]
fn unknown_key_names_file_line_key_and_hint() {
    let src = "[daemon]\nsockt = \"/x\"\n";
    let e = parse("/etc/ldaprs/ldaprs.toml", src).unwrap_err();
    assert_eq!(e.line, Some(2));
    assert_eq!(e.key.as_deref(), Some("daemon.sockt"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `socket`?"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("/etc/ldaprs/ldaprs.toml:2: key `daemon.sockt`: unknown field"),
        "{shown}"
    );
}

#[test]
fn wrong_type_is_located() {
    let src = GOOD.replace("timeout = 5", "timeout = \"5\"");
    let e = parse("c.toml", &src).unwrap_err();
    let line = src.lines().position(|l| l.starts_with("timeout")).unwrap() + 1;
    assert_eq!(e.line, Some(line));
    assert_eq!(e.key.as_deref(), Some("servers.timeout"));
    assert_eq!(e.hint.as_deref(), Some("write the number without quotes"));
}

#[test]
fn unknown_schema_suggests() {
    let src = GOOD.replace("schema = \"rfc2307bis\"", "schema = \"rfc2307b\"");
    let e = parse("c.toml", &src).unwrap_err();
    assert!(e.message.contains("unknown variant"), "{e}");
    assert!(e.hint.unwrap().contains("rfc2307"));
}

#[test]
fn semantic_errors_are_located() {
    let src = GOOD.replace("ldaps://ldap2.example.com", "http://x");
    let e = parse("c.toml", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("servers[0].uri"));
    let line = src.lines().position(|l| l.starts_with("uri")).unwrap() + 1;
    assert_eq!(e.line, Some(line));

    let src = GOOD.replace("bind_password_file = \"/etc/ldaprs/bind_password\"\n", "");
    let e = parse("c.toml", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("servers[0].bind_dn"));
    assert!(e.line.is_some());

    let e = parse("c.toml", "[cache]\nentry_ttl = 5\n").unwrap_err();
    assert!(e.message.contains("no [[servers]]"));
}

#[test]
fn minimal_config_and_defaults() {
    let c = parse(
        "c",
        "[[servers]]\nname = \"a\"\nuri = \"ldap://127.0.0.1\"\nbase = \"dc=x\"\n",
    )
    .unwrap();
    assert_eq!(c.cache.entry_ttl, 600);
    assert_eq!(c.cache.negative_ttl, 30);
    assert_eq!(c.nss.min_uid, 1000);
    assert_eq!(c.daemon.socket, "/run/ldaprs/socket");
    let s = &c.servers[0];
    assert_eq!(s.timeout, 5.0);
    assert_eq!(s.connect_timeout, 2.0);
    assert_eq!(s.failover_delay, 0.4);
    assert!(!s.allow_cleartext_passwords);
    assert!(s.tls.verify);
    assert_eq!(
        s.effective().membership,
        Membership::Names("memberUid".into())
    );
    assert_eq!(s.effective().user_filter, "(objectClass=posixAccount)");
}

#[test]
fn ad_and_ipa_presets() {
    let c = parse("c", "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\nschema = \"ad\"\n[servers.users]\nattributes = { shell = \"msSFU30LoginShell\" }\n").unwrap();
    let e = c.servers[0].effective();
    assert_eq!(e.attr_name, "sAMAccountName");
    assert_eq!(e.attr_home, "unixHomeDirectory");
    assert_eq!(e.attr_shell, "msSFU30LoginShell");
    let c = parse(
        "c",
        "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\nschema = \"ipa\"\n",
    )
    .unwrap();
    assert_eq!(
        c.servers[0].effective().user_base,
        "cn=users,cn=accounts,dc=x"
    );
}

#[test]
fn secret_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ldaprs-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("pw");
    std::fs::write(&p, "s3cret\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = read_secret(&p).unwrap_err();
    assert!(
        e.message
            .contains("readable or writable by group or others"),
        "{e}"
    );
    assert!(e.message.contains("0644"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read_secret(&p).unwrap(), "s3cret");
    std::fs::write(&p, "\n").unwrap();
    assert!(read_secret(&p).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

const MIN: &str = "[[servers]]\nname = \"a\"\nuri = \"ldap://x\"\nbase = \"dc=x\"\n";

#[test]
fn group_keys_and_their_defaults() {
    let e = parse("c", MIN).unwrap().servers[0].effective();
    assert_eq!(e.nesting, None);
    assert!(!e.in_chain);
    assert_eq!(e.group_search, None);
    assert_eq!(e.attr_member_of, None);
    let src = format!("{MIN}[servers.groups]\nnested = true\nnesting_depth = 3\nsearch_filter = \"memberUid=%s\"\nsearch_filter_user_attribute = \"dn\"\n[servers.users.attributes]\nmember_of = \"memberOf\"\n");
    let e = parse("c", &src).unwrap().servers[0].effective();
    assert_eq!(e.nesting, Some(3));
    assert!(!e.in_chain);
    assert_eq!(
        e.group_search,
        Some(("(memberUid=%s)".to_string(), Some("dn".to_string())))
    );
    assert_eq!(e.attr_member_of.as_deref(), Some("memberOf"));
    // AD: the server follows the chain unless told otherwise.
    let ad = MIN.replace("base", "schema = \"ad\"\nbase");
    let e = parse("c", &format!("{ad}[servers.groups]\nnested = true\n"))
        .unwrap()
        .servers[0]
        .effective();
    assert!(e.in_chain);
    assert_eq!(e.nesting, Some(10));
    let e = parse(
        "c",
        &format!("{ad}[servers.groups]\nnested = true\nin_chain = false\n"),
    )
    .unwrap()
    .servers[0]
        .effective();
    assert!(!e.in_chain);
    let e = parse("c", &ad).unwrap().servers[0].effective();
    assert!(!e.in_chain, "no nesting, no in-chain");
}

#[test]
fn group_key_mistakes_are_located() {
    let src = format!("{MIN}[servers.groups]\nsearch_filter = \"(memberUid=alice)\"\n");
    let e = parse("c", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("servers[0].groups.search_filter"));
    assert_eq!(e.line, Some(6));
    assert!(e.message.contains("%s"));
    let src = format!("{MIN}[servers.groups]\nsearch_filter = \"(&(memberUid=%s)\"\n");
    assert!(parse("c", &src).unwrap_err().message.contains("unbalanced"));
    let src = format!("{MIN}[servers.groups]\nnesting_depth = 0\nnested = true\n");
    assert_eq!(parse("c", &src).unwrap_err().line, Some(6));
    let src = format!("{MIN}[servers.groups]\nin_chain = true\n");
    assert!(parse("c", &src)
        .unwrap_err()
        .hint
        .unwrap()
        .contains("nested"));
    let src = format!("{MIN}[servers.groups]\nfilter = \"(objectClass=posixGroup\"\n");
    assert_eq!(
        parse("c", &src).unwrap_err().key.as_deref(),
        Some("servers[0].groups.filter")
    );
}

#[test]
fn access_filter_variables_are_checked() {
    let ok = format!("[pam]\naccess_filter = \"(&(host=$hostname)(authorizedService=$service)(!(rhost=$rhost)))\"\n{MIN}");
    assert!(parse("c", &ok).is_ok());
    let bad = format!("[pam]\naccess_filter = \"(host=$hostnme)\"\n{MIN}");
    let e = parse("c", &bad).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("pam.access_filter"));
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("unknown variable $hostnme"), "{e}");
    let bad = format!("[pam]\naccess_filter = \"(&(host=$hostname)\"\n{MIN}");
    assert!(parse("c", &bad).unwrap_err().message.contains("unbalanced"));
    let c = parse("c", &ok).unwrap();
    assert!(c.pam.has_rules());
    assert!(!parse("c", MIN).unwrap().pam.has_rules());
}

#[test]
fn group_mappings_and_admin_dn() {
    let src = format!("{MIN}admin_dn = \"cn=pwadmin,dc=x\"\nadmin_password_file = \"/etc/ldaprs/admin_password\"\n[[servers.group_mappings]]\ngroup_dn = \"cn=linux-admins,ou=groups,dc=x\"\nallow_login = true\nlocal_group = \"sudo\"\n[[servers.group_mappings]]\ngroup = \"devs\"\nlocal_group = \"docker\"\n");
    let c = parse("c", &src).unwrap();
    let s = &c.servers[0];
    assert_eq!(s.group_mappings.len(), 2);
    assert_eq!(s.group_mappings[0].local_group.as_deref(), Some("sudo"));
    assert!(s.group_mappings[0].allow_login);
    assert_eq!(s.group_mappings[1].group.as_deref(), Some("devs"));
    assert!(!s.group_mappings[1].allow_login);
    let e = parse("c", &format!("{MIN}admin_dn = \"cn=x\"\n")).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("servers[0].admin_dn"));
    let e = parse("c", &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\ngroup_dn = \"cn=a\"\nallow_login = true\n")).unwrap_err();
    assert!(
        e.message.contains("exactly one of group_dn and group"),
        "{e}"
    );
    let e = parse(
        "c",
        &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\n"),
    )
    .unwrap_err();
    assert!(e.message.contains("no effect"), "{e}");
    let e = parse(
        "c",
        &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\nlocal_group = \"bad name\"\n"),
    )
    .unwrap_err();
    assert_eq!(
        e.key.as_deref(),
        Some("servers[0].group_mappings.local_group")
    );
    let e = parse(
        "c",
        &format!("{MIN}[[servers.group_mappings]]\ngroup = \"a\"\nlocal_gruop = \"x\"\n"),
    )
    .unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("did you mean `local_group`?"));
}

#[test]
fn ignore_lists() {
    let c = parse(
        "c",
        &format!("[nss]\nignore_users = [\"backup\"]\nignore_groups = [\"staff\"]\n{MIN}"),
    )
    .unwrap();
    assert_eq!(c.nss.ignore_users, vec!["backup".to_string()]);
    assert_eq!(c.nss.ignore_groups, vec!["staff".to_string()]);
}

#[test]
fn ssh_key_attribute_defaults_per_schema_and_can_be_turned_off() {
    for (schema, want) in [
        ("rfc2307", "sshPublicKey"),
        ("rfc2307bis", "sshPublicKey"),
        ("ad", "sshPublicKey"),
        ("ipa", "ipaSshPubKey"),
    ] {
        let src = MIN.replace("base", &format!("schema = \"{schema}\"\nbase"));
        let e = parse("c", &src).unwrap().servers[0].effective();
        assert_eq!(e.attr_ssh_key.as_deref(), Some(want), "{schema}");
    }
    let e = parse(
        "c",
        &format!("{MIN}[servers.users]\nssh_key_attribute = \"sshKey\"\n"),
    )
    .unwrap()
    .servers[0]
        .effective();
    assert_eq!(e.attr_ssh_key.as_deref(), Some("sshKey"));
    let e = parse(
        "c",
        &format!("{MIN}[servers.users]\nssh_key_attribute = \"\"\n"),
    )
    .unwrap()
    .servers[0]
        .effective();
    assert_eq!(e.attr_ssh_key, None);
}

#[test]
fn one_uri_is_a_whole_config() {
    let cfg = parse(
        "t.toml",
        "[[servers]]\nuri = [\"ldaps://ldap.example.com\"]\n",
    )
    .unwrap();
    let s = &cfg.servers[0];
    assert_eq!(s.name, "ldap.example.com");
    assert_eq!(s.schema, super::Schema::Auto);
    assert_eq!(s.base, "");
    assert!(s.needs_detection());
    // Named after the first URI's host: IPv6, a port, a local socket.
    let named = |uri: &str| {
        parse("t.toml", &format!("[[servers]]\nuri = \"{uri}\"\n"))
            .unwrap()
            .servers[0]
            .name
            .clone()
    };
    assert_eq!(named("ldap://[::1]:3389"), "::1");
    assert_eq!(named("ldap://10.0.0.5:3389/"), "10.0.0.5");
    assert_eq!(named("ldapi://%2Frun%2Fslapd%2Fldapi"), "ldapi");
    assert_eq!(named("dns-srv:example.com"), "example.com");
    // A configured schema and base leave nothing to detect.
    let fixed = parse(
        "t.toml",
        "[[servers]]\nuri = \"ldap://x\"\nschema = \"rfc2307\"\nbase = \"dc=x\"\n",
    )
    .unwrap();
    assert!(!fixed.servers[0].needs_detection());
    // Two blocks named after the same host: the error says where the name came from.
    let e = parse(
        "t.toml",
        "[[servers]]\nuri = \"ldap://x:389\"\n[[servers]]\nuri = \"ldap://x:3389\"\n",
    )
    .unwrap_err();
    assert!(
        e.message.contains("server name `x` is used twice (a block without `name` is named after its first URI's host)"),
        "{e}"
    );
    let e = parse("t.toml", "[[servers]]\nuri = \"ldap://x\"\nbase = \"  \"\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("servers[0].base"), "{e}");
}

#[test]
fn offline_section_defaults_and_mistakes() {
    let c = parse("c.toml", GOOD).unwrap();
    assert_eq!(c.offline.dir, "/var/lib/ldaprs");
    assert_eq!(c.offline.max_age, 7 * 86_400);
    assert!(!c.offline.cache_credentials);
    assert_eq!((c.offline.failed_logins, c.offline.lockout), (5, 300));
    let src = format!("{GOOD}\n[offline]\ndir = \"relative/dir\"\n");
    let e = parse("c.toml", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("offline.dir"), "{e}");
    assert!(
        e.line.is_some() && e.to_string().starts_with("c.toml:"),
        "{e}"
    );
    let src = format!("{GOOD}\n[offline]\nmax_age = 0\ncache_credentials = true\n");
    let e = parse("c.toml", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("offline.cache_credentials"), "{e}");
    let src = format!("{GOOD}\n[offline]\nlockout = 999999999999\n");
    let e = parse("c.toml", &src).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("offline.lockout"), "{e}");
    let src = format!("{GOOD}\n[offline]\nmax_agee = 5\n");
    let e = parse("c.toml", &src).unwrap_err();
    assert!(e.to_string().contains("max_agee"), "{e}");
}

#[test]
fn dns_srv_uris_are_checked() {
    let block = |uri: &str| {
        format!(
            "[[servers]]\nname = \"s\"\nuri = [\"{uri}\", \"ldaps://fallback\"]\nbase = \"dc=x\"\n"
        )
    };
    let c = parse("t.toml", &block("dns-srv:example.com")).unwrap();
    assert_eq!(c.servers[0].uris()[0], "dns-srv:example.com");
    for bad in [
        "dns-srv:",
        "dns-srv:ldap://x",
        "dns-srv:a..b",
        "dns-srv:h:389",
    ] {
        let e = parse("/etc/ldaprs/ldaprs.toml", &block(bad)).unwrap_err();
        assert_eq!(e.line, Some(3), "{bad}: {e}");
        assert!(
            e.to_string().contains("does not name a DNS domain"),
            "{bad}: {e}"
        );
    }
    let e = parse("t.toml", &block("srv:example.com")).unwrap_err();
    assert!(e.to_string().contains("dns-srv:<domain>"), "{e}");
}

#[test]
fn sasl_section_is_checked() {
    let block = |uri: &str, extra: &str| {
        format!("[[servers]]\nuri = \"{uri}\"\nschema = \"rfc2307\"\nbase = \"dc=x\"\n{extra}")
    };
    let c = parse(
        "t.toml",
        &block(
            "ldap://h",
            "[servers.sasl]\nmech = \"GSSAPI\"\nserver_principal = \"ldap/v.example.com@EX\"\n",
        ),
    )
    .unwrap();
    let sasl = c.servers[0].sasl.as_ref().unwrap();
    assert_eq!(sasl.mech, super::SaslMech::Gssapi);
    assert_eq!(sasl.keytab, std::path::PathBuf::from("/etc/krb5.keytab"));
    let bad = [
        ("[servers.sasl]\nmech = \"PLAIN\"\n", "mech"),
        (
            "[servers.sasl]\nmech = \"GSSAPI\"\nserver_principal = \"host/x\"\n",
            "server_principal",
        ),
        (
            "bind_dn = \"cn=r\"\nbind_password_file = \"/p\"\n[servers.sasl]\nmech = \"GSSAPI\"\n",
            "bind_dn",
        ),
        ("[servers.sasl]\nmech = \"EXTERNAL\"\n", "mech"),
    ];
    for (extra, key) in bad {
        let e = parse("t.toml", &block("ldap://h", extra)).unwrap_err();
        assert!(
            e.key.as_deref().unwrap_or("").ends_with(key),
            "{extra}: {e}"
        );
    }
    // EXTERNAL over ldapi:// needs nothing more.
    let c = parse(
        "t.toml",
        &block(
            "ldapi://%2Frun%2Fslapd",
            "[servers.sasl]\nmech = \"EXTERNAL\"\n",
        ),
    );
    assert!(c.is_ok(), "{c:?}");
}

#[test]
fn auth_section_is_checked() {
    let base = "[[servers]]\nuri = \"ldaps://h\"\nschema = \"rfc2307\"\nbase = \"dc=x\"\n";
    let c = parse(
        "t.toml",
        &format!("{base}[servers.auth]\nmethod = \"krb5\"\nrealm = \"EX\"\n"),
    )
    .unwrap();
    assert_eq!(c.servers[0].auth.method, super::AuthMethod::Krb5);
    assert_eq!(
        c.servers[0].auth.keytab,
        std::path::PathBuf::from("/etc/krb5.keytab")
    );
    let c = parse("t.toml", base).unwrap();
    assert_eq!(c.servers[0].auth.method, super::AuthMethod::Bind);
    let e = parse(
        "t.toml",
        &format!("{base}user_dn_pattern = \"uid=%s,dc=x\"\n[servers.auth]\nmethod = \"krb5\"\n"),
    )
    .unwrap_err();
    assert!(e.message.contains("choose one"), "{e}");
    let e = parse(
        "t.toml",
        &format!("{base}[servers.auth]\nmethod = \"pam\"\n"),
    )
    .unwrap_err();
    assert!(e.key.as_deref().unwrap_or("").ends_with("method"), "{e}");
    let e = parse(
        "t.toml",
        &format!(
            "{base}[servers.auth]\nmethod = \"krb5\"\nprincipal_attribute = \"user principal\"\n"
        ),
    )
    .unwrap_err();
    assert_eq!(
        e.key.as_deref(),
        Some("servers[0].auth.principal_attribute"),
        "{e}"
    );
}
