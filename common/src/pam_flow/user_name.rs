//! The user name libpam gives, checked before anything is sent or logged.

use super::host::{Level, PamCode, PamHost};
use super::options::Options;
use crate::names::valid_name;

/// Valid user name or the code to return.
pub(super) fn checked_user(host: &mut dyn PamHost, opts: &Options) -> Result<String, PamCode> {
    let user = host.user()?;
    if !valid_name(&user) {
        // The name itself is not logged at the default level: it is often a password typed
        // into the login prompt (security.md S-9).
        if opts.debug {
            host.log(
                Level::Debug,
                &format!("refusing invalid user name {user:?}"),
            );
        } else {
            host.log(Level::Notice, "refusing an invalid user name");
        }
        return Err(PamCode::UserUnknown);
    }
    Ok(user)
}
