//! `ldaprsctl`: check the config, ask the daemon what it answers, flush its cache.

mod checks;
mod daemon;
mod import;
mod join;
mod output;

use daemon::{call, read_password};
use ldaprs_common::config;
use ldaprs_common::protocol::{AuthCode, PamContext, Request, Response};
use output::{show, show_json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: ldaprsctl [--config PATH] [--socket PATH] COMMAND
commands:
  config check          parse the config and the secret files (no daemon needed)
  server test           for each URI: TCP, StartTLS, TLS version and certificate, service bind,
                        RootDSE (no daemon needed)
  status                what the daemon reports
  user show NAME|UID    the passwd record the daemon answers, and how: cache, shared map,
                        each server's base and exact filter, which URI is connected
  group show NAME|GID   the same for a group
  groups NAME           the groups initgroups would get
  auth test NAME        authenticate NAME and check the account (password read from the
                        terminal without echo, or from standard input)
  account test NAME [--service S] [--rhost H]
                        the account-stage decision for NAME (access rules, account state),
                        with the message a user would see; the daemon log names the rule
options: --json (machine-readable output)
  cache flush           drop every cached answer and cached login: memory, the shared map
                        and the persistent cache (root only)
  cache show NAME       what is kept for NAME for offline mode: the stored entry and groups
                        and how old, the cached password, whether an offline login is
                        possible (root only)
  cache forget NAME     forget NAME in memory, the shared map and the persistent cache,
                        cached login included (root only)
  import nslcd FILE     translate an nslcd.conf (e.g. /etc/nslcd.conf) into an ldaprs.toml on
                        standard output; options that cannot be translated are listed there
                        and on standard error, with the reason (no daemon needed)
  import sssd FILE      the same for an sssd.conf (its [domain/...] sections with
                        id_provider = ldap)
  join ad DOMAIN [--user ADMIN] [--keytab PATH] [--host-fqdn FQDN] [--computer-name NAME]
       [--domain-controller HOST] [--write PATH]
                        join this host to the Active Directory domain with adcli (admin
                        password from standard input or adcli's prompt; keytab default
                        /etc/krb5.keytab), then print (or write to a new file) an
                        ldaprs.toml: DNS SRV discovery, schema ad, GSSAPI service bind with
                        the machine key, Kerberos logins";

/// The global options and the command words.
struct Args {
    path: PathBuf,
    socket: Option<String>,
    json: bool,
    rest: Vec<String>,
}

fn parse_args() -> Result<Args, ExitCode> {
    let mut a = Args {
        path: PathBuf::from(ldaprs_common::DEFAULT_CONFIG),
        socket: None,
        json: false,
        rest: Vec::new(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.into_iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--config" => a.path = PathBuf::from(it.next().ok_or_else(usage)?),
            "--socket" => a.socket = Some(it.next().ok_or_else(usage)?),
            "--json" => a.json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Err(ExitCode::SUCCESS);
            }
            _ => a.rest.push(x),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(code) => return code,
    };
    // The socket: --socket, else the config's [daemon] socket if readable, else the default.
    let socket = a.socket.clone().unwrap_or_else(|| {
        config::load(&a.path)
            .map(|c| c.daemon.socket)
            .unwrap_or_else(|_| ldaprs_common::DEFAULT_SOCKET.to_string())
    });
    let rest: Vec<&str> = a.rest.iter().map(String::as_str).collect();
    let req = match rest.as_slice() {
        ["config", "check"] => return checks::config_check(&a.path),
        ["server", "test"] => return checks::server_test(&a.path),
        ["import", "nslcd", f] => return import::run(import::Source::Nslcd, Path::new(f)),
        ["import", "sssd", f] => return import::run(import::Source::Sssd, Path::new(f)),
        ["join", "ad", rest @ ..] => return join::run(rest),
        ["auth", "test", n] => match auth_test(&socket, n, a.json) {
            Ok(req) => req,
            Err(code) => return code,
        },
        ["account", "test", n, opts @ ..] => match account_test(n, opts) {
            Ok(req) => req,
            Err(code) => return code,
        },
        words => match lookup_request(words) {
            Some(req) => req,
            None => return usage(),
        },
    };
    match call(&socket, &req) {
        Ok(r) if a.json => show_json(r),
        Ok(r) => show(r),
        Err(c) => c,
    }
}

/// The requests that are one question to the daemon.
fn lookup_request(words: &[&str]) -> Option<Request> {
    Some(match words {
        ["status"] => Request::Status,
        ["cache", "flush"] => Request::FlushCache,
        ["cache", "show", n] => Request::CacheShow {
            user: n.to_string(),
        },
        ["cache", "forget", n] => Request::CacheForget {
            user: n.to_string(),
        },
        ["user", "show", n] => Request::Explain(Box::new(match n.parse::<u32>() {
            Ok(uid) => Request::UserByUid(uid),
            Err(_) => Request::UserByName(n.to_string()),
        })),
        ["group", "show", n] => Request::Explain(Box::new(match n.parse::<u32>() {
            Ok(gid) => Request::GroupByGid(gid),
            Err(_) => Request::GroupByName(n.to_string()),
        })),
        ["groups", n] => Request::GroupsOfUser(n.to_string()),
        _ => return None,
    })
}

/// `auth test NAME`: authenticates, prints the result, and if it succeeded returns the
/// account-stage question pam_sm_acct_mgmt would ask next (`Err`: already answered).
fn auth_test(socket: &str, n: &str, json: bool) -> Result<Request, ExitCode> {
    let pw = read_password(&format!("Password for {n}: ")).ok_or(ExitCode::from(2))?;
    let ctx = PamContext {
        service: "ldaprsctl".into(),
        ..Default::default()
    };
    let auth = Request::Authenticate {
        user: n.to_string(),
        password: pw,
        ctx: ctx.clone(),
    };
    let first = call(socket, &auth)?;
    let ok = matches!(
        first,
        Response::Auth {
            code: AuthCode::Success,
            ..
        }
    );
    if !ok || json {
        return Err(if json {
            show_json(first)
        } else {
            print!("authentication: ");
            show(first)
        });
    }
    println!("authentication: Success");
    // Then the account stage, as pam_sm_acct_mgmt would ask it.
    print!("account: ");
    Ok(Request::AccountCheck {
        user: n.to_string(),
        ctx,
    })
}

/// `account test NAME [--service S] [--rhost H]`.
fn account_test(n: &str, opts: &[&str]) -> Result<Request, ExitCode> {
    let mut ctx = PamContext {
        service: "ldaprsctl".into(),
        ..Default::default()
    };
    let mut it = opts.iter();
    while let Some(o) = it.next() {
        match (*o, it.next()) {
            ("--service", Some(v)) => ctx.service = v.to_string(),
            ("--rhost", Some(v)) => ctx.rhost = v.to_string(),
            _ => return Err(usage()),
        }
    }
    Ok(Request::AccountCheck {
        user: n.to_string(),
        ctx,
    })
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
