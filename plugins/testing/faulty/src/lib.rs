//! Test plugin `faulty`: misbehaves on request so the host's error paths can be tested.
//!
//! It declares itself NOT thread-safe and counts calls in flight: if the host ever makes two
//! calls at once, the second fails with "concurrent call". The genotype chooses the behaviour:
//! `{"mode": "ok" | "panic" | "error" | "bad-workload" | "empty-workload" | "nan", "sleep_ms": N}`.
//! - `ok`: a one-op workload, accuracy 0.25;
//! - `panic`: panics inside the call (the SDK returns RECPIM_STATUS_PANIC);
//! - `error`: fails with RECPIM_STATUS_UNSUPPORTED and a message;
//! - `bad-workload`: returns an op with an unknown kind;
//! - `empty-workload`: returns `{"ops": []}`;
//! - `nan`: accuracy NaN.
//!
//! `sleep_ms` (default 0, at most 1000) holds the call open so overlapping calls would be seen.

use recpim_plugin_sdk::workload::{Op, Workload};
use recpim_plugin_sdk::{export_plugin, Backend, PluginError};
use serde::Deserialize;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Genotype {
    mode: String,
    #[serde(default)]
    sleep_ms: u64,
}

/// Decrements the in-flight count even when the call panics.
struct InFlight;

impl InFlight {
    fn enter(sleep_ms: u64) -> Result<InFlight, PluginError> {
        let before = IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight;
        if before != 0 {
            return Err(PluginError::internal(
                "concurrent call into a plugin that declared thread_safe = 0",
            ));
        }
        std::thread::sleep(Duration::from_millis(sleep_ms.min(1000)));
        Ok(guard)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

fn genotype(text: &str) -> Result<Genotype, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::invalid_json(format!("faulty genotype: {e}")))
}

/// The `faulty` backend.
pub struct Faulty;

impl Backend for Faulty {
    const NAME: &'static CStr = c"faulty";
    const VERSION: &'static CStr = c"0.0.1";
    const THREAD_SAFE: bool = false;
    const HAS_ACCURACY: bool = true;

    fn search_space_json() -> Result<String, PluginError> {
        let _in_flight = InFlight::enter(0)?;
        Ok(r#"{"backend": "faulty", "default_genotype": {"mode": "ok"}}"#.to_string())
    }

    fn workload_json(genotype_json: &str, _bits: Option<&str>) -> Result<String, PluginError> {
        let g = genotype(genotype_json)?;
        let _in_flight = InFlight::enter(g.sleep_ms)?;
        match g.mode.as_str() {
            "ok" | "nan" => Ok(Workload {
                ops: vec![Op::mvm("fc", 32, 16, 8, 8, 1)],
            }
            .to_json()),
            "panic" => panic!("faulty plugin asked to panic in workload_json"),
            "error" => Err(PluginError::unsupported("faulty plugin asked to fail")),
            "bad-workload" => Ok(r#"{"ops": [{"kind": "teleport", "name": "x"}]}"#.to_string()),
            "empty-workload" => Ok(r#"{"ops": []}"#.to_string()),
            other => Err(PluginError::invalid_json(format!(
                "faulty genotype: mode {other:?} is not one of ok, panic, error, bad-workload, empty-workload, nan"
            ))),
        }
    }

    fn evaluate_accuracy(genotype_json: &str, _bits: Option<&str>) -> Result<f64, PluginError> {
        let g = genotype(genotype_json)?;
        let _in_flight = InFlight::enter(g.sleep_ms)?;
        match g.mode.as_str() {
            "panic" => panic!("faulty plugin asked to panic in evaluate_accuracy"),
            "error" => Err(PluginError::evaluation_failed(
                "faulty plugin asked to fail",
            )),
            "nan" => Ok(f64::NAN),
            _ => Ok(0.25),
        }
    }
}

export_plugin!(Faulty);
