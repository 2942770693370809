//! Helpers for writing recpim plugin backends in Rust.
//!
//! Implement [`Backend`] for a unit type and export it with [`export_plugin!`]: the SDK builds
//! the `#[repr(C)]` vtable of `recpim-plugin-api`, turns `&str` in and `String` out into the
//! ABI's C strings (freed by the plugin's own `free_string`), keeps the per-thread
//! `last_error` text, and catches every panic so it never crosses the C boundary (the call
//! returns `RECPIM_STATUS_PANIC` with the panic message instead).
//!
//! ```
//! use recpim_plugin_sdk::{export_plugin, workload::{Op, Workload}, Backend, PluginError};
//! use std::ffi::CStr;
//!
//! struct OneLayer;
//! impl Backend for OneLayer {
//!     const NAME: &'static CStr = c"one-layer";
//!     const VERSION: &'static CStr = c"1.0.0";
//!     const THREAD_SAFE: bool = true;
//!     fn search_space_json() -> Result<String, PluginError> {
//!         Ok(r#"{"backend": "one-layer", "default_genotype": {}}"#.to_string())
//!     }
//!     fn workload_json(_genotype: &str, _bits: Option<&str>) -> Result<String, PluginError> {
//!         let ops = vec![Op::mvm("fc", 64, 32, 8, 8, 1)];
//!         Ok(Workload { ops }.to_json())
//!     }
//! }
//! export_plugin!(OneLayer);
//! ```

pub mod bits;
mod exports;
pub mod workload;

pub use exports::{vtable, Backend, PluginError};
/// The ABI crate, re-exported for [`export_plugin!`].
pub use recpim_plugin_api as api;

/// Exports `$backend` (a type implementing [`Backend`]) as this library's plugin: a static
/// vtable and the `recpim_plugin_entry` symbol. Use it once per cdylib.
#[macro_export]
macro_rules! export_plugin {
    ($backend:ty) => {
        static RECPIM_PLUGIN_VTABLE: $crate::api::RecpimPluginVTable = $crate::vtable::<$backend>();

        /// The plugin entry point: returns this library's static vtable.
        #[no_mangle]
        pub extern "C" fn recpim_plugin_entry() -> *const $crate::api::RecpimPluginVTable {
            &RECPIM_PLUGIN_VTABLE
        }
    };
}
