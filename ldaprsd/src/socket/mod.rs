//! The Unix socket the modules talk to: accepting, framing, peer credentials and deadlines
//! (`listener.rs`), and the dispatch of each request to the room that answers it.

pub mod admission;
pub mod dispatch;
pub mod listener;
pub mod throttle;

pub use dispatch::Service;
pub use listener::{bind, serve, snapshot, Current};
