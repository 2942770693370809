//! The bits JSON of the ABI: `{"weight_bits": [..], "activation_bits": [..]}`, one entry per
//! quantizable operator. The convention for plugins: the quantizable operators are the
//! workload's `mvm` ops, in workload order.

use crate::exports::PluginError;
use serde::Deserialize;
use std::ops::RangeInclusive;

/// Precisions the simulator accepts for weights and inputs.
pub const BITS_RANGE: RangeInclusive<u32> = 1..=16;

/// The precisions of one operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorBits {
    /// Signed weight precision.
    pub weight_bits: u32,
    /// Input (activation) precision.
    pub activation_bits: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BitsJson {
    weight_bits: Vec<u32>,
    activation_bits: Vec<u32>,
}

/// Parses `bits_json` for the named operators; `None` gives `default` for every operator.
/// Errors (`RECPIM_STATUS_INVALID_JSON`) name the key, the index, the operator and the range.
pub fn parse_bits(
    bits_json: Option<&str>,
    operators: &[String],
    default: OperatorBits,
) -> Result<Vec<OperatorBits>, PluginError> {
    let Some(text) = bits_json else {
        return Ok(vec![default; operators.len()]);
    };
    let bits: BitsJson = serde_json::from_str(text).map_err(|e| {
        PluginError::invalid_json(format!(
            "bits JSON: expected {{\"weight_bits\": [..], \"activation_bits\": [..]}}: {e}"
        ))
    })?;
    let names = operators
        .iter()
        .enumerate()
        .map(|(i, n)| format!("[{i}] {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (key, values) in [
        ("weight_bits", &bits.weight_bits),
        ("activation_bits", &bits.activation_bits),
    ] {
        if values.len() != operators.len() {
            return Err(PluginError::invalid_json(format!(
                "bits JSON: {key} has {} entries, expected {} (one per operator: {names})",
                values.len(),
                operators.len()
            )));
        }
        for (index, (value, operator)) in values.iter().zip(operators).enumerate() {
            if !BITS_RANGE.contains(value) {
                return Err(PluginError::invalid_json(format!(
                    "bits JSON: {key}[{index}] = {value} (operator {operator}) is outside {}..={}",
                    BITS_RANGE.start(),
                    BITS_RANGE.end()
                )));
            }
        }
    }
    Ok(bits
        .weight_bits
        .iter()
        .zip(&bits.activation_bits)
        .map(|(&weight_bits, &activation_bits)| OperatorBits {
            weight_bits,
            activation_bits,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops() -> Vec<String> {
        vec!["a".to_string(), "b".to_string()]
    }

    const EIGHT: OperatorBits = OperatorBits {
        weight_bits: 8,
        activation_bits: 8,
    };

    #[test]
    fn defaults_and_explicit_bits() {
        assert_eq!(parse_bits(None, &ops(), EIGHT).unwrap(), vec![EIGHT; 2]);
        let bits = parse_bits(
            Some(r#"{"weight_bits": [4, 8], "activation_bits": [8, 2]}"#),
            &ops(),
            EIGHT,
        )
        .unwrap();
        assert_eq!(
            bits[0],
            OperatorBits {
                weight_bits: 4,
                activation_bits: 8
            }
        );
        assert_eq!(bits[1].activation_bits, 2);
    }

    #[test]
    fn bad_bits_name_key_operator_and_range() {
        let err = parse_bits(
            Some(r#"{"weight_bits": [4], "activation_bits": [8]}"#),
            &ops(),
            EIGHT,
        )
        .unwrap_err();
        assert!(err
            .message()
            .contains("weight_bits has 1 entries, expected 2"));
        assert!(err.message().contains("[1] b"));
        let err = parse_bits(
            Some(r#"{"weight_bits": [4, 17], "activation_bits": [8, 8]}"#),
            &ops(),
            EIGHT,
        )
        .unwrap_err();
        assert!(err
            .message()
            .contains("weight_bits[1] = 17 (operator b) is outside 1..=16"));
        let err = parse_bits(Some("{"), &ops(), EIGHT).unwrap_err();
        assert_eq!(err.status(), recpim_plugin_api::RECPIM_STATUS_INVALID_JSON);
    }
}
