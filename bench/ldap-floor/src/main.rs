//! ldap-floor: the cost of one LDAP search through ldap3 (the daemon's client library) and
//! through ldap-rs, on one kept connection, for the search the daemon sends for a cold
//! getpwnam. Prints one JSON line per run (same fields as ../shared/bench/ldapbind.c, plus
//! the process CPU time per operation).
//!
//!   ldap-floor --uri ldap://127.0.0.1:3391 --base ou=people,dc=bench,dc=test \
//!              --keys users.txt --mode MODE [-n COUNT] [--skip N] [--inflight K] [--conns C]
//!              [--nodelay 0|1] [--label L]
//!
//! Latency modes (one search in flight, `--inflight`/`--conns` ignored):
//!   ct         ldap3 `Ldap::search` awaited by the main task, current-thread runtime
//!   mt         the same on a 2-worker multi-thread runtime
//!   streaming  ldap3 `streaming_search` + `next()` + `finish()`, current-thread
//!   sync       ldap3 `LdapConn::search` (its own internal runtime)
//!   spawned    ldap3 search run in a task spawned per operation, the main task awaits it
//!   daemon     as `spawned`, plus what ldaprsd's `search_once` adds: `with_timeout`, a
//!              `tokio::time::timeout` around the call and `SearchEntry::construct`
//!   daemon-ldap3to / daemon-tokioto / daemon-noto
//!              `daemon` with only ldap3's timeout, only tokio's, or neither
//!   ldap-rs    ldap-rs `LdapClient::search` + collect, current-thread
//!   interleave every latency client above, plus libldap (FFI, libldap.rs), in one
//!              process, one search each per name in rotated order, each on its own
//!              connection: one JSON line per client (op "il-<client>"), wall_s is shared
//! Throughput modes (current-thread runtime, `--inflight K` tasks, `--conns C` connections,
//! task i on connection i % C; C = 1 is pipelining on one connection):
//!   tput       ldap3 `Ldap::search`
//!   tput-mt    the same on a 2-worker multi-thread runtime
//!   tput-rs    ldap-rs

mod interleave;
mod ldap3_modes;
mod ldaprs_mode;
mod libldap;
mod stats;

use std::time::Duration;

/// What one run is asked to do.
#[derive(Clone)]
pub struct Args {
    pub uri: String,
    pub base: String,
    pub users: Vec<String>,
    pub mode: String,
    pub count: usize,
    pub inflight: usize,
    pub conns: usize,
    pub nodelay: bool,
    pub label: String,
}

/// The passwd attributes ldaprsd asks for (`ServerBlock::user_attrs` with the default
/// rfc2307 mapping): uid uidNumber gidNumber gecos cn homeDirectory loginShell.
pub const ATTRS: [&str; 7] = [
    "uid",
    "uidNumber",
    "gidNumber",
    "gecos",
    "cn",
    "homeDirectory",
    "loginShell",
];

/// The daemon's user filter around one name.
pub fn filter(name: &str) -> String {
    format!("(&(objectClass=posixAccount)(uid={name}))")
}

/// The deadline the `daemon` mode arms around each search (ldaprsd's op_timeout default).
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);

fn parse() -> Result<Args, String> {
    let mut a = Args {
        uri: "ldap://127.0.0.1:3391".into(),
        base: "ou=people,dc=bench,dc=test".into(),
        users: Vec::new(),
        mode: "ct".into(),
        count: 5000,
        inflight: 1,
        conns: 1,
        nodelay: true,
        label: String::new(),
    };
    let mut keys = None;
    let mut skip = 0usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k}: missing value"))?;
        let num = || v.parse::<usize>().map_err(|e| format!("{k} {v}: {e}"));
        match k.as_str() {
            "--uri" => a.uri = v.clone(),
            "--base" => a.base = v.clone(),
            "--keys" => keys = Some(v.clone()),
            "--mode" => a.mode = v.clone(),
            "-n" => a.count = num()?,
            "--skip" => skip = num()?,
            "--inflight" => a.inflight = num()?.max(1),
            "--conns" => a.conns = num()?.max(1),
            "--nodelay" => a.nodelay = v != "0",
            "--label" => a.label = v.clone(),
            _ => return Err(format!("unknown option {k}")),
        }
    }
    let path = keys.ok_or("--keys FILE is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    a.users = text
        .lines()
        .filter(|l| !l.is_empty())
        .skip(skip)
        .map(str::to_string)
        .collect();
    if a.users.is_empty() {
        return Err(format!("{path}: no names after skipping {skip}"));
    }
    Ok(a)
}

fn main() -> std::process::ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ldap-floor: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let cpu0 = stats::cpu_us();
    if args.mode == "interleave" {
        return match interleave::run(&args) {
            Ok(lines) => {
                lines.iter().for_each(|l| println!("{l}"));
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ldap-floor: interleave: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let res = match args.mode.as_str() {
        "sync" => ldap3_modes::run_sync(&args),
        "mt" | "tput-mt" => ldap3_modes::runtime_mt().and_then(|rt| rt.block_on(dispatch(&args))),
        _ => ldap3_modes::runtime_ct().and_then(|rt| rt.block_on(dispatch(&args))),
    };
    match res {
        Ok(run) => {
            println!("{}", run.json(&args, stats::cpu_us() - cpu0));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ldap-floor: {}: {e}", args.mode);
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(a: &Args) -> Result<stats::Run, String> {
    match a.mode.as_str() {
        "ct" | "mt" | "streaming" | "spawned" | "daemon" | "daemon-ldap3to" | "daemon-tokioto"
        | "daemon-noto" => ldap3_modes::latency(a).await,
        "tput" | "tput-mt" => ldap3_modes::throughput(a).await,
        "ldap-rs" => ldaprs_mode::latency(a).await,
        "tput-rs" => ldaprs_mode::throughput(a).await,
        m => Err(format!("unknown mode {m}")),
    }
}
