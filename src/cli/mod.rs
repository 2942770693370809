//! One file per subcommand: its clap arguments and its `run`.

pub mod backend_arg;
pub mod codesign;
pub mod compare;
pub mod data;
pub mod error_report;
pub mod flops;
pub mod merge;
pub mod mvm;
pub mod plugins;
pub mod progress;
pub mod prune;
pub mod rank_study;
pub mod recnmp;
pub mod search;
pub mod simulate;
pub mod supernet;
pub mod sweep;
pub mod trace;
pub mod train;
