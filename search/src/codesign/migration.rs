//! Migration between co-design islands: the designs on other islands' fronts seed the initial
//! population of a new run (`recpim codesign --migrants DIR`).
//!
//! Islands are independent runs of the same space with their own seed (`--island i`). A
//! cluster runs them as an array job; between epochs `recpim merge` shows the joint front and
//! each island of the next epoch starts from the others' fronts. A migrant is re-evaluated on
//! the receiving island (its own supernet and validation sample), so figures never cross
//! islands unchecked.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::architecture::ArchitectureSearch;
use super::genome::JointGenome;
use super::objectives::{Constraints, Objective};
use super::problem::DesignEvaluator;
use super::run::{outcome_of, CodesignState};
use super::space::CodesignSpace;
use crate::error::{Result, SearchError};

/// Name of the evolution checkpoint inside a run directory (what migrants are read from).
pub const EVOLUTION_CHECKPOINT: &str = "evolution.json";

/// Migrants read from other islands' run directories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Migrants {
    /// The run directories, in the order given.
    pub sources: Vec<PathBuf>,
    /// Their feasible front designs, in source order then evaluation order, without duplicates.
    pub genomes: Vec<JointGenome>,
}

fn migrant_error(dir: &Path, reason: String) -> SearchError {
    SearchError::Codesign {
        what: format!("--migrants {}", dir.display()),
        reason,
    }
}

/// Checks that a migrant is a design this run could have produced: an admitted model, one
/// allowed bitwidth per quantizable operator, and a valid hardware choice of this space.
fn check_migrant(
    genome: &JointGenome,
    space: &CodesignSpace,
    architecture: &ArchitectureSearch,
    evaluator: &dyn DesignEvaluator,
) -> std::result::Result<(), String> {
    if !architecture.admits(&genome.arch) {
        return Err(format!(
            "model {} is not one this run searches (another backend, genotype or space)",
            genome.arch.hash_hex()
        ));
    }
    let operators = evaluator
        .operator_names(&genome.arch)
        .map_err(|e| e.to_string())?
        .len();
    if genome.weight_bits.len() != operators || genome.activation_bits.len() != operators {
        return Err(format!(
            "{} bitwidths for {operators} quantizable operators",
            genome.weight_bits.len()
        ));
    }
    if let Some(bits) = genome
        .weight_bits
        .iter()
        .chain(&genome.activation_bits)
        .find(|b| !space.bits.contains(b))
    {
        return Err(format!(
            "{bits}-bit operator; the space {} allows {:?}",
            space.origin, space.bits
        ));
    }
    if genome.hardware.len() != space.hardware.len()
        || genome
            .hardware
            .iter()
            .zip(&space.hardware)
            .any(|(&index, key)| index >= key.values.len())
    {
        return Err(format!(
            "its hardware choice does not index the space {} (another space file?)",
            space.origin
        ));
    }
    space
        .hwconfig_of(&genome.hardware)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Reads the feasible front of each run directory's evolution checkpoint (under this run's
/// objectives and constraints) and checks every design against this run's space, model choice
/// and evaluator. Errors name the directory and the design.
pub fn load_migrants(
    dirs: &[PathBuf],
    space: &CodesignSpace,
    architecture: &ArchitectureSearch,
    evaluator: &dyn DesignEvaluator,
    objectives: &[Objective],
    constraints: &Constraints,
) -> Result<Migrants> {
    let mut seen = HashSet::new();
    let mut genomes = Vec::new();
    for dir in dirs {
        let checkpoint = dir.join(EVOLUTION_CHECKPOINT);
        if !checkpoint.is_file() {
            return Err(migrant_error(
                dir,
                format!(
                    "no {EVOLUTION_CHECKPOINT} there; give the run directory of a co-design \
                     island (its --out)"
                ),
            ));
        }
        let state = CodesignState::load(&checkpoint)?;
        if !state.initialized {
            return Err(migrant_error(
                dir,
                "the run has not evaluated its initial population yet".to_string(),
            ));
        }
        let outcome = outcome_of(&state, objectives, constraints)?;
        for &index in &outcome.front {
            let genome = &state.history[index].genome;
            check_migrant(genome, space, architecture, evaluator).map_err(|reason| {
                migrant_error(dir, format!("design {}: {reason}", genome.hash_hex()))
            })?;
            if seen.insert(genome.hash()) {
                genomes.push(genome.clone());
            }
        }
    }
    Ok(Migrants {
        sources: dirs.to_vec(),
        genomes,
    })
}
