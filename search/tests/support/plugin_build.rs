//! Builds the workspace's plugin crates (cdylibs) for tests and returns their paths.
//!
//! `cargo test` does not build the shared libraries of cdylib crates, so a test runs
//! `cargo build -p <plugins>` once, into the same target directory and profile as the test
//! binary itself (found from `current_exe`: `<target>/<profile>/deps/<test>`), so the plugins
//! reuse the dependencies already built. Shared by search/tests and the workspace's tests/.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The plugin crates the tests load.
pub const PLUGIN_PACKAGES: [&str; 4] = [
    "recpim-plugin-dlrm",
    "recpim-plugin-trace",
    "recpim-plugin-test-wrong-abi",
    "recpim-plugin-test-faulty",
];

/// The workspace root (this file's crate may be the root package or a member).
fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("plugins").join("api").is_dir() {
        assert!(
            dir.pop(),
            "no workspace root above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// `<target>/<profile>` of the running test binary.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary's directory");
    deps.parent().expect("the profile directory").to_path_buf()
}

fn build_all() -> Result<PathBuf, String> {
    let profile_dir = profile_dir();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("no target directory above {}", profile_dir.display()))?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("odd profile directory {}", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .arg("build")
        .arg("--quiet")
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.arg("--profile").arg(other);
        }
    }
    for package in PLUGIN_PACKAGES {
        command.arg("-p").arg(package);
    }
    let output = command
        .output()
        .map_err(|e| format!("running cargo build for the plugins: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build of the plugins failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(profile_dir)
}

/// Path of the built shared library of `package` (e.g. `recpim-plugin-dlrm`).
pub fn plugin_path(package: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = match BUILT.get_or_init(build_all) {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    };
    let stem = package.replace('-', "_");
    let file = format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = dir.join(file);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The file of a library the test process has loaded whose name starts with `prefix` (Linux:
/// from /proc/self/maps), e.g. `libc.so` — a real shared library without the plugin symbol.
#[allow(dead_code)]
pub fn loaded_system_library(prefix: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(Path::new)
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(Path::to_path_buf)
}
