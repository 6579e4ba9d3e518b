//! Encoded answer frames. An enumeration (a megabyte for 10,000 users) is written into its
//! frame entry by entry as the directory's entries arrive, each entry published to the shared
//! map on the way; the frame is kept and served until the cached answer changes.

use super::key::Key;
use super::lookup::{release_memory, unavailable};
use super::publish::Publisher;
use super::state::Answers;
use crate::directory::collect::{Collect, Named};
use crate::ldap::DirError;
use crate::{debug, warn};
use ldaprs_common::protocol::{
    decode_response, frame_response, Group, ListFrame, ListMark, Passwd, Request, Response,
    HEADER_LEN,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl Answers {
    /// The encoded frame of an enumeration, if one is cached and fresh.
    pub fn cached_frame(&self, req: &Request) -> Option<Arc<Vec<u8>>> {
        let k = enumeration_key(req)?;
        self.check_local_files();
        let (f, due) = self.frames.get_fresh(&k, self.clock.now())?;
        if due {
            self.request_refresh(&k);
        }
        Some(f)
    }

    /// The answer to an enumeration (`key`: AllUsers or AllGroups), encoded: the cached
    /// frame, or the directory's entries written into a new one; offline, what is stored.
    pub async fn enumeration(&self, id: u64, key: Key) -> Arc<Vec<u8>> {
        self.check_local_files();
        if let Some((f, due)) = self.frames.get_fresh(&key, self.clock.now()) {
            if due {
                self.request_refresh(&key);
            }
            return f;
        }
        if self.is_offline() && !self.back_online(id, &key).await {
            let r = self.without_local(self.offline_answer(id, &key));
            return Arc::new(frame_response(&r));
        }
        match self.fetch_frame(id, &key).await {
            Ok(f) => f,
            Err(e) => {
                warn!("req={id} {key:?}: {e}");
                if matches!(e, DirError::Unreachable(_) | DirError::Interrupted(_))
                    && self.is_offline()
                {
                    let r = self.without_local(self.offline_answer(id, &key));
                    return Arc::new(frame_response(&r));
                }
                Arc::new(frame_response(&unavailable(&e)))
            }
        }
    }

    /// As [`Answers::enumeration`], decoded (`ldaprsctl user show`, never on the hot path).
    pub async fn enumeration_answer(&self, id: u64, key: Key) -> Response {
        decode_frame(&self.enumeration(id, key).await)
    }

    /// As [`Answers::fetch_frame`], decoded: `lookup.rs`'s fetch of an enumeration key.
    pub(super) async fn fetch_enumeration(&self, key: &Key) -> Result<Response, DirError> {
        self.fetch_frame(0, key).await.map(|f| decode_frame(&f))
    }

    /// Asks the directory for every user or group, writes the frame as the entries arrive
    /// and keeps it for the entry TTL (the refresher calls this too).
    pub(super) async fn fetch_frame(&self, id: u64, key: &Key) -> Result<Arc<Vec<u8>>, DirError> {
        let t0 = std::time::Instant::now();
        let ttl = self.entry_ttl;
        let publisher = self.publisher.clone();
        let (frame, n) = match key {
            Key::AllUsers => {
                let c = FrameCollect::new(ListFrame::users(), publisher, ttl);
                self.dir.all_users_into(&c).await?;
                c.finish()
            }
            _ => {
                let c = FrameCollect::new(ListFrame::groups(), publisher, ttl);
                self.dir.all_groups_into(&c).await?;
                c.finish()
            }
        };
        // The directory's entries and the search buffers are freed: give the memory back.
        release_memory();
        debug!(
            "req={id} {key:?}: {n} entries from the directory in {} µs",
            t0.elapsed().as_micros()
        );
        let f = Arc::new(frame);
        self.frames
            .put(key.clone(), f.clone(), ttl, self.clock.now());
        Ok(f)
    }
}

/// A frame this daemon encoded, as its response again.
fn decode_frame(f: &[u8]) -> Response {
    decode_response(f.get(HEADER_LEN..).unwrap_or_default()).unwrap_or(Response::NotFound)
}

/// The cache key of an enumeration request (the only answers kept encoded).
pub fn enumeration_key(req: &Request) -> Option<Key> {
    match req {
        Request::AllUsers => Some(Key::AllUsers),
        Request::AllGroups => Some(Key::AllGroups),
        _ => None,
    }
}

/// What goes into the shared map and into the frame, per kind of entry.
trait Framed: Named {
    fn write(&self, f: &mut ListFrame);
    fn publish(&self, p: &Publisher, ttl: Duration);
}

impl Framed for Passwd {
    fn write(&self, f: &mut ListFrame) {
        f.push_user(self);
    }
    fn publish(&self, p: &Publisher, ttl: Duration) {
        p.publish_user(self, ttl);
    }
}

impl Framed for Group {
    fn write(&self, f: &mut ListFrame) {
        f.push_group(self);
    }
    fn publish(&self, p: &Publisher, ttl: Duration) {
        p.publish_group(self, ttl);
    }
}

struct Building {
    frame: ListFrame,
    /// The names written, with the block that wrote them.
    seen: HashMap<String, u32>,
    block: u32,
    block_mark: ListMark,
}

/// An enumeration written straight into its frame. Each entry is also published to the
/// shared map as it is written (an entry of a block later taken back stays there: a server
/// did answer it).
struct FrameCollect {
    b: Mutex<Building>,
    publisher: Option<Arc<Publisher>>,
    ttl: Duration,
}

impl FrameCollect {
    fn new(frame: ListFrame, publisher: Option<Arc<Publisher>>, ttl: Duration) -> FrameCollect {
        let block_mark = frame.mark();
        FrameCollect {
            b: Mutex::new(Building {
                frame,
                seen: HashMap::new(),
                block: 0,
                block_mark,
            }),
            publisher,
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Building> {
        self.b.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The frame and its entry count.
    fn finish(self) -> (Vec<u8>, usize) {
        let b = self.b.into_inner().unwrap_or_else(|p| p.into_inner());
        let n = b.frame.count();
        (b.frame.finish(), n)
    }
}

impl<T: Framed + Send> Collect<T> for FrameCollect {
    fn put(&self, item: T) {
        let mut b = self.lock();
        let block = b.block;
        if b.seen.contains_key(item.name()) {
            return;
        }
        b.seen.insert(item.name().to_string(), block);
        item.write(&mut b.frame);
        drop(b);
        if let Some(p) = &self.publisher {
            item.publish(p, self.ttl);
        }
    }

    fn len(&self) -> usize {
        self.lock().frame.count()
    }

    fn begin_block(&self) {
        let mut b = self.lock();
        b.block += 1;
        b.block_mark = b.frame.mark();
    }

    fn drop_block(&self) {
        let mut b = self.lock();
        let (mark, block) = (b.block_mark, b.block);
        b.frame.rollback(mark);
        b.seen.retain(|_, k| *k != block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: &str, uid: u32) -> Passwd {
        Passwd {
            name: n.into(),
            uid,
            gid: 100,
            gecos: String::new(),
            dir: "/".into(),
            shell: "/bin/sh".into(),
        }
    }

    /// The frame written entry by entry is the frame of the list a lookup would have made:
    /// first name wins, a failed block leaves nothing, its names may come again later.
    #[test]
    fn an_enumeration_frame_keeps_first_names_and_drops_failed_blocks() {
        let c = FrameCollect::new(ListFrame::users(), None, Duration::from_secs(60));
        let put = |p: Passwd| Collect::<Passwd>::put(&c, p);
        Collect::<Passwd>::begin_block(&c);
        put(user("alice", 1));
        put(user("alice", 2));
        Collect::<Passwd>::begin_block(&c);
        put(user("bob", 3));
        put(user("carol", 4));
        Collect::<Passwd>::drop_block(&c);
        Collect::<Passwd>::begin_block(&c);
        put(user("bob", 5));
        assert_eq!(Collect::<Passwd>::len(&c), 2);
        let (frame, n) = c.finish();
        assert_eq!(n, 2);
        assert_eq!(
            frame,
            frame_response(&Response::Users(vec![user("alice", 1), user("bob", 5)]))
        );
    }
}
