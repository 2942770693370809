//! Event trace of the cycle-level engine: one record per resource occupancy.

use crate::error::SimError;
use std::io::Write;

/// One resource occupancy.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent<'a> {
    /// Index of the op in the workload.
    pub op_index: usize,
    /// Name of the op.
    pub op_name: &'a str,
    /// Layer copy (0 unless `mapping.replication` > 1).
    pub replica: u64,
    /// Input vector within the replica.
    pub job: u64,
    /// Resource occupied: `dac`, `crossbar`, `adc`, `input_buffer`, `shift_add`,
    /// `adder_tree`, `output_buffer`, `interconnect`, `storage`, `digital_units`.
    pub resource: &'static str,
    /// Crossbar shape index within the op (MVM compute events), else 0.
    pub shape: usize,
    /// Crossbars of that shape acting at once (events happen on each of them).
    pub multiplicity: u64,
    /// Step within the stage (compute step, buffer access, tree level), else 0.
    pub step: u64,
    /// Start in fs from the start of the workload.
    pub start_fs: u128,
    /// End in fs.
    pub end_fs: u128,
}

/// Receives the cycle engine's events in the order they are scheduled.
pub trait TraceSink {
    /// Records one event.
    fn record(&mut self, event: &TraceEvent<'_>) -> Result<(), SimError>;
}

/// Writes events as CSV with a header line; times in ns.
pub struct CsvTrace<W: Write> {
    writer: W,
    header_written: bool,
}

impl<W: Write> CsvTrace<W> {
    /// A CSV trace over `writer` (wrap files in a `BufWriter`).
    pub fn new(writer: W) -> Self {
        CsvTrace {
            writer,
            header_written: false,
        }
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> Result<W, SimError> {
        self.write_header()?;
        self.writer.flush().map_err(trace_error)?;
        Ok(self.writer)
    }

    fn write_header(&mut self) -> Result<(), SimError> {
        if !self.header_written {
            self.header_written = true;
            writeln!(
                self.writer,
                "op_index,op_name,replica,job,resource,shape,multiplicity,step,start_ns,end_ns"
            )
            .map_err(trace_error)?;
        }
        Ok(())
    }
}

fn trace_error(e: std::io::Error) -> SimError {
    SimError::Trace {
        reason: e.to_string(),
    }
}

impl<W: Write> TraceSink for CsvTrace<W> {
    fn record(&mut self, e: &TraceEvent<'_>) -> Result<(), SimError> {
        self.write_header()?;
        // Op names are user text: quote them CSV-style.
        let name = e.op_name.replace('"', "\"\"");
        writeln!(
            self.writer,
            "{},\"{}\",{},{},{},{},{},{},{},{}",
            e.op_index,
            name,
            e.replica,
            e.job,
            e.resource,
            e.shape,
            e.multiplicity,
            e.step,
            e.start_fs as f64 / 1e6,
            e.end_fs as f64 / 1e6
        )
        .map_err(trace_error)
    }
}

/// Collects events in memory (tests, tools).
#[derive(Debug, Default, Clone)]
pub struct VecTrace {
    /// (op_index, resource, start_fs, end_fs) of every event.
    pub events: Vec<(usize, &'static str, u128, u128)>,
}

impl TraceSink for VecTrace {
    fn record(&mut self, e: &TraceEvent<'_>) -> Result<(), SimError> {
        self.events
            .push((e.op_index, e.resource, e.start_fs, e.end_fs));
        Ok(())
    }
}
