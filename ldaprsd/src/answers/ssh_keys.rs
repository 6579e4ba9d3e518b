//! The SSH keys answered for sshd's `AuthorizedKeysCommand` (`Request::SshKeys`), cached with
//! the user: sshd runs the command at least twice per key login (the key offered, then its
//! signature checked) and once per key a client tries, so only the first call of a login asks
//! the directory. The answer includes the account stage's outcome (no keys for a user who may
//! not log in), so it is kept for `[cache] entry_ttl` but never longer than
//! [`SSH_KEYS_MAX_TTL`]: with `UsePAM no` it is the only check a key login gets, and a lock
//! must reach it within a minute. Flushed with the rest of the cache.

use super::state::Answers;
use ldaprs_common::protocol::Response;
use std::time::Duration;

/// The longest an SSH keys answer is kept.
pub const SSH_KEYS_MAX_TTL: Duration = Duration::from_secs(60);

impl Answers {
    /// The cached answer for `user`'s keys, if fresh.
    pub fn cached_ssh_keys(&self, user: &str) -> Option<Response> {
        self.check_local_files();
        self.ssh_keys.get(&user.to_string(), self.clock.now())
    }

    /// Keeps an answer: keys (or none, for a user who may not log in) for the entry TTL, "no
    /// such user" for the negative TTL, both at most [`SSH_KEYS_MAX_TTL`]; errors not at all.
    pub fn remember_ssh_keys(&self, user: &str, resp: &Response) {
        let ttl = match resp {
            Response::SshKeys(_) => self.entry_ttl,
            Response::NotFound => self.negative_ttl,
            _ => return,
        };
        self.ssh_keys.put(
            user.to_string(),
            resp.clone(),
            ttl.min(SSH_KEYS_MAX_TTL),
            self.clock.now(),
        );
    }
}
