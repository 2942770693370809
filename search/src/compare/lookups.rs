//! The embedding lookups every design of a comparison serves.
//!
//! ReRAM designs cost embeddings from the workload's `Gather` ops; the DRAM baselines (RecNMP
//! and the host CPU) need a lookup trace. Both must describe the same lookups, so a comparison
//! fixes one [`LookupSource`] and derives the other side from it:
//! * a given trace (a `recpim trace` CSV) or a dataset shape's generated trace replaces the
//!   workload's `Gather` ops with one `Gather` per table holding exactly the trace's lookups;
//! * otherwise a trace is generated from the `Gather` ops themselves (pooling 1).

use crate::error::{Result, SearchError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use recpim_sim::trace::{
    generate, IdPermutation, Lookup, LookupTrace, TraceShape, TraceSpec,
    DEFAULT_UNIFORM_BELOW_ROWS, DEFAULT_ZIPF_ALPHA,
};
use recpim_sim::{Op, Workload};

/// Upper bound on lookups generated from a workload, so a huge `lookups` value cannot exhaust
/// memory.
pub const MAX_GENERATED_LOOKUPS: u64 = 20_000_000;

/// Where the lookups of a comparison come from.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupSource {
    /// A trace read from a file (`origin` names it in reports).
    Trace {
        /// The trace.
        trace: LookupTrace,
        /// Where it came from.
        origin: String,
    },
    /// A trace generated for a dataset's real table sizes: one batch of `lookups` samples
    /// (the workload's `Gather` `lookups`), the shape's pooling, Zipf 1.05 with shuffled ids.
    Shape {
        /// The dataset shape.
        shape: TraceShape,
        /// Seed of the generator.
        seed: u64,
    },
    /// A trace generated from the workload's `Gather` ops: every table of every op, `lookups`
    /// samples with one lookup each (pooling 1), Zipf 1.05 on tables of at least 10,000 rows and
    /// uniform below, shuffled ids.
    Workload {
        /// Seed of the generator.
        seed: u64,
    },
}

impl LookupSource {
    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            LookupSource::Trace { origin, .. } => format!("trace file {origin}"),
            LookupSource::Shape { shape, seed } => format!(
                "generated {} trace (real table sizes, the shape's pooling, Zipf {DEFAULT_ZIPF_ALPHA} on tables >= {DEFAULT_UNIFORM_BELOW_ROWS} rows, shuffled ids, seed {seed})",
                shape.name()
            ),
            LookupSource::Workload { seed } => format!(
                "generated from the workload's gather ops (pooling 1, Zipf {DEFAULT_ZIPF_ALPHA} on tables >= {DEFAULT_UNIFORM_BELOW_ROWS} rows, shuffled ids, seed {seed})"
            ),
        }
    }
}

/// The shape of the workload's embedding lookups: all `Gather` ops must agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatherShape {
    /// Tables over all `Gather` ops.
    pub tables: u64,
    /// Elements per row.
    pub dim: u64,
    /// Bits per element.
    pub element_bits: u32,
}

/// The common shape of the workload's `Gather` ops; `None` if it has none.
pub fn gather_shape(workload: &Workload) -> Result<Option<GatherShape>> {
    let mut shape: Option<GatherShape> = None;
    for op in &workload.ops {
        if let Op::Gather {
            name,
            tables,
            dim,
            element_bits,
            ..
        } = op
        {
            match &mut shape {
                None => {
                    shape = Some(GatherShape {
                        tables: *tables,
                        dim: *dim,
                        element_bits: *element_bits,
                    })
                }
                Some(known) => {
                    if known.dim != *dim || known.element_bits != *element_bits {
                        return Err(SearchError::Compare {
                            what: format!("gather op {name}"),
                            reason: format!(
                                "dim {dim} x {element_bits} bits differs from the first gather op's dim {} x {} bits; the DRAM baselines need one vector size",
                                known.dim, known.element_bits
                            ),
                        });
                    }
                    known.tables += *tables;
                }
            }
        }
    }
    Ok(shape)
}

/// The lookups of a comparison on both sides: the workload the ReRAM designs run and the
/// trace the DRAM baselines run, describing the same embedding lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookups {
    /// The workload for ReRAM designs (its `Gather` ops replaced when the trace is not
    /// derived from them).
    pub workload: Workload,
    /// The trace for the DRAM baselines (`None` when the workload has no `Gather` op).
    pub trace: Option<LookupTrace>,
    /// Where the lookups came from.
    pub description: String,
}

/// Resolves `source` against `workload`.
pub fn resolve(workload: &Workload, source: &LookupSource) -> Result<Lookups> {
    let shape = gather_shape(workload)?;
    let description = source.describe();
    let Some(shape) = shape else {
        if let LookupSource::Trace { origin, .. } = source {
            return Err(SearchError::Compare {
                what: format!("trace {origin}"),
                reason: "the workload has no gather (embedding) op for the trace to replace"
                    .to_string(),
            });
        }
        return Ok(Lookups {
            workload: workload.clone(),
            trace: None,
            description: "the workload has no embedding lookups".to_string(),
        });
    };
    match source {
        LookupSource::Trace { trace, origin } => {
            let replaced = gathers_from_trace(workload, trace, shape, origin)?;
            Ok(Lookups {
                workload: replaced,
                trace: Some(trace.clone()),
                description,
            })
        }
        LookupSource::Shape {
            shape: dataset,
            seed,
        } => {
            let batch_size = common_lookups(workload)?;
            let batch_size = u32::try_from(batch_size).map_err(|_| SearchError::Compare {
                what: "gather lookups".to_string(),
                reason: format!("{batch_size} samples is too many for one generated batch"),
            })?;
            let spec = TraceSpec::new(*dataset, 1, batch_size, *seed);
            let trace = generate(&spec).map_err(|e| SearchError::Compare {
                what: format!("generating the {} trace", dataset.name()),
                reason: e.to_string(),
            })?;
            let origin = format!("the generated {} trace", dataset.name());
            let replaced = gathers_from_trace(workload, &trace, shape, &origin)?;
            Ok(Lookups {
                workload: replaced,
                trace: Some(trace),
                description,
            })
        }
        LookupSource::Workload { seed } => Ok(Lookups {
            workload: workload.clone(),
            trace: Some(trace_from_gathers(workload, *seed)?),
            description,
        }),
    }
}

/// The `lookups` all `Gather` ops share (samples of the batch).
fn common_lookups(workload: &Workload) -> Result<u64> {
    let mut common: Option<u64> = None;
    for op in &workload.ops {
        if let Op::Gather { name, lookups, .. } = op {
            match common {
                None => common = Some(*lookups),
                Some(known) if known != *lookups => {
                    return Err(SearchError::Compare {
                        what: format!("gather op {name}"),
                        reason: format!(
                            "lookups = {lookups} differs from the first gather op's {known}; a generated trace needs one batch size"
                        ),
                    })
                }
                Some(_) => {}
            }
        }
    }
    common.ok_or_else(|| SearchError::Compare {
        what: "workload".to_string(),
        reason: "it has no gather op".to_string(),
    })
}

/// Replaces the `Gather` ops by one `Gather` per table of `trace` with the trace's lookup count
/// and row count (at the first `Gather` op's position; tables the trace never reads are left
/// out). The trace must have as many tables as the `Gather` ops together.
pub fn gathers_from_trace(
    workload: &Workload,
    trace: &LookupTrace,
    shape: GatherShape,
    origin: &str,
) -> Result<Workload> {
    if trace.table_rows.len() as u64 != shape.tables {
        return Err(SearchError::Compare {
            what: format!("trace {origin}"),
            reason: format!(
                "it has {} tables but the workload's gather ops have {} tables",
                trace.table_rows.len(),
                shape.tables
            ),
        });
    }
    let mut per_table = vec![0u64; trace.table_rows.len()];
    for lookup in &trace.lookups {
        let count =
            per_table
                .get_mut(lookup.table as usize)
                .ok_or_else(|| SearchError::Compare {
                    what: format!("trace {origin}"),
                    reason: format!(
                        "a lookup reads table {} but the trace declares {} tables",
                        lookup.table,
                        trace.table_rows.len()
                    ),
                })?;
        *count += 1;
    }
    let trace_gathers: Vec<Op> = per_table
        .iter()
        .zip(&trace.table_rows)
        .enumerate()
        .filter(|(_, (&count, _))| count > 0)
        .map(|(table, (&count, &rows))| Op::Gather {
            name: format!("trace_table{table}"),
            tables: 1,
            rows: rows.max(1),
            dim: shape.dim,
            lookups: count,
            element_bits: shape.element_bits,
        })
        .collect();
    let mut ops = Vec::with_capacity(workload.ops.len() + trace_gathers.len());
    let mut inserted = false;
    for op in &workload.ops {
        if matches!(op, Op::Gather { .. }) {
            if !inserted {
                ops.extend(trace_gathers.iter().cloned());
                inserted = true;
            }
        } else {
            ops.push(op.clone());
        }
    }
    let replaced = Workload { ops };
    replaced
        .check(&format!("the workload with the lookups of {origin}"))
        .map_err(|source| SearchError::Hardware {
            context: format!("replacing the gather ops by the lookups of {origin}"),
            source: Box::new(source),
        })?;
    Ok(replaced)
}

/// A trace of the workload's `Gather` ops: tables numbered over the ops in order; sample `s`
/// reads one row of every table whose op has more than `s` lookups (pooling 1).
pub fn trace_from_gathers(workload: &Workload, seed: u64) -> Result<LookupTrace> {
    let mut table_rows = Vec::new();
    let mut table_lookups = Vec::new();
    let mut total: u64 = 0;
    for op in &workload.ops {
        if let Op::Gather {
            tables,
            rows,
            lookups,
            ..
        } = op
        {
            total = total.saturating_add(tables.saturating_mul(*lookups));
            if total > MAX_GENERATED_LOOKUPS {
                return Err(SearchError::Compare {
                    what: "gather ops".to_string(),
                    reason: format!(
                        "they ask for more than {MAX_GENERATED_LOOKUPS} lookups; pass a smaller workload or a --trace"
                    ),
                });
            }
            for _ in 0..*tables {
                table_rows.push(*rows);
                table_lookups.push(*lookups);
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let samplers = table_rows
        .iter()
        .map(|&rows| {
            // Drawn for every table so a table's id permutation does not depend on the others' sizes.
            let key: u64 = rng.random();
            if rows < DEFAULT_UNIFORM_BELOW_ROWS || rows < 2 {
                Ok(RowSampler::Uniform(rows))
            } else {
                let zipf = Zipf::new(rows as f64, DEFAULT_ZIPF_ALPHA).map_err(|e| {
                    SearchError::Compare {
                        what: "trace generation".to_string(),
                        reason: format!("Zipf over {rows} rows: {e}"),
                    }
                })?;
                Ok(RowSampler::Zipf(zipf, IdPermutation::new(rows, key)))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let samples = table_lookups.iter().copied().max().unwrap_or(0);
    let mut lookups = Vec::with_capacity(total as usize);
    for sample in 0..samples {
        let sample_id = u32::try_from(sample).map_err(|_| SearchError::Compare {
            what: "gather lookups".to_string(),
            reason: format!("{samples} samples exceed the trace format's u32 sample index"),
        })?;
        for (table, (sampler, &table_samples)) in samplers.iter().zip(&table_lookups).enumerate() {
            if table_samples > sample {
                lookups.push(Lookup {
                    batch: 0,
                    sample: sample_id,
                    table: table as u32,
                    row: sampler.sample(&mut rng),
                });
            }
        }
    }
    Ok(LookupTrace {
        table_rows,
        lookups,
    })
}

/// How one table's rows are drawn.
enum RowSampler {
    Uniform(u64),
    Zipf(Zipf<f64>, IdPermutation),
}

impl RowSampler {
    fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        match self {
            RowSampler::Uniform(rows) => rng.random_range(0..*rows),
            RowSampler::Zipf(zipf, permutation) => {
                // Zipf gives ranks 1..=n as floats; rank 1 is the most popular row.
                let rank = zipf.sample(rng) as u64;
                permutation.apply(rank.saturating_sub(1))
            }
        }
    }
}
