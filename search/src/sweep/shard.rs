//! Deterministic slices of a sweep for cluster job arrays.
//!
//! Shard `i` of `N` takes the points `p` with `p % N == i` (interleaved, so neighbouring grid
//! points, which often cost alike, are spread over the shards). Where `i` and `N` come from, in
//! order of precedence:
//! 1. `--shard i/N` (0-based `i`);
//! 2. SLURM job arrays: `i = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`
//!    (MIN defaults to 0, STEP to 1), `N = SLURM_ARRAY_TASK_COUNT` (or `--shards N`);
//! 3. Kubernetes Indexed Jobs: `i = JOB_COMPLETION_INDEX`; Kubernetes does not export the
//!    completion count, so `N` comes from `--shards N` or the `RECPIM_SHARDS` variable (set it to
//!    the Job's `completions` in the manifest).
//!
//! Without any of them the sweep is one shard, `0/1`.

use crate::error::{Result, SearchError};

/// Environment variables read by [`Shard::resolve`].
pub const SHARD_ENV_VARS: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "RECPIM_SHARDS",
];

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// 0-based shard index, `< count`.
    pub index: u64,
    /// Number of shards, >= 1.
    pub count: u64,
}

impl Shard {
    /// The whole sweep.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; `origin` names the source in errors.
    pub fn new(index: u64, count: u64, origin: &str) -> Result<Shard> {
        let value = format!("{index}/{count}");
        if count == 0 {
            return Err(shard_error(origin, &value, "the shard count must be >= 1"));
        }
        if index >= count {
            return Err(shard_error(
                origin,
                &value,
                &format!("the index is 0-based; allowed: 0..={}", count - 1),
            ));
        }
        Ok(Shard { index, count })
    }

    /// Parses `i/N` as given to `--shard`.
    pub fn parse(text: &str) -> Result<Shard> {
        let origin = "--shard";
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| shard_error(origin, text, "expected i/N, e.g. 0/4"))?;
        let index = parse_u64(i.trim(), origin, text)?;
        let count = parse_u64(n.trim(), origin, text)?;
        Shard::new(index, count, origin)
    }

    /// Resolves the shard from the flags and the environment (`env` looks a variable up),
    /// in the precedence documented on the module.
    pub fn resolve(
        shard_flag: Option<&str>,
        shards_flag: Option<u64>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard> {
        if let Some(text) = shard_flag {
            let shard = Shard::parse(text)?;
            if let Some(n) = shards_flag {
                if n != shard.count {
                    return Err(shard_error(
                        "--shards",
                        &n.to_string(),
                        &format!("disagrees with --shard {text}"),
                    ));
                }
            }
            return Ok(shard);
        }
        let var = |name: &str| -> Result<Option<u64>> {
            match env(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => parse_u64(v.trim(), name, &v).map(Some),
            }
        };
        if let Some(task_id) = var("SLURM_ARRAY_TASK_ID")? {
            let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = var("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = task_id.checked_sub(min).ok_or_else(|| {
                shard_error(
                    "SLURM_ARRAY_TASK_ID",
                    &task_id.to_string(),
                    &format!("below SLURM_ARRAY_TASK_MIN = {min}"),
                )
            })?;
            if offset % step != 0 {
                return Err(shard_error(
                    "SLURM_ARRAY_TASK_ID",
                    &task_id.to_string(),
                    &format!("not on the array's step {step} from {min}"),
                ));
            }
            let count = match shards_flag {
                Some(n) => n,
                None => var("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                    shard_error(
                        "SLURM_ARRAY_TASK_COUNT",
                        "",
                        "unset while SLURM_ARRAY_TASK_ID is set; give --shards N",
                    )
                })?,
            };
            return Shard::new(offset / step, count, "SLURM_ARRAY_TASK_ID");
        }
        if let Some(index) = var("JOB_COMPLETION_INDEX")? {
            let count = match shards_flag {
                Some(n) => n,
                None => var("RECPIM_SHARDS")?.ok_or_else(|| {
                    shard_error(
                        "JOB_COMPLETION_INDEX",
                        &index.to_string(),
                        "Kubernetes does not export the completion count: give --shards N or set RECPIM_SHARDS",
                    )
                })?,
            };
            return Shard::new(index, count, "JOB_COMPLETION_INDEX");
        }
        match shards_flag {
            Some(n) if n != 1 => Err(shard_error(
                "--shards",
                &n.to_string(),
                "needs a shard index: --shard i/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX",
            )),
            _ => Ok(Shard::WHOLE),
        }
    }

    /// Whether point `point` belongs to this shard.
    pub fn contains(&self, point: u64) -> bool {
        point % self.count == self.index
    }

    /// Number of this shard's points among `total`.
    pub fn len(&self, total: u64) -> u64 {
        if total <= self.index {
            0
        } else {
            (total - self.index - 1) / self.count + 1
        }
    }

    /// Whether this shard has no points among `total`.
    pub fn is_empty(&self, total: u64) -> bool {
        self.len(total) == 0
    }

    /// The `k`-th point of this shard (`k < len(total)`).
    pub fn point(&self, k: u64) -> u64 {
        self.index + k * self.count
    }

    /// Whether this is the whole sweep.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// Directory name of this shard's outputs, e.g. `shard-0003-of-0010`.
    pub fn dir_name(&self) -> String {
        format!("shard-{:04}-of-{:04}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_u64(text: &str, origin: &str, value: &str) -> Result<u64> {
    text.parse::<u64>().map_err(|_| {
        shard_error(
            origin,
            value,
            &format!("`{text}` is not a non-negative integer"),
        )
    })
}

fn shard_error(origin: &str, value: &str, reason: &str) -> SearchError {
    SearchError::Shard {
        origin: origin.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}
