//! Table cardinalities and pooling factors of the public CTR datasets (baselines.md §4.1).

use super::error::TraceError;

/// Criteo Kaggle, 26 sparse features: `facebookresearch/dlrm` default `--ln-emb` (baselines.md §4.1 [V]).
pub const CRITEO_KAGGLE_ROWS: [u64; 26] = [
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992,
    5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
];

/// MLPerf DLRM-DCNv2 table sizes (40M cap), baselines.md §4.1 [V].
pub const DCNV2_ROWS: [u64; 26] = [
    40000000, 39060, 17295, 7424, 20265, 3, 7122, 1543, 63, 40000000, 3067956, 405282, 10, 2209,
    11938, 155, 4, 976, 14, 40000000, 40000000, 40000000, 590152, 12973, 108, 36,
];

/// MLPerf DLRM-DCNv2 multi-hot sizes (indices per table per sample), baselines.md §4.1 [V].
pub const DCNV2_POOLING: [u32; 26] = [
    3, 2, 1, 2, 6, 1, 1, 1, 1, 7, 3, 8, 1, 6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1,
];

/// Avazu as NASRec uses it: 23 sparse features (baselines.md §4.1 [V]).
pub const AVAZU_ROWS: [u64; 23] = [
    10000, 241, 8, 8, 4738, 7746, 27, 8553, 560, 37, 2686409, 6729487, 8252, 6, 5, 2627, 9, 10,
    436, 5, 69, 173, 61,
];

/// KDD Cup 2012 track 2 as NASRec uses it: 10 sparse features (baselines.md §4.1 [V]).
pub const KDD_ROWS: [u64; 10] = [
    26274, 641708, 14848, 22122011, 1188090, 3735797, 2934102, 20004011, 4, 8,
];

/// A named lookup shape: which tables exist and how many indices each sample reads per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceShape {
    /// Criteo Kaggle, one-hot (pooling 1 on every table).
    Criteo,
    /// MLPerf DLRM-DCNv2 tables with their multi-hot pooling sizes.
    Dcnv2,
    /// Avazu, one-hot.
    Avazu,
    /// KDD Cup 2012 track 2, one-hot.
    Kdd,
}

impl TraceShape {
    /// Parses the CLI name (`criteo`, `dcnv2`, `avazu`, `kdd`).
    pub fn from_name(name: &str) -> Result<Self, TraceError> {
        match name {
            "criteo" => Ok(Self::Criteo),
            "dcnv2" => Ok(Self::Dcnv2),
            "avazu" => Ok(Self::Avazu),
            "kdd" => Ok(Self::Kdd),
            other => Err(TraceError::UnknownShape {
                name: other.to_string(),
            }),
        }
    }

    /// The CLI name of the shape.
    pub fn name(self) -> &'static str {
        match self {
            Self::Criteo => "criteo",
            Self::Dcnv2 => "dcnv2",
            Self::Avazu => "avazu",
            Self::Kdd => "kdd",
        }
    }

    /// Rows of every embedding table, in feature order.
    pub fn table_rows(self) -> Vec<u64> {
        match self {
            Self::Criteo => CRITEO_KAGGLE_ROWS.to_vec(),
            Self::Dcnv2 => DCNV2_ROWS.to_vec(),
            Self::Avazu => AVAZU_ROWS.to_vec(),
            Self::Kdd => KDD_ROWS.to_vec(),
        }
    }

    /// Indices per table per sample (the SparseLengthsSum pooling factor) of the shape.
    pub fn pooling(self) -> Vec<u32> {
        match self {
            Self::Dcnv2 => DCNV2_POOLING.to_vec(),
            other => vec![1; other.table_rows().len()],
        }
    }
}
