//! NASRec networks: the composite operators, the standalone model of a genotype, the
//! weight-sharing supernet by slicing, the hand-crafted baselines, and the trainable model behind
//! `CtrModel` (chunked data-parallel training, deterministic for any thread count).
//!
//! Every model is compiled into a small static [`graph::Graph`] run by one forward/backward
//! engine ([`engine`]) built on the primitives of `crate::ops`; it is generic over
//! [`crate::ops::Real`] so whole-model gradients can be checked in f64.

pub mod baselines;
pub mod build;
pub mod composite;
pub mod engine;
pub mod genotype_graph;
pub mod graph;
pub mod model;
pub mod network;
pub mod params;
pub mod state_io;
pub mod supernet;

pub use baselines::BaselineKind;
pub use build::{build_baseline, build_model, build_nasrec, ModelOptions, ModelSpec};
pub use genotype_graph::{compile_genotype, GenotypeBuild};
pub use model::{NasrecModel, NetModel};
pub use network::{Network, CHUNK_ROWS};
pub use supernet::{full_path_genotype, Supernet};
