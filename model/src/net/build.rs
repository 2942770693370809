//! Building any model of the crate from a specification: `build_model`.

use super::baselines::{compile_baseline, BaselineKind};
use super::genotype_graph::{compile_genotype, GenotypeBuild};
use super::model::NetModel;
use crate::batch::DataSchema;
use crate::ctr_model::CtrModel;
use crate::error::Result;
use crate::genotype::Genotype;

/// Which model to build.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// A NASRec architecture.
    Genotype(Genotype),
    /// A hand-crafted baseline.
    Baseline(BaselineKind),
}

/// Options of the NASRec networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelOptions {
    /// LayerNorm in every operator. The reference's final training hard-codes it off (and ignores
    /// the genotype's `use_layernorm`), so it is off by default; the supernet trains with it on.
    pub layernorm: bool,
    /// The dot product's operator-balancing item projection (on by default, as in the reference).
    pub operator_balancing: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            layernorm: false,
            operator_balancing: true,
        }
    }
}

/// The standalone NASRec model of a genotype (for the data set's own feature counts).
pub fn build_nasrec(
    genotype: &Genotype,
    schema: &DataSchema,
    opts: &ModelOptions,
    seed: u64,
) -> Result<NetModel> {
    let graph = compile_genotype(
        genotype,
        schema.n_dense,
        schema.n_sparse(),
        GenotypeBuild {
            layernorm: opts.layernorm,
            operator_balancing: opts.operator_balancing,
        },
    )?;
    NetModel::new(format!("nasrec:{}", genotype.config), graph, schema, seed)
}

/// A baseline for the data set's feature counts (LayerNorm options do not apply to baselines).
pub fn build_baseline(kind: BaselineKind, schema: &DataSchema, seed: u64) -> Result<NetModel> {
    NetModel::new(
        kind.name(),
        compile_baseline(kind, schema.n_dense, schema.n_sparse()),
        schema,
        seed,
    )
}

/// Builds a trainable model: seeded initialisation per nasrec-spec §1 "Init".
pub fn build_model(
    spec: &ModelSpec,
    schema: &DataSchema,
    opts: &ModelOptions,
    seed: u64,
) -> Result<Box<dyn CtrModel>> {
    Ok(match spec {
        ModelSpec::Genotype(g) => Box::new(build_nasrec(g, schema, opts, seed)?),
        ModelSpec::Baseline(k) => Box::new(build_baseline(*k, schema, seed)?),
    })
}
