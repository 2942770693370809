//! Turns a TOML parser error (which carries a byte span) into "file:line:col: message", adding
//! the `[section] key` found at that position so wrong-type errors name the key too.

use crate::error::SimError;

/// 1-based (line, column) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.len() - line_start + 1;
    (line, column)
}

/// The dotted key at `line` (1-based): the last `[section]` header above it plus the text left
/// of `=` on that line, if there is one.
pub(crate) fn key_at_line(text: &str, line: usize) -> Option<String> {
    let mut section = String::new();
    for (index, raw_line) in text.lines().enumerate() {
        let trimmed = raw_line.trim();
        if index + 1 == line {
            let (lhs, _) = trimmed.split_once('=')?;
            let key = lhs.trim().trim_matches('"');
            return Some(if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            });
        }
        if trimmed.starts_with('[') {
            section = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
    }
    None
}

/// Converts a `toml` deserialisation error.
pub(crate) fn from_toml(error: &toml::de::Error, text: &str, origin: &str) -> SimError {
    let (line, column) = error
        .span()
        .map_or((0, 0), |span| line_column(text, span.start));
    let mut message = error.message().trim().to_string();
    if line > 0 {
        if let Some(key) = key_at_line(text, line) {
            message = format!("key `{key}`: {message}");
        }
    }
    SimError::Parse {
        origin: origin.to_string(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let text = "a = 1\n[crossbar]\nrows = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 24), (3, 8));
        assert_eq!(key_at_line(text, 3).as_deref(), Some("crossbar.rows"));
        assert_eq!(key_at_line(text, 1).as_deref(), Some("a"));
    }
}
