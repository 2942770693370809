//! The C ABI between recpim and plugin model backends.
//!
//! A plugin is a shared library (cdylib, or C/C++) that exports one function,
//! [`RECPIM_PLUGIN_ENTRY_SYMBOL`] (`recpim_plugin_entry`), of type [`RecpimPluginEntryFn`]. It
//! returns a pointer to a static [`RecpimPluginVTable`]. The hand-written C header
//! `plugins/api/recpim_plugin.h` declares the same items; a test keeps the two in sync.
//!
//! # Versioning
//! The vtable starts with [`RecpimPluginHeader`]: `abi_version` and `struct_size`. The host reads
//! only those two fields first and refuses the plugin (see [`check_header`]) unless
//! `abi_version == RECPIM_PLUGIN_ABI_VERSION` and `struct_size >= size_of::<RecpimPluginVTable>()`.
//! Fields are only ever appended within one ABI version; any other change bumps the version.
//!
//! # Calls and errors
//! Every function that can fail returns an `i32` status: [`RECPIM_STATUS_OK`] (0) or one of the
//! `RECPIM_STATUS_*` codes. On failure the plugin stores a message that `last_error` returns.
//! `free_string` and `last_error` cannot fail and return no status (like `dlerror`). A plugin
//! must never let a panic or C++ exception cross the boundary: catch it and return
//! [`RECPIM_STATUS_PANIC`] (unwinding out of an `extern "C"` function aborts the host).
//! If `thread_safe` is 0 the host makes at most one call into the plugin at a time.
//!
//! # Ownership rules
//! - Strings passed in (`genotype_json`, `bits_json`) are NUL-terminated UTF-8 owned by the host
//!   and valid only during the call; the plugin copies whatever it keeps. `bits_json` may be
//!   NULL, meaning the backend's default bitwidths; `genotype_json` may not.
//! - `name` and `version` return pointers to static NUL-terminated UTF-8 owned by the plugin,
//!   valid while the library is loaded (the host never unloads a plugin). The host never frees
//!   them.
//! - `search_space_json` and `workload_json` return through `*mut *mut c_char` a string the
//!   plugin allocated; the host owns it and releases it exactly once with that plugin's
//!   `free_string`, never with `free` or another allocator. On failure the plugin sets the
//!   out-pointer to NULL and the host frees nothing. `free_string(NULL)` does nothing.
//! - `last_error` returns a NUL-terminated message owned by the plugin describing the most recent
//!   failed call on the calling thread, valid until the next call into the plugin on that
//!   thread; NULL or "" when there is none. The host copies it at once.
//! - Out-pointers (`out_*`) are owned by the host and never NULL; the plugin writes them only.
//!
//! # JSON payloads
//! - search space: `{"backend": "...", "operators": [...], "bitwidths": [...], ...}`, the
//!   backend's own description, shown by `recpim plugins inspect` and used by the search.
//! - genotype: a point in that space; bits: `{"weight_bits": [...], "activation_bits": [...]}`.
//! - workload: `{"ops": [...]}` in the simulator's Workload vocabulary (Mvm, Gather, Digital,
//!   Elementwise); the exact schema is the serde form of recpim-sim's Workload, which the loader
//!   validates (this crate has no dependencies and does not parse JSON).
//! - accuracy: the validation log loss (lower is better) written to `out_val_log_loss`.

#![no_std]
#![deny(missing_docs)]

use core::ffi::c_char;
use core::fmt;

/// The ABI version this crate describes. Bumped on any change other than appending fields.
pub const RECPIM_PLUGIN_ABI_VERSION: u32 = 1;

/// Name of the function every plugin exports (see [`RecpimPluginEntryFn`]).
pub const RECPIM_PLUGIN_ENTRY_SYMBOL: &str = "recpim_plugin_entry";

/// [`RECPIM_PLUGIN_ENTRY_SYMBOL`] with its trailing NUL, as symbol lookups want it.
pub const ENTRY_SYMBOL_WITH_NUL: &[u8] = b"recpim_plugin_entry\0";

/// `thread_safe` value: the host may call the plugin from several threads at once.
pub const RECPIM_PLUGIN_THREAD_SAFE: u32 = 1;
/// `thread_safe` value: the host serialises all calls into the plugin.
pub const RECPIM_PLUGIN_NOT_THREAD_SAFE: u32 = 0;

/// Success.
pub const RECPIM_STATUS_OK: i32 = 0;
/// A required pointer was NULL or a string was not valid UTF-8.
pub const RECPIM_STATUS_INVALID_ARGUMENT: i32 = 1;
/// An input JSON document did not parse or does not fit the backend's search space.
pub const RECPIM_STATUS_INVALID_JSON: i32 = 2;
/// The request is well formed but asks for something the backend cannot do.
pub const RECPIM_STATUS_UNSUPPORTED: i32 = 3;
/// The accuracy evaluation ran and failed (missing data, divergence, ...).
pub const RECPIM_STATUS_EVALUATION_FAILED: i32 = 4;
/// The plugin caught a panic or exception inside the call.
pub const RECPIM_STATUS_PANIC: i32 = 5;
/// Any other failure inside the plugin (allocation failure, broken invariant).
pub const RECPIM_STATUS_INTERNAL: i32 = 6;

/// The two leading fields of [`RecpimPluginVTable`]: all a host reads before it has checked them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecpimPluginHeader {
    /// Must equal [`RECPIM_PLUGIN_ABI_VERSION`] of the host.
    pub abi_version: u32,
    /// `sizeof(RecpimPluginVTable)` as the plugin was compiled.
    pub struct_size: u32,
}

/// The table of functions a plugin provides. Its first two fields are [`RecpimPluginHeader`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RecpimPluginVTable {
    /// Must equal [`RECPIM_PLUGIN_ABI_VERSION`] of the host.
    pub abi_version: u32,
    /// `sizeof(RecpimPluginVTable)` as the plugin was compiled.
    pub struct_size: u32,
    /// [`RECPIM_PLUGIN_THREAD_SAFE`] or [`RECPIM_PLUGIN_NOT_THREAD_SAFE`].
    pub thread_safe: u32,
    /// Must be 0 (keeps the function pointers 8-byte aligned without hidden padding).
    pub reserved: u32,
    /// Writes the backend's static name (e.g. "dlrm") to `out_name`.
    pub name: unsafe extern "C" fn(out_name: *mut *const c_char) -> i32,
    /// Writes the backend's static version (e.g. "0.3.1") to `out_version`.
    pub version: unsafe extern "C" fn(out_version: *mut *const c_char) -> i32,
    /// Writes the search-space JSON (free with `free_string`) to `out_json`.
    pub search_space_json: unsafe extern "C" fn(out_json: *mut *mut c_char) -> i32,
    /// Writes the workload JSON of a candidate (free with `free_string`) to `out_ops_json`.
    pub workload_json: unsafe extern "C" fn(
        genotype_json: *const c_char,
        bits_json: *const c_char,
        out_ops_json: *mut *mut c_char,
    ) -> i32,
    /// Evaluates a candidate's validation log loss; NULL when the backend has no accuracy model.
    pub evaluate_accuracy: Option<
        unsafe extern "C" fn(
            genotype_json: *const c_char,
            bits_json: *const c_char,
            out_val_log_loss: *mut f64,
        ) -> i32,
    >,
    /// Releases a string returned by `search_space_json` or `workload_json`; NULL is ignored.
    pub free_string: unsafe extern "C" fn(string: *mut c_char),
    /// The message of the calling thread's most recent failure (owned by the plugin).
    pub last_error: unsafe extern "C" fn() -> *const c_char,
}

/// The exported entry point: returns the plugin's static vtable (never NULL on success).
pub type RecpimPluginEntryFn = unsafe extern "C" fn() -> *const RecpimPluginVTable;

/// `sizeof(RecpimPluginVTable)` for this ABI version, as stored in `struct_size`.
pub const VTABLE_SIZE: u32 = core::mem::size_of::<RecpimPluginVTable>() as u32;

/// Why a plugin's header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiCheckError {
    /// The plugin was built for another ABI version.
    VersionMismatch {
        /// The plugin's `abi_version`.
        plugin: u32,
        /// The host's [`RECPIM_PLUGIN_ABI_VERSION`].
        host: u32,
    },
    /// The plugin's vtable is smaller than the host's, so some functions are missing.
    StructTooSmall {
        /// The plugin's `struct_size` in bytes.
        plugin_bytes: u32,
        /// The size the host needs in bytes.
        host_bytes: u32,
    },
}

impl fmt::Display for AbiCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VersionMismatch { plugin, host } => write!(
                f,
                "plugin ABI version {plugin} does not match the host's ABI version {host}; rebuild the plugin against recpim_plugin.h version {host}"
            ),
            Self::StructTooSmall { plugin_bytes, host_bytes } => write!(
                f,
                "plugin vtable is {plugin_bytes} bytes but the host needs at least {host_bytes}; rebuild the plugin against the current recpim_plugin.h"
            ),
        }
    }
}

/// Accepts a header only if its version equals the host's and its table is at least as large
/// as the host's. Call this before reading any other vtable field.
pub fn check_header(header: &RecpimPluginHeader) -> Result<(), AbiCheckError> {
    if header.abi_version != RECPIM_PLUGIN_ABI_VERSION {
        return Err(AbiCheckError::VersionMismatch {
            plugin: header.abi_version,
            host: RECPIM_PLUGIN_ABI_VERSION,
        });
    }
    if header.struct_size < VTABLE_SIZE {
        return Err(AbiCheckError::StructTooSmall {
            plugin_bytes: header.struct_size,
            host_bytes: VTABLE_SIZE,
        });
    }
    Ok(())
}

/// The constant name of a status code (`"RECPIM_STATUS_PANIC"`), or `None` for an unknown code.
pub fn status_name(status: i32) -> Option<&'static str> {
    Some(match status {
        RECPIM_STATUS_OK => "RECPIM_STATUS_OK",
        RECPIM_STATUS_INVALID_ARGUMENT => "RECPIM_STATUS_INVALID_ARGUMENT",
        RECPIM_STATUS_INVALID_JSON => "RECPIM_STATUS_INVALID_JSON",
        RECPIM_STATUS_UNSUPPORTED => "RECPIM_STATUS_UNSUPPORTED",
        RECPIM_STATUS_EVALUATION_FAILED => "RECPIM_STATUS_EVALUATION_FAILED",
        RECPIM_STATUS_PANIC => "RECPIM_STATUS_PANIC",
        RECPIM_STATUS_INTERNAL => "RECPIM_STATUS_INTERNAL",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_a_prefix_of_the_vtable() {
        assert_eq!(
            core::mem::offset_of!(RecpimPluginVTable, abi_version),
            core::mem::offset_of!(RecpimPluginHeader, abi_version)
        );
        assert_eq!(
            core::mem::offset_of!(RecpimPluginVTable, struct_size),
            core::mem::offset_of!(RecpimPluginHeader, struct_size)
        );
        // Option<fn> is a nullable pointer, so the optional entry costs no extra space.
        assert_eq!(
            core::mem::size_of::<Option<unsafe extern "C" fn()>>(),
            core::mem::size_of::<usize>()
        );
    }

    #[test]
    fn header_check_accepts_current_and_refuses_others() {
        let ok = RecpimPluginHeader {
            abi_version: RECPIM_PLUGIN_ABI_VERSION,
            struct_size: VTABLE_SIZE,
        };
        assert_eq!(check_header(&ok), Ok(()));
        let larger = RecpimPluginHeader {
            struct_size: VTABLE_SIZE + 8,
            ..ok
        };
        assert_eq!(check_header(&larger), Ok(()));
        let old = RecpimPluginHeader {
            abi_version: 0,
            ..ok
        };
        assert_eq!(
            check_header(&old),
            Err(AbiCheckError::VersionMismatch {
                plugin: 0,
                host: RECPIM_PLUGIN_ABI_VERSION
            })
        );
        let small = RecpimPluginHeader {
            struct_size: 8,
            ..ok
        };
        assert_eq!(
            check_header(&small),
            Err(AbiCheckError::StructTooSmall {
                plugin_bytes: 8,
                host_bytes: VTABLE_SIZE
            })
        );
    }

    #[test]
    fn status_names_cover_every_code() {
        for code in 0..=6 {
            assert!(status_name(code).is_some(), "code {code}");
        }
        assert_eq!(status_name(7), None);
        assert_eq!(
            status_name(RECPIM_STATUS_PANIC),
            Some("RECPIM_STATUS_PANIC")
        );
    }

    #[test]
    fn entry_symbol_with_nul_matches() {
        assert_eq!(
            &ENTRY_SYMBOL_WITH_NUL[..ENTRY_SYMBOL_WITH_NUL.len() - 1],
            RECPIM_PLUGIN_ENTRY_SYMBOL.as_bytes()
        );
        assert_eq!(ENTRY_SYMBOL_WITH_NUL.last(), Some(&0));
    }
}
