//! From a NASRec model to the simulator: the [`mapping`] of a compiled graph (+ bits) to a
//! `recpim_sim::Workload`, and the hardware-functional accuracy evaluation.

pub mod functional_eval;
pub mod mapping;

pub use functional_eval::{
    evaluate_hardware, evaluate_hardware_given_ideal, evaluate_with_slicing, ideal_log_loss,
    CrossbarProducts, HardwareEval, HardwareEvalOptions,
};
pub use mapping::{
    map_genotype, map_graph, schema_for_shape, MapOptions, MappedWorkload, OpOrigin, Placement,
};
