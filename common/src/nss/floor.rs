//! The id floor the module re-applies to every answer, whatever the source: the daemon
//! already refuses entries below `[nss] min_uid` / `min_gid`, but a daemon bug or a damaged
//! map must still never hand out uid 0. The daemon writes its limits into the map's header;
//! without a map (or limits) only uid 0 and gid 0 are refused.

use crate::shm::MapView;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Floor {
    /// Users below this uid are not answered.
    pub min_uid: u32,
    /// Groups below this gid are not answered.
    pub min_gid: u32,
}

impl Floor {
    /// The floor the map's writer set, never below 1.
    pub fn of(view: Option<&MapView>) -> Floor {
        let (u, g) = view.map(MapView::limits).unwrap_or((0, 0));
        Floor {
            min_uid: u.max(1),
            min_gid: g.max(1),
        }
    }
}
