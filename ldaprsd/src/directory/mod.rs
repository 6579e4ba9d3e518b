//! The directory as passwd and group records: entries to records, users, groups, member
//! lists, a user's groups in every membership shape, group mappings, and the local names
//! that are never answered from LDAP. Uses `ldap/`; knows nothing of caching or logins.

pub mod collect;
pub mod forms;
pub mod groups;
pub mod idmap;
pub mod initgroups;
pub mod local;
pub mod local_policy;
pub mod mappings;
pub mod membership;
pub mod queries;
pub mod records;
pub mod ssh_keys;
pub mod state;
pub mod token_groups;
pub mod users;

pub use records::{entry_to_passwd, IdLimits, Reject};
pub use state::{BoundUser, Directory, Lookup};
