//! Dotted-key overrides of a hwconfig (`adc.bits = 6`, `crossbar.rows = 256`), shared by sweeps,
//! co-design search spaces and `--set` flags.
//!
//! Overrides are applied to the *source* TOML table, before presets are resolved, so that a
//! swept `adc.bits` under `adc.preset = "neurosim-32nm-sar"` rescales the converter's time, energy
//! and area through the preset's fit instead of keeping the resolved figures of the base bit count.
//! The result goes through the same parse (`deny_unknown_fields`) and [`HwConfig::check`] as a file,
//! so an override can never produce a configuration a file could not.

use super::{HwConfig, RawHwConfig};
use crate::error::SimError;

/// One `key = value` override; `key` is a dotted path into the hwconfig's tables.
#[derive(Debug, Clone, PartialEq)]
pub struct HwOverride {
    /// Dotted path, e.g. `adc.bits` or `crossbar.active_rows`.
    pub key: String,
    /// The new value (integer, float, string or boolean).
    pub value: toml::Value,
}

impl HwOverride {
    /// An override of `key` with `value`.
    pub fn new(key: impl Into<String>, value: impl Into<toml::Value>) -> Self {
        HwOverride {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Parses `key=value` as written on a command line; the value is read as a TOML value
/// (`6`, `0.5`, `true`, `"mnsim-1"`), and a bare word that is not one is taken as a string.
pub fn parse_override(text: &str) -> Result<HwOverride, SimError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(SimError::Override {
            origin: "<command line>".to_string(),
            key: text.trim().to_string(),
            reason: "expected KEY=VALUE, e.g. adc.bits=6".to_string(),
        });
    };
    let key = key.trim();
    let value_text = value.trim();
    check_key_syntax(key, "<command line>")?;
    let value = match toml::from_str::<toml::Table>(&format!("v = {value_text}")) {
        Ok(mut table) => table
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value_text.to_string())),
        Err(_) => toml::Value::String(value_text.to_string()),
    };
    Ok(HwOverride::new(key, value))
}

/// Applies `overrides` in order to the hwconfig TOML `base_text` (named `origin` in errors) and
/// checks the result. Every key must name a field the hwconfig format has; tables on the path
/// are created when the base leaves an optional table out.
pub fn apply_overrides(
    base_text: &str,
    origin: &str,
    overrides: &[HwOverride],
) -> Result<HwConfig, SimError> {
    if overrides.is_empty() {
        return HwConfig::from_toml_str(base_text, origin);
    }
    let mut table: toml::Table =
        toml::from_str(base_text).map_err(|e| super::toml_parse_error(&e, base_text, origin))?;
    for o in overrides {
        set_dotted(&mut table, o, origin)?;
    }
    let raw: RawHwConfig = table.clone().try_into().map_err(|e: toml::de::Error| {
        // Name the override most likely at fault: the last one whose key the message mentions,
        // else the last one applied.
        let message = e.message().to_string();
        let culprit = overrides
            .iter()
            .rev()
            .find(|o| {
                o.key
                    .rsplit('.')
                    .next()
                    .is_some_and(|leaf| message.contains(leaf))
            })
            .unwrap_or(&overrides[overrides.len() - 1]);
        SimError::Override {
            origin: origin.to_string(),
            key: culprit.key.clone(),
            reason: message,
        }
    })?;
    HwConfig::check(raw, origin)
}

fn check_key_syntax(key: &str, origin: &str) -> Result<(), SimError> {
    let ok = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(SimError::Override {
            origin: origin.to_string(),
            key: key.to_string(),
            reason: "a key is a dotted path of names, e.g. adc.bits".to_string(),
        })
    }
}

fn set_dotted(table: &mut toml::Table, o: &HwOverride, origin: &str) -> Result<(), SimError> {
    check_key_syntax(&o.key, origin)?;
    let parts: Vec<&str> = o.key.split('.').collect();
    let Some((leaf, path)) = parts.split_last() else {
        return Err(SimError::Override {
            origin: origin.to_string(),
            key: o.key.clone(),
            reason: "empty key".to_string(),
        });
    };
    let mut current = table;
    for (depth, part) in path.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            other => {
                return Err(SimError::Override {
                    origin: origin.to_string(),
                    key: o.key.clone(),
                    reason: format!(
                        "`{}` is a {}, not a table",
                        parts[..=depth].join("."),
                        other.type_str()
                    ),
                })
            }
        };
    }
    if let Some(toml::Value::Table(_)) = current.get(*leaf) {
        return Err(SimError::Override {
            origin: origin.to_string(),
            key: o.key.clone(),
            reason: "names a whole table; override one of its keys".to_string(),
        });
    }
    current.insert(leaf.to_string(), o.value.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../hwconfigs/default.toml");

    #[test]
    fn no_overrides_equals_the_file() {
        let a = apply_overrides(DEFAULT, "default.toml", &[]).unwrap();
        let b = HwConfig::from_toml_str(DEFAULT, "default.toml").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn adc_bits_rescale_through_the_preset() {
        let base = HwConfig::from_toml_str(DEFAULT, "default.toml").unwrap();
        let six =
            apply_overrides(DEFAULT, "default.toml", &[HwOverride::new("adc.bits", 6)]).unwrap();
        assert_eq!(six.adc().bits, 6);
        // The NeuroSim SAR fit: conversion time (bits + 1) ns (pim-components.md §2.1).
        assert!((six.adc().conversion_ns - 7.0).abs() < 1e-9);
        assert!(six.adc().conversion_ns < base.adc().conversion_ns);
        assert_ne!(six.config_hash(), base.config_hash());
    }

    #[test]
    fn several_overrides_apply_in_order() {
        let c = apply_overrides(
            DEFAULT,
            "d",
            &[
                HwOverride::new("crossbar.rows", 64),
                HwOverride::new("crossbar.cols", 256),
                HwOverride::new("crossbar.rows", 256),
            ],
        )
        .unwrap();
        assert_eq!(c.crossbar().rows, 256);
        assert_eq!(c.crossbar().cols, 256);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = apply_overrides(DEFAULT, "d.toml", &[HwOverride::new("adc.bitz", 6)]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("d.toml") && text.contains("adc.bitz"),
            "{text}"
        );
    }

    #[test]
    fn out_of_range_value_is_rejected_by_check() {
        let e = apply_overrides(DEFAULT, "d.toml", &[HwOverride::new("adc.bits", 40)]).unwrap_err();
        assert!(e.to_string().contains("adc.bits"), "{e}");
    }

    #[test]
    fn path_through_a_value_is_an_error() {
        let e = apply_overrides(DEFAULT, "d", &[HwOverride::new("adc.bits.x", 1)]).unwrap_err();
        assert!(e.to_string().contains("not a table"), "{e}");
        let e = apply_overrides(DEFAULT, "d", &[HwOverride::new("adc", 1)]).unwrap_err();
        assert!(e.to_string().contains("whole table"), "{e}");
    }

    #[test]
    fn command_line_values_parse_as_toml() {
        assert_eq!(
            parse_override("adc.bits=6").unwrap().value,
            toml::Value::Integer(6)
        );
        assert_eq!(
            parse_override("dac.preset = mnsim-1").unwrap().value,
            toml::Value::String("mnsim-1".into())
        );
        assert_eq!(
            parse_override("mapping.replicate=true").unwrap().value,
            toml::Value::Boolean(true)
        );
        assert!(parse_override("adc.bits").is_err());
        assert!(parse_override("a..b=1").is_err());
    }
}
