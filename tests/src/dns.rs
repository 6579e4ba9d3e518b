//! A throwaway DNS server for the SRV tests: dnsmasq (`dnsmasq-base`, no service) on port 53
//! of a loopback address of its own (127.53.x.y, bound to that address only), answering only
//! the records given, and a `resolv.conf` naming it for a test namespace to bind-mount.

use super::{scratch, stop_child, wait_until};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Dnsmasq {
    pub dir: PathBuf,
    pub addr: String,
    /// `nameserver <addr>`: bind-mount over /etc/resolv.conf in the test's namespace.
    pub resolv_conf: PathBuf,
    child: Option<Child>,
}

impl Dnsmasq {
    /// Serves `records` (dnsmasq options such as `--srv-host=...`, `--host-record=...`) with
    /// TTL `ttl` seconds.
    pub fn start(name: &str, records: &[String], ttl: u32) -> Dnsmasq {
        let dir = scratch(&format!("dns-{name}"));
        // One address per server: the process id and a counter (tests run in parallel).
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        let addr = format!("127.53.{}.{}", pid % 250 + 1, n % 250 + 1);
        let resolv_conf = dir.join("resolv.conf");
        std::fs::write(
            &resolv_conf,
            format!("nameserver {addr}\noptions timeout:1 attempts:2\n"),
        )
        .unwrap();
        let mut d = Dnsmasq {
            dir,
            addr,
            resolv_conf,
            child: None,
        };
        d.launch(records, ttl);
        d
    }

    /// Starts dnsmasq again with other records (same address).
    pub fn restart(&mut self, records: &[String], ttl: u32) {
        if let Some(c) = self.child.as_mut() {
            stop_child(c);
        }
        self.launch(records, ttl);
    }

    fn launch(&mut self, records: &[String], ttl: u32) {
        let before = self.log().matches("started, version").count();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dnsmasq.log"))
            .unwrap();
        let child = Command::new("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--log-facility=-",
                "--log-queries",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--bind-interfaces",
                "--port=53",
                "--user=root",
                "--pid-file=",
            ])
            .arg(format!("--listen-address={}", self.addr))
            .arg(format!("--local-ttl={ttl}"))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dnsmasq (apt-get install dnsmasq-base)");
        self.child = Some(child);
        wait_until("dnsmasq", Duration::from_secs(5), || {
            self.log().matches("started, version").count() > before
        });
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            stop_child(c);
        }
    }
}
