//! The CTR file formats recpim reads, and how each turns a categorical value into a key.

use crate::data::hash::hash_bytes;
use crate::error::ModelError;
use std::fmt;
use std::str::FromStr;

/// Key that marks a missing categorical value (an empty column, an absent libsvm/libffm field).
/// A real value that would produce this key is mapped to `MISSING_KEY - 1` instead.
pub const MISSING_KEY: u64 = u64::MAX;

/// A CTR data file layout.
///
/// | format | layout | label | dense | categorical |
/// |---|---|---|---|---|
/// | `criteo` | Kaggle `train.txt`: TSV, no header, 40 columns | col 1 (0/1) | I1..I13 | C1..C26, hex |
/// | `criteo-csv` | DeepCTR sample: CSV with header `label,I1..I13,C1..C26` | `label` | I1..I13 (may be `260.0`) | C1..C26 |
/// | `avazu` | Kaggle `train.csv` with header (24 columns) | `click` | one all-zero pseudo feature (as NASRec) | the 22 other columns (`id` dropped unless `avazu_keep_id`) |
/// | `kdd` | KDD Cup 2012 track 2 `training.txt`: TSV, 12 columns | `Click > 0` | Impression, Depth, Position | DisplayURL, AdID, AdvertiserID, QueryID, KeywordID, TitleID, DescriptionID, UserID |
/// | `libsvm` | `label idx:value ...` | 0/1 (or -1/+1) | none | the k-th pair of a row is field k, key = idx |
/// | `libffm` | `label field:idx:value ...` | 0/1 (or -1/+1) | none | field `field`, key = idx |
///
/// Missing values are empty columns (criteo, criteo-csv, avazu, kdd) or absent fields
/// (libsvm, libffm). In libsvm/libffm a value of 0 also means "absent"; any other finite value
/// switches the one-hot feature on (its magnitude, e.g. xlearn's per-row `1/sqrt(n)`
/// normalisation, is not information about which category is present, and embedding models
/// do not scale embeddings by it). A libffm field named more than once in a row (multi-hot)
/// keeps its first non-zero feature, since every field has one embedding row per example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataFormat {
    /// Criteo Kaggle `train.txt` (TSV, no header).
    Criteo,
    /// Criteo as CSV with a `label,I1..I13,C1..C26` header (DeepCTR's sample).
    CriteoCsv,
    /// Avazu Kaggle `train.csv` (CSV with header).
    Avazu,
    /// KDD Cup 2012 track 2 `training.txt` (TSV, no header).
    Kdd,
    /// libsvm `label idx:value ...`, one-hot field per position.
    Libsvm,
    /// libffm `label field:idx:value ...`.
    Libffm,
}

/// Every format, in the order `--format` documents them.
pub const ALL_FORMATS: [DataFormat; 6] = [
    DataFormat::Criteo,
    DataFormat::CriteoCsv,
    DataFormat::Avazu,
    DataFormat::Kdd,
    DataFormat::Libsvm,
    DataFormat::Libffm,
];

impl DataFormat {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Criteo => "criteo",
            DataFormat::CriteoCsv => "criteo-csv",
            DataFormat::Avazu => "avazu",
            DataFormat::Kdd => "kdd",
            DataFormat::Libsvm => "libsvm",
            DataFormat::Libffm => "libffm",
        }
    }

    /// True for the formats whose first line is a header.
    pub fn has_header(self) -> bool {
        matches!(self, DataFormat::CriteoCsv | DataFormat::Avazu)
    }

    /// File extension (without compression suffix) used when recpim writes this format.
    pub fn extension(self) -> &'static str {
        match self {
            DataFormat::Criteo | DataFormat::Kdd => "txt",
            DataFormat::CriteoCsv | DataFormat::Avazu => "csv",
            DataFormat::Libsvm => "libsvm",
            DataFormat::Libffm => "ffm",
        }
    }

    /// Key of a non-empty categorical value, following the reference where it has one
    /// (nasrec-spec §4): Criteo values are hex, Avazu values decimal with a hex fallback,
    /// KDD/libsvm/libffm ids decimal. Anything else is hashed (64-bit FNV-1a + mix).
    #[inline]
    pub fn categorical_key(self, value: &[u8]) -> u64 {
        let key = match self {
            DataFormat::Criteo | DataFormat::CriteoCsv => {
                parse_hex_u64(value).unwrap_or_else(|| hash_bytes(value))
            }
            DataFormat::Avazu => parse_decimal_u64(value)
                .or_else(|| parse_hex_u64(value))
                .unwrap_or_else(|| hash_bytes(value)),
            DataFormat::Kdd | DataFormat::Libsvm | DataFormat::Libffm => {
                parse_decimal_u64(value).unwrap_or_else(|| hash_bytes(value))
            }
        };
        if key == MISSING_KEY {
            MISSING_KEY - 1
        } else {
            key
        }
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataFormat {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.as_str() {
            "criteo" | "criteo-tsv" => Some(DataFormat::Criteo),
            "criteo-csv" => Some(DataFormat::CriteoCsv),
            "avazu" => Some(DataFormat::Avazu),
            "kdd" | "kdd12" | "kdd2012" => Some(DataFormat::Kdd),
            "libsvm" | "svm" => Some(DataFormat::Libsvm),
            "libffm" | "ffm" => Some(DataFormat::Libffm),
            _ => None,
        };
        found.ok_or_else(|| ModelError::InvalidOption {
            name: "format".into(),
            value: s.into(),
            allowed: "one of criteo, criteo-csv, avazu, kdd, libsvm, libffm".into(),
        })
    }
}

/// Hex digits (1..=16 of them, no prefix) as a u64; `None` for anything else.
#[inline]
pub fn parse_hex_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        value = (value << 4) | u64::from(digit);
    }
    Some(value)
}

/// Decimal digits (no sign) as a u64; `None` on anything else or on overflow.
#[inline]
pub fn parse_decimal_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}
