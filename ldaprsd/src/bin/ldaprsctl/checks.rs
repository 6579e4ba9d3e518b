//! The checks that need no daemon: `config check` (the config, its secret and TLS files, how
//! passwords would travel) and `server test` (each URI, as the daemon would reach it).

use ldaprs_common::config::{self, Config, Server};
use ldaprsd::ldap::ServerBlock;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;

fn load(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(78)
    })
}

/// Who may change what the daemon does: the config must not be writable by group or others,
/// nor owned by anyone but root (or the daemon's own user). False if it is.
fn config_file_ok(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.mode() & 0o022 != 0 => {
            eprintln!("{}: writable by group or others (mode {:04o}): anyone could point logins at their own server (hint: chmod go-w {})", path.display(), m.mode() & 0o777, path.display());
            false
        }
        _ => true,
    }
}

/// The server block's secret and TLS files: readable, and the private ones private. False if
/// any is not.
fn server_files_ok(s: &Server) -> bool {
    let mut ok = true;
    if let Some(f) = &s.bind_password_file {
        if let Err(e) = config::read_secret(f) {
            eprintln!("server {}: {e}", s.name);
            ok = false;
        }
    }
    if let Some(f) = &s.admin_password_file {
        if let Err(e) = config::read_secret_for(f, "admin_password_file") {
            eprintln!("server {}: {e}", s.name);
            ok = false;
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
                ok = false;
            }
        }
    }
    if let Some(k) = &s.tls.client_key {
        if std::fs::metadata(k).is_ok_and(|m| m.mode() & 0o077 != 0) {
            eprintln!("server {}: [servers.tls] client_key {} is readable by group or others (hint: chmod 600 it)", s.name, k.display());
            ok = false;
        }
    }
    if let Err(e) = ldaprsd::ldap::tls::client_config(s) {
        eprintln!("{e}");
        ok = false;
    }
    ok
}

/// What the daemon would do with the block: transport warnings, then one summary line.
fn describe_server(s: &Server) {
    for w in ServerBlock::new(s.clone(), None)
        .map(|b| b.transport_warnings())
        .unwrap_or_default()
    {
        println!("warning: {w}");
    }
    let e = s.effective();
    if s.needs_detection() {
        println!(
            "server {}: {} (schema {}, base {}: the daemon asks the directory; `ldaprsctl server test` shows what it finds)",
            s.name,
            s.uris().join(", "),
            ldaprsd::ldap::detection::schema_name(s.schema),
            if s.base.is_empty() { "from the RootDSE" } else { &s.base },
        );
        return;
    }
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

pub fn config_check(path: &Path) -> ExitCode {
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut bad = !config_file_ok(path);
    for s in &cfg.servers {
        bad |= !server_files_ok(s);
        describe_server(s);
    }
    if bad {
        return ExitCode::from(78);
    }
    println!("{}: ok", path.display());
    ExitCode::SUCCESS
}

/// The block as the daemon would build it (with its service bind password), or why not.
fn block_of(s: &Server) -> Result<ServerBlock, String> {
    let pw = match &s.bind_password_file {
        Some(f) => Some(config::read_secret(f).map_err(|e| e.to_string())?),
        None => None,
    };
    ServerBlock::new(s.clone(), pw).map_err(|e| e.to_string())
}

pub fn server_test(path: &Path) -> ExitCode {
    let cfg = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
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
    let mut all_ok = true;
    for s in &cfg.servers {
        let block = match block_of(s) {
            Ok(b) => b,
            Err(e) => {
                println!("server {}: {e}", s.name);
                all_ok = false;
                continue;
            }
        };
        for r in rt.block_on(ldaprsd::admin::server_test::server_test(&block)) {
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
        if s.needs_detection() {
            all_ok &= print_detection(&rt, s, &block);
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What the daemon would detect for a block that leaves its schema or base to the directory.
fn print_detection(rt: &tokio::runtime::Runtime, s: &Server, block: &ServerBlock) -> bool {
    println!("server {} detection", s.name);
    match rt.block_on(block.detect()) {
        Ok(d) => {
            let schema = ldaprsd::ldap::detection::schema_name(d.schema);
            println!("  {:<22} {schema} ({})", "schema", d.schema_from);
            println!("  {:<22} {} ({})", "base", d.base, d.base_from);
            let e = block.detected(d).eff;
            println!("  {:<22} {} under {}", "users", e.user_filter, e.user_base);
            println!(
                "  {:<22} {} under {}",
                "groups", e.group_filter, e.group_base
            );
            true
        }
        Err(e) => {
            println!("  {:<22} FAILED: {e}", "detection");
            println!(
                "  {:<22} set `schema` and `base` in the [[servers]] block",
                "fix"
            );
            false
        }
    }
}
