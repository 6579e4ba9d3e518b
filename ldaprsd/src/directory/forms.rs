//! Which membership forms a block's directory really uses. Group entries are read in every
//! form they carry (`memberUid`, `member`, `uniqueMember`); but a search for a user's groups
//! with an OR over an attribute nobody uses would make slapd scan every entry when that
//! attribute is not indexed. So the forms are found once (a presence search with a size limit
//! of 1 each) and remembered for an hour.

use super::state::Directory;
use crate::ldap::ServerBlock;
use crate::{debug, info};
use ldaprs_common::config::Membership;
use std::time::Duration;

/// How long what was found holds.
const FORMS_TTL: Duration = Duration::from_secs(3600);
/// How soon to look again after a search failed.
const FORMS_RETRY: Duration = Duration::from_secs(60);

fn attr(f: &Membership) -> &str {
    match f {
        Membership::Names(a) | Membership::Dns(a) => a,
    }
}

impl Directory {
    /// The membership forms searches of block `b` use.
    pub async fn member_forms(&self, b: &ServerBlock) -> Vec<Membership> {
        if !b.eff.detect_forms {
            return b.eff.member_forms.clone();
        }
        if let Some(f) = self.cached_forms(b) {
            return f;
        }
        let mut used = Vec::new();
        let mut failed = false;
        for f in &b.eff.member_forms {
            let present = format!("({}=*)", attr(f));
            match b.exists(&b.eff.group_base, &present).await {
                Ok(true) => used.push(f.clone()),
                Ok(false) => {}
                Err(e) => {
                    debug!(
                        "server {}: cannot tell whether groups use {}: {e}",
                        b.name(),
                        attr(f)
                    );
                    failed = true;
                }
            }
        }
        let ttl = if failed { FORMS_RETRY } else { FORMS_TTL };
        if failed || used.is_empty() {
            // Not known (or no group has members yet): every form, so nothing is missed.
            used = b.eff.member_forms.clone();
        } else {
            let names: Vec<&str> = used.iter().map(attr).collect();
            info!(
                "server {}: groups name their members with {} (member_attributes to restrict)",
                b.name(),
                names.join(", ")
            );
        }
        self.forms
            .put(b.name().to_string(), used.clone(), ttl, self.clock.now());
        used
    }

    /// What [`Directory::member_forms`] found for `b`, if it is still fresh.
    pub fn cached_forms(&self, b: &ServerBlock) -> Option<Vec<Membership>> {
        if !b.eff.detect_forms {
            return Some(b.eff.member_forms.clone());
        }
        self.forms.get(&b.name().to_string(), self.clock.now())
    }
}
