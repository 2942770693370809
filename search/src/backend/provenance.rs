//! Where a backend came from: recorded in every output that a backend's workloads produced.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Built in, or loaded from a shared library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Compiled into recpim.
    Builtin,
    /// A plugin shared library.
    Plugin,
}

/// The backend's identity as outputs record it: kind, resolved library path, name, version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BackendProvenance {
    /// Built in or plugin.
    pub kind: BackendKind,
    /// The plugin's canonical (symlinks resolved, absolute) path; `None` when built in.
    pub path: Option<PathBuf>,
    /// The backend's name as it reports it.
    pub name: String,
    /// The backend's version as it reports it.
    pub version: String,
}

impl BackendProvenance {
    /// Provenance of a backend compiled into recpim.
    pub fn builtin(name: &str, version: &str) -> Self {
        BackendProvenance {
            kind: BackendKind::Builtin,
            path: None,
            name: name.to_string(),
            version: version.to_string(),
        }
    }

    /// The `--backend` value that loads this backend again (`builtin` or `plugin:PATH`).
    pub fn spec(&self) -> String {
        match (&self.kind, &self.path) {
            (BackendKind::Plugin, Some(path)) => format!("plugin:{}", path.display()),
            _ => "builtin".to_string(),
        }
    }
}

impl fmt::Display for BackendProvenance {
    /// `builtin nasrec 0.1.0` or `plugin dlrm 0.1.0 (/abs/path/librecpim_plugin_dlrm.so)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.path) {
            (BackendKind::Plugin, Some(path)) => write!(
                f,
                "plugin {} {} ({})",
                self.name,
                self.version,
                path.display()
            ),
            _ => write!(f, "builtin {} {}", self.name, self.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_spec_name_the_library() {
        let builtin = BackendProvenance::builtin("nasrec", "0.1.0");
        assert_eq!(builtin.to_string(), "builtin nasrec 0.1.0");
        assert_eq!(builtin.spec(), "builtin");
        let plugin = BackendProvenance {
            kind: BackendKind::Plugin,
            path: Some(PathBuf::from("/opt/p/libdlrm.so")),
            name: "dlrm".into(),
            version: "1.2.3".into(),
        };
        assert_eq!(plugin.to_string(), "plugin dlrm 1.2.3 (/opt/p/libdlrm.so)");
        assert_eq!(plugin.spec(), "plugin:/opt/p/libdlrm.so");
        let json = serde_json::to_string(&plugin).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"plugin","path":"/opt/p/libdlrm.so","name":"dlrm","version":"1.2.3"}"#
        );
    }
}
