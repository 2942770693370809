//! Test plugin: a complete, working backend whose vtable claims the next ABI version, so the
//! host must refuse it after reading only the header.

use recpim_plugin_sdk::api::{RecpimPluginVTable, RECPIM_PLUGIN_ABI_VERSION};
use recpim_plugin_sdk::workload::{Op, Workload};
use recpim_plugin_sdk::{vtable, Backend, PluginError};
use std::ffi::CStr;

/// A one-layer backend (it would work if the version matched).
pub struct FutureAbi;

impl Backend for FutureAbi {
    const NAME: &'static CStr = c"future-abi";
    const VERSION: &'static CStr = c"9.9.9";
    const THREAD_SAFE: bool = true;

    fn search_space_json() -> Result<String, PluginError> {
        Ok(r#"{"backend": "future-abi", "default_genotype": {}}"#.to_string())
    }

    fn workload_json(_genotype: &str, _bits: Option<&str>) -> Result<String, PluginError> {
        Ok(Workload {
            ops: vec![Op::mvm("fc", 16, 16, 8, 8, 1)],
        }
        .to_json())
    }
}

static VTABLE: RecpimPluginVTable = {
    let mut table = vtable::<FutureAbi>();
    table.abi_version = RECPIM_PLUGIN_ABI_VERSION + 1;
    table
};

/// The entry point, returning the mis-versioned table.
#[no_mangle]
pub extern "C" fn recpim_plugin_entry() -> *const RecpimPluginVTable {
    &VTABLE
}
