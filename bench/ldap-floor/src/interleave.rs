//! `interleave`: every client in one process, one search each per name in turn (the order
//! rotated per name), each on its own kept connection. The machine's other load then falls
//! on all clients alike, which separate runs minutes apart cannot promise.

use crate::stats::Run;
use crate::{ldap3_modes as l3, ldaprs_mode as lrs, libldap, Args};
use std::time::Instant;

const CLIENTS: [&str; 11] = [
    "libldap",
    "ct",
    "streaming",
    "spawned",
    "daemon",
    "daemon-noto",
    "mt",
    "ldap-rs",
    "daemon-ldap3to",
    "daemon-tokioto",
    "sync",
];

/// One JSON line per client.
// one piece: the set-up of eleven clients and the loop that alternates them read as one.
pub fn run(a: &Args) -> Result<Vec<String>, String> {
    let ct = l3::runtime_ct()?;
    let mt = l3::runtime_mt()?;
    let mut lib = libldap::Conn::new(&a.uri, &a.base)?;
    let mut c_ct = ct.block_on(l3::connect(a))?;
    let mut c_st = ct.block_on(l3::connect(a))?;
    let c_sp = ct.block_on(l3::connect(a))?;
    let c_d = ct.block_on(l3::connect(a))?;
    let c_dn = ct.block_on(l3::connect(a))?;
    let c_dl = ct.block_on(l3::connect(a))?;
    let c_dt = ct.block_on(l3::connect(a))?;
    let mut c_sync = l3::sync_conn(a)?;
    let mut c_mt = mt.block_on(l3::connect(a))?;
    let mut c_rs = ct.block_on(lrs::connect(a))?;
    let mut runs: Vec<Run> = CLIENTS.iter().map(|_| Run::default()).collect();
    let base = a.base.as_str();
    let mut one = |k: usize,
                   name: &str,
                   lib: &mut libldap::Conn,
                   c_ct: &mut _,
                   c_st: &mut _,
                   c_mt: &mut _,
                   c_rs: &mut _|
     -> Result<usize, String> {
        match k {
            0 => lib.search(name),
            1 => ct.block_on(l3::search(c_ct, base, name)),
            2 => ct.block_on(l3::streaming(c_st, base, name)),
            3 => {
                let (mut l, b, n) = (c_sp.clone(), base.to_string(), name.to_string());
                ct.block_on(async move {
                    let h = tokio::spawn(async move { l3::search(&mut l, &b, &n).await });
                    h.await.map_err(|e| e.to_string()).and_then(|r| r)
                })
            }
            4 | 5 | 8 | 9 => {
                let (l, timers) = match k {
                    4 => (c_d.clone(), "both"),
                    5 => (c_dn.clone(), "none"),
                    8 => (c_dl.clone(), "ldap3"),
                    _ => (c_dt.clone(), "tokio"),
                };
                let (b, n) = (base.to_string(), name.to_string());
                ct.block_on(async move {
                    let h = tokio::spawn(l3::daemon_shape(l, b, n, timers));
                    h.await.map_err(|e| e.to_string()).and_then(|r| r)
                })
            }
            6 => mt.block_on(l3::search(c_mt, base, name)),
            7 => ct.block_on(lrs::search(c_rs, base, name)),
            _ => l3::sync_search(&mut c_sync, base, name),
        }
    };
    // Warm-up: the first searches open libldap's connection and fill the allocators.
    for name in a.users.iter().take(50) {
        for k in 0..CLIENTS.len() {
            one(
                k, name, &mut lib, &mut c_ct, &mut c_st, &mut c_mt, &mut c_rs,
            )?;
        }
    }
    let start = Instant::now();
    for (i, name) in a.users.iter().cycle().take(a.count).enumerate() {
        for j in 0..CLIENTS.len() {
            let k = (i + j) % CLIENTS.len();
            let t0 = Instant::now();
            let found = one(
                k, name, &mut lib, &mut c_ct, &mut c_st, &mut c_mt, &mut c_rs,
            );
            if let Some(r) = runs.get_mut(k) {
                r.record(t0, found);
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    Ok(runs
        .into_iter()
        .zip(CLIENTS)
        .map(|(mut r, c)| {
            r.wall_s = wall;
            let mut a2 = a.clone();
            a2.mode = format!("il-{c}");
            r.json(&a2, 0.0)
        })
        .collect())
}
