//! The `extern "C"` functions of the vtable, generic over a [`Backend`].

use recpim_plugin_api::{
    RecpimPluginVTable, RECPIM_PLUGIN_ABI_VERSION, RECPIM_PLUGIN_NOT_THREAD_SAFE,
    RECPIM_PLUGIN_THREAD_SAFE, RECPIM_STATUS_EVALUATION_FAILED, RECPIM_STATUS_INTERNAL,
    RECPIM_STATUS_INVALID_ARGUMENT, RECPIM_STATUS_INVALID_JSON, RECPIM_STATUS_OK,
    RECPIM_STATUS_PANIC, RECPIM_STATUS_UNSUPPORTED, VTABLE_SIZE,
};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A failed call: the ABI status code and the message `last_error` will return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    status: i32,
    message: String,
}

impl PluginError {
    /// An error with an explicit status code.
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        PluginError {
            status,
            message: message.into(),
        }
    }

    /// `RECPIM_STATUS_INVALID_ARGUMENT`: a NULL pointer or non-UTF-8 text.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(RECPIM_STATUS_INVALID_ARGUMENT, message)
    }

    /// `RECPIM_STATUS_INVALID_JSON`: input JSON that does not parse or fit the search space.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(RECPIM_STATUS_INVALID_JSON, message)
    }

    /// `RECPIM_STATUS_UNSUPPORTED`: a well-formed request the backend cannot serve.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(RECPIM_STATUS_UNSUPPORTED, message)
    }

    /// `RECPIM_STATUS_EVALUATION_FAILED`: the accuracy evaluation ran and failed.
    pub fn evaluation_failed(message: impl Into<String>) -> Self {
        Self::new(RECPIM_STATUS_EVALUATION_FAILED, message)
    }

    /// `RECPIM_STATUS_INTERNAL`: any other failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(RECPIM_STATUS_INTERNAL, message)
    }

    /// The status code.
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {}: {}", self.status, self.message)
    }
}

impl std::error::Error for PluginError {}

/// A model backend written in Rust. All functions are associated (no instance): a plugin's
/// state, if any, lives in statics the implementation guards itself (or it declares
/// `THREAD_SAFE = false` and the host serialises calls).
pub trait Backend: 'static {
    /// The backend's name (static, shown in provenance).
    const NAME: &'static CStr;
    /// The backend's version.
    const VERSION: &'static CStr;
    /// Whether the host may call concurrently.
    const THREAD_SAFE: bool;
    /// Whether [`Backend::evaluate_accuracy`] is implemented (otherwise the vtable entry is
    /// NULL and the host knows the backend has no accuracy model).
    const HAS_ACCURACY: bool = false;

    /// The search space as a JSON object (`{"backend": ..., ...}`).
    fn search_space_json() -> Result<String, PluginError>;

    /// The workload JSON (`{"ops": [...]}`, see [`crate::workload`]) of a candidate.
    fn workload_json(genotype_json: &str, bits_json: Option<&str>) -> Result<String, PluginError>;

    /// The candidate's validation log loss; only called when `HAS_ACCURACY` is true.
    fn evaluate_accuracy(genotype_json: &str, bits_json: Option<&str>) -> Result<f64, PluginError> {
        let _ = (genotype_json, bits_json);
        Err(PluginError::unsupported(
            "this backend has no accuracy model",
        ))
    }
}

thread_local! {
    /// The calling thread's most recent failure message (what `last_error` returns).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A message with a NUL byte is cut there rather than lost.
    let text = message.split('\0').next().unwrap_or_default();
    let value = CString::new(text).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = value);
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// Runs one call: clears `last_error`, catches panics, stores the message of a failure.
fn guarded(call: impl FnOnce() -> Result<(), PluginError>) -> i32 {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(())) => RECPIM_STATUS_OK,
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(payload) => {
            set_last_error(&format!("panic: {}", panic_message(payload.as_ref())));
            RECPIM_STATUS_PANIC
        }
    }
}

/// Reads a required input string.
///
/// # Safety
/// `text` must be NULL or a NUL-terminated string valid for the call.
unsafe fn input<'a>(what: &str, text: *const c_char) -> Result<&'a str, PluginError> {
    if text.is_null() {
        return Err(PluginError::invalid_argument(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|e| PluginError::invalid_argument(format!("{what} is not UTF-8: {e}")))
}

/// Hands `text` to the host through `out` (freed later by [`free_string`]).
///
/// # Safety
/// `out` must be NULL or valid for a write.
unsafe fn give_string(out: *mut *mut c_char, text: String) -> Result<(), PluginError> {
    if out.is_null() {
        return Err(PluginError::invalid_argument("the out-pointer is NULL"));
    }
    let owned = CString::new(text).map_err(|e| {
        PluginError::internal(format!(
            "the output contains a NUL byte at offset {}",
            e.nul_position()
        ))
    })?;
    // SAFETY: checked non-NULL; the host owns the pointer until it calls free_string.
    unsafe { *out = owned.into_raw() };
    Ok(())
}

unsafe extern "C" fn name_fn<B: Backend>(out_name: *mut *const c_char) -> i32 {
    guarded(|| {
        if out_name.is_null() {
            return Err(PluginError::invalid_argument("out_name is NULL"));
        }
        // SAFETY: checked non-NULL; the name is static.
        unsafe { *out_name = B::NAME.as_ptr() };
        Ok(())
    })
}

unsafe extern "C" fn version_fn<B: Backend>(out_version: *mut *const c_char) -> i32 {
    guarded(|| {
        if out_version.is_null() {
            return Err(PluginError::invalid_argument("out_version is NULL"));
        }
        // SAFETY: checked non-NULL; the version is static.
        unsafe { *out_version = B::VERSION.as_ptr() };
        Ok(())
    })
}

unsafe extern "C" fn search_space_fn<B: Backend>(out_json: *mut *mut c_char) -> i32 {
    if !out_json.is_null() {
        // SAFETY: checked non-NULL; NULL until a string is handed over.
        unsafe { *out_json = std::ptr::null_mut() };
    }
    guarded(|| {
        let text = B::search_space_json()?;
        // SAFETY: the host's out-pointer, checked inside.
        unsafe { give_string(out_json, text) }
    })
}

unsafe extern "C" fn workload_fn<B: Backend>(
    genotype_json: *const c_char,
    bits_json: *const c_char,
    out_ops_json: *mut *mut c_char,
) -> i32 {
    if !out_ops_json.is_null() {
        // SAFETY: checked non-NULL; NULL until a string is handed over.
        unsafe { *out_ops_json = std::ptr::null_mut() };
    }
    guarded(|| {
        // SAFETY: the host's strings, valid for the call.
        let genotype = unsafe { input("genotype_json", genotype_json) }?;
        let bits = if bits_json.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { input("bits_json", bits_json) }?)
        };
        let text = B::workload_json(genotype, bits)?;
        // SAFETY: the host's out-pointer, checked inside.
        unsafe { give_string(out_ops_json, text) }
    })
}

unsafe extern "C" fn accuracy_fn<B: Backend>(
    genotype_json: *const c_char,
    bits_json: *const c_char,
    out_val_log_loss: *mut f64,
) -> i32 {
    guarded(|| {
        if out_val_log_loss.is_null() {
            return Err(PluginError::invalid_argument("out_val_log_loss is NULL"));
        }
        // SAFETY: the host's strings, valid for the call.
        let genotype = unsafe { input("genotype_json", genotype_json) }?;
        let bits = if bits_json.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { input("bits_json", bits_json) }?)
        };
        let loss = B::evaluate_accuracy(genotype, bits)?;
        // SAFETY: checked non-NULL.
        unsafe { *out_val_log_loss = loss };
        Ok(())
    })
}

unsafe extern "C" fn free_string_fn(string: *mut c_char) {
    if string.is_null() {
        return;
    }
    // Nothing can be reported from here; a panic is still kept inside the plugin.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the string came from `give_string` (CString::into_raw) and is freed once.
        drop(unsafe { CString::from_raw(string) });
    }));
}

unsafe extern "C" fn last_error_fn() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(std::ptr::null())
}

/// The vtable of `B` (what [`crate::export_plugin!`] stores in a static).
pub const fn vtable<B: Backend>() -> RecpimPluginVTable {
    RecpimPluginVTable {
        abi_version: RECPIM_PLUGIN_ABI_VERSION,
        struct_size: VTABLE_SIZE,
        thread_safe: if B::THREAD_SAFE {
            RECPIM_PLUGIN_THREAD_SAFE
        } else {
            RECPIM_PLUGIN_NOT_THREAD_SAFE
        },
        reserved: 0,
        name: name_fn::<B>,
        version: version_fn::<B>,
        search_space_json: search_space_fn::<B>,
        workload_json: workload_fn::<B>,
        evaluate_accuracy: if B::HAS_ACCURACY {
            Some(accuracy_fn::<B>)
        } else {
            None
        },
        free_string: free_string_fn,
        last_error: last_error_fn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panicky;
    impl Backend for Panicky {
        const NAME: &'static CStr = c"panicky";
        const VERSION: &'static CStr = c"0.0.1";
        const THREAD_SAFE: bool = true;
        fn search_space_json() -> Result<String, PluginError> {
            Err(PluginError::unsupported("no space"))
        }
        fn workload_json(genotype: &str, _bits: Option<&str>) -> Result<String, PluginError> {
            if genotype == "panic" {
                panic!("boom {}", 42);
            }
            Ok(format!("[{genotype}]"))
        }
    }

    fn last_error_text(table: &RecpimPluginVTable) -> String {
        // SAFETY: the SDK's own last_error.
        let text = unsafe { (table.last_error)() };
        // SAFETY: non-NULL NUL-terminated.
        unsafe { CStr::from_ptr(text) }
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn calls_round_trip_and_errors_set_last_error() {
        let table = vtable::<Panicky>();
        assert_eq!(table.struct_size, VTABLE_SIZE);
        assert!(table.evaluate_accuracy.is_none());
        let mut name = std::ptr::null();
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { (table.name)(&mut name) }, RECPIM_STATUS_OK);
        // SAFETY: static NUL-terminated name.
        assert_eq!(unsafe { CStr::from_ptr(name) }, c"panicky");

        let genotype = c"7";
        let mut out = std::ptr::null_mut();
        // SAFETY: valid inputs and out-pointer.
        let status =
            unsafe { (table.workload_json)(genotype.as_ptr(), std::ptr::null(), &mut out) };
        assert_eq!(status, RECPIM_STATUS_OK);
        // SAFETY: the string the plugin handed over, freed once below.
        assert_eq!(unsafe { CStr::from_ptr(out) }, c"[7]");
        // SAFETY: freed once.
        unsafe { (table.free_string)(out) };
        // SAFETY: NULL is ignored.
        unsafe { (table.free_string)(std::ptr::null_mut()) };

        // SAFETY: valid out-pointer.
        let status = unsafe { (table.search_space_json)(&mut out) };
        assert_eq!(status, RECPIM_STATUS_UNSUPPORTED);
        assert!(out.is_null());
        assert_eq!(last_error_text(&table), "no space");

        // A NULL genotype is refused, not dereferenced.
        // SAFETY: the function checks for NULL.
        let status = unsafe { (table.workload_json)(std::ptr::null(), std::ptr::null(), &mut out) };
        assert_eq!(status, RECPIM_STATUS_INVALID_ARGUMENT);
        assert_eq!(last_error_text(&table), "genotype_json is NULL");
    }

    #[test]
    fn a_panic_becomes_the_panic_status() {
        let table = vtable::<Panicky>();
        let mut out = std::ptr::null_mut();
        // SAFETY: valid inputs and out-pointer.
        let status =
            unsafe { (table.workload_json)(c"panic".as_ptr(), std::ptr::null(), &mut out) };
        assert_eq!(status, RECPIM_STATUS_PANIC);
        assert!(out.is_null());
        assert_eq!(last_error_text(&table), "panic: boom 42");
        // The next successful call clears the message.
        let mut name = std::ptr::null();
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { (table.name)(&mut name) }, RECPIM_STATUS_OK);
        assert_eq!(last_error_text(&table), "");
    }
}
