//! Where passwords come from (the `PAM_AUTHTOK`/`PAM_OLDAUTHTOK` items or a prompt) and which
//! new passwords are refused before the directory is asked.

use super::host::{ChangePhase, Level, PamCode, PamHost};
use super::options::Options;
use crate::protocol::Secret;

/// Longest password we forward; anything longer is refused without asking the directory.
pub const MAX_PASSWORD: usize = 4096;

pub(super) fn get_password(host: &mut dyn PamHost, opts: &Options) -> Result<Secret, PamCode> {
    if opts.use_first_pass || opts.try_first_pass {
        if let Some(tok) = host.authtok() {
            return Ok(tok);
        }
        if opts.use_first_pass {
            host.log(
                Level::Notice,
                "use_first_pass given but no earlier module set a password",
            );
            return Err(PamCode::AuthErr);
        }
    }
    let pw = host.prompt_password("Password: ")?;
    host.set_authtok(&pw);
    Ok(pw)
}

/// Checks a password typed for a change; `Err` is the message for the user.
pub(super) fn acceptable_new(new: &Secret, old: Option<&Secret>) -> Result<(), &'static str> {
    if new.is_empty() {
        return Err("No password has been supplied.");
    }
    if new.expose().len() > MAX_PASSWORD {
        return Err("The password is too long.");
    }
    if old.is_some_and(|o| o.expose() == new.expose()) {
        return Err("Password unchanged.");
    }
    Ok(())
}

/// The current password: from `PAM_OLDAUTHTOK` with `use_first_pass`/`try_first_pass` (or
/// in the update pass, where the first pass left it), else prompted.
pub(super) fn current_password(
    host: &mut dyn PamHost,
    opts: &Options,
    phase: ChangePhase,
) -> Result<Secret, PamCode> {
    let from_item = phase == ChangePhase::Update || opts.use_first_pass || opts.try_first_pass;
    if from_item {
        if let Some(old) = host.old_authtok() {
            return Ok(old);
        }
        if opts.use_first_pass && phase == ChangePhase::Prelim {
            host.log(
                Level::Notice,
                "use_first_pass given but no earlier module set the current password",
            );
            return Err(PamCode::AuthErr);
        }
    }
    host.prompt_password("Current password: ")
}
