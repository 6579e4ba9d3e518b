//! The daemon's life: the config and its secrets into server blocks (`load.rs`), the shared
//! map (`map.rs`), the switch to `[daemon] user` (`privileges.rs`), the run loop with its
//! signals and background probes (`run.rs`), and SIGHUP reloads (`reload.rs`).

pub mod load;
pub mod map;
pub mod privileges;
pub mod reload;
pub mod run;
