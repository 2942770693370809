//! Reading and writing genotypes in the NASRec reference's exact JSON form.
//!
//! The reference writes genotypes with Python's `json.dumps` defaults: one line, `", "` between
//! items, `": "` after keys, keys in the order micro / macro / num_blocks / use_layernorm /
//! config / test_loss, and floats as Python's `repr`. [`Genotype::to_json_string`] reproduces
//! that byte for byte, so a genotype read and written again is unchanged.

use super::types::{Genotype, MacroChoice, MicroChoice};
use crate::error::{ModelError, Result};
use std::fmt::Write as _;
use std::path::Path;

impl Genotype {
    /// Parses and validates a genotype from the reference JSON; `origin` (a file name or
    /// "stdin") goes into every error message.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Genotype> {
        let mut genotype: Genotype =
            serde_json::from_str(text).map_err(|e| ModelError::InvalidGenotype {
                origin: origin.to_string(),
                message: format!("not a NASRec genotype: {e}"),
            })?;
        // serde_json's default float parser may miss the correctly rounded value by one ulp;
        // re-parse test_loss from its own text so that a round trip keeps every digit.
        if genotype.test_loss.is_some() {
            if let Some(token) = top_level_number_token(text, "test_loss") {
                if let Ok(exact) = token.parse::<f64>() {
                    genotype.test_loss = Some(exact);
                }
            }
        }
        genotype.validate(origin)?;
        Ok(genotype)
    }

    /// Reads and validates a genotype file.
    pub fn read_file(path: &Path) -> Result<Genotype> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Genotype::from_json_str(&text, &path.display().to_string())
    }

    /// Writes the genotype as the reference would (no trailing newline, like `json.dump`),
    /// through a temporary file renamed into place.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        crate::train::checkpoint::write_atomically(path, self.to_json_string().as_bytes())
    }

    /// The reference's JSON text: Python `json.dumps(genotype)` with default settings.
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("{\"micro\": [");
        for (i, micro) in self.micro.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_micro(&mut out, micro);
        }
        out.push_str("], \"macro\": [");
        for (i, macro_choice) in self.macro_.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_macro(&mut out, macro_choice);
        }
        let _ = write!(
            out,
            "], \"num_blocks\": {}, \"use_layernorm\": {}, \"config\": ",
            self.num_blocks, self.use_layernorm
        );
        write_python_string(&mut out, &self.config);
        if let Some(loss) = self.test_loss {
            out.push_str(", \"test_loss\": ");
            out.push_str(&python_float_repr(loss));
        }
        out.push('}');
        out
    }
}

fn write_micro(out: &mut String, m: &MicroChoice) {
    out.push_str("{\"active_nodes\": ");
    write_list(out, &m.active_nodes);
    let _ = write!(
        out,
        ", \"dense_in_dims\": {}, \"sparse_in_dims\": {}, \"dense_sparse_interact\": {}, \"deep_fm\": {}}}",
        m.dense_in_dims, m.sparse_in_dims, m.dense_sparse_interact, m.deep_fm
    );
}

fn write_macro(out: &mut String, m: &MacroChoice) {
    out.push_str("{\"dense_idx\": ");
    write_list(out, &m.dense_idx);
    out.push_str(", \"sparse_idx\": ");
    write_list(out, &m.sparse_idx);
    out.push_str(", \"dense_left_idx\": ");
    write_list(out, &m.dense_left_idx);
    out.push_str(", \"dense_right_idx\": ");
    write_list(out, &m.dense_right_idx);
    out.push('}');
}

fn write_list(out: &mut String, values: &[usize]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
}

/// A JSON string as Python's `json.dumps` (ensure_ascii=True) writes it.
fn write_python_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x80 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for decimal
/// exponents -4..16, else scientific with a signed, at least two-digit exponent.
/// Non-finite values are written as Python's json module does (`NaN`, `Infinity`).
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // `{:e}` gives the shortest round-trip digits as d.ddd e exp.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let n = digits.len() as i32;
        let body = if exponent < 0 {
            format!("0.{}{}", "0".repeat((-exponent - 1) as usize), digits)
        } else if exponent + 1 >= n {
            format!("{}{}.0", digits, "0".repeat((exponent + 1 - n) as usize))
        } else {
            let split = (exponent + 1) as usize;
            format!("{}.{}", &digits[..split], &digits[split..])
        };
        format!("{sign}{body}")
    } else {
        let head = &digits[..1];
        let tail = &digits[1..];
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        let mantissa = if tail.is_empty() {
            head.to_string()
        } else {
            format!("{head}.{tail}")
        };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    }
}

/// The raw text of the number stored under `key` in the outermost JSON object, if any.
fn top_level_number_token<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(bytes.len());
                if depth == 1 && text.get(start..end) == Some(key) {
                    let mut k = end + 1;
                    while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < bytes.len() && bytes[k] == b':' {
                        k += 1;
                        while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                            k += 1;
                        }
                        let value_start = k;
                        while k < bytes.len()
                            && matches!(bytes[k], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                        {
                            k += 1;
                        }
                        return text.get(value_start..k);
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings are Python 3's repr() of the same floats.
    #[test]
    fn float_repr_matches_python() {
        assert_eq!(python_float_repr(1e-5), "1e-05");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(1.5e16), "1.5e+16");
        assert_eq!(
            python_float_repr(123456789012345680.0),
            "1.2345678901234568e+17"
        );
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(100.0), "100.0");
        assert_eq!(python_float_repr(-2.5), "-2.5");
        assert_eq!(
            python_float_repr(0.39075323939323425),
            "0.39075323939323425"
        );
        assert_eq!(python_float_repr(1234.5), "1234.5");
        assert_eq!(python_float_repr(f64::NAN), "NaN");
    }

    #[test]
    fn finds_only_top_level_keys() {
        let text = r#"{"a": {"test_loss": 1}, "test_loss": 0.25}"#;
        assert_eq!(top_level_number_token(text, "test_loss"), Some("0.25"));
        assert_eq!(top_level_number_token(text, "missing"), None);
    }
}
