//! One file per subcommand: its clap arguments and its `run`.

pub mod data;
pub mod mvm;
pub mod recnmp;
pub mod simulate;
pub mod trace;
pub mod train;
