//! The design evaluator of a model backend (a plugin): the run's fixed model with each
//! candidate's per-operator bits, costed on the candidate's hardware by the analytic simulator,
//! and the log loss from the backend's accuracy function when it has one.
//!
//! A backend's accuracy function sees the genotype and the bits, never the hardware, so what it
//! returns is recorded as the ideal (quantized) log loss; the hardware log loss (the functional
//! crossbar path) needs the model's weights, which stay inside the plugin, so it is not
//! measured. Without an accuracy function no log loss is measured at all
//! ([`DesignEvaluator::accuracy`]) and the run ranks designs on energy, latency and area.
//!
//! Every figure reproduces through `recpim simulate --backend plugin:PATH --genotype G --bits B
//! --hw H --engine analytic` ([`BackendEvaluator::simulate_flags`]).

use recpim_sim::{simulate_analytic, HwConfig, Workload};

use super::architecture::{Architecture, ArchitectureSearch, FixedModel};
use super::genome::JointGenome;
use super::objectives::{AccuracyMeasures, DesignMetrics};
use super::problem::DesignEvaluator;
use crate::backend::ModelBackend;
use crate::error::{Result, SearchError};

/// Evaluates joint genomes whose model is one backend genotype.
pub struct BackendEvaluator<'a> {
    backend: &'a dyn ModelBackend,
    model: FixedModel,
    /// Canonical text of the model's genotype, as every call hands it to the backend.
    genotype_json: String,
    /// Quantizable operators of the model, in the bits order.
    operators: Vec<String>,
}

impl<'a> BackendEvaluator<'a> {
    /// An evaluator for `genotype_json` (`origin` names it in errors) on `backend`. Asks the
    /// backend for the model's quantizable operators, so a genotype it rejects fails here.
    pub fn new(
        backend: &'a dyn ModelBackend,
        genotype_json: &str,
        origin: &str,
    ) -> Result<BackendEvaluator<'a>> {
        let model = FixedModel::from_json_str(backend.name(), genotype_json, origin)?;
        let genotype_json = model.genotype_json();
        let operators = backend.quantized_operators(&genotype_json)?;
        Ok(BackendEvaluator {
            backend,
            model,
            genotype_json,
            operators,
        })
    }

    /// The fixed model.
    pub fn model(&self) -> &FixedModel {
        &self.model
    }

    /// The run's architecture choice: this model, fixed.
    pub fn architecture(&self) -> ArchitectureSearch {
        ArchitectureSearch::Fixed(self.model.clone())
    }

    /// The backend.
    pub fn backend(&self) -> &dyn ModelBackend {
        self.backend
    }

    /// Quantizable operators of the model, in the bits order.
    pub fn operators(&self) -> &[String] {
        &self.operators
    }

    /// Flags `recpim simulate` needs besides `--genotype/--bits/--hw` to cost a design the same
    /// way: this backend and the analytic engine.
    pub fn simulate_flags(&self) -> String {
        format!(
            "--backend {} --engine analytic",
            self.backend.provenance().spec()
        )
    }

    /// The bits JSON of `genome`, after checking that its model is this evaluator's and that it
    /// has one bitwidth pair per operator.
    fn bits_of(&self, genome: &JointGenome) -> Result<String> {
        let same_model = matches!(&genome.arch, Architecture::Fixed(m) if *m == self.model);
        if !same_model {
            return Err(SearchError::Codesign {
                what: format!("design {}", genome.hash_hex()),
                reason: format!(
                    "its model {} is not the fixed {} genotype this run evaluates",
                    genome.arch.hash_hex(),
                    self.model.backend
                ),
            });
        }
        let n = self.operators.len();
        if genome.weight_bits.len() != n || genome.activation_bits.len() != n {
            return Err(SearchError::GenomeMismatch {
                what: "bits per quantizable operator",
                expected: n,
                found: genome.weight_bits.len().min(genome.activation_bits.len()),
            });
        }
        Ok(genome.bits_json())
    }
}

impl DesignEvaluator for BackendEvaluator<'_> {
    fn operator_names(&self, arch: &Architecture) -> Result<Vec<String>> {
        match arch {
            Architecture::Fixed(model) if *model == self.model => Ok(self.operators.clone()),
            _ => Err(SearchError::Codesign {
                what: format!("design model {}", arch.hash_hex()),
                reason: format!(
                    "backend {} evaluates only its fixed genotype; architectures are not searched with a plugin backend",
                    self.backend.provenance()
                ),
            }),
        }
    }

    fn accuracy(&self) -> AccuracyMeasures {
        AccuracyMeasures {
            ideal: self.backend.has_accuracy(),
            hardware: false,
        }
    }

    fn evaluate(&self, genome: &JointGenome, hw: &HwConfig, _seed: u64) -> Result<DesignMetrics> {
        let bits = self.bits_of(genome)?;
        let workload = self.backend.workload(&self.genotype_json, Some(&bits))?;
        let report = simulate_analytic(hw, &workload).map_err(|source| SearchError::Hardware {
            context: format!("simulating design {}", genome.hash_hex()),
            source: Box::new(source),
        })?;
        let log_loss_ideal = if self.backend.has_accuracy() {
            Some(
                self.backend
                    .evaluate_accuracy(&self.genotype_json, Some(&bits))?,
            )
        } else {
            None
        };
        Ok(DesignMetrics {
            log_loss_ideal,
            log_loss_hardware: None,
            latency_ns: report.latency_ns,
            energy_pj: report.energy_pj,
            area_mm2: report.area_mm2,
        })
    }

    fn workload(&self, genome: &JointGenome) -> Result<Workload> {
        let bits = self.bits_of(genome)?;
        self.backend.workload(&self.genotype_json, Some(&bits))
    }
}
