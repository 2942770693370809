//! The plugin adapter: a shared library behind the C ABI of `recpim-plugin-api`, as a
//! [`ModelBackend`].
//!
//! The host copies every string the plugin returns and frees it with the plugin's own
//! `free_string`; it validates the workload JSON (the serde form of `recpim_sim::Workload`,
//! `{"ops": [...]}`) and checks it, so a plugin can never hand the simulator an op out of range.
//! A status other than OK becomes [`SearchError::PluginCall`] with the plugin's `last_error`
//! text, and RECPIM_STATUS_PANIC becomes [`SearchError::PluginPanic`]; the host keeps going.

use super::plugin_library::{self, LoadedPlugin};
use super::provenance::{BackendKind, BackendProvenance};
use super::ModelBackend;
use crate::error::{Result, SearchError};
use recpim_sim::Workload;
use std::ffi::{c_char, CString};
use std::path::Path;
use std::sync::Arc;

/// The plugin ABI version this host accepts (`RECPIM_PLUGIN_ABI_VERSION` of recpim-plugin-api).
pub const HOST_ABI_VERSION: u32 = recpim_plugin_api::RECPIM_PLUGIN_ABI_VERSION;

/// A model backend provided by a plugin shared library.
pub struct PluginBackend {
    plugin: Arc<LoadedPlugin>,
    provenance: BackendProvenance,
}

impl std::fmt::Debug for PluginBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginBackend")
            .field("provenance", &self.provenance)
            .field("thread_safe", &self.plugin.thread_safe())
            .finish()
    }
}

impl PluginBackend {
    /// Loads the plugin at `path` (see the module docs of the checks). A library is loaded
    /// once per process and never unloaded; loading the same file again returns a handle on
    /// the same library.
    pub fn load(path: &Path) -> Result<PluginBackend> {
        let plugin = plugin_library::load(path)?;
        let provenance = BackendProvenance {
            kind: BackendKind::Plugin,
            path: Some(plugin.path().to_path_buf()),
            name: plugin.name().to_string(),
            version: plugin.version().to_string(),
        };
        Ok(PluginBackend { plugin, provenance })
    }

    /// Input strings as the ABI wants them (NUL-terminated, no interior NUL).
    fn c_inputs(
        &self,
        genotype_json: &str,
        bits_json: Option<&str>,
    ) -> Result<(CString, Option<CString>)> {
        let to_c = |what: &str, text: &str| {
            CString::new(text).map_err(|e| SearchError::BackendInput {
                backend: self.plugin.name().to_string(),
                what: what.to_string(),
                reason: format!(
                    "contains a NUL byte at offset {}, which C strings cannot carry",
                    e.nul_position()
                ),
            })
        };
        let genotype = to_c("genotype JSON", genotype_json)?;
        let bits = bits_json.map(|b| to_c("bits JSON", b)).transpose()?;
        Ok((genotype, bits))
    }
}

fn bits_ptr(bits: &Option<CString>) -> *const c_char {
    bits.as_ref().map_or(std::ptr::null(), |b| b.as_ptr())
}

impl ModelBackend for PluginBackend {
    fn name(&self) -> &str {
        self.plugin.name()
    }

    fn version(&self) -> &str {
        self.plugin.version()
    }

    fn search_space_json(&self) -> Result<String> {
        let text = self
            .plugin
            .owned_string("search_space_json", |vtable, out| {
                // SAFETY: `out` is a valid out-pointer for the call.
                unsafe { (vtable.search_space_json)(out) }
            })?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(_)) => Ok(text),
            Ok(_) => Err(self
                .plugin
                .output_error("search_space_json", "not a JSON object".to_string())),
            Err(e) => Err(self
                .plugin
                .output_error("search_space_json", format!("not JSON: {e}"))),
        }
    }

    fn workload(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<Workload> {
        let (genotype, bits) = self.c_inputs(genotype_json, bits_json)?;
        let text = self.plugin.owned_string("workload_json", |vtable, out| {
            // SAFETY: the inputs are NUL-terminated and live across the call; `out` is valid.
            unsafe { (vtable.workload_json)(genotype.as_ptr(), bits_ptr(&bits), out) }
        })?;
        let workload: Workload = serde_json::from_str(&text).map_err(|e| {
            self.plugin.output_error(
                "workload_json",
                format!(
                    "the workload JSON does not parse as {{\"ops\": [...]}} of simulator ops (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let origin = format!("workload of plugin {}", self.plugin.name());
        workload
            .check(&origin)
            .map_err(|e| self.plugin.output_error("workload_json", e.to_string()))?;
        Ok(workload)
    }

    fn has_accuracy(&self) -> bool {
        self.plugin.has_accuracy()
    }

    fn evaluate_accuracy(&self, genotype_json: &str, bits_json: Option<&str>) -> Result<f64> {
        let Some(evaluate) = self.plugin.vtable().evaluate_accuracy else {
            return Err(SearchError::AccuracyUnavailable {
                backend: self.plugin.name().to_string(),
            });
        };
        let (genotype, bits) = self.c_inputs(genotype_json, bits_json)?;
        let _guard = self.plugin.guard();
        let mut val_log_loss = f64::NAN;
        // SAFETY: the inputs are NUL-terminated and live across the call; the out-pointer is
        // a valid f64.
        let status = unsafe { evaluate(genotype.as_ptr(), bits_ptr(&bits), &mut val_log_loss) };
        self.plugin.check_status("evaluate_accuracy", status)?;
        if !val_log_loss.is_finite() || val_log_loss < 0.0 {
            return Err(self.plugin.output_error(
                "evaluate_accuracy",
                format!("log loss {val_log_loss} is not a finite number >= 0"),
            ));
        }
        Ok(val_log_loss)
    }

    fn thread_safe(&self) -> bool {
        self.plugin.thread_safe()
    }

    fn provenance(&self) -> &BackendProvenance {
        &self.provenance
    }
}
