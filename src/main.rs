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
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
