//! `--backend builtin|plugin:PATH`: the model backend argument every costing command flattens
//! in, and the helpers that turn it (plus `--genotype`/`--bits` files) into backend inputs.
//!
//! ```ignore
//! #[derive(clap::Args)]
//! pub struct MyArgs {
//!     #[command(flatten)]
//!     pub backend: crate::cli::backend_arg::BackendArgs,
//! }
//! let backend = args.backend.load(&BuiltinOptions { shape, ..Default::default() })?;
//! let genotype = genotype_json(backend.as_ref(), args.genotype.as_deref())?;
//! let workload = backend.workload(&genotype, bits_json(args.bits.as_deref())?.as_deref())?;
//! // record backend.provenance() (Display / Serialize) in every output
//! ```

use anyhow::Context;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::backend::{BackendSpec, ModelBackend};
use std::path::Path;

/// The `--backend` flag.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Model backend: `builtin` (NASRec) or `plugin:PATH` (a plugin shared library, see
    /// plugins/README.md).
    #[arg(
        long,
        value_name = "builtin|plugin:PATH",
        default_value = "builtin",
        value_parser = parse_backend
    )]
    pub backend: BackendSpec,
}

fn parse_backend(value: &str) -> Result<BackendSpec, String> {
    BackendSpec::parse(value).map_err(|e| e.to_string())
}

impl BackendArgs {
    /// Whether the built-in NASRec backend was chosen.
    pub fn is_builtin(&self) -> bool {
        self.backend == BackendSpec::Builtin
    }

    /// Refuses, for a plugin backend, the first of `given` (flag name, whether it was set to a
    /// non-default value) that was set: those flags configure the built-in NASRec mapping and a
    /// plugin's genotype carries its own shapes, so they would be silently ignored.
    pub fn refuse_builtin_mapping_flags(&self, given: &[(&str, bool)]) -> anyhow::Result<()> {
        if self.is_builtin() {
            return Ok(());
        }
        if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
            anyhow::bail!(
                "{flag} configures the built-in NASRec mapping; --backend {} takes its model's shapes from the genotype (see `recpim plugins inspect`)",
                self.backend
            );
        }
        Ok(())
    }

    /// Loads the backend; `options` configure the built-in one (plugins ignore them). The
    /// provenance to record in outputs is `backend.provenance()`.
    pub fn load(&self, options: &BuiltinOptions) -> anyhow::Result<Box<dyn ModelBackend>> {
        self.backend
            .load(options)
            .with_context(|| format!("loading backend --backend {}", self.backend))
    }
}

/// The genotype JSON for `backend`: the file's text when one is given, else the backend's
/// default genotype (a plugin's `default_genotype`), else an error asking for `--genotype`.
pub fn genotype_json(backend: &dyn ModelBackend, path: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = path {
        return std::fs::read_to_string(path)
            .with_context(|| format!("reading genotype file {}", path.display()));
    }
    backend
        .default_genotype_json()
        .with_context(|| format!("backend {}", backend.provenance()))?
        .with_context(|| {
            format!(
                "backend {} has no default genotype: give --genotype FILE",
                backend.provenance()
            )
        })
}

/// The bits JSON text of an optional `--bits` file (`None`: the backend's default bits).
pub fn bits_json(path: Option<&Path>) -> anyhow::Result<Option<String>> {
    path.map(|path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading bits file {}", path.display()))
    })
    .transpose()
}
