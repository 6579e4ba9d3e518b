//! The `initgroups_dyn` merge: which of the user's gids go into glibc's growable array, and
//! how far the array must grow. Pure; the module applies the result to the C array.
//!
//! glibc's contract (nss_files' initgroups): `*start` entries are used out of `*size`; grow
//! with realloc; with `limit > 0` never exceed it.

/// glibc's gid array as `initgroups_dyn` receives it, read once at the boundary.
#[derive(Clone, Copy, Debug)]
pub struct GidArray<'a> {
    /// The entries already in the array: the first `*start` (empty when it is NULL).
    pub present: &'a [u32],
    /// `*start`: entries in use.
    pub used: usize,
    /// `*size`: entries allocated.
    pub size: usize,
    /// `*groupsp` is not NULL.
    pub allocated: bool,
    /// `limit`: at most this many entries in all; 0 means no limit.
    pub limit: usize,
}

/// What to do to the array.
#[derive(Debug, PartialEq, Eq)]
pub struct GidMerge {
    /// Reallocate the array to this many entries first (and store it in `*size`).
    pub grow_to: Option<usize>,
    /// Entries to write after the first `used`, in order; `*start` grows by their number.
    /// `used + append.len()` never exceeds the array's size (after `grow_to`).
    pub append: Vec<u32>,
}

/// Adds `gids` (minus `skip` and duplicates) to the array, honouring `limit`.
pub fn merge_gids(array: &GidArray<'_>, gids: &[u32], skip: u32) -> GidMerge {
    // Grow once to what is needed (within `limit`) instead of doubling step by step.
    let want = array.used.saturating_add(gids.len());
    let want = if array.limit > 0 {
        want.min(array.limit)
    } else {
        want
    };
    let grow_to = (want > array.size || !array.allocated).then_some(want.max(1));
    let cap = grow_to.unwrap_or(array.size);
    let mut append = Vec::new();
    for &gid in gids {
        if gid == skip {
            continue;
        }
        // The daemon's list has no duplicates; only the entries glibc (or an earlier module)
        // already put in the array need checking, so this stays linear for users in 300 groups.
        if array.present.contains(&gid) {
            continue;
        }
        // The array holds at least min(used + gids, limit) entries, so it is only ever full
        // when the limit is reached: glibc's limit, stop there.
        if array.used.saturating_add(append.len()) >= cap {
            break;
        }
        append.push(gid);
    }
    GidMerge { grow_to, append }
}
