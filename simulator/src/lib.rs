//! recpim-sim: the ReRAM crossbar PIM simulator at the centre of recpim.
//!
//! It knows hardware ([`hwconfig`]) and workloads ([`workload`]), never models. Two engines
//! share one hardware model: a cycle-level engine and an analytic fast path held equal to it;
//! a functional path computes MVMs through the same bit slicing.

pub mod conventions;
pub mod functional;
pub mod recnmp;
