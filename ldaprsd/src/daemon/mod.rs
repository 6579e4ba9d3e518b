//! The daemon's life: the config and its secrets into server blocks (`load.rs`), the shared
//! map (`map.rs`), the switch to `[daemon] user` (`privileges.rs`), the run loop with its
//! signals and background probes (`run.rs`), SIGHUP reloads (`reload.rs`, swapping services in `swap.rs`), and the detection
//! of the schema and base a config leaves to the directory (`detect.rs`).

pub mod detect;
pub mod load;
pub mod map;
pub mod privileges;
pub mod reload;
pub mod run;
pub mod swap;
