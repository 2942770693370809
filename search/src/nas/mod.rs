//! Weight-sharing NASRec architecture search (nasrec-spec §2-3, §7; issue 4): path sampling,
//! the six architecture mutations, a generic regularized-evolution core, supernet training,
//! sub-network evaluation from the supernet, the architecture search and the ranking study.

pub mod architecture_search;
pub mod evolution;
pub mod mutation;
pub mod rank_study;
pub mod sampling;
pub mod subnet_eval;
pub mod supernet_training;
