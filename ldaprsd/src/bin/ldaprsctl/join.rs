//! `ldaprsctl join ad DOMAIN`: joins this host to an Active Directory domain with Debian's
//! `adcli` (it makes the computer account and writes the host keytab), then prints, or writes
//! with `--write PATH` (never over an existing file), a one-block ldaprs.toml for that domain:
//! DC discovery through DNS SRV, `schema = "ad"`, the service bind with the machine's own
//! Kerberos key (SASL GSSAPI) and Kerberos password logins verified against that keytab.
//!
//! The admin password goes from standard input (or adcli's own prompt on a terminal) straight
//! to adcli; ldaprsctl never sees it. What adcli says on failure is shown as it said it.

use ldaprs_common::config;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str =
    "usage: ldaprsctl join ad DOMAIN [--user ADMIN] [--keytab PATH] [--host-fqdn FQDN]
                        [--computer-name NAME] [--domain-controller HOST] [--write PATH]";

/// The options of one `join ad`.
#[derive(Debug, PartialEq)]
struct Join {
    domain: String,
    user: String,
    keytab: PathBuf,
    host_fqdn: Option<String>,
    computer_name: Option<String>,
    dc: Option<String>,
    write: Option<PathBuf>,
}

fn parse(args: &[&str]) -> Result<Join, String> {
    let (domain, opts) = match args {
        [d, rest @ ..] if !d.starts_with('-') => (d.to_string(), rest),
        _ => {
            return Err(
                "join ad: the domain is missing (e.g. ldaprsctl join ad example.com)".into(),
            )
        }
    };
    let mut j = Join {
        domain,
        user: "Administrator".into(),
        keytab: PathBuf::from("/etc/krb5.keytab"),
        host_fqdn: None,
        computer_name: None,
        dc: None,
        write: None,
    };
    let mut it = opts.iter();
    while let Some(opt) = it.next() {
        let value = it
            .next()
            .map(|v| v.to_string())
            .ok_or_else(|| format!("join ad: {opt} needs a value"))?;
        match *opt {
            "--user" => j.user = value,
            "--keytab" => j.keytab = PathBuf::from(value),
            "--host-fqdn" => j.host_fqdn = Some(value),
            "--computer-name" => j.computer_name = Some(value),
            "--domain-controller" => j.dc = Some(value),
            "--write" => j.write = Some(PathBuf::from(value)),
            other => return Err(format!("join ad: unknown option {other}")),
        }
    }
    Ok(j)
}

/// adcli's argument list for `j`; `stdin_password` when the password comes from a pipe.
fn adcli_args(j: &Join, stdin_password: bool) -> Vec<String> {
    let mut a = vec![
        "join".to_string(),
        format!("--domain={}", j.domain),
        format!("--login-user={}", j.user),
        format!("--host-keytab={}", j.keytab.display()),
        "--show-details".into(),
    ];
    if stdin_password {
        a.push("--stdin-password".into());
    }
    for (flag, v) in [
        ("--host-fqdn", &j.host_fqdn),
        ("--computer-name", &j.computer_name),
        ("--domain-controller", &j.dc),
    ] {
        if let Some(v) = v {
            a.push(format!("{flag}={v}"));
        }
    }
    a
}

/// One `key = value` of adcli's `--show-details` output.
fn detail<'a>(details: &'a str, key: &str) -> Option<&'a str> {
    details.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key)
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// The ldaprs.toml for the joined domain, from adcli's details.
fn config_text(j: &Join, details: &str) -> Result<String, String> {
    let need = |k: &str| {
        detail(details, k).ok_or_else(|| format!("adcli's --show-details output has no {k}"))
    };
    let realm = need("domain-realm")?;
    let base = need("naming-context")?;
    let computer = need("computer-name")?;
    let fqdn = need("host-fqdn")?;
    let domain = detail(details, "domain-name").unwrap_or(&j.domain);
    let keytab = j.keytab.display();
    Ok(format!(
        "# Written by `ldaprsctl join ad {d}`: adcli joined this host to {realm} as computer\n\
         # {computer} (host/{fqdn}); its keys are in {keytab}. Check with `ldaprsctl server test`.\n\
         \n\
         [[servers]]\n\
         name = \"{domain}\"\n\
         # The domain's controllers from DNS (_ldap._tcp.dc._msdcs.{domain}).\n\
         uri = [\"dns-srv:{domain}\"]\n\
         schema = \"ad\"\n\
         base = \"{base}\"\n\
         \n\
         # The service bind: the machine account's own Kerberos key.\n\
         [servers.sasl]\n\
         mech = \"GSSAPI\"\n\
         keytab = \"{keytab}\"\n\
         principal = \"{computer}$@{realm}\"\n\
         realm = \"{realm}\"\n\
         \n\
         # Passwords checked by the domain's KDC, the ticket verified with the host key.\n\
         [servers.auth]\n\
         method = \"krb5\"\n\
         realm = \"{realm}\"\n\
         keytab = \"{keytab}\"\n\
         verify_principal = \"host/{fqdn}@{realm}\"\n",
        d = j.domain,
    ))
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("ldaprsctl: {msg}");
    ExitCode::from(1)
}

/// `ldaprsctl join ad ARGS`.
pub fn run(args: &[&str]) -> ExitCode {
    let j = match parse(args) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("ldaprsctl: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(w) = &j.write {
        if w.exists() {
            return fail(&format!(
                "{} exists: not overwritten (and nothing joined); choose another --write path or remove it",
                w.display()
            ));
        }
    }
    let stdin_password = !std::io::stdin().is_terminal();
    // adcli's messages and prompt go to our standard error as they come; its details (on its
    // standard output) are read here.
    let out = Command::new("adcli")
        .args(adcli_args(&j, stdin_password))
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail("adcli is not installed: it does the join (Debian and Ubuntu: apt-get install adcli; Fedora and RHEL: dnf install adcli)")
        }
        Err(e) => return fail(&format!("cannot run adcli: {e}")),
    };
    let details = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return fail(&format!(
            "adcli join --domain={} --login-user={} failed ({}): its message is above; nothing written",
            j.domain, j.user, out.status
        ));
    }
    let text = match config_text(&j, &details) {
        Ok(t) => t,
        Err(e) => return fail(&format!("joined, but {e}:\n{details}")),
    };
    // What we print must be a config ldaprs accepts.
    if let Err(e) = config::parse("(generated)", &text) {
        return fail(&format!("joined, but the generated config is refused: {e}"));
    }
    match &j.write {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(w) => write_new(w, &text),
    }
}

/// Writes `text` to a file that must not exist yet (mode 0644: no secret in it).
fn write_new(path: &PathBuf, text: &str) -> ExitCode {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match f.and_then(|mut f| f.write_all(text.as_bytes())) {
        Ok(()) => {
            eprintln!("ldaprsctl: wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!(
            "joined, but cannot write {}: {e}; not overwritten",
            path.display()
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn options_and_adcli_arguments() {
        let j = parse(&["bars.ad", "--user", "admin", "--host-fqdn", "c1.bars.ad"]).unwrap();
        let a = adcli_args(&j, true);
        assert_eq!(
            a,
            [
                "join",
                "--domain=bars.ad",
                "--login-user=admin",
                "--host-keytab=/etc/krb5.keytab",
                "--show-details",
                "--stdin-password",
                "--host-fqdn=c1.bars.ad"
            ]
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["bars.ad", "--write"]).is_err());
        assert!(parse(&["bars.ad", "--bogus", "x"]).is_err());
    }

    #[test]
    fn the_config_comes_from_adclis_details() {
        let details = "[domain]\ndomain-name = bars.ad\ndomain-realm = BARS.AD\nnaming-context = DC=bars,DC=ad\n[computer]\nhost-fqdn = c1.bars.ad\ncomputer-name = C1\n";
        let j = parse(&["bars.ad", "--keytab", "/etc/ldaprs/host.keytab"]).unwrap();
        let t = config_text(&j, details).unwrap();
        let c = config::parse("(t)", &t).unwrap();
        assert_eq!(c.servers.len(), 1);
        assert!(t.contains("uri = [\"dns-srv:bars.ad\"]"), "{t}");
        assert!(t.contains("principal = \"C1$@BARS.AD\""), "{t}");
        assert!(
            t.contains("verify_principal = \"host/c1.bars.ad@BARS.AD\""),
            "{t}"
        );
        assert!(config_text(&j, "domain-realm = BARS.AD\n").is_err());
    }
}
