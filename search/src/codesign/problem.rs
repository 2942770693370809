//! The co-design search as an [`EvolutionProblem`] of the generic regularized evolution
//! ([`crate::nas::evolution`]): the joint genome, its mutation across the three parts (two when
//! the model is a backend's fixed one), the evaluation through a [`DesignEvaluator`], and
//! multi-objective parent selection.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use recpim_sim::{HwConfig, Workload};

use super::architecture::{Architecture, ArchitectureSearch};
use super::genome::{
    carry_bits, mutate_bits, mutate_hardware, sample_bits, sample_hardware, JointGenome,
};
use super::objectives::{pareto_point, AccuracyMeasures, Constraints, DesignMetrics, Objective};
use super::selection::CrowdedScores;
use super::space::CodesignSpace;
use crate::error::Result;
use crate::nas::evolution::{EvolutionProblem, Individual};
use crate::nas::mutation::mutate_once;

/// Measures one design. Implementations: the built-in NASRec evaluator (supernet weights,
/// functional crossbar path, mapping, simulator) and the model-backend evaluator
/// ([`super::backend_evaluate::BackendEvaluator`]).
pub trait DesignEvaluator: Sync {
    /// Quantizable operator names of `arch` in the bits order (one weight and one activation
    /// bitwidth each).
    fn operator_names(&self, arch: &Architecture) -> Result<Vec<String>>;

    /// Which log losses [`DesignEvaluator::evaluate`] measures (the others stay `None`).
    fn accuracy(&self) -> AccuracyMeasures;

    /// Log losses, latency, energy and area of `genome` on the checked hwconfig `hw`; `seed` is
    /// the candidate's own evaluation seed.
    fn evaluate(&self, genome: &JointGenome, hw: &HwConfig, seed: u64) -> Result<DesignMetrics>;

    /// The simulator workload of `genome` (architecture and bits), as `evaluate` costs it.
    fn workload(&self, genome: &JointGenome) -> Result<Workload>;
}

/// What a candidate's evaluation records (the evolution's fitness type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodesignFitness {
    /// Measured figures.
    pub metrics: DesignMetrics,
    /// `config_hash()` of the resolved hwconfig.
    pub hw_config_hash: String,
    /// Searched hardware settings, `key=value;...`.
    pub hardware_settings: String,
    /// Sum of relative excesses over the constraints (0 = feasible).
    pub constraint_violation: f64,
}

/// The joint search problem.
pub struct CodesignProblem<'a> {
    /// The space searched.
    pub space: &'a CodesignSpace,
    /// How designs are measured.
    pub evaluator: &'a dyn DesignEvaluator,
    /// How architectures are drawn (NASRec sampler) or which model is fixed.
    pub architecture: ArchitectureSearch,
    /// Minimised objectives of parent selection.
    pub objectives: Vec<Objective>,
    /// Limits a design must meet.
    pub constraints: Constraints,
}

/// Which part of the genome one mutation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Architecture,
    Bits,
    Hardware,
}

impl CodesignProblem<'_> {
    /// The default bitwidth of an operator a mutation creates: the largest allowed (the
    /// accurate end; the search then explores narrower bits).
    fn default_bits(&self) -> u32 {
        self.space.bits.last().copied().unwrap_or(8)
    }

    /// One NASRec mutation, bits carried over by operator name; a fixed model is returned
    /// unchanged (never drawn: [`EvolutionProblem::mutate`] skips the part for it).
    fn mutate_architecture(&self, g: &JointGenome, rng: &mut ChaCha8Rng) -> Result<JointGenome> {
        let Some(genotype) = g.arch.as_nasrec() else {
            return Ok(g.clone());
        };
        let (arch, _) = mutate_once(genotype, self.space.arch_space, rng)?;
        let arch = Architecture::Nasrec(arch);
        let old_names = self.evaluator.operator_names(&g.arch)?;
        let new_names = self.evaluator.operator_names(&arch)?;
        let (weight_bits, activation_bits) = carry_bits(
            &old_names,
            &g.weight_bits,
            &g.activation_bits,
            &new_names,
            self.default_bits(),
        );
        Ok(JointGenome {
            arch,
            weight_bits,
            activation_bits,
            hardware: g.hardware.clone(),
        })
    }

    /// The fitness of `genome` (evaluates it).
    pub fn fitness(&self, genome: &JointGenome, seed: u64) -> Result<CodesignFitness> {
        let hw = self.space.hwconfig_of(&genome.hardware)?;
        let metrics = self.evaluator.evaluate(genome, &hw, seed)?;
        metrics.check()?;
        Ok(CodesignFitness {
            metrics,
            hw_config_hash: hw.config_hash(),
            hardware_settings: self.space.settings_text(&genome.hardware),
            constraint_violation: self.constraints.violation(&metrics),
        })
    }
}

impl EvolutionProblem for CodesignProblem<'_> {
    type Genome = JointGenome;
    type Fitness = CodesignFitness;

    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Result<JointGenome> {
        let arch = match &self.architecture {
            ArchitectureSearch::Nasrec(sampler) => Architecture::Nasrec(sampler.sample(rng)),
            ArchitectureSearch::Fixed(model) => Architecture::Fixed(model.clone()),
        };
        let operators = self.evaluator.operator_names(&arch)?.len();
        let (weight_bits, activation_bits) = sample_bits(&self.space.bits, operators, rng)?;
        let hardware = sample_hardware(self.space, rng)?;
        Ok(JointGenome {
            arch,
            weight_bits,
            activation_bits,
            hardware,
        })
    }

    /// Each of the `mutations` picks a part uniformly: the architecture (one NASRec mutation,
    /// bits carried over by operator name), one operator's weight or activation bits, or one
    /// hardware key. A fixed model leaves two parts, bits and hardware.
    fn mutate(
        &self,
        parent: &JointGenome,
        mutations: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<JointGenome> {
        let mut child = parent.clone();
        let first_part = match self.architecture {
            ArchitectureSearch::Nasrec(_) => 0,
            ArchitectureSearch::Fixed(_) => 1,
        };
        for _ in 0..mutations.max(1) {
            let part = match rng.random_range(first_part..3u32) {
                0 => Part::Architecture,
                1 => Part::Bits,
                _ => Part::Hardware,
            };
            child = match part {
                Part::Architecture => self.mutate_architecture(&child, rng)?,
                Part::Bits => {
                    let (weight_bits, activation_bits) = mutate_bits(
                        &self.space.bits,
                        &child.weight_bits,
                        &child.activation_bits,
                        rng,
                    );
                    JointGenome {
                        weight_bits,
                        activation_bits,
                        ..child
                    }
                }
                Part::Hardware => {
                    let hardware = mutate_hardware(self.space, &child.hardware, rng)?;
                    JointGenome { hardware, ..child }
                }
            };
        }
        Ok(child)
    }

    fn genome_hash(&self, genome: &JointGenome) -> u64 {
        genome.hash()
    }

    fn evaluate(
        &self,
        genome: &JointGenome,
        _candidate_id: u64,
        seed: u64,
    ) -> Result<CodesignFitness> {
        self.fitness(genome, seed)
    }

    /// Pareto rank (constrained) and crowding distance within the sample, then the older
    /// candidate (module doc of [`super::selection`]).
    fn select_parent(
        &self,
        sample: &[&Individual<JointGenome, CodesignFitness>],
        _rng: &mut ChaCha8Rng,
    ) -> usize {
        let points: Result<Vec<_>> = sample
            .iter()
            .map(|ind| pareto_point(&ind.fitness.metrics, &self.objectives, &self.constraints))
            .collect();
        let ids: Vec<u64> = sample.iter().map(|ind| ind.id).collect();
        let all: Vec<usize> = (0..sample.len()).collect();
        // Fitness was checked finite at evaluation, so ranking cannot fail; fall back to the
        // first (oldest) member rather than panic if it ever did.
        points
            .and_then(|p| CrowdedScores::new(&p))
            .and_then(|scores| scores.best_of(&all, &ids))
            .unwrap_or(0)
    }
}
