//! `ldaprsctl import nslcd FILE` and `ldaprsctl import sssd FILE`: translate the config of
//! the tool a site comes from into an ldaprs.toml on standard output. Every option is either
//! translated or listed as not supported with the reason, as a comment at the top of the
//! output and in a summary on standard error. Passwords are never copied: the output names
//! the root-only file to put them in.
//!
//! The readers (`nslcd_conf`, `sssd_ini`) follow each tool's own parser; the translations
//! (`nslcd*`, `sssd*`, with `authz` for access filters) fill a [`draft::Draft`] and a
//! [`report::Report`]; `toml_out` writes them. The result is checked with ldaprs's strict
//! config parser before it is printed.

mod authz;
mod draft;
mod nslcd;
mod nslcd_conf;
mod nslcd_conn;
mod nslcd_misc;
mod nslcd_search;
mod report;
mod sssd;
mod sssd_access;
mod sssd_domain;
mod sssd_domain_misc;
mod sssd_ini;
mod toml_out;

#[cfg(test)]
mod sssd_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::process::ExitCode;

/// Where imported configs tell the admin to put the service account's password.
pub const BIND_PASSWORD_FILE: &str = "/etc/ldaprs/bind_password";
/// … and the password of `admin_dn` (nslcd's rootpwmoddn).
pub const ADMIN_PASSWORD_FILE: &str = "/etc/ldaprs/admin_password";

/// Following referrals: what ldaprs does (`referral_hosts`), shared by both imports.
pub const REFERRALS_ON: &str = "ldaprs follows referrals that point to this block's URIs (nothing to write); the source followed them to any host: list other hosts they point to in [[servers]] referral_hosts, or that part of an answer is skipped";
pub const REFERRALS_OFF: &str = "ldaprs follows referrals that point to this block's URIs or to referral_hosts; there is no setting to ignore them";

/// The tool a config comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Nslcd,
    Sssd,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Nslcd => "nslcd",
            Source::Sssd => "sssd",
        }
    }
}

/// The ldaprs.toml text and the report for a source config's text.
pub fn translate(source: Source, text: &str, shown_path: &str) -> (String, report::Report) {
    let (draft, mut report) = match source {
        Source::Nslcd => nslcd::import(text),
        Source::Sssd => sssd::import(text),
    };
    report.sort();
    let title = format!(
        "ldaprs.toml imported from {shown_path} by `ldaprsctl import {}`",
        source.name()
    );
    (toml_out::render(&title, &draft, &report), report)
}

/// The command: prints the TOML on stdout and the summary on stderr. Exit codes: 0 done,
/// 66 the file cannot be read, 70 the translation does not load (a bug).
pub fn run(source: Source, path: &Path) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "ldaprsctl import {}: {}: {e}",
                source.name(),
                path.display()
            );
            return ExitCode::from(66);
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let shown = path.display().to_string();
    let (toml, report) = translate(source, &text, &shown);
    if let Err(e) = ldaprs_common::config::parse("(imported ldaprs.toml)", &toml) {
        eprintln!(
            "ldaprsctl import {}: the translation does not load ({e}); this is a bug in ldaprsctl",
            source.name()
        );
        return ExitCode::from(70);
    }
    print!("{toml}");
    eprint!("{}", report.summary(&format!("{} {shown}", source.name())));
    ExitCode::SUCCESS
}
