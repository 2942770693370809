//! recpim: co-design of recommender models and ReRAM processing-in-memory hardware.
//!
//! The binary is a thin clap layer; the work lives in the `recpim-sim`, `recpim-model` and
//! `recpim-search` crates. Every user-facing error exits with code 2 and names what was wrong.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for bad input of any kind (config, data, flags): the same code clap uses.
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(name = "recpim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Latency, energy and area of a workload on a hardware configuration.
    Simulate(cli::simulate::SimulateArgs),
    /// Matrix-vector products through the crossbar's bit slicing, against the exact product.
    Mvm(cli::mvm::MvmArgs),
    /// Train a NASRec genotype or a hand-crafted baseline on CTR data.
    Train(Box<cli::train::TrainArgs>),
    /// Data utilities: stratified split, synthetic CTR data.
    #[command(subcommand)]
    Data(cli::data::DataCommand),
    /// Embedding lookup traces for the RecNMP and ReRAM embedding models.
    #[command(subcommand)]
    Trace(cli::trace::TraceCommand),
    /// Embedding lookups (SparseLengthsSum) on the RecNMP near-memory model and the host baseline.
    Recnmp(cli::recnmp::RecnmpArgs),
    /// Designs against RecNMP and handcrafted ReRAM baselines, per operator class and end to end.
    Compare(Box<cli::compare::CompareArgs>),
    /// Sweep hwconfig keys (grid or seeded sample), sharded and resumable; front + plot.
    Sweep(cli::sweep::SweepArgs),
    /// Merge sweep shards or co-design runs by config hash; rebuild the front + plot.
    Merge(cli::merge::MergeArgs),
    /// NASRec weight-sharing supernet: `recpim supernet train` (path sampling, warm-up, resumable).
    #[command(subcommand)]
    Supernet(cli::supernet::SupernetCommand),
    /// Regularized evolution of NASRec genotypes on a trained supernet, then top-k retraining.
    Search(Box<cli::search::SearchArgs>),
    /// How well supernets rank sub-networks: Pearson and Kendall per path-sampling strategy.
    RankStudy(Box<cli::rank_study::RankStudyArgs>),
    /// Forward FLOPs (fvcore convention) and parameter counts per operator.
    Flops(cli::flops::FlopsArgs),
    /// Iterative structured pruning (mask / magnitude) with lottery-ticket retraining.
    Prune(Box<cli::prune::PruneArgs>),
    /// Joint search of NASRec architecture, bitwidths and ReRAM crossbar settings (the main job).
    Codesign(Box<cli::codesign::CodesignArgs>),
    /// Plugin model backends: `recpim plugins inspect PATH` shows what a plugin offers.
    #[command(subcommand)]
    Plugins(cli::plugins::PluginsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Mvm(args) => cli::mvm::run(args),
        Command::Train(args) => cli::train::run(*args),
        Command::Data(command) => cli::data::run(command),
        Command::Trace(command) => cli::trace::run(command),
        Command::Recnmp(args) => cli::recnmp::run(args),
        Command::Compare(args) => cli::compare::run(*args),
        Command::Sweep(args) => cli::sweep::run(args),
        Command::Merge(args) => cli::merge::run(args),
        Command::Supernet(command) => cli::supernet::run(command),
        Command::Search(args) => cli::search::run(*args),
        Command::RankStudy(args) => cli::rank_study::run(*args),
        Command::Flops(args) => cli::flops::run(args),
        Command::Prune(args) => cli::prune::run(*args),
        Command::Codesign(args) => cli::codesign::run(*args),
        Command::Plugins(command) => cli::plugins::run(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", cli::error_report::error_message(&error));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
