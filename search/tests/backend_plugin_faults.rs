//! The loader's and adapter's error paths: missing file, not a library, missing symbol, wrong
//! ABI version, plugin errors and panics (the host keeps going), invalid output, and the
//! serialisation of a plugin that is not thread-safe.

#[path = "support/plugin_build.rs"]
mod plugin_build;

use plugin_build::{loaded_system_library, plugin_path};
use recpim_search::backend::plugin::PluginBackend;
use recpim_search::backend::ModelBackend;
use recpim_search::SearchError;
use std::path::{Path, PathBuf};

fn faulty() -> PluginBackend {
    PluginBackend::load(&plugin_path("recpim-plugin-test-faulty")).expect("faulty loads")
}

fn genotype(mode: &str) -> String {
    format!(r#"{{"mode": "{mode}"}}"#)
}

#[test]
fn a_missing_file_is_named() {
    let err = PluginBackend::load(Path::new("/nonexistent/dir/libnothing.so")).unwrap_err();
    assert!(matches!(err, SearchError::PluginNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "plugin /nonexistent/dir/libnothing.so: no such file"
    );
}

#[test]
fn a_file_that_is_not_a_library_is_refused_by_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libfake.so");
    std::fs::write(&path, "not an ELF file").unwrap();
    let err = PluginBackend::load(&path).unwrap_err();
    assert!(matches!(err, SearchError::PluginLoad { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("libfake.so: cannot load it as a shared library"));
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    // libc is a real shared library that does not export recpim_plugin_entry.
    let Some(libc) = loaded_system_library("libc.so") else {
        eprintln!("skipping: no libc.so in /proc/self/maps on this platform");
        return;
    };
    let err = PluginBackend::load(&libc).unwrap_err();
    match &err {
        SearchError::PluginMissingSymbol { symbol, .. } => {
            assert_eq!(*symbol, "recpim_plugin_entry")
        }
        other => panic!("expected a missing symbol, got {other:?}"),
    }
    assert!(err
        .to_string()
        .contains("missing symbol `recpim_plugin_entry`"));
}

#[test]
fn a_wrong_abi_version_is_refused_from_the_header() {
    let path = plugin_path("recpim-plugin-test-wrong-abi");
    let err = PluginBackend::load(&path).unwrap_err();
    assert!(matches!(err, SearchError::PluginAbi { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("ABI mismatch: plugin ABI version 2 does not match the host's ABI version 1"),
        "{text}"
    );
    assert!(text.contains("librecpim_plugin_test_wrong_abi"), "{text}");
}

#[test]
fn a_panic_inside_the_plugin_is_an_error_and_the_host_keeps_going() {
    let backend = faulty();
    let err = backend.workload(&genotype("panic"), None).unwrap_err();
    match &err {
        SearchError::PluginPanic {
            plugin,
            function,
            message,
            ..
        } => {
            assert_eq!(plugin, "faulty");
            assert_eq!(*function, "workload_json");
            assert_eq!(
                message,
                "panic: faulty plugin asked to panic in workload_json"
            );
        }
        other => panic!("expected a plugin panic, got {other:?}"),
    }
    let err = backend
        .evaluate_accuracy(&genotype("panic"), None)
        .unwrap_err();
    assert!(matches!(
        err,
        SearchError::PluginPanic {
            function: "evaluate_accuracy",
            ..
        }
    ));
    // The same plugin still serves good calls afterwards.
    assert_eq!(
        backend.workload(&genotype("ok"), None).unwrap().ops.len(),
        1
    );
    assert_eq!(
        backend.evaluate_accuracy(&genotype("ok"), None).unwrap(),
        0.25
    );
}

#[test]
fn plugin_errors_carry_status_and_last_error_text() {
    let backend = faulty();
    let err = backend.workload(&genotype("error"), None).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "workload_json failed with RECPIM_STATUS_UNSUPPORTED (3): faulty plugin asked to fail"
        ),
        "{text}"
    );
    let err = backend
        .evaluate_accuracy(&genotype("error"), None)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("RECPIM_STATUS_EVALUATION_FAILED (4)"));
    let err = backend
        .workload(&genotype("no-such-mode"), None)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("mode \"no-such-mode\" is not one of"));
}

#[test]
fn invalid_plugin_output_is_refused() {
    let backend = faulty();
    let err = backend
        .workload(&genotype("bad-workload"), None)
        .unwrap_err();
    assert!(matches!(err, SearchError::PluginOutput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("unknown variant `teleport`"),
        "{err}"
    );
    let err = backend
        .workload(&genotype("empty-workload"), None)
        .unwrap_err();
    assert!(matches!(err, SearchError::PluginOutput { .. }), "{err:?}");
    assert!(err.to_string().contains("no ops"), "{err}");
    let err = backend
        .evaluate_accuracy(&genotype("nan"), None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("log loss NaN is not a finite number >= 0"),
        "{err}"
    );
}

#[test]
fn calls_into_a_plugin_that_is_not_thread_safe_are_serialised() {
    let first = faulty();
    assert!(!first.thread_safe());
    // A second handle through another spelling of the path shares the library and its lock.
    let path = plugin_path("recpim-plugin-test-faulty");
    let dotted: PathBuf = path
        .parent()
        .unwrap()
        .join("deps")
        .join("..")
        .join(path.file_name().unwrap());
    let second = PluginBackend::load(&dotted).unwrap();
    assert_eq!(first.provenance(), second.provenance());
    // The plugin fails any call made while another is in flight; each call sleeps 15 ms.
    let slow = r#"{"mode": "ok", "sleep_ms": 15}"#;
    std::thread::scope(|scope| {
        let handles: Vec<_> = [&first, &second, &first, &second]
            .into_iter()
            .map(|backend| {
                scope.spawn(move || {
                    (0..3)
                        .map(|_| backend.workload(slow, None).map(|w| w.ops.len()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for result in handle.join().unwrap() {
                assert_eq!(result.unwrap(), 1);
            }
        }
    });
}
