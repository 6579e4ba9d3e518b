//! The questions the cache is keyed by: one per kind of lookup.

/// Cache keys: one per kind of question.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    UserName(String),
    UserUid(u32),
    GroupName(String),
    GroupGid(u32),
    GroupsOf(String),
    AllUsers,
    AllGroups,
}
