//! NASRec genotypes: the reference JSON format (read and written byte for byte), search
//! spaces, validation with errors naming the block and key, and a stable architecture hash.

mod hash;
mod json;
mod space;
mod types;
mod validate;

pub use json::python_float_repr;
pub use space::{NodeOp, SearchSpace, DENSE_DIMS, EMBED_DIM, NUM_BLOCKS, SPARSE_DIMS};
pub use types::{Genotype, MacroChoice, MicroChoice};
pub use validate::MAX_SOURCES;
