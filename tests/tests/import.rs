//! `ldaprsctl import nslcd`, checked against the real nslcd: the same slapd is read through
//! Debian's nslcd (libnss_ldap.so.2 + nslcd, from the test's nslcd.conf) and through ldaprsd
//! with the config `ldaprsctl import nslcd` made of that nslcd.conf, each in its own private
//! mount namespace (own /run, own /etc/nsswitch.conf, own /etc/nslcd.conf; the host's /etc is
//! never touched). `getent passwd`, `getent group` and `id` for every user and group of the
//! fixture must print the same; the comparison table is printed (run with --nocapture).
//!
//! Two differences are normalised and said so in the table: a group's member list is compared
//! as a set (nslcd lists members in the order of its internal hash set), and enumerations as
//! sorted lines. nslcd has no gid floor, so the test's nslcd.conf filters out groups below
//! gid 1000 (the fixture's lowgroup, gid 10), which ldaprs hides by [nss] min_gid.
//!
//! Needs root, nslcd (`scripts/install-deps`) and nslcd's NSS module (libnss-ldapd's, or the
//! copy install-deps extracts into /usr/local/lib/ldaprs-tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ldaprs_tests::{artifact, secret_file, workspace, Env, Slapd, BASE};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// nslcd's NSS module: the package's, or install-deps's copy.
fn nss_ldap_module() -> PathBuf {
    let mut candidates = vec![PathBuf::from(
        "/usr/local/lib/ldaprs-tests/libnss_ldap.so.2",
    )];
    for dir in ["/lib", "/usr/lib"] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                candidates.push(e.path().join("libnss_ldap.so.2"));
            }
        }
    }
    candidates
        .into_iter()
        .find(|p| p.exists())
        .expect("libnss_ldap.so.2 not found: run scripts/install-deps")
}

/// nslcd, started by this test inside a namespace; stopped by its PID on drop.
struct Nslcd {
    child: Child,
}

impl Drop for Nslcd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of the nslcd this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nslcd.conf of the test: a service account, the uid floor ldaprs also has, a group
/// filter standing in for ldaprs's gid floor, "x" in the password fields (nslcd shows "*"
/// otherwise), and a few options ldaprs has no use for.
fn nslcd_conf(slapd: &Slapd, schema: &str) -> String {
    let member = if schema == "rfc2307bis" {
        "map group member member\n"
    } else {
        ""
    };
    format!(
        "# nslcd.conf of tests/tests/import.rs ({schema} fixture)\n\
         uri {uri}/\n\
         base {BASE}\n\
         binddn cn=reader,{BASE}\n\
         bindpw reader-pw\n\
         nss_min_uid 1000\n\
         filter group (&(objectClass=posixGroup)(gidNumber>=1000))\n\
         map passwd userPassword \"x\"\n\
         map group userPassword \"x\"\n\
         {member}\
         threads 2\n\
         pagesize 500\n\
         referrals no\n\
         nss_initgroups_ignoreusers ALLLOCAL\n\
         bind_timelimit 5\n\
         timelimit 10\n",
        uri = slapd.uri
    )
}

/// `ldaprsctl import nslcd FILE` → (stdout, stderr), which must not hold the bind password.
fn import(conf: &Path) -> (String, String) {
    let o = Command::new(artifact("ldaprsctl"))
        .args(["import", "nslcd"])
        .arg(conf)
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "import failed:\n{err}\n{out}");
    assert!(
        !out.contains("reader-pw") && !err.contains("reader-pw"),
        "the password was printed"
    );
    (out, err)
}

/// The imported config with its bind_password_file pointed at the test's own file.
fn with_password_file(toml: &str, file: &Path) -> String {
    let mut n = 0;
    let text: Vec<String> = toml
        .lines()
        .map(|l| {
            if l.starts_with("bind_password_file = ") {
                n += 1;
                format!("bind_password_file = \"{}\"", file.display())
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(n, 1, "one bind_password_file in\n{toml}");
    text.join("\n") + "\n"
}

/// A namespace where `passwd` and `group` come from files, then nslcd.
fn start_nslcd(env: &Env, conf_text: &str) -> Nslcd {
    let conf = env.dir.join("nslcd.conf");
    std::fs::write(&conf, conf_text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ns: String = std::fs::read_to_string("/etc/nsswitch.conf")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("passwd:") && !l.starts_with("group:"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "passwd: files ldap\ngroup: files ldap\n";
    let ns_file = env.dir.join("nsswitch-ldap.conf");
    std::fs::write(&ns_file, ns).unwrap();
    env.bind_file(&ns_file, "/etc/nsswitch.conf");
    env.bind_file(&conf, "/etc/nslcd.conf");
    std::fs::copy(nss_ldap_module(), env.dir.join("lib/libnss_ldap.so.2")).unwrap();
    assert!(env.run(&["mkdir", "-p", "/run/nslcd"]).status.success());
    let log = std::fs::File::create(env.dir.join("nslcd.log")).unwrap();
    let child = env
        .command(&["/usr/sbin/nslcd", "-d"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("/usr/sbin/nslcd (scripts/install-deps installs nslcd)");
    let nslcd = Nslcd { child };
    let run = env.socket_from_host();
    let socket = run.parent().unwrap().parent().unwrap().join("nslcd/socket");
    let t = Instant::now();
    while !socket.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "nslcd did not start:\n{}",
            std::fs::read_to_string(env.dir.join("nslcd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nslcd
}

/// (name, number) pairs.
type Ids = Vec<(String, String)>;

/// Users (name, uidNumber) and groups (name, gidNumber) of an LDIF fixture.
fn fixture_ids(ldif: &str) -> (Ids, Ids) {
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for entry in ldif.split("\n\n") {
        let attr = |name: &str| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_string)
        };
        if entry.contains("objectClass: posixAccount") {
            users.push((attr("uid").unwrap(), attr("uidNumber").unwrap()));
        } else if entry.contains("objectClass: posixGroup") {
            groups.push((attr("cn").unwrap(), attr("gidNumber").unwrap()));
        }
    }
    (users, groups)
}

/// One query's answer as compared: the exit code and the output, normalised as described
/// at the top.
fn answer(env: &Env, argv: &[&str]) -> String {
    let o = env.run(argv);
    let code = o.status.code().unwrap_or(-1);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    let mut lines: Vec<String> = out.lines().map(members_sorted).collect();
    if argv.len() == 4 && argv[0] == "getent" && argv[1] == "-s" {
        lines.sort();
    }
    let text = lines.join("\\n");
    if code == 0 {
        return text;
    }
    format!("(exit {code}) {text}{}", err.trim())
        .trim_end()
        .to_string()
}

/// `name:x:gid:b,a` → `name:x:gid:a,b` for group lines; other lines unchanged.
fn members_sorted(line: &str) -> String {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() == 4 && f[2].parse::<u32>().is_ok() {
        let mut m: Vec<&str> = f[3].split(',').filter(|s| !s.is_empty()).collect();
        m.sort();
        format!("{}:{}:{}:{}", f[0], f[1], f[2], m.join(","))
    } else {
        line.to_string()
    }
}

/// Every query of the comparison for a fixture.
fn queries(users: &[(String, String)], groups: &[(String, String)]) -> Vec<Vec<String>> {
    let mut q: Vec<Vec<String>> = Vec::new();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (name, uid) in users {
        q.push(v(&["getent", "passwd", name]));
        q.push(v(&["getent", "passwd", uid]));
    }
    for (name, gid) in groups {
        q.push(v(&["getent", "group", name]));
        q.push(v(&["getent", "group", gid]));
    }
    for (name, _) in users {
        q.push(v(&["id", name]));
    }
    q
}

/// The two sides over one slapd. Fields drop in order: nslcd first, the slapd last.
struct Pair {
    _nslcd: Nslcd,
    ldaprs: Env,
    nslcd_env: Env,
    _slapd: Slapd,
    /// The import's output and its summary.
    toml: String,
    summary: String,
}

/// slapd with the fixture, nslcd with the test's nslcd.conf, and ldaprsd with what
/// `ldaprsctl import nslcd` made of that same file (checked by `ldaprsctl config check`).
fn pair(schema: &str) -> Pair {
    let name = format!("import-{schema}");
    let slapd = Slapd::start(&name, &format!("{schema}.ldif"), schema);
    let nslcd_env = Env::new(&format!("{name}-nslcd"));
    let nslcd = start_nslcd(&nslcd_env, &nslcd_conf(&slapd, schema));
    let (toml, summary) = import(&nslcd_env.dir.join("nslcd.conf"));
    let mut ldaprs = Env::new(&format!("{name}-ldaprs"));
    let secret = secret_file(&ldaprs.dir, "reader-pw", 0o600);
    ldaprs.write_config(&with_password_file(&toml, &secret));
    let check = Command::new(artifact("ldaprsctl"))
        .arg("--config")
        .arg(&ldaprs.config)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "config check of the imported config:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    ldaprs.start_daemon();
    Pair {
        _nslcd: nslcd,
        ldaprs,
        nslcd_env,
        _slapd: slapd,
        toml,
        summary,
    }
}

/// Runs every query on both sides: the table's rows and the queries that differ.
fn rows(p: &Pair, all: &[Vec<String>]) -> (Vec<String>, Vec<String>) {
    let mut rows = Vec::new();
    let mut differ = Vec::new();
    for q in all {
        let argv: Vec<&str> = q.iter().map(String::as_str).collect();
        let a = answer(&p.nslcd_env, &argv);
        let enumeration = argv.get(2) == Some(&"ldap");
        let b = if enumeration {
            let mut other = argv.clone();
            other[2] = "ldaprs";
            answer(&p.ldaprs, &other)
        } else {
            answer(&p.ldaprs, &argv)
        };
        let shown = if enumeration {
            format!("getent -s ldap / -s ldaprs {}", argv[3])
        } else {
            argv.join(" ")
        };
        if a == b {
            rows.push(format!("| `{shown}` | `{a}` | equal |"));
        } else {
            rows.push(format!(
                "| `{shown}` | nslcd: `{a}`<br>ldaprs: `{b}` | DIFFERENT |"
            ));
            differ.push(shown);
        }
    }
    (rows, differ)
}

fn compare(schema: &str) {
    let host_nsswitch = std::fs::read("/etc/nsswitch.conf").unwrap_or_default();
    let p = pair(schema);
    let ldif =
        std::fs::read_to_string(workspace().join(format!("tests/fixtures/{schema}.ldif"))).unwrap();
    let (users, groups) = fixture_ids(&ldif);
    let mut all = queries(&users, &groups);
    for db in ["passwd", "group"] {
        all.push(["getent", "-s", "ldap", db].map(String::from).to_vec());
    }
    let (rows, differ) = rows(&p, &all);
    let version = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "nslcd"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let body: Vec<&str> = p
        .toml
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    println!(
        "\n### {schema} fixture: nslcd {version} vs ldaprsd with the imported config\n\n\
         ```\n{}```\n\n```toml\n{}\n```\n\n\
         Group members compared as sets, enumerations (`getent -s`) as sorted lines; `\\n` separates lines.\n\n\
         | query | output | nslcd = ldaprs |\n|---|---|---|\n{}\n\n{} queries, {} different",
        p.summary,
        body.join("\n"),
        rows.join("\n"),
        rows.len(),
        differ.len()
    );
    drop(p);
    assert_eq!(
        std::fs::read("/etc/nsswitch.conf").unwrap_or_default(),
        host_nsswitch,
        "the host's /etc/nsswitch.conf changed"
    );
    assert!(differ.is_empty(), "nslcd and ldaprs differ on: {differ:?}");
    // Not trivially equal: the directory's users are there.
    assert!(
        rows.iter().any(|r| r.contains("alice:x:10001:10001")),
        "{rows:?}"
    );
}

#[test]
fn nslcd_and_the_imported_config_agree_rfc2307() {
    compare("rfc2307");
}

#[test]
fn nslcd_and_the_imported_config_agree_rfc2307bis() {
    compare("rfc2307bis");
}
