//! Model backends: where a candidate's workload (and optionally its accuracy) comes from.
//!
//! Every command that costs a model (`simulate`, `compare`, `sweep`, `codesign`) talks to one
//! [`ModelBackend`]: the built-in NASRec backend ([`builtin::NasrecBackend`]) or a plugin shared
//! library loaded through the versioned C ABI of `recpim-plugin-api` ([`plugin::PluginBackend`]).
//! [`BackendSpec`] parses the `--backend builtin|plugin:PATH` value and [`BackendSpec::load`]
//! returns the backend as a `Box<dyn ModelBackend>`.
//!
//! Candidates cross the trait as JSON text, exactly as they cross the C ABI: a genotype (a point
//! in the backend's search space) and optional bits `{"weight_bits": [..], "activation_bits":
//! [..]}` (one entry per quantizable operator; `None` means the backend's defaults).
//!
//! ```no_run
//! use recpim_search::backend::{builtin::BuiltinOptions, BackendSpec};
//!
//! let spec = BackendSpec::parse("plugin:target/debug/librecpim_plugin_dlrm.so")?;
//! let backend = spec.load(&BuiltinOptions::default())?;
//! let genotype = backend.default_genotype_json()?.expect("dlrm ships a default model");
//! let workload = backend.workload(&genotype, None)?;
//! println!("{} ops from {}", workload.ops.len(), backend.provenance());
//! # Ok::<(), recpim_search::SearchError>(())
//! ```

pub mod builtin;
pub mod plugin;
mod plugin_library;
mod provenance;
mod spec;

pub use provenance::{BackendKind, BackendProvenance};
pub use spec::BackendSpec;

use crate::error::{Result, SearchError};
use recpim_sim::workload::{Op, Workload};

/// Key of the search-space JSON under which a backend may give a ready-to-use genotype
/// (a JSON value that [`ModelBackend::workload`] accepts as is).
pub const DEFAULT_GENOTYPE_KEY: &str = "default_genotype";

/// A source of model workloads (and optionally accuracy) for the simulator and the search.
///
/// Implementations are `Send + Sync` so one backend serves rayon workers; a backend whose
/// underlying code is not thread-safe serialises calls itself and says so through
/// [`ModelBackend::thread_safe`] (callers then gain nothing from parallel calls).
pub trait ModelBackend: Send + Sync {
    /// Short name of the backend (`nasrec`, `dlrm`, ...).
    fn name(&self) -> &str;

    /// Version of the backend's implementation.
    fn version(&self) -> &str;

    /// The backend's search space as JSON text (an object with at least `"backend"`).
    fn search_space_json(&self) -> Result<String>;

    /// The simulator workload of a candidate, checked (non-empty, values in range).
    fn workload(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<Workload>;

    /// Whether [`ModelBackend::evaluate_accuracy`] is available.
    fn has_accuracy(&self) -> bool;

    /// The candidate's validation log loss (lower is better).
    ///
    /// Fails with [`SearchError::AccuracyUnavailable`] when [`ModelBackend::has_accuracy`] is
    /// false.
    fn evaluate_accuracy(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<f64>;

    /// Whether calls may run in parallel (false: the backend serialises them).
    fn thread_safe(&self) -> bool;

    /// Where the backend came from, for every output's provenance.
    fn provenance(&self) -> &BackendProvenance;

    /// The genotype the backend suggests when the user gives none (the search space's
    /// [`DEFAULT_GENOTYPE_KEY`] entry, serialised), or `None` if it has none.
    fn default_genotype_json(&self) -> Result<Option<String>> {
        let text = self.search_space_json()?;
        default_genotype_from_space(self.name(), &text)
    }

    /// Names of the quantizable operators of a candidate, in the order of the bits arrays.
    ///
    /// The default is the names of the workload's `Mvm` ops at default bits, which is the
    /// convention for plugins (plugins/README.md); the built-in backend overrides it with the
    /// NASRec operator list.
    fn quantized_operators(&self, genotype_json: &str) -> Result<Vec<String>> {
        let workload = self.workload(genotype_json, None)?;
        Ok(workload
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Mvm { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect())
    }
}

/// Reads [`DEFAULT_GENOTYPE_KEY`] out of a search-space JSON document.
pub(crate) fn default_genotype_from_space(backend: &str, text: &str) -> Result<Option<String>> {
    let space: serde_json::Value =
        serde_json::from_str(text).map_err(|e| SearchError::BackendInput {
            backend: backend.to_string(),
            what: "search-space JSON".to_string(),
            reason: format!("does not parse: {e}"),
        })?;
    Ok(match space.get(DEFAULT_GENOTYPE_KEY) {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => Some(value.to_string()),
    })
}

/// Uniform bits JSON (`{"weight_bits": [w; n], "activation_bits": [a; n]}`) for a candidate
/// with `operators` quantizable operators.
pub fn uniform_bits_json(operators: usize, weight_bits: u32, activation_bits: u32) -> String {
    serde_json::json!({
        "weight_bits": vec![weight_bits; operators],
        "activation_bits": vec![activation_bits; operators],
    })
    .to_string()
}
