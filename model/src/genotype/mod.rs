//! NASRec genotypes: the reference JSON format, search spaces, validation.

mod space;
mod types;

pub use space::{NodeOp, SearchSpace, DENSE_DIMS, EMBED_DIM, NUM_BLOCKS, SPARSE_DIMS};
pub use types::{Genotype, MacroChoice, MicroChoice};
