//! `recpim compare`: designs against RecNMP and handcrafted ReRAM baselines.
//!
//! Given a [`recpim_sim::Workload`], designs (checked hwconfigs) and [`Baseline`]s, [`compare`]
//! returns latency, energy, area and EDP per operator class ([`OpClass`]: MLP, interaction,
//! embedding, elementwise) and end to end for every design, and each design's speed-up, energy
//! and EDP ratio against each baseline, with the assumptions they rest on; [`to_markdown`],
//! [`figures_csv`], [`ratios_csv`] and [`write_outputs`] render it.
//!
//! * ReRAM designs and ReRAM baselines run the workload once on the analytic engine
//!   ([`evaluate_reram`]); per-class figures are shares of that run ([`attribute_by_class`]), so
//!   they add up to the end-to-end figures.
//! * `recnmp` runs the embedding lookups as a trace on the RecNMP model and the rest on a host
//!   CPU model ([`HostCpu`]); `cpu` is RecNMP's own baseline (the host reads every row).
//! * Both sides serve the same lookups ([`LookupSource`]).
//!
//! ```
//! use recpim_search::compare::{compare, Baseline, CompareSettings};
//! use recpim_sim::{HwConfig, Workload};
//! let workload = Workload::from_toml_str(
//!     "[[op]]\nkind = \"gather\"\nname = \"emb\"\ntables = 2\nrows = 1000\ndim = 16\nlookups = 8\nelement_bits = 8\n\
//!      [[op]]\nkind = \"mvm\"\nname = \"fc\"\nrows = 32\ncols = 16\nweight_bits = 8\ninput_bits = 8\ncount = 8\n",
//!     "example",
//! )?;
//! let baselines = [Baseline::from_name("isaac-handcrafted")?, Baseline::from_name("recnmp")?];
//! let Baseline::Reram { hw, .. } = Baseline::from_name("rerec-like")? else { unreachable!() };
//! let designs = vec![("rerec-as-design".to_string(), "example".to_string(), *hw)];
//! let comparison = compare("example", &workload, &designs, &baselines, &CompareSettings::builtin()?)?;
//! assert_eq!(comparison.designs.len(), 3);
//! assert!(comparison.ratios.iter().all(|r| r.speedup > 0.0 && r.energy_ratio > 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod assumptions;
pub mod attribute;
pub mod baseline;
pub mod class;
pub mod evaluate;
pub mod figures;
pub mod host;
pub mod lookups;
pub mod write;

pub use assumptions::Assumption;
pub use attribute::attribute_by_class;
pub use baseline::{Baseline, BASELINE_NAMES};
pub use class::{split_by_class, OpClass};
pub use evaluate::{
    compare, evaluate_reram, recnmp_vector_bytes, CompareSettings, Comparison, Ratio, Scope,
    RECNMP_BURST_BYTES, RECNMP_ELEMENT_BITS,
};
pub use figures::{ClassFigures, DesignFigures, DesignRole, EnergyPart, Figures};
pub use host::HostCpu;
pub use lookups::{LookupSource, Lookups};
pub use write::{
    figures_csv, ratios_csv, to_markdown, write_outputs, FIGURES_HEADER, RATIOS_HEADER,
};
