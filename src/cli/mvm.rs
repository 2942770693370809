//! `recpim mvm`: matrix-vector products through the crossbar's bit slicing, against the exact
//! integer product.

use anyhow::Context;
use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::{
    exact_matmul, BitSlicing, IntMatrix, MvmOutput, SlicedWeights, UintMatrix,
};
use recpim_sim::HwConfig;
use std::path::{Path, PathBuf};

/// Arguments of `recpim mvm`.
#[derive(Debug, clap::Args)]
pub struct MvmArgs {
    /// Hardware configuration (TOML, see hwconfigs/README.md): crossbar size, cell bits,
    /// polarity, active word lines, DAC and ADC resolution and ADC range.
    #[arg(long, value_name = "FILE")]
    pub hw: PathBuf,
    /// Weights W as CSV without header: one output neuron per row, one signed integer per
    /// input, within --weight-bits (lines starting with '#' are comments).
    #[arg(long, value_name = "W.csv")]
    pub weights: PathBuf,
    /// Inputs X as CSV without header: one input vector per row, unsigned integers within
    /// --input-bits.
    #[arg(long, value_name = "X.csv")]
    pub inputs: PathBuf,
    /// Weight precision in bits, sign included (2..=16).
    #[arg(long, default_value_t = 8)]
    pub weight_bits: u32,
    /// Input precision in bits (1..=16).
    #[arg(long, default_value_t = 8)]
    pub input_bits: u32,
    /// Print JSON (`outputs`, `exact`, `max_abs_error`, `adc`, ...) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `recpim mvm`.
pub fn run(args: MvmArgs) -> anyhow::Result<()> {
    let hw = HwConfig::load(&args.hw)
        .with_context(|| format!("hardware configuration {}", args.hw.display()))?;
    let slicing = hw.bit_slicing();
    slicing.validate().with_context(|| {
        format!(
            "hardware configuration {} cannot run the functional MVM",
            args.hw.display()
        )
    })?;
    slicing
        .check_weight_bits(args.weight_bits)
        .context("--weight-bits")?;
    slicing
        .check_input_bits(args.input_bits)
        .context("--input-bits")?;

    let weights = read_weights(&args.weights, &slicing, args.weight_bits)?;
    let inputs = read_inputs(&args.inputs, args.input_bits, weights.cols(), &args.weights)?;

    let sliced = SlicedWeights::new(&slicing, &weights, args.weight_bits)
        .with_context(|| format!("weights {}", args.weights.display()))?;
    let hardware = sliced
        .mvm_batch(&inputs, args.input_bits)
        .with_context(|| format!("inputs {}", args.inputs.display()))?;
    let exact = exact_matmul(&weights, &inputs)?;
    let max_abs_error = hardware
        .values
        .iter()
        .zip(&exact)
        .map(|(h, e)| (h - e).abs())
        .max()
        .unwrap_or(0);

    if args.json {
        print_json(&slicing, &sliced, &args, &hardware, &exact, max_abs_error)
    } else {
        print_table(&slicing, &sliced, &args, &hardware, &exact, max_abs_error);
        Ok(())
    }
}

/// One parsed CSV row: its 1-based line number and its fields.
struct CsvRow {
    line: u64,
    fields: Vec<String>,
}

/// Reads a headerless CSV of integers, checking every row has the same number of fields
/// (`expected_fields`, or the first row's count). Blank lines and lines starting with '#' are
/// skipped but still counted, so reported line numbers are the file's.
fn read_csv_rows(
    path: &Path,
    what: &str,
    expected_fields: Option<(usize, String)>,
) -> anyhow::Result<Vec<CsvRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} file {}", path.display()))?;
    let mut rows: Vec<CsvRow> = Vec::new();
    let mut expected = expected_fields;
    for (index, raw_line) in text.lines().enumerate() {
        let line = index as u64 + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<String> = trimmed
            .split(',')
            .map(|field| field.trim().trim_matches('"').trim().to_string())
            .collect();
        match &expected {
            Some((count, why)) if fields.len() != *count => anyhow::bail!(
                "{}: line {line}: {} values, but {why}",
                path.display(),
                fields.len()
            ),
            Some(_) => {}
            None => {
                expected = Some((
                    fields.len(),
                    format!(
                        "line {line} has {} (every row must have as many)",
                        fields.len()
                    ),
                ))
            }
        }
        rows.push(CsvRow { line, fields });
    }
    if rows.is_empty() {
        anyhow::bail!(
            "{}: no rows; allowed: at least one {what} row",
            path.display()
        );
    }
    Ok(rows)
}

/// Reads W: one output neuron per row, signed integers the polarity scheme can store.
fn read_weights(path: &Path, slicing: &BitSlicing, weight_bits: u32) -> anyhow::Result<IntMatrix> {
    let rows = read_csv_rows(path, "weights", None)?;
    let (min, max) = slicing.weight_range(weight_bits);
    let range_note = match slicing.polarity {
        Polarity::Differential => format!(
            " (differential polarity stores {} magnitude bits per half)",
            weight_bits - 1
        ),
        Polarity::OffsetColumn => String::new(),
    };
    let cols = rows.first().map_or(0, |r| r.fields.len());
    let mut values = Vec::with_capacity(rows.len() * cols);
    for row in &rows {
        for (index, field) in row.fields.iter().enumerate() {
            let column = index + 1;
            let value: i64 = field.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {}, column {column}: weight {field:?} is not an integer; allowed: \
                     {weight_bits}-bit signed range {min}..={max}{range_note}",
                    path.display(),
                    row.line
                )
            })?;
            if value < min || value > max {
                anyhow::bail!(
                    "{}: line {}, column {column}: weight {value} outside {weight_bits}-bit signed \
                     range {min}..={max}{range_note}",
                    path.display(),
                    row.line
                );
            }
            // In range of a <= 16-bit precision, so it fits i32.
            values.push(value as i32);
        }
    }
    Ok(IntMatrix::new(rows.len(), cols, values)?)
}

/// Reads X: one input vector per row, unsigned integers within `input_bits`, as many per row as
/// W has inputs.
fn read_inputs(
    path: &Path,
    input_bits: u32,
    in_features: usize,
    weights_path: &Path,
) -> anyhow::Result<UintMatrix> {
    let why = format!(
        "the weights in {} have {in_features} inputs per neuron",
        weights_path.display()
    );
    let rows = read_csv_rows(path, "inputs", Some((in_features, why)))?;
    let max = (1_u64 << input_bits) - 1;
    let mut values = Vec::with_capacity(rows.len() * in_features);
    for row in &rows {
        for (index, field) in row.fields.iter().enumerate() {
            let column = index + 1;
            let value: i64 = field.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {}, column {column}: input {field:?} is not an integer; allowed: \
                     {input_bits}-bit unsigned range 0..={max}",
                    path.display(),
                    row.line
                )
            })?;
            if value < 0 || value as u64 > max {
                anyhow::bail!(
                    "{}: line {}, column {column}: input {value} outside {input_bits}-bit \
                     unsigned range 0..={max}",
                    path.display(),
                    row.line
                );
            }
            // At most 16 bits, so it fits u32.
            values.push(value as u32);
        }
    }
    Ok(UintMatrix::new(rows.len(), in_features, values)?)
}

fn polarity_name(polarity: Polarity) -> &'static str {
    match polarity {
        Polarity::Differential => "differential",
        Polarity::OffsetColumn => "offset-column",
    }
}

fn range_name(range: AdcRange) -> &'static str {
    match range {
        AdcRange::Full => "full",
        AdcRange::Saturate => "saturate",
    }
}

/// `[batch, out]` row-major values as nested rows.
fn nested(values: &[i64], out_features: usize) -> Vec<Vec<i64>> {
    if out_features == 0 {
        return Vec::new();
    }
    values.chunks(out_features).map(<[i64]>::to_vec).collect()
}

fn print_json(
    slicing: &BitSlicing,
    sliced: &SlicedWeights,
    args: &MvmArgs,
    hardware: &MvmOutput,
    exact: &[i64],
    max_abs_error: i64,
) -> anyhow::Result<()> {
    let document = serde_json::json!({
        "outputs": nested(&hardware.values, hardware.out_features),
        "exact": nested(exact, hardware.out_features),
        "max_abs_error": max_abs_error,
        "adc": hardware.adc,
        "weight_bits": args.weight_bits,
        "input_bits": args.input_bits,
        "lossless_adc_bits": slicing.lossless_adc_bits(args.weight_bits, args.input_bits),
        "crossbars": sliced.crossbars(),
        "row_groups": sliced.row_groups().len(),
        "weight_slices": sliced.weight_slices(),
        "input_slices": slicing.input_slices(args.input_bits),
        "bit_slicing": {
            "crossbar_rows": slicing.crossbar_rows,
            "crossbar_cols": slicing.crossbar_cols,
            "cell_bits": slicing.cell_bits,
            "polarity": polarity_name(slicing.polarity),
            "active_rows": slicing.active_rows,
            "dac_bits": slicing.dac_bits,
            "adc_bits": slicing.adc_bits,
            "adc_range": range_name(slicing.adc_range),
        },
    });
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}

fn print_table(
    slicing: &BitSlicing,
    sliced: &SlicedWeights,
    args: &MvmArgs,
    hardware: &MvmOutput,
    exact: &[i64],
    max_abs_error: i64,
) {
    println!(
        "W {} x {} ({}-bit weights), X batch {} ({}-bit inputs)",
        sliced.out_features(),
        sliced.in_features(),
        args.weight_bits,
        hardware.batch,
        args.input_bits
    );
    println!(
        "crossbar {}x{}, {}-bit cells, {}, {} active word lines, {}-bit DAC, {}-bit ADC ({} range); \
         lossless needs {} ADC bits",
        slicing.crossbar_rows,
        slicing.crossbar_cols,
        slicing.cell_bits,
        polarity_name(slicing.polarity),
        slicing.active_rows,
        slicing.dac_bits,
        slicing.adc_bits,
        range_name(slicing.adc_range),
        slicing.lossless_adc_bits(args.weight_bits, args.input_bits)
    );
    println!(
        "mapping: crossbars {}, row groups {}, weight slices {}, input cycles {}",
        sliced.crossbars(),
        sliced.row_groups().len(),
        sliced.weight_slices(),
        slicing.input_slices(args.input_bits)
    );
    println!();
    println!(
        "{:>6} {:>7} {:>14} {:>14} {:>10}",
        "input", "output", "hardware", "exact", "error"
    );
    let out_features = hardware.out_features.max(1);
    for (index, (h, e)) in hardware.values.iter().zip(exact).enumerate() {
        println!(
            "{:>6} {:>7} {:>14} {:>14} {:>10}",
            index / out_features + 1,
            index % out_features + 1,
            h,
            e,
            h - e
        );
    }
    println!();
    println!("max |error|: {max_abs_error}");
    let adc = &hardware.adc;
    println!(
        "ADC: {} conversions, {} clipped, {} rounded ({:.2} % lossy), largest step {}",
        adc.conversions,
        adc.clipped,
        adc.rounded,
        100.0 * adc.lossy_fraction(),
        adc.max_step
    );
}
