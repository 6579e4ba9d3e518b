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
  user show NAME|UID    the passwd record the daemon answers
  group show NAME|GID   the group record the daemon answers
  groups NAME           the groups initgroups would get
  auth test NAME        authenticate NAME (password read from standard input)
  account test NAME [--service S] [--rhost H]
                        the account-stage decision for NAME (access rules, account state),
                        with the message a user would see; the daemon log names the rule
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
            for (k, v) in lines {
                println!("{k}: {v}");
            }
            ExitCode::SUCCESS
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
    for s in &cfg.servers {
        if let Some(f) = &s.bind_password_file {
            if let Err(e) = config::read_secret(f) {
                eprintln!("server {}: {e}", s.name);
                bad = true;
            }
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
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ldaprsctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limits = IdLimits { min_uid: cfg.nss.min_uid, min_gid: cfg.nss.min_gid() };
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
            println!("  {:<22} {}", "verdict", if r.usable { "usable" } else { "NOT USABLE" });
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
        ["user", "show", n] => match n.parse::<u32>() {
            Ok(uid) => Request::UserByUid(uid),
            Err(_) => Request::UserByName(n.to_string()),
        },
        ["group", "show", n] => match n.parse::<u32>() {
            Ok(gid) => Request::GroupByGid(gid),
            Err(_) => Request::GroupByName(n.to_string()),
        },
        ["groups", n] => Request::GroupsOfUser(n.to_string()),
        ["auth", "test", n] => {
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_err() {
                return ExitCode::from(2);
            }
            let pw = line.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
            Request::Authenticate {
                user: n.to_string(),
                password: Secret::new(pw),
                ctx: PamContext {
                    service: "ldaprsctl".into(),
                    ..Default::default()
                },
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
        Ok(r) => show(r),
        Err(c) => c,
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
