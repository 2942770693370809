//! Drives a plugin written in Rust against this ABI through its vtable only, the way a host
//! does: header check first, then every entry, the ownership rules (strings released by the
//! plugin's own `free_string`) and the error paths (status codes, `last_error`, a caught panic).

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use recpim_plugin_api::*;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs a plugin body, turning an `Err` or a panic into a status code and a stored message.
fn guarded(body: impl FnOnce() -> Result<(), (i32, String)>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err((RECPIM_STATUS_PANIC, format!("panic: {message}")))
    });
    match outcome {
        Ok(()) => RECPIM_STATUS_OK,
        Err((status, message)) => {
            LAST_ERROR.with(|e| *e.borrow_mut() = CString::new(message).unwrap_or_default());
            status
        }
    }
}

unsafe fn input(text: *const c_char, what: &str) -> Result<String, (i32, String)> {
    if text.is_null() {
        return Err((RECPIM_STATUS_INVALID_ARGUMENT, format!("{what} is NULL")));
    }
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map(str::to_owned)
        .map_err(|_| {
            (
                RECPIM_STATUS_INVALID_ARGUMENT,
                format!("{what} is not UTF-8"),
            )
        })
}

/// Width of the one dense layer, read from a genotype like {"width": 64}; "panic" panics.
fn width_of(genotype: &str) -> Result<u64, (i32, String)> {
    if genotype.contains("panic") {
        panic!("asked to panic");
    }
    genotype
        .trim()
        .strip_prefix("{\"width\":")
        .and_then(|r| r.strip_suffix('}'))
        .and_then(|w| w.trim().parse().ok())
        .ok_or((
            RECPIM_STATUS_INVALID_JSON,
            format!("genotype `{genotype}` is not {{\"width\": N}}"),
        ))
}

unsafe extern "C" fn name(out: *mut *const c_char) -> i32 {
    guarded(|| {
        unsafe { *out = c"toy-mlp".as_ptr() };
        Ok(())
    })
}

unsafe extern "C" fn version(out: *mut *const c_char) -> i32 {
    guarded(|| {
        unsafe { *out = c"1.2.3".as_ptr() };
        Ok(())
    })
}

unsafe extern "C" fn search_space_json(out: *mut *mut c_char) -> i32 {
    guarded(|| {
        let json = CString::new(r#"{"backend":"toy-mlp","width":[16,32,64]}"#).unwrap();
        unsafe { *out = json.into_raw() };
        Ok(())
    })
}

unsafe extern "C" fn workload_json(
    genotype: *const c_char,
    bits: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    unsafe { *out = ptr::null_mut() };
    guarded(|| {
        let width = width_of(&unsafe { input(genotype, "genotype_json") }?)?;
        let weight_bits = if bits.is_null() {
            8
        } else {
            unsafe { input(bits, "bits_json") }?.len() as u64
        };
        let json = format!(
            r#"{{"ops":[{{"Mvm":{{"rows":{width},"cols":1,"weight_bits":{weight_bits}}}}}]}}"#
        );
        unsafe { *out = CString::new(json).unwrap().into_raw() };
        Ok(())
    })
}

unsafe extern "C" fn free_string(string: *mut c_char) {
    if !string.is_null() {
        drop(unsafe { CString::from_raw(string) });
    }
}

unsafe extern "C" fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

static TOY_VTABLE: RecpimPluginVTable = RecpimPluginVTable {
    abi_version: RECPIM_PLUGIN_ABI_VERSION,
    struct_size: VTABLE_SIZE,
    thread_safe: RECPIM_PLUGIN_THREAD_SAFE,
    reserved: 0,
    name,
    version,
    search_space_json,
    workload_json,
    evaluate_accuracy: None,
    free_string,
    last_error,
};

#[unsafe(no_mangle)]
extern "C" fn recpim_plugin_entry() -> *const RecpimPluginVTable {
    &TOY_VTABLE
}

/// Host side: owned copy of a plugin-allocated string, released with the plugin's free.
unsafe fn take_string(vtable: &RecpimPluginVTable, s: *mut c_char) -> String {
    assert!(!s.is_null());
    let owned = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
    unsafe { (vtable.free_string)(s) };
    owned
}

unsafe fn host_last_error(vtable: &RecpimPluginVTable) -> String {
    let message = unsafe { (vtable.last_error)() };
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned()
}

fn loaded_vtable() -> &'static RecpimPluginVTable {
    let entry: RecpimPluginEntryFn = recpim_plugin_entry;
    let table = unsafe { entry() };
    // The host reads only the header until it has been checked.
    let header = unsafe { &*(table as *const RecpimPluginHeader) };
    check_header(header).unwrap();
    unsafe { &*table }
}

#[test]
fn host_reads_name_version_and_space() {
    let vtable = loaded_vtable();
    let mut text: *const c_char = ptr::null();
    assert_eq!(unsafe { (vtable.name)(&mut text) }, RECPIM_STATUS_OK);
    assert_eq!(unsafe { CStr::from_ptr(text) }.to_str().unwrap(), "toy-mlp");
    assert_eq!(unsafe { (vtable.version)(&mut text) }, RECPIM_STATUS_OK);
    assert_eq!(unsafe { CStr::from_ptr(text) }.to_str().unwrap(), "1.2.3");
    let mut json: *mut c_char = ptr::null_mut();
    assert_eq!(
        unsafe { (vtable.search_space_json)(&mut json) },
        RECPIM_STATUS_OK
    );
    assert_eq!(
        unsafe { take_string(vtable, json) },
        r#"{"backend":"toy-mlp","width":[16,32,64]}"#
    );
    assert!(vtable.evaluate_accuracy.is_none());
    assert_eq!(vtable.thread_safe, RECPIM_PLUGIN_THREAD_SAFE);
}

#[test]
fn workload_round_trip_and_null_bits_mean_defaults() {
    let vtable = loaded_vtable();
    let genotype = CString::new(r#"{"width": 64}"#).unwrap();
    let mut out: *mut c_char = ptr::null_mut();
    assert_eq!(
        unsafe { (vtable.workload_json)(genotype.as_ptr(), ptr::null(), &mut out) },
        RECPIM_STATUS_OK
    );
    assert_eq!(
        unsafe { take_string(vtable, out) },
        r#"{"ops":[{"Mvm":{"rows":64,"cols":1,"weight_bits":8}}]}"#
    );
}

#[test]
fn errors_carry_status_and_message_and_null_out_pointer() {
    let vtable = loaded_vtable();
    let mut out: *mut c_char = ptr::null_mut();
    assert_eq!(
        unsafe { (vtable.workload_json)(ptr::null(), ptr::null(), &mut out) },
        RECPIM_STATUS_INVALID_ARGUMENT
    );
    assert!(out.is_null());
    assert_eq!(unsafe { host_last_error(vtable) }, "genotype_json is NULL");

    let bad = CString::new(r#"{"depth": 3}"#).unwrap();
    assert_eq!(
        unsafe { (vtable.workload_json)(bad.as_ptr(), ptr::null(), &mut out) },
        RECPIM_STATUS_INVALID_JSON
    );
    assert!(out.is_null());
    assert!(unsafe { host_last_error(vtable) }.contains("is not {\"width\": N}"));
    // Releasing NULL is allowed and does nothing.
    unsafe { (vtable.free_string)(ptr::null_mut()) };
}

#[test]
fn a_panic_becomes_a_status_not_an_abort() {
    let vtable = loaded_vtable();
    let genotype = CString::new("panic").unwrap();
    let mut out: *mut c_char = ptr::null_mut();
    let status = unsafe { (vtable.workload_json)(genotype.as_ptr(), ptr::null(), &mut out) };
    assert_eq!(status, RECPIM_STATUS_PANIC);
    assert_eq!(status_name(status), Some("RECPIM_STATUS_PANIC"));
    assert!(out.is_null());
    assert_eq!(unsafe { host_last_error(vtable) }, "panic: asked to panic");
    // The plugin still works afterwards.
    let genotype = CString::new(r#"{"width": 16}"#).unwrap();
    assert_eq!(
        unsafe { (vtable.workload_json)(genotype.as_ptr(), ptr::null(), &mut out) },
        RECPIM_STATUS_OK
    );
    unsafe { (vtable.free_string)(out) };
}
