//! Joint co-design search of NASRec architectures, per-operator bitwidths and ReRAM crossbar
//! settings (`recpim codesign`, the product's main job). With a plugin model backend the model is
//! the plugin's fixed genotype and the search covers bits and hardware.
//!
//! - [`space`]: the search-space file (`hwconfigs/spaces/*.toml`);
//! - [`architecture`]: the model part of a genome (NASRec genotype or a backend's fixed model);
//! - [`genome`]: the joint genome (architecture x bits x hardware), its mutation and hash;
//! - [`objectives`]: log loss (ideal and hardware), latency, energy, area, EDP; constraints;
//! - [`selection`]: multi-objective parent selection (rank + crowding) and the reported front;
//! - [`problem`]: the search as a problem of the generic regularized evolution, and the
//!   [`problem::DesignEvaluator`] trait that measures a design;
//! - [`evaluate`]: the built-in evaluator (supernet weights, functional crossbar path, mapping,
//!   analytic simulator);
//! - [`backend_evaluate`]: the evaluator of a model backend (its workloads, its accuracy when it
//!   has one, analytic simulator);
//! - [`run`]: orchestration, checkpoint/resume, front and hypervolume per generation;
//! - [`baselines`]: the chosen designs against RecNMP and the handcrafted ReRAM presets;
//! - [`record`], [`report`]: evaluated designs and the run's files (CSV, SVG, Markdown, design
//!   files that `recpim simulate` reproduces).

pub mod architecture;
pub mod backend_evaluate;
pub mod baselines;
pub mod evaluate;
pub mod genome;
pub mod migration;
pub mod objectives;
pub mod problem;
pub mod record;
pub mod report;
pub mod run;
pub mod selection;
pub mod space;
