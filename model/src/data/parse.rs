//! Turning one text line of each format into a `RawRow`, or saying precisely what is wrong.

use crate::data::format::{parse_decimal_u64, DataFormat, MISSING_KEY};
use crate::data::raw::RawRow;

/// Criteo: label + 13 integer + 26 categorical columns.
pub const CRITEO_DENSE: usize = 13;
/// Criteo categorical columns.
pub const CRITEO_SPARSE: usize = 26;
const CRITEO_COLUMNS: usize = 1 + CRITEO_DENSE + CRITEO_SPARSE;
/// KDD Cup 2012 track 2 `training.txt` columns.
pub const KDD_COLUMNS: usize = 12;
/// KDD dense features: Impression, Depth, Position.
pub const KDD_DENSE: usize = 3;
/// KDD categorical features: DisplayURL, AdID, AdvertiserID, QueryID, KeywordID, TitleID,
/// DescriptionID, UserID.
pub const KDD_SPARSE: usize = 8;
/// Column names of the KDD layout, in file order.
pub const KDD_COLUMN_NAMES: [&str; KDD_COLUMNS] = [
    "Click",
    "Impression",
    "DisplayURL",
    "AdID",
    "AdvertiserID",
    "Depth",
    "Position",
    "QueryID",
    "KeywordID",
    "TitleID",
    "DescriptionID",
    "UserID",
];
/// libffm field indices above this are treated as garbage (a row would otherwise widen every
/// row of the data set to millions of fields).
pub const LIBFFM_MAX_FIELD: usize = 9_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AvazuRole {
    Label,
    Skip,
    Sparse(usize),
}

/// Parses the lines of one file in one format (a header line first, for CSV formats).
#[derive(Debug, Clone)]
pub struct LineParser {
    format: DataFormat,
    avazu_keep_id: bool,
    avazu_roles: Vec<AvazuRole>,
    avazu_sparse: usize,
    header_seen: bool,
}

impl LineParser {
    /// A parser for `format`; `avazu_keep_id` keeps Avazu's `id` column as a categorical field
    /// (NASRec's 23 fields) instead of dropping it (our default: it is unique per impression).
    pub fn new(format: DataFormat, avazu_keep_id: bool) -> Self {
        Self {
            format,
            avazu_keep_id,
            avazu_roles: Vec::new(),
            avazu_sparse: 0,
            header_seen: false,
        }
    }

    /// The format parsed.
    pub fn format(&self) -> DataFormat {
        self.format
    }

    /// True until the header of a header format has been parsed.
    pub fn needs_header(&self) -> bool {
        self.format.has_header() && !self.header_seen
    }

    /// Dense features per row.
    pub fn n_dense(&self) -> usize {
        match self.format {
            DataFormat::Criteo | DataFormat::CriteoCsv => CRITEO_DENSE,
            DataFormat::Avazu => 1,
            DataFormat::Kdd => KDD_DENSE,
            DataFormat::Libsvm | DataFormat::Libffm => 0,
        }
    }

    /// Categorical fields per row known before reading rows (libsvm/libffm grow with the data).
    pub fn n_sparse(&self) -> usize {
        match self.format {
            DataFormat::Criteo | DataFormat::CriteoCsv => CRITEO_SPARSE,
            DataFormat::Avazu => self.avazu_sparse,
            DataFormat::Kdd => KDD_SPARSE,
            DataFormat::Libsvm | DataFormat::Libffm => 0,
        }
    }

    /// Reads the header line of a header format; the error says what is wrong.
    pub fn parse_header(&mut self, line: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(line).map_err(|e| format!("header is not UTF-8 ({e})"))?;
        let names: Vec<&str> = text.split(',').map(str::trim).collect();
        match self.format {
            DataFormat::CriteoCsv => {
                if names.len() != CRITEO_COLUMNS {
                    return Err(format!(
                        "header has {} columns, expected {CRITEO_COLUMNS} (label,I1..I13,C1..C26)",
                        names.len()
                    ));
                }
                if !names[0].eq_ignore_ascii_case("label") {
                    return Err(format!(
                        "first header column is {:?}, expected \"label\"",
                        names[0]
                    ));
                }
            }
            DataFormat::Avazu => {
                let mut roles = Vec::with_capacity(names.len());
                let mut sparse = 0;
                let mut has_label = false;
                for name in &names {
                    let role = if name.eq_ignore_ascii_case("click") {
                        has_label = true;
                        AvazuRole::Label
                    } else if name.eq_ignore_ascii_case("id") && !self.avazu_keep_id {
                        AvazuRole::Skip
                    } else {
                        sparse += 1;
                        AvazuRole::Sparse(sparse - 1)
                    };
                    roles.push(role);
                }
                if !has_label {
                    return Err("header has no \"click\" column".into());
                }
                if sparse == 0 {
                    return Err("header has no feature column besides click/id".into());
                }
                self.avazu_roles = roles;
                self.avazu_sparse = sparse;
            }
            _ => return Err(format!("format {} has no header", self.format)),
        }
        self.header_seen = true;
        Ok(())
    }

    /// Parses one data line into `out`; on error `out` is unspecified.
    pub fn parse_row(&self, line: &[u8], out: &mut RawRow) -> Result<(), String> {
        out.clear();
        let text = std::str::from_utf8(line)
            .map_err(|e| format!("invalid UTF-8 (garbage bytes) at byte {}", e.valid_up_to()))?;
        if text.trim().is_empty() {
            return Err("empty line".into());
        }
        match self.format {
            DataFormat::Criteo => self.parse_criteo(text, '\t', out),
            DataFormat::CriteoCsv => self.parse_criteo(text, ',', out),
            DataFormat::Avazu => self.parse_avazu(text, out),
            DataFormat::Kdd => self.parse_kdd(text, out),
            DataFormat::Libsvm => self.parse_libsvm(text, out),
            DataFormat::Libffm => self.parse_libffm(text, out),
        }
    }

    fn parse_criteo(&self, text: &str, separator: char, out: &mut RawRow) -> Result<(), String> {
        let mut count = 0;
        for (i, column) in text.split(separator).enumerate() {
            count = i + 1;
            if i == 0 {
                out.label = parse_label(column)?;
            } else if i <= CRITEO_DENSE {
                out.dense.push(parse_dense(column, i)?);
            } else if i < CRITEO_COLUMNS {
                out.sparse.push(categorical(self.format, column));
            }
        }
        if count != CRITEO_COLUMNS {
            return Err(format!(
                "{count} columns, expected {CRITEO_COLUMNS} (label, 13 integer, 26 categorical)"
            ));
        }
        Ok(())
    }

    fn parse_avazu(&self, text: &str, out: &mut RawRow) -> Result<(), String> {
        if self.avazu_roles.is_empty() {
            return Err("no header read before the first row".into());
        }
        out.dense.push(0.0);
        out.sparse.resize(self.avazu_sparse, MISSING_KEY);
        let mut count = 0;
        for (i, column) in text.split(',').enumerate() {
            count = i + 1;
            match self.avazu_roles.get(i) {
                Some(AvazuRole::Label) => out.label = parse_label(column)?,
                Some(AvazuRole::Sparse(k)) => {
                    if let Some(slot) = out.sparse.get_mut(*k) {
                        *slot = categorical(self.format, column);
                    }
                }
                Some(AvazuRole::Skip) | None => {}
            }
        }
        if count != self.avazu_roles.len() {
            return Err(format!(
                "{count} columns, expected {} (as in the header)",
                self.avazu_roles.len()
            ));
        }
        Ok(())
    }

    fn parse_kdd(&self, text: &str, out: &mut RawRow) -> Result<(), String> {
        let mut count = 0;
        for (i, column) in text.split('\t').enumerate() {
            count = i + 1;
            match i {
                0 => {
                    let clicks = parse_decimal_u64(column.trim().as_bytes())
                        .ok_or_else(|| format!("Click {column:?} is not a non-negative integer"))?;
                    out.label = if clicks > 0 { 1.0 } else { 0.0 };
                }
                1 | 5 | 6 => out.dense.push(parse_dense(column, i)?),
                2..=4 | 7..=11 => out.sparse.push(categorical(self.format, column)),
                _ => {}
            }
        }
        if count != KDD_COLUMNS {
            return Err(format!(
                "{count} columns, expected {KDD_COLUMNS} ({})",
                KDD_COLUMN_NAMES.join(" ")
            ));
        }
        Ok(())
    }

    fn parse_libsvm(&self, text: &str, out: &mut RawRow) -> Result<(), String> {
        let mut tokens = text.split_ascii_whitespace();
        let label = tokens.next().ok_or("empty line")?;
        out.label = parse_label(label)?;
        for (k, token) in tokens.enumerate() {
            let (index, value) = token
                .split_once(':')
                .ok_or_else(|| format!("pair {} {token:?} is not index:value", k + 1))?;
            let key = parse_decimal_u64(index.as_bytes()).ok_or_else(|| {
                format!(
                    "pair {} index {index:?} is not a non-negative integer",
                    k + 1
                )
            })?;
            let on = parse_feature_value(value).map_err(|e| format!("pair {} {e}", k + 1))?;
            out.sparse.push(if on {
                key.min(MISSING_KEY - 1)
            } else {
                MISSING_KEY
            });
        }
        Ok(())
    }

    fn parse_libffm(&self, text: &str, out: &mut RawRow) -> Result<(), String> {
        let mut tokens = text.split_ascii_whitespace();
        let label = tokens.next().ok_or("empty line")?;
        out.label = parse_label(label)?;
        for (k, token) in tokens.enumerate() {
            let mut parts = token.splitn(3, ':');
            let (Some(field), Some(index), Some(value)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "triple {} {token:?} is not field:index:value",
                    k + 1
                ));
            };
            let field = parse_decimal_u64(field.as_bytes())
                .and_then(|f| usize::try_from(f).ok())
                .filter(|&f| f <= LIBFFM_MAX_FIELD)
                .ok_or_else(|| {
                    format!(
                        "triple {} field {field:?} is not an integer in 0..={LIBFFM_MAX_FIELD}",
                        k + 1
                    )
                })?;
            let key = parse_decimal_u64(index.as_bytes()).ok_or_else(|| {
                format!(
                    "triple {} index {index:?} is not a non-negative integer",
                    k + 1
                )
            })?;
            let on = parse_feature_value(value).map_err(|e| format!("triple {} {e}", k + 1))?;
            if out.sparse.len() <= field {
                out.sparse.resize(field + 1, MISSING_KEY);
            }
            // Fields are one-hot: a multi-valued field (xlearn's Criteo sample repeats fields
            // 16 and 17) keeps its first non-zero feature.
            if on && out.sparse[field] == MISSING_KEY {
                out.sparse[field] = key.min(MISSING_KEY - 1);
            }
        }
        Ok(())
    }
}

#[inline]
fn categorical(format: DataFormat, column: &str) -> u64 {
    if column.is_empty() {
        MISSING_KEY
    } else {
        format.categorical_key(column.as_bytes())
    }
}

/// A 0/1 label; `-1`/`+1` and `0.0`/`1.0` are accepted too.
pub fn parse_label(text: &str) -> Result<f32, String> {
    match text.trim() {
        "0" | "-1" => Ok(0.0),
        "1" | "+1" => Ok(1.0),
        other => match other.parse::<f64>() {
            Ok(v) if v == 0.0 || v == -1.0 => Ok(0.0),
            Ok(1.0) => Ok(1.0),
            _ => Err(format!("label {other:?} is not 0 or 1 (or -1/+1)")),
        },
    }
}

/// A raw dense value (integer fast path, float otherwise); empty = missing (NaN).
pub fn parse_dense(text: &str, column: usize) -> Result<f32, String> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Ok(f32::NAN);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let magnitude = digits
            .iter()
            .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
        let value = if negative { -magnitude } else { magnitude };
        return Ok(value as f32);
    }
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v as f32),
        _ => Err(format!("column {} {text:?} is not a number", column + 1)),
    }
}

/// libsvm/libffm value: false for 0 (absent), true for any other finite number.
fn parse_feature_value(text: &str) -> Result<bool, String> {
    if text == "1" {
        return Ok(true);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v != 0.0),
        _ => Err(format!("value {text:?} is not a finite number")),
    }
}
