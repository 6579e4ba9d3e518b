//! `ldaprsctl`: check the config, ask the daemon what it answers, flush its cache.

use ldaprs_common::client::{self, CallOptions};
use ldaprs_common::config;
use ldaprs_common::protocol::{AuthCode, PamContext, Request, Response, Secret};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
  cache flush           drop every cached answer (root only)";

fn call(socket: &str, req: &Request) -> Result<Response, ExitCode> {
    let opts = CallOptions {
        timeout: Duration::from_secs(15),
        require_trusted_peer: false,
    };
    client::call(socket, req, opts).map_err(|e| {
        eprintln!("ldaprsctl: {e} (socket {socket})");
        ExitCode::from(3)
    })
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_object(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// --json: every answer as one JSON object.
fn show_json(resp: Response) -> ExitCode {
    let (pairs, code): (Vec<(String, String)>, u8) = match resp {
        Response::User(p) => (
            vec![
                ("name".into(), p.name),
                ("uid".into(), p.uid.to_string()),
                ("gid".into(), p.gid.to_string()),
                ("gecos".into(), p.gecos),
                ("home".into(), p.dir),
                ("shell".into(), p.shell),
            ],
            0,
        ),
        Response::Group(g) => (
            vec![
                ("name".into(), g.name),
                ("gid".into(), g.gid.to_string()),
                ("members".into(), g.members.join(",")),
            ],
            0,
        ),
        Response::Gids(g) => (
            vec![(
                "gids".into(),
                g.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
            )],
            0,
        ),
        Response::NotFound => (vec![("result".into(), "not found".into())], 2),
        Response::Status(lines) => {
            let notfound = lines.iter().any(|(k, v)| k == "answer" && v == "not found");
            (lines, if notfound { 2 } else { 0 })
        }
        Response::Ok => (vec![("result".into(), "ok".into())], 0),
        Response::Auth { code, message } => (
            vec![
                ("decision".into(), format!("{code:?}")),
                ("message".into(), message),
            ],
            if code == AuthCode::Success { 0 } else { 1 },
        ),
        Response::Error { code, message } => (
            vec![
                ("error".into(), format!("{code:?}")),
                ("message".into(), message),
            ],
            3,
        ),
        other => (vec![("answer".into(), format!("{other:?}"))], 0),
    };
    println!("{}", json_object(&pairs));
    ExitCode::from(code)
}

/// Reads a password: from the terminal with echo off, else one line of standard input.
fn read_password(prompt: &str) -> Option<Vec<u8>> {
    use std::io::Write;
    let fd = libc::STDIN_FILENO;
    // SAFETY: isatty on our own stdin.
    let tty = unsafe { libc::isatty(fd) } == 1;
    // SAFETY: termios is plain old data.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr into our buffer.
    let echo_off = tty && unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
    if echo_off {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: setting our own terminal's attributes; restored below.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let ok = std::io::stdin().lock().read_line(&mut line).is_ok();
    if echo_off {
        // SAFETY: restoring the attributes saved above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        eprintln!();
    }
    ok.then(|| line.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
}

fn show(resp: Response) -> ExitCode {
    match resp {
        Response::User(p) => {
            println!(
                "{}:x:{}:{}:{}:{}:{}",
                p.name, p.uid, p.gid, p.gecos, p.dir, p.shell
            );
            ExitCode::SUCCESS
        }
        Response::Group(g) => {
            println!("{}:x:{}:{}", g.name, g.gid, g.members.join(","));
            ExitCode::SUCCESS
        }
        Response::Gids(g) => {
            println!(
                "{}",
                g.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            );
            ExitCode::SUCCESS
        }
        Response::NotFound => {
            eprintln!("not found");
            ExitCode::from(2)
        }
        Response::Status(lines) => {
            let notfound = lines.iter().any(|(k, v)| k == "answer" && v == "not found");
            for (k, v) in lines {
                println!("{k:<24} {v}");
            }
            if notfound {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Response::Ok => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Response::Auth { code, message } => {
            println!(
                "{code:?}{}",
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            );
            if code == AuthCode::Success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Response::Error { code, message } => {
            eprintln!("daemon error {code:?}: {message}");
            ExitCode::from(3)
        }
        other => {
            println!("{other:?}");
            ExitCode::SUCCESS
        }
    }
}

fn config_check(path: &std::path::Path) -> ExitCode {
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(78);
        }
    };
    let mut bad = false;
    // Who may change what the daemon does: the config must not be writable by group or
    // others, nor owned by anyone but root (or the daemon's own user).
    if let Ok(m) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        if m.mode() & 0o022 != 0 {
            eprintln!("{}: writable by group or others (mode {:04o}): anyone could point logins at their own server (hint: chmod go-w {})", path.display(), m.mode() & 0o777, path.display());
            bad = true;
        }
    }
    for s in &cfg.servers {
        if let Some(f) = &s.bind_password_file {
            if let Err(e) = config::read_secret(f) {
                eprintln!("server {}: {e}", s.name);
                bad = true;
            }
        }
        if let Some(f) = &s.admin_password_file {
            if let Err(e) = config::read_secret_for(f, "admin_password_file") {
                eprintln!("server {}: {e}", s.name);
                bad = true;
            }
        }
        for (key, file) in [
            ("ca_file", &s.tls.ca_file),
            ("client_cert", &s.tls.client_cert),
            ("client_key", &s.tls.client_key),
        ] {
            if let Some(f) = file {
                if let Err(e) = std::fs::metadata(f) {
                    eprintln!(
                        "server {}: [servers.tls] {key} {}: {e}",
                        s.name,
                        f.display()
                    );
                    bad = true;
                }
            }
        }
        if let Some(k) = &s.tls.client_key {
            use std::os::unix::fs::MetadataExt;
            if std::fs::metadata(k).is_ok_and(|m| m.mode() & 0o077 != 0) {
                eprintln!("server {}: [servers.tls] client_key {} is readable by group or others (hint: chmod 600 it)", s.name, k.display());
                bad = true;
            }
        }
        if let Err(e) = ldaprsd::tls::client_config(s) {
            eprintln!("{e}");
            bad = true;
        }
        for w in ldaprsd::directory::ServerBlock::new(
            s.clone(),
            ldaprsd::directory::IdLimits {
                min_uid: cfg.nss.min_uid,
                min_gid: cfg.nss.min_gid(),
            },
            None,
        )
        .map(|b| b.transport_warnings())
        .unwrap_or_default()
        {
            println!("warning: {w}");
        }
        let e = s.effective();
        println!(
            "server {}: {} (schema {:?}, users under {} with {}, groups under {} with {})",
            s.name,
            s.uris().join(", "),
            s.schema,
            e.user_base,
            e.user_filter,
            e.group_base,
            e.group_filter
        );
    }
    if bad {
        return ExitCode::from(78);
    }
    println!("{}: ok", path.display());
    ExitCode::SUCCESS
}

fn server_test(path: &std::path::Path) -> ExitCode {
    use ldaprsd::directory::{IdLimits, ServerBlock};
    let cfg = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(78);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ldaprsctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = IdLimits {
        min_uid: cfg.nss.min_uid,
        min_gid: cfg.nss.min_gid(),
    };
    let mut all_ok = true;
    for s in &cfg.servers {
        let pw = match &s.bind_password_file {
            Some(f) => match config::read_secret(f) {
                Ok(p) => Some(p),
                Err(e) => {
                    println!("server {}: {e}", s.name);
                    all_ok = false;
                    continue;
                }
            },
            None => None,
        };
        let block = match ServerBlock::new(s.clone(), limits, pw) {
            Ok(b) => b,
            Err(e) => {
                println!("server {}: {e}", s.name);
                all_ok = false;
                continue;
            }
        };
        for r in rt.block_on(ldaprsd::diagnose::server_test(&block)) {
            println!("server {} {}", s.name, r.uri);
            for (k, v) in &r.lines {
                println!("  {k:<22} {v}");
            }
            println!(
                "  {:<22} {}",
                "verdict",
                if r.usable { "usable" } else { "NOT USABLE" }
            );
            all_ok &= r.usable;
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut path = PathBuf::from(ldaprs_common::DEFAULT_CONFIG);
    let mut socket: Option<String> = None;
    let mut json = false;
    let mut rest: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => match it.next() {
                Some(p) => path = PathBuf::from(p),
                None => return usage(),
            },
            "--socket" => match it.next() {
                Some(p) => socket = Some(p.clone()),
                None => return usage(),
            },
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => rest.push(other),
        }
    }
    // The socket: --socket, else the config's [daemon] socket if readable, else the default.
    let socket = socket.unwrap_or_else(|| {
        config::load(&path)
            .map(|c| c.daemon.socket)
            .unwrap_or_else(|_| ldaprs_common::DEFAULT_SOCKET.to_string())
    });
    let req = match rest.as_slice() {
        ["config", "check"] => return config_check(&path),
        ["server", "test"] => return server_test(&path),
        ["status"] => Request::Status,
        ["cache", "flush"] => Request::FlushCache,
        ["user", "show", n] => Request::Explain(Box::new(match n.parse::<u32>() {
            Ok(uid) => Request::UserByUid(uid),
            Err(_) => Request::UserByName(n.to_string()),
        })),
        ["group", "show", n] => Request::Explain(Box::new(match n.parse::<u32>() {
            Ok(gid) => Request::GroupByGid(gid),
            Err(_) => Request::GroupByName(n.to_string()),
        })),
        ["groups", n] => Request::GroupsOfUser(n.to_string()),
        ["auth", "test", n] => {
            let Some(pw) = read_password(&format!("Password for {n}: ")) else {
                return ExitCode::from(2);
            };
            let ctx = PamContext {
                service: "ldaprsctl".into(),
                ..Default::default()
            };
            let auth = Request::Authenticate {
                user: n.to_string(),
                password: Secret::new(pw),
                ctx: ctx.clone(),
            };
            let first = match call(&socket, &auth) {
                Ok(r) => r,
                Err(c) => return c,
            };
            if !matches!(
                first,
                Response::Auth {
                    code: AuthCode::Success,
                    ..
                }
            ) || json
            {
                return if json {
                    show_json(first)
                } else {
                    print!("authentication: ");
                    show(first)
                };
            }
            println!("authentication: Success");
            // Then the account stage, as pam_sm_acct_mgmt would ask it.
            print!("account: ");
            Request::AccountCheck {
                user: n.to_string(),
                ctx,
            }
        }
        ["account", "test", n, opts @ ..] => {
            let mut ctx = PamContext {
                service: "ldaprsctl".into(),
                ..Default::default()
            };
            let mut it = opts.iter();
            while let Some(o) = it.next() {
                match (*o, it.next()) {
                    ("--service", Some(v)) => ctx.service = v.to_string(),
                    ("--rhost", Some(v)) => ctx.rhost = v.to_string(),
                    _ => return usage(),
                }
            }
            Request::AccountCheck {
                user: n.to_string(),
                ctx,
            }
        }
        _ => return usage(),
    };
    match call(&socket, &req) {
        Ok(r) if json => show_json(r),
        Ok(r) => show(r),
        Err(c) => c,
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
