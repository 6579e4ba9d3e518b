//! The module arguments of the PAM service file.

use super::host::{Level, PamHost};

/// Module arguments from the PAM service file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub use_first_pass: bool,
    pub try_first_pass: bool,
    /// Password change: take the new password from `PAM_AUTHTOK` when an earlier module
    /// (pam_pwquality) set it, instead of prompting. Without one (a stack where pam_unix,
    /// which does not know directory users, comes first) the module prompts itself.
    pub use_authtok: bool,
    pub debug: bool,
    /// Arguments we did not understand (logged, not fatal: a typo must not lock people out).
    pub unknown: Vec<String>,
}

impl Options {
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Options {
        let mut o = Options::default();
        for a in args {
            match a {
                "use_first_pass" => o.use_first_pass = true,
                "try_first_pass" => o.try_first_pass = true,
                "use_authtok" => o.use_authtok = true,
                "debug" => o.debug = true,
                other => o.unknown.push(other.to_string()),
            }
        }
        o
    }
}

pub(super) fn log_unknown_options(host: &mut dyn PamHost, opts: &Options) {
    for a in &opts.unknown {
        host.log(
            Level::Warning,
            &format!("ignoring unknown module argument '{a}'"),
        );
    }
}
