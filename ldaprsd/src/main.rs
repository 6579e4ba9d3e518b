//! `ldaprsd [--config PATH]`: runs in the foreground, logs to stderr (the journal under
//! systemd). SIGHUP re-reads the config (a bad config is reported and the running one kept);
//! SIGTERM stops. The daemon itself is `ldaprsd::daemon`.

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: ldaprsd [--config PATH]   (default {})",
        ldaprs_common::DEFAULT_CONFIG
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = PathBuf::from(ldaprs_common::DEFAULT_CONFIG);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => path = PathBuf::from(p),
                None => return usage(),
            },
            "--version" => {
                println!("ldaprsd {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    ldaprsd::daemon::run::run(&path)
}
