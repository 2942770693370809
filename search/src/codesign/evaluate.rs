//! The built-in design evaluator: a NASRec sub-network with the trained supernet's shared
//! weights, its two validation log losses (fake-quantized ideal, and with every crossbar product
//! through the simulator's functional path on the candidate's hardware), and the latency, energy
//! and area of its mapped workload on that hardware (analytic engine).
//!
//! The hardware cost is computed for the workload `recpim simulate --genotype G --bits B --hw H
//! --shape S --engine analytic [--layernorm]` maps, so every reported figure reproduces through
//! the CLI ([`BuiltinEvaluator::simulate_flags`]).

use recpim_model::genotype::Genotype;
use recpim_model::hardware::{evaluate_hardware, map_genotype, MapOptions};
use recpim_model::net::{ModelOptions, Supernet};
use recpim_model::quant::fake_quant::QuantConfig;
use recpim_model::quant::{operator_names, BitAssignment, OperatorBits};
use recpim_model::{Batch, DataSchema};
use recpim_sim::{simulate_analytic, HwConfig, Workload};

use super::architecture::Architecture;
use super::genome::JointGenome;
use super::objectives::{AccuracyMeasures, DesignMetrics};
use super::problem::DesignEvaluator;
use crate::error::{Result, SearchError};

/// Evaluates joint genomes with a trained supernet.
pub struct BuiltinEvaluator {
    /// The trained weight-sharing supernet.
    pub supernet: Supernet,
    /// Validation examples (the first `val_examples` are used).
    pub val: Batch,
    /// Bound on the validation sample of each candidate.
    pub val_examples: usize,
    /// Schema (dense features, table rows) the hardware workload is mapped for.
    pub hardware_schema: DataSchema,
    /// `--shape` name of `hardware_schema` for the reproduce command (e.g. "criteo"); `None`
    /// when the schema is the data's own (then designs reproduce from their workload file).
    pub hardware_shape: Option<String>,
    /// Model options of the mapped model (LayerNorm as the supernet trains it).
    pub model_options: ModelOptions,
    /// Mapping options (examples per inference, embedding bits).
    pub map: MapOptions,
}

fn model_error(context: String) -> impl FnOnce(recpim_model::ModelError) -> SearchError {
    move |source| SearchError::Model {
        context,
        source: Box::new(source),
    }
}

/// The NASRec genotype of a design; a backend's fixed model is not one this evaluator can run.
fn nasrec(arch: &Architecture) -> Result<&Genotype> {
    arch.as_nasrec().ok_or_else(|| SearchError::Codesign {
        what: format!("design model {}", arch.hash_hex()),
        reason: "the built-in evaluator runs NASRec genotypes; a plugin backend's model needs the backend evaluator".to_string(),
    })
}

impl BuiltinEvaluator {
    /// The bits of a genome as the model crate's assignment (names from the architecture).
    pub fn bit_assignment(&self, genome: &JointGenome) -> Result<BitAssignment> {
        let names = self.operator_names(&genome.arch)?;
        if names.len() != genome.weight_bits.len() || names.len() != genome.activation_bits.len() {
            return Err(SearchError::GenomeMismatch {
                what: "bits per quantizable operator",
                expected: names.len(),
                found: genome.weight_bits.len().min(genome.activation_bits.len()),
            });
        }
        let bits = genome
            .weight_bits
            .iter()
            .zip(&genome.activation_bits)
            .map(|(&weight_bits, &activation_bits)| OperatorBits {
                weight_bits,
                activation_bits,
            })
            .collect();
        BitAssignment::new(names, bits, "co-design genome")
            .map_err(model_error(format!("bits of {}", genome.hash_hex())))
    }

    /// Flags `recpim simulate` needs (besides `--genotype/--bits/--hw`) to map the same workload
    /// and cost it with the same engine; `None` without a built-in shape.
    pub fn simulate_flags(&self) -> Option<String> {
        let shape = self.hardware_shape.as_ref()?;
        let mut flags = format!("--shape {shape} --engine analytic");
        if self.map.batch != MapOptions::default().batch {
            flags.push_str(&format!(" --batch {}", self.map.batch));
        }
        if self.map.embedding_bits != MapOptions::default().embedding_bits {
            flags.push_str(&format!(" --embedding-bits {}", self.map.embedding_bits));
        }
        if self.model_options.layernorm {
            flags.push_str(" --layernorm");
        }
        Some(flags)
    }
}

impl BuiltinEvaluator {
    fn mapped_workload(&self, genome: &JointGenome, bits: &BitAssignment) -> Result<Workload> {
        map_genotype(
            nasrec(&genome.arch)?,
            &self.hardware_schema,
            &self.model_options,
            Some(bits),
            &self.map,
        )
        .map(|mapped| mapped.workload)
        .map_err(model_error(format!("mapping design {}", genome.hash_hex())))
    }
}

impl DesignEvaluator for BuiltinEvaluator {
    fn workload(&self, genome: &JointGenome) -> Result<Workload> {
        let bits = self.bit_assignment(genome)?;
        self.mapped_workload(genome, &bits)
    }

    fn operator_names(&self, arch: &Architecture) -> Result<Vec<String>> {
        operator_names(nasrec(arch)?).map_err(model_error(format!(
            "operators of genotype {}",
            arch.hash_hex()
        )))
    }

    fn accuracy(&self) -> AccuracyMeasures {
        AccuracyMeasures::BOTH
    }

    fn evaluate(&self, genome: &JointGenome, hw: &HwConfig, _seed: u64) -> Result<DesignMetrics> {
        let bits = self.bit_assignment(genome)?;
        let id = genome.hash_hex();
        let model = self
            .supernet
            .extract_standalone(nasrec(&genome.arch)?)
            .map_err(model_error(format!("sub-network of design {id}")))?;
        let accuracy = evaluate_hardware(
            model.network(),
            &QuantConfig::new(bits.clone()),
            hw,
            &self.val,
            self.val_examples,
        )
        .map_err(model_error(format!("functional evaluation of design {id}")))?;
        let workload = self.mapped_workload(genome, &bits)?;
        let report = simulate_analytic(hw, &workload).map_err(|source| SearchError::Hardware {
            context: format!("simulating design {id}"),
            source: Box::new(source),
        })?;
        Ok(DesignMetrics {
            log_loss_ideal: Some(accuracy.ideal_log_loss),
            log_loss_hardware: Some(accuracy.hardware_log_loss),
            latency_ns: report.latency_ns,
            energy_pj: report.energy_pj,
            area_mm2: report.area_mm2,
        })
    }
}
