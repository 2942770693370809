//! The built-in NASRec backend: a reference-format genotype JSON (+ bits JSON) is compiled for
//! a data shape and mapped to a simulator workload by `recpim_model::hardware`.
//!
//! Accuracy: NASRec accuracy needs a trained (super)net and data, which the co-design search
//! owns (supernet training, then sub-net evaluation); a stateless backend call cannot train a
//! model, so this backend reports no accuracy model through the trait
//! ([`ModelBackend::has_accuracy`] is false) rather than pretending to have one.

use super::provenance::BackendProvenance;
use super::ModelBackend;
use crate::error::{Result, SearchError};
use recpim_model::data::SyntheticShape;
use recpim_model::genotype::{
    Genotype, SearchSpace, DENSE_DIMS, EMBED_DIM, NUM_BLOCKS, SPARSE_DIMS,
};
use recpim_model::hardware::{map_genotype, schema_for_shape, MapOptions, MappedWorkload};
use recpim_model::net::ModelOptions;
use recpim_model::quant::bits::{operator_names, BitAssignment, BITS_RANGE, SEARCH_BITWIDTHS};
use recpim_sim::Workload;

/// Name the built-in backend reports.
pub const BUILTIN_NAME: &str = "nasrec";

/// How the built-in backend compiles and maps genotypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinOptions {
    /// Data shape whose feature counts and table sizes the model is built for.
    pub shape: SyntheticShape,
    /// LayerNorm and operator balancing of the compiled model.
    pub model: ModelOptions,
    /// Batch and embedding precision of the mapping.
    pub map: MapOptions,
}

impl Default for BuiltinOptions {
    /// Criteo shape, the standalone model's defaults, batch 1, f32 embeddings.
    fn default() -> Self {
        BuiltinOptions {
            shape: SyntheticShape::Criteo,
            model: ModelOptions::default(),
            map: MapOptions::default(),
        }
    }
}

/// The built-in NASRec backend.
#[derive(Debug, Clone)]
pub struct NasrecBackend {
    options: BuiltinOptions,
    provenance: BackendProvenance,
}

impl NasrecBackend {
    /// A backend mapping genotypes with `options`.
    pub fn new(options: BuiltinOptions) -> Self {
        NasrecBackend {
            options,
            provenance: BackendProvenance::builtin(BUILTIN_NAME, env!("CARGO_PKG_VERSION")),
        }
    }

    /// The options it was built with.
    pub fn options(&self) -> &BuiltinOptions {
        &self.options
    }

    fn genotype(&self, genotype_json: &str) -> Result<Genotype> {
        Genotype::from_json_str(genotype_json, "genotype JSON").map_err(|source| {
            SearchError::Model {
                context: format!("backend {BUILTIN_NAME}"),
                source: Box::new(source),
            }
        })
    }

    /// The workload with each op's origin (graph node, quantizable operator, placement).
    pub fn mapped(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<MappedWorkload> {
        let genotype = self.genotype(genotype_json)?;
        let model_error = |source| SearchError::Model {
            context: format!("backend {BUILTIN_NAME}"),
            source: Box::new(source),
        };
        let bits = bits_json
            .map(|text| BitAssignment::from_json_for_genotype(text, "bits JSON", &genotype))
            .transpose()
            .map_err(model_error)?;
        let schema = schema_for_shape(self.options.shape);
        map_genotype(
            &genotype,
            &schema,
            &self.options.model,
            bits.as_ref(),
            &self.options.map,
        )
        .map_err(model_error)
    }
}

impl ModelBackend for NasrecBackend {
    fn name(&self) -> &str {
        BUILTIN_NAME
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn search_space_json(&self) -> Result<String> {
        let spaces: Vec<serde_json::Value> = [SearchSpace::Small, SearchSpace::Full]
            .iter()
            .map(|space| {
                serde_json::json!({
                    "config": space.reference_name(),
                    "operators": space
                        .nodes()
                        .iter()
                        .map(|n| n.reference_name())
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let space = serde_json::json!({
            "backend": BUILTIN_NAME,
            "genotype_format": "NASRec reference genotype JSON (config, micro, macro per block)",
            "spaces": spaces,
            "num_blocks": NUM_BLOCKS,
            "dense_dims": DENSE_DIMS,
            "sparse_dims": SPARSE_DIMS,
            "embedding_dim": EMBED_DIM,
            "bitwidths": SEARCH_BITWIDTHS,
            "bits_range": [BITS_RANGE.start(), BITS_RANGE.end()],
            "bits_order": "per block: active nodes ascending, then fm, then dsi; last the head",
            "shape": self.options.shape.name(),
            "batch": self.options.map.batch,
            "embedding_bits": self.options.map.embedding_bits,
            "accuracy": false,
        });
        Ok(space.to_string())
    }

    fn workload(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<Workload> {
        Ok(self.mapped(genotype_json, bits_json)?.workload)
    }

    fn has_accuracy(&self) -> bool {
        false
    }

    fn evaluate_accuracy(&self, _genotype_json: &str, _bits_json: Option<&str>) -> Result<f64> {
        Err(SearchError::AccuracyUnavailable {
            backend: BUILTIN_NAME.to_string(),
        })
    }

    fn thread_safe(&self) -> bool {
        true
    }

    fn provenance(&self) -> &BackendProvenance {
        &self.provenance
    }

    fn quantized_operators(&self, genotype_json: &str) -> Result<Vec<String>> {
        let genotype = self.genotype(genotype_json)?;
        operator_names(&genotype).map_err(|source| SearchError::Model {
            context: format!("backend {BUILTIN_NAME}"),
            source: Box::new(source),
        })
    }
}
