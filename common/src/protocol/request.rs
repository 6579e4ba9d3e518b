//! What a module or ldaprsctl asks the daemon ([`Request`]), with the PAM context it sends.

use super::secret::Secret;

/// Context of a PAM call, for access rules and logs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PamContext {
    pub service: String,
    pub rhost: String,
    pub tty: String,
}

/// What a module or ldaprsctl asks the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    UserByName(String),
    UserByUid(u32),
    AllUsers,
    GroupByName(String),
    GroupByGid(u32),
    AllGroups,
    /// Supplementary gids of a user (for `initgroups_dyn`).
    GroupsOfUser(String),
    Authenticate {
        user: String,
        password: Secret,
        ctx: PamContext,
    },
    AccountCheck {
        user: String,
        ctx: PamContext,
    },
    Status,
    FlushCache,
    /// Answer a lookup and say how: cache state, servers asked, bases and filters (ldaprsctl
    /// `user show` / `group show`). Only lookups can be explained.
    Explain(Box<Request>),
    /// Change a user's password with the LDAP Password Modify extended operation (RFC 3062).
    /// `old: None` is a reset by root (through the server block's `admin_dn`); the daemon
    /// refuses it from any other caller.
    ChangePassword {
        user: String,
        old: Option<Secret>,
        new: Secret,
        ctx: PamContext,
    },
    /// The SSH public keys `user` may log in with (sshd's `AuthorizedKeysCommand`, through
    /// `ldaprs-authorized-keys`): asked by any uid (sshd runs the command as `nobody`),
    /// answered only for a user the account stage of service `sshd` lets in.
    SshKeys {
        user: String,
    },
    /// What the daemon keeps about `user` for offline mode (`ldaprsctl cache show`): root only.
    CacheShow {
        user: String,
    },
    /// Forgets `user` in memory, the shared map and the persistent cache (`ldaprsctl cache
    /// forget`): root only.
    CacheForget {
        user: String,
    },
}
