//! Who is asking: the uid and pid of the process at the other end of the socket, from
//! `SO_PEERCRED` (never from the request).

/// Who is asking (from `SO_PEERCRED`).
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    pub uid: u32,
    pub pid: i32,
}

impl Peer {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}
