//! The `--backend builtin|plugin:PATH` value.

use super::builtin::{BuiltinOptions, NasrecBackend};
use super::plugin::PluginBackend;
use super::ModelBackend;
use crate::error::{Result, SearchError};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Which backend a command uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BackendSpec {
    /// The built-in NASRec backend.
    Builtin,
    /// A plugin shared library at this path (as given; resolved when loaded).
    Plugin(PathBuf),
}

impl BackendSpec {
    /// Parses `builtin` or `plugin:PATH` (PATH non-empty; it may itself contain `:`).
    pub fn parse(value: &str) -> Result<Self> {
        if value == "builtin" {
            return Ok(BackendSpec::Builtin);
        }
        if let Some(path) = value.strip_prefix("plugin:") {
            if path.is_empty() {
                return Err(SearchError::BackendSpec {
                    value: value.to_string(),
                    reason: "the plugin path after `plugin:` is empty; give the shared library, e.g. plugin:target/release/librecpim_plugin_dlrm.so".to_string(),
                });
            }
            return Ok(BackendSpec::Plugin(PathBuf::from(path)));
        }
        Err(SearchError::BackendSpec {
            value: value.to_string(),
            reason: "expected `builtin` or `plugin:PATH` (PATH = a plugin shared library)"
                .to_string(),
        })
    }

    /// Loads the backend. `builtin` is configured by `options`; plugins ignore them (a plugin's
    /// genotype carries its own shapes).
    pub fn load(&self, options: &BuiltinOptions) -> Result<Box<dyn ModelBackend>> {
        Ok(match self {
            BackendSpec::Builtin => Box::new(NasrecBackend::new(*options)),
            BackendSpec::Plugin(path) => Box::new(PluginBackend::load(path)?),
        })
    }
}

impl FromStr for BackendSpec {
    type Err = SearchError;

    fn from_str(value: &str) -> Result<Self> {
        BackendSpec::parse(value)
    }
}

impl fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendSpec::Builtin => write!(f, "builtin"),
            BackendSpec::Plugin(path) => write!(f, "plugin:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_builtin_and_plugin_paths() {
        assert_eq!(BackendSpec::parse("builtin").unwrap(), BackendSpec::Builtin);
        assert_eq!(
            BackendSpec::parse("plugin:/a/b:c/libx.so").unwrap(),
            BackendSpec::Plugin(PathBuf::from("/a/b:c/libx.so"))
        );
        let spec: BackendSpec = "plugin:rel/libx.so".parse().unwrap();
        assert_eq!(spec.to_string(), "plugin:rel/libx.so");
    }

    #[test]
    fn refuses_other_values_with_the_allowed_forms() {
        for bad in ["", "Builtin", "plugin", "plugin:", "dlrm", "file:x.so"] {
            let err = BackendSpec::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--backend"), "{bad}: {err}");
            assert!(err.contains("plugin:"), "{bad}: {err}");
        }
    }
}
