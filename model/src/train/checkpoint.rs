//! Training checkpoints: one file holding the trainer's position and the model's state (weights
//! and Adagrad accumulators, via `CtrModel::save_state`), plus the best epoch's model state so
//! early stopping survives a restart. Written to a temporary file and renamed into place, so a
//! crash mid-write leaves the previous checkpoint intact.
//!
//! Layout: the 8-byte magic `RPIMCKP1`, then three length-prefixed (u64 little-endian) parts:
//! the trainer state as JSON, the model state, the best model state (empty when none yet).

use crate::data::StreamPosition;
use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"RPIMCKP1";

/// Writes `bytes` to `path` through `path.tmp` + rename (atomic on one file system).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ModelError::Io { path: p, source }
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    {
        let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// The best epoch so far (by validation log loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// 1-based epoch number.
    pub epoch: u64,
    /// Its validation log loss, as f64 bits (exact through JSON).
    pub val_logloss_bits: u64,
}

impl BestEpoch {
    /// The validation log loss.
    pub fn val_logloss(&self) -> f64 {
        f64::from_bits(self.val_logloss_bits)
    }
}

/// What one finished epoch measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: u64,
    /// Updates done by the end of this epoch.
    pub steps: u64,
    /// Mean training loss of the epoch's steps (f64 bits).
    pub train_logloss_bits: u64,
    /// Validation log loss (f64 bits), when there is a validation set.
    pub val_logloss_bits: Option<u64>,
    /// Validation AUC (f64 bits), when defined.
    pub val_auc_bits: Option<u64>,
}

impl EpochRecord {
    /// Mean training loss of the epoch.
    pub fn train_logloss(&self) -> f64 {
        f64::from_bits(self.train_logloss_bits)
    }
    /// Validation log loss.
    pub fn val_logloss(&self) -> Option<f64> {
        self.val_logloss_bits.map(f64::from_bits)
    }
    /// Validation AUC.
    pub fn val_auc(&self) -> Option<f64> {
        self.val_auc_bits.map(f64::from_bits)
    }
}

/// The trainer's position: everything besides the model that an uninterrupted run would hold
/// in memory at this point. The in-memory data order is derived from (seed, epoch), so the
/// position is the epoch and the number of its batches already done; a streamed file also
/// records its `StreamPosition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Describes the run (config and data sizes); a resume must match it exactly.
    pub fingerprint: String,
    /// Updates done.
    pub step: u64,
    /// 0-based epoch in progress (== epochs when training is over).
    pub epoch: u64,
    /// Batches of `epoch` already done.
    pub batch_in_epoch: u64,
    /// Sum of this epoch's step losses so far (f64 bits) and their count.
    pub epoch_loss_sum_bits: u64,
    /// Number of steps in `epoch_loss_sum_bits`.
    pub epoch_loss_count: u64,
    /// Best epoch so far.
    pub best: Option<BestEpoch>,
    /// Finished epochs since the best one (for patience).
    pub epochs_since_best: u64,
    /// True once early stopping fired.
    pub stopped_early: bool,
    /// Every finished epoch.
    pub history: Vec<EpochRecord>,
    /// Streaming training only: the stream's position after the last step of `epoch` (None
    /// at epoch boundaries and for in-memory data). A resume re-opens the stream here.
    #[serde(default)]
    pub stream_position: Option<StreamPosition>,
}

/// A checkpoint: trainer state plus model states.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Where training stands.
    pub trainer: TrainerState,
    /// `CtrModel::save_state` bytes of the current model.
    pub model_state: Vec<u8>,
    /// `CtrModel::save_state` bytes of the best epoch's model (empty when none yet).
    pub best_model_state: Vec<u8>,
}

impl Checkpoint {
    /// Serialises the checkpoint into its file layout.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(&self.trainer)
            .map_err(|e| ModelError::Checkpoint(format!("cannot encode trainer state: {e}")))?;
        let mut out = Vec::with_capacity(
            8 + 24 + json.len() + self.model_state.len() + self.best_model_state.len(),
        );
        out.extend_from_slice(MAGIC);
        for part in [&json, &self.model_state, &self.best_model_state] {
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(part);
        }
        Ok(out)
    }

    /// Parses a checkpoint file's bytes; `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Checkpoint> {
        let bad = |what: &str| ModelError::Checkpoint(format!("{origin}: {what}"));
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not a recpim checkpoint (bad magic)"));
        }
        let mut rest = &bytes[MAGIC.len()..];
        let mut parts: Vec<&[u8]> = Vec::with_capacity(3);
        for name in ["trainer state", "model state", "best model state"] {
            let (len_bytes, tail) = rest
                .split_first_chunk::<8>()
                .ok_or_else(|| bad(&format!("truncated before the {name} length")))?;
            let len = usize::try_from(u64::from_le_bytes(*len_bytes))
                .map_err(|_| bad(&format!("{name} length does not fit in memory")))?;
            if tail.len() < len {
                return Err(bad(&format!(
                    "truncated {name} ({} of {len} bytes)",
                    tail.len()
                )));
            }
            parts.push(&tail[..len]);
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            return Err(bad(&format!("{} trailing bytes", rest.len())));
        }
        let trainer: TrainerState =
            serde_json::from_slice(parts[0]).map_err(|e| bad(&format!("trainer state: {e}")))?;
        Ok(Checkpoint {
            trainer,
            model_state: parts[1].to_vec(),
            best_model_state: parts[2].to_vec(),
        })
    }

    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_bytes()?)
    }

    /// Reads a checkpoint file.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Checkpoint::from_bytes(&bytes, &path.display().to_string())
    }
}
