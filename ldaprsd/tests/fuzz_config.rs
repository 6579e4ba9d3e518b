//! Randomized tests of the config parser (`ldaprs_common::config::parse`: TOML, then the
//! semantic checks, then the located error with its did-you-mean hint). The daemon and
//! `ldaprsctl config check` run it on files an administrator wrote by hand: any text must
//! give a config or an error, without a panic, a hang, or an allocation out of proportion
//! to the text: nothing in the text is a size that is reserved, so memory is linear in its
//! length, with the constants of the TOML parser's in-memory forms, measured on the densest
//! inputs (see `deep_nesting_is_refused_not_recursed`): a dotted key `a.a.a….x` is one
//! `Vec` of 144-byte keys per 2 bytes of text, grown by doubling (so one allocation may be
//! 144 × the text), and each `[` of a nested array keeps ~720 bytes live. The bounds: one
//! allocation at most 160 × the length + 4 KiB, at most 512 × the length + 64 KiB live at
//! once. Nesting stops at the parser's recursion limit, with an error.
//!
//! Inputs: arbitrary text, and mutations of valid configs (the packaged one, with and
//! without its commented examples, and a few small ones): lines deleted, duplicated, swapped
//! or added, keys renamed (real keys, near misses, arbitrary), values replaced (integer and
//! float edge values, odd strings, arrays, inline tables, dates), and TOML punctuation
//! inserted at random.
//!
//! (In ldaprsd/tests because the `config` feature of ldaprs-common is on for this crate.)
//!
//! `cargo test` runs `CI_CASES` cases; the long run is
//! `LDAPRS_FUZZ_CASES=1000000 cargo test --release -p ldaprsd --test fuzz_config -- --ignored`
//! (docs/FUZZING.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../common/tests/support/mod.rs"]
mod support;

use ldaprs_common::config::parse;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use support::{check_split, long_cases, run, CI_CASES};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

const PACKAGED: &str = include_str!("../../packaging/ldaprs.toml");

const MIN: &str = "[[servers]]\nname = \"a\"\nuri = \"ldap://127.0.0.1\"\nbase = \"dc=x\"\n";

const RICH: &str = r#"[daemon]
socket = "/run/ldaprs/socket"
log_level = "debug"
user = "ldaprs"

[cache]
entry_ttl = 600
negative_ttl = 30
map_size_mb = 32

[nss]
min_uid = 1000
min_gid = 1000
ignore_users = ["root", "daemon"]
ignore_groups = ["wheel"]
allow_primary_gids = [100]

[pam]
allow_groups = ["staff"]
deny_groups = ["banned"]
access_filter = "(&(objectClass=posixAccount)(host=%h))"

[[servers]]
name = "corp"
uri = ["ldaps://ldap1.example.com", "ldap://ldap2.example.com:389"]
schema = "ad"
base = "dc=example,dc=com"
bind_dn = "cn=reader,dc=example,dc=com"
bind_password_file = "/etc/ldaprs/bind_password"
timeout = 5
connect_timeout = 2
failover_delay = 0.4
retry_dead_after = 10
retry_dead_max = 300
allow_cleartext_passwords = false
user_dn_pattern = "uid=%s,ou=people,dc=example,dc=com"
admin_dn = "cn=pwadmin,dc=example,dc=com"
admin_password_file = "/etc/ldaprs/admin_password"

[servers.tls]
mode = "starttls"
ca_file = "/etc/ssl/certs/ca-certificates.crt"
verify = true
client_cert = "/etc/ldaprs/client.pem"
client_key = "/etc/ldaprs/client.key"

[servers.users]
base = "ou=people,dc=example,dc=com"
filter = "(objectClass=user)"
attributes = { name = "sAMAccountName", uid_number = "uidNumber", gid_number = "gidNumber", gecos = "cn", home = "unixHomeDirectory", shell = "loginShell" }

[servers.groups]
base = "ou=groups,dc=example,dc=com"
filter = "(objectClass=group)"
nested = true
nesting_depth = 5
in_chain = true

[[servers.group_mappings]]
group_dn = "cn=linux-admins,ou=groups,dc=example,dc=com"
allow_login = true
local_group = "sudo"

[[servers.group_mappings]]
group = "devs"
local_group = "docker"

[[servers]]
name = "second"
uri = "ldap://127.0.0.2"
base = "dc=example,dc=org"
schema = "rfc2307"
"#;

/// The packaged config with its commented example keys switched on.
fn uncommented() -> String {
    let mut on = String::new();
    for l in PACKAGED.lines() {
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
    on
}

fn seeds() -> Vec<String> {
    vec![
        PACKAGED.to_string(),
        uncommented(),
        MIN.to_string(),
        RICH.to_string(),
    ]
}

const KEYS: &[&str] = &[
    "socket",
    "log_level",
    "user",
    "entry_ttl",
    "negative_ttl",
    "map_size_mb",
    "min_uid",
    "min_gid",
    "ignore_users",
    "ignore_groups",
    "allow_primary_gids",
    "allow_groups",
    "deny_groups",
    "access_filter",
    "name",
    "uri",
    "schema",
    "base",
    "bind_dn",
    "bind_password_file",
    "timeout",
    "connect_timeout",
    "failover_delay",
    "retry_dead_after",
    "retry_dead_max",
    "allow_cleartext_passwords",
    "user_dn_pattern",
    "admin_dn",
    "admin_password_file",
    "group_dn",
    "group",
    "allow_login",
    "local_group",
    "mode",
    "ca_file",
    "verify",
    "client_cert",
    "client_key",
    "uid_number",
    "gid_number",
    "gecos",
    "home",
    "shell",
    "member_of",
    "filter",
    "attributes",
    "member_uid",
    "member",
    "nested",
    "nesting_depth",
    "in_chain",
    "search_filter",
    "search_filter_user_attribute",
    "uri.x",
    "\"quoted key\"",
    "servers.tls.mode",
    "timeoutt",
    "bse",
    "",
];

const HEADERS: &[&str] = &[
    "[daemon]",
    "[cache]",
    "[nss]",
    "[pam]",
    "[[servers]]",
    "[servers.tls]",
    "[servers.users]",
    "[servers.groups]",
    "[[servers.group_mappings]]",
    "[servers.users.attributes]",
    "[servers]",
    "[[daemon]]",
    "[nss.extra]",
    "[servers.nope]",
    "[",
    "[[",
    "[a.b.c.d.e.f]",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "0",
            "-1",
            "1",
            "65535",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "0x7fffffff",
            "0o777",
            "0b1",
            "1_000",
            "0.0",
            "-0.0",
            "0.4",
            "1e308",
            "1e400",
            "-1.5",
            "nan",
            "inf",
            "-inf",
            "true",
            "false",
            "\"\"",
            "\"auto\"",
            "\"never\"",
            "\"tls\"",
            "\"starttls\"",
            "\"ad\"",
            "\"ipa\"",
            "\"rfc2307\"",
            "\"rfc2307bis\"",
            "\"debug\"",
            "\"ldap://\"",
            "\"ldapi:///\"",
            "\"ldaps://[::1]:636\"",
            "\"dc=x\"",
            "\"(&(a=b)\"",
            "\"%s%s%h\"",
            "\"\\u0000\"",
            "\"\\uD800\"",
            "\"line\\nbreak\"",
            "'''multi\nline'''",
            "[]",
            "[[]]",
            "[1, \"a\"]",
            "[\"ldap://a\", \"ldap://b\"]",
            "{}",
            "{ a = 1 }",
            "{ name = \"uid\" }",
            "1979-05-27T07:32:00Z",
            "07:32:00",
            "\"\u{1F600}\"",
            "\"\u{202E}\"",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        vec(any::<char>(), 0..16).prop_map(|c| format!("{:?}", String::from_iter(c))),
        (1usize..2000).prop_map(|n| format!("\"{}\"", "a".repeat(n))),
        (1usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        (1usize..100).prop_map(|n| format!("{}1{}", "{a=".repeat(n), "}".repeat(n))),
    ]
}

/// A dotted key of up to 300 parts.
fn dotted() -> impl Strategy<Value = String> {
    (1usize..300, proptest::sample::select(KEYS))
        .prop_map(|(n, k)| format!("{}{k}", "a.".repeat(n)))
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        (proptest::sample::select(KEYS), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        (dotted(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        dotted().prop_map(|k| format!("[{k}]")),
        proptest::sample::select(HEADERS).prop_map(str::to_string),
        vec(any::<char>(), 0..24).prop_map(String::from_iter),
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Add(usize, String),
    /// Replaces the value of a `key = value` line.
    Value(usize, String),
    /// Replaces the key of a `key = value` line.
    Key(usize, String),
    /// Inserts text at a byte position (moved to a char boundary).
    Splice(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let punct = proptest::sample::select(vec![
        "[", "]", "[[", "]]", "\"", "'''", "\"\"\"", "=", "{", "}", ",", "\n", "#", ".", "\\",
        "\r", "\t", "\u{0}", "\u{feff}", " = ",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), line()).prop_map(|(i, l)| Edit::Add(i, l)),
        (any::<usize>(), value()).prop_map(|(i, v)| Edit::Value(i, v)),
        (any::<usize>(), proptest::sample::select(KEYS)).prop_map(|(i, k)| Edit::Key(i, k.into())),
        (any::<usize>(), punct).prop_map(|(i, p)| Edit::Splice(i, p)),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Edit::Add(i, l) => lines.insert(i % (lines.len() + 1), l.clone()),
            Edit::Value(i, v) | Edit::Key(i, v) if !lines.is_empty() => {
                let l = &mut lines[i % n];
                if let Some((k, old)) = l.split_once('=') {
                    *l = if matches!(e, Edit::Value(..)) {
                        format!("{k}= {v}")
                    } else {
                        format!("{v} ={old}")
                    };
                }
            }
            Edit::Splice(i, p) => {
                let mut text = lines.join("\n");
                let mut at = i % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, p);
                lines = text.lines().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

#[derive(Clone, Debug)]
enum Input {
    Text(String),
    Edited(usize, Vec<Edit>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => vec(any::<char>(), 0..200).prop_map(|c| Input::Text(String::from_iter(c))),
        1 => vec(line(), 0..12).prop_map(|l| Input::Text(l.join("\n"))),
        6 => (0usize..4, vec(edit(), 1..5)).prop_map(|(s, e)| Input::Edited(s, e)),
    ]
}

fn one_config(input: Input, seeds: &[String]) -> Result<(), TestCaseError> {
    let src = match &input {
        Input::Text(t) => t.clone(),
        Input::Edited(s, edits) => apply(&seeds[*s % seeds.len()], edits),
    };
    let single = 160 * src.len() + 4096;
    let peak = 512 * src.len() + 64 * 1024;
    check_split("config::parse", single, peak, || {
        match parse("fuzz.toml", &src) {
            // Everything the daemon and ldaprsctl do with the result: the server blocks'
            // effective settings, or the error's one-line message.
            Ok(c) => c
                .servers
                .iter()
                .map(|s| s.effective().user_base.len())
                .sum(),
            Err(e) => e.to_string().len(),
        }
    })?;
    Ok(())
}

#[test]
fn seeds_are_valid_configs() {
    for (i, s) in seeds().iter().enumerate() {
        assert!(
            parse("seed", s).is_ok(),
            "seed {i}: {:?}",
            parse("seed", s).err()
        );
    }
}

#[test]
fn deep_nesting_is_refused_not_recursed() {
    // Found by the long run: two lines of ~45 nested arrays, 250 bytes, 81 KB live at peak
    // (the bound was 64 × length then). Deeper nesting stops at the parser's recursion
    // limit, with an error, on an ordinary test thread's stack, in linear memory.
    let found = format!(
        "socket = {0}{1}\nsocket = {0}{1}",
        "[".repeat(45),
        "]".repeat(45)
    );
    assert!(parse("t", &found).is_err());
    let n = 100_000;
    for deep in [
        format!("x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        format!("x = {}1{}\n", "{a=".repeat(n), "}".repeat(n)),
        format!("{}x = 1\n", "a.".repeat(n)),
        format!("[{}x]\n", "a.".repeat(n)),
    ] {
        let (r, u) = support::measure(|| parse("t", &deep).map(|_| ()).map_err(|e| e.message));
        assert!(r.is_err(), "{}: accepted", &deep[..8]);
        assert!(
            u.largest <= 160 * deep.len() + 4096,
            "{}: {u:?}",
            &deep[..8]
        );
        assert!(
            u.peak <= 512 * deep.len() + 64 * 1024,
            "{}: {u:?}",
            &deep[..8]
        );
    }
}

#[test]
fn config_parser() {
    let seeds = seeds();
    run("config parser", CI_CASES, input(), |i| {
        one_config(i, &seeds)
    });
}

#[test]
#[ignore = "long run: LDAPRS_FUZZ_CASES=1000000 cargo test --release ... -- --ignored"]
fn config_parser_long() {
    let seeds = seeds();
    run("config parser", long_cases(), input(), |i| {
        one_config(i, &seeds)
    });
}
