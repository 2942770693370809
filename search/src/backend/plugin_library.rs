//! Loading a plugin shared library and calling through its vtable safely.
//!
//! Order of trust: the file must exist; the loader must accept it; it must export
//! `recpim_plugin_entry`; the entry must return a non-NULL, aligned pointer; the header
//! (`abi_version`, `struct_size`) must pass [`check_header`] before any other field is read;
//! then `thread_safe` must be 0 or 1, `reserved` 0 and every required function non-NULL.
//!
//! Libraries are never unloaded (a plugin's static strings and threads may outlive any handle),
//! and each resolved path is loaded once per process, so the serialising lock of a plugin that
//! is not thread-safe is shared by every backend handle on it.

use crate::error::{Result, SearchError};
use libloading::Library;
use recpim_plugin_api::{
    check_header, status_name, RecpimPluginEntryFn, RecpimPluginHeader, RecpimPluginVTable,
    ENTRY_SYMBOL_WITH_NUL, RECPIM_PLUGIN_ENTRY_SYMBOL, RECPIM_PLUGIN_NOT_THREAD_SAFE,
    RECPIM_PLUGIN_THREAD_SAFE, RECPIM_STATUS_OK, RECPIM_STATUS_PANIC,
};
use std::ffi::{c_char, CStr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The vtable as raw memory: the same `#[repr(C)]` layout as [`RecpimPluginVTable`] with every
/// function pointer nullable, so a C plugin that leaves one NULL is refused instead of being
/// read into a non-nullable Rust `fn` (undefined behaviour).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawVTable {
    abi_version: u32,
    struct_size: u32,
    thread_safe: u32,
    reserved: u32,
    name: Option<unsafe extern "C" fn(*mut *const c_char) -> i32>,
    version: Option<unsafe extern "C" fn(*mut *const c_char) -> i32>,
    search_space_json: Option<unsafe extern "C" fn(*mut *mut c_char) -> i32>,
    workload_json:
        Option<unsafe extern "C" fn(*const c_char, *const c_char, *mut *mut c_char) -> i32>,
    evaluate_accuracy: Option<unsafe extern "C" fn(*const c_char, *const c_char, *mut f64) -> i32>,
    free_string: Option<unsafe extern "C" fn(*mut c_char)>,
    last_error: Option<unsafe extern "C" fn() -> *const c_char>,
}

// The mirror must stay byte-compatible with the ABI crate's table.
const _: () = assert!(
    std::mem::size_of::<RawVTable>() == std::mem::size_of::<RecpimPluginVTable>()
        && std::mem::align_of::<RawVTable>() == std::mem::align_of::<RecpimPluginVTable>()
);

/// A loaded, checked plugin. Shared (`Arc`) by every handle on the same resolved path.
pub(crate) struct LoadedPlugin {
    path: PathBuf,
    vtable: RecpimPluginVTable,
    name: String,
    version: String,
    thread_safe: bool,
    /// Held around every call when the plugin is not thread-safe.
    serial: Mutex<()>,
}

/// Plugins loaded so far, by resolved path (never removed: libraries are never unloaded).
static LOADED: Mutex<Vec<Arc<LoadedPlugin>>> = Mutex::new(Vec::new());

/// Loads (or returns the already loaded) plugin at `path`.
pub(crate) fn load(path: &Path) -> Result<Arc<LoadedPlugin>> {
    if !path.exists() {
        return Err(SearchError::PluginNotFound {
            path: path.to_path_buf(),
        });
    }
    let resolved = path.canonicalize().map_err(|e| SearchError::PluginLoad {
        path: path.to_path_buf(),
        message: format!("cannot resolve the path: {e}"),
    })?;
    // Hold the registry lock over the load so two threads cannot load one library twice.
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(plugin) = loaded.iter().find(|p| p.path == resolved) {
        return Ok(Arc::clone(plugin));
    }
    let plugin = Arc::new(open(&resolved)?);
    loaded.push(Arc::clone(&plugin));
    Ok(plugin)
}

fn open(path: &Path) -> Result<LoadedPlugin> {
    // SAFETY: loading a library runs its initialisers; that is the point of a plugin, and the
    // user named this file as one.
    let library = unsafe { Library::new(path) }.map_err(|e| SearchError::PluginLoad {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    // Never unloaded: the plugin's static strings and vtable stay valid for the process.
    let library: &'static Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the one the ABI fixes for this name.
    let entry =
        unsafe { library.get::<RecpimPluginEntryFn>(ENTRY_SYMBOL_WITH_NUL) }.map_err(|e| {
            SearchError::PluginMissingSymbol {
                path: path.to_path_buf(),
                symbol: RECPIM_PLUGIN_ENTRY_SYMBOL,
                message: e.to_string(),
            }
        })?;
    let abi = |reason: String| SearchError::PluginAbi {
        path: path.to_path_buf(),
        reason,
    };
    // SAFETY: the entry takes no arguments and returns a pointer to static data.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(abi(format!(
            "{RECPIM_PLUGIN_ENTRY_SYMBOL}() returned NULL instead of its vtable"
        )));
    }
    if !table.cast::<RawVTable>().is_aligned() {
        return Err(abi(format!(
            "{RECPIM_PLUGIN_ENTRY_SYMBOL}() returned a misaligned vtable pointer {table:p}"
        )));
    }
    // SAFETY: non-NULL and aligned; every plugin of any version starts with the header.
    let header = unsafe { std::ptr::read(table.cast::<RecpimPluginHeader>()) };
    check_header(&header).map_err(|e| abi(e.to_string()))?;
    // SAFETY: the header says the table holds at least the host's fields.
    let raw = unsafe { std::ptr::read(table.cast::<RawVTable>()) };
    let thread_safe = match raw.thread_safe {
        RECPIM_PLUGIN_THREAD_SAFE => true,
        RECPIM_PLUGIN_NOT_THREAD_SAFE => false,
        other => {
            return Err(abi(format!(
                "thread_safe is {other}; allowed: {RECPIM_PLUGIN_NOT_THREAD_SAFE} (calls serialised) or {RECPIM_PLUGIN_THREAD_SAFE}"
            )))
        }
    };
    if raw.reserved != 0 {
        return Err(abi(format!("reserved is {}; it must be 0", raw.reserved)));
    }
    let missing = |field: &str| abi(format!("required function `{field}` is NULL"));
    let vtable = RecpimPluginVTable {
        abi_version: raw.abi_version,
        struct_size: raw.struct_size,
        thread_safe: raw.thread_safe,
        reserved: raw.reserved,
        name: raw.name.ok_or_else(|| missing("name"))?,
        version: raw.version.ok_or_else(|| missing("version"))?,
        search_space_json: raw
            .search_space_json
            .ok_or_else(|| missing("search_space_json"))?,
        workload_json: raw.workload_json.ok_or_else(|| missing("workload_json"))?,
        evaluate_accuracy: raw.evaluate_accuracy,
        free_string: raw.free_string.ok_or_else(|| missing("free_string"))?,
        last_error: raw.last_error.ok_or_else(|| missing("last_error"))?,
    };
    let mut plugin = LoadedPlugin {
        path: path.to_path_buf(),
        vtable,
        name: file_label(path),
        version: String::new(),
        thread_safe,
        serial: Mutex::new(()),
    };
    plugin.name = plugin.static_string("name", vtable.name)?;
    plugin.version = plugin.static_string("version", vtable.version)?;
    if plugin.name.is_empty() {
        return Err(plugin.output_error("name", "the name is empty".to_string()));
    }
    Ok(plugin)
}

/// The file name, used to label a plugin before it has told its name.
fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

impl LoadedPlugin {
    /// The resolved path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The plugin's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version.
    pub(crate) fn version(&self) -> &str {
        &self.version
    }

    /// Whether the plugin allows concurrent calls.
    pub(crate) fn thread_safe(&self) -> bool {
        self.thread_safe
    }

    /// Whether the plugin has an accuracy function.
    pub(crate) fn has_accuracy(&self) -> bool {
        self.vtable.evaluate_accuracy.is_some()
    }

    /// The vtable (after the checks).
    pub(crate) fn vtable(&self) -> &RecpimPluginVTable {
        &self.vtable
    }

    /// Takes the serialising lock when the plugin is not thread-safe. Everything from a call to
    /// reading its `last_error` and freeing its strings happens under one guard.
    pub(crate) fn guard(&self) -> Option<MutexGuard<'_, ()>> {
        if self.thread_safe {
            None
        } else {
            Some(self.serial.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }

    /// Turns a call's status into a result; on failure reads `last_error` (same thread, still
    /// under the caller's guard).
    pub(crate) fn check_status(&self, function: &'static str, status: i32) -> Result<()> {
        if status == RECPIM_STATUS_OK {
            return Ok(());
        }
        let message = self.last_error_text();
        if status == RECPIM_STATUS_PANIC {
            return Err(SearchError::PluginPanic {
                plugin: self.name.clone(),
                path: self.path.clone(),
                function,
                message,
            });
        }
        Err(SearchError::PluginCall {
            plugin: self.name.clone(),
            path: self.path.clone(),
            function,
            status,
            status_name: status_name(status).unwrap_or("unknown status").to_string(),
            message,
        })
    }

    fn last_error_text(&self) -> String {
        // SAFETY: last_error takes no arguments and returns NULL or a NUL-terminated string
        // valid until the next call on this thread; it is copied at once.
        let text = unsafe { (self.vtable.last_error)() };
        if text.is_null() {
            return "(the plugin gave no message)".to_string();
        }
        // SAFETY: non-NULL, NUL-terminated per the ABI.
        let message = unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned();
        if message.is_empty() {
            "(the plugin gave no message)".to_string()
        } else {
            message
        }
    }

    /// An error for output that breaks the ABI contract.
    pub(crate) fn output_error(&self, function: &'static str, reason: String) -> SearchError {
        SearchError::PluginOutput {
            plugin: self.name.clone(),
            path: self.path.clone(),
            function,
            reason,
        }
    }

    /// Calls `name` or `version` and copies the static string.
    fn static_string(
        &self,
        function: &'static str,
        getter: unsafe extern "C" fn(*mut *const c_char) -> i32,
    ) -> Result<String> {
        let _guard = self.guard();
        let mut out: *const c_char = std::ptr::null();
        // SAFETY: `out` is a valid out-pointer for the duration of the call.
        let status = unsafe { getter(&mut out) };
        self.check_status(function, status)?;
        if out.is_null() {
            return Err(self.output_error(function, "returned OK with a NULL string".into()));
        }
        // SAFETY: non-NULL, NUL-terminated static string per the ABI.
        unsafe { CStr::from_ptr(out) }
            .to_str()
            .map(str::to_string)
            .map_err(|e| self.output_error(function, format!("not UTF-8: {e}")))
    }

    /// Runs a call that returns an owned string through `out`, copies the string and releases
    /// it with the plugin's `free_string`, all under one guard.
    pub(crate) fn owned_string(
        &self,
        function: &'static str,
        call: impl FnOnce(&RecpimPluginVTable, *mut *mut c_char) -> i32,
    ) -> Result<String> {
        let _guard = self.guard();
        let mut out: *mut c_char = std::ptr::null_mut();
        let status = call(&self.vtable, &mut out);
        self.check_status(function, status)?;
        if out.is_null() {
            return Err(self.output_error(function, "returned OK with a NULL string".into()));
        }
        // SAFETY: non-NULL, NUL-terminated and owned by the host until freed below.
        let text = unsafe { CStr::from_ptr(out) }
            .to_str()
            .map(str::to_string)
            .map_err(|e| self.output_error(function, format!("not UTF-8: {e}")));
        // SAFETY: `out` came from this plugin and is released exactly once.
        unsafe { (self.vtable.free_string)(out) };
        text
    }
}
