//! The Unix socket the modules talk to: accepting, framing, peer credentials and deadlines
//! (`listener.rs`), the dispatch of each request to the room that answers it, and the
//! persistent files every service shares (`offline_files.rs`).

pub mod admission;
pub mod dispatch;
pub mod listener;
pub mod offline_files;
pub mod throttle;

pub use dispatch::Service;
pub use listener::{bind, serve, snapshot, Current};
pub use offline_files::OfflineFiles;
