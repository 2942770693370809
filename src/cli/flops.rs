//! `recpim flops`: forward FLOPs per example (fvcore convention: one multiply-add = 1,
//! embedding lookups free; nasrec-spec §5) per operator and in total, with dense and embedding
//! parameter counts, for a NASRec genotype or a baseline on a data shape.

use anyhow::Context;
use recpim_model::data::SyntheticShape;
use recpim_model::flops::{profile_baseline, profile_genotype, FlopsProfile};
use recpim_model::genotype::Genotype;
use recpim_model::net::{BaselineKind, ModelOptions};
use serde::Serialize;
use std::path::PathBuf;

/// Built-in data shapes (feature counts and the synthetic generator's table sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// Criteo: 13 dense, 26 categorical fields.
    Criteo,
    /// Avazu: 1 pseudo dense, 22 categorical fields.
    Avazu,
    /// KDD Cup 2012: 3 dense, 10 categorical fields.
    Kdd,
}

impl Shape {
    /// The model crate's shape.
    pub fn synthetic(self) -> SyntheticShape {
        match self {
            Shape::Criteo => SyntheticShape::Criteo,
            Shape::Avazu => SyntheticShape::Avazu,
            Shape::Kdd => SyntheticShape::Kdd,
        }
    }
}

/// Arguments of `recpim flops`.
#[derive(Debug, clap::Args)]
pub struct FlopsArgs {
    /// NASRec genotype JSON (the reference format).
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub genotype: Option<PathBuf>,
    /// Baseline instead of a genotype: lr|fm|dnn|deepfm|dlrm.
    #[arg(long, value_name = "NAME", required_unless_present = "genotype")]
    pub model: Option<String>,
    /// Data shape the model is built for.
    #[arg(long, value_enum, default_value = "criteo")]
    pub shape: Shape,
    /// Build the genotype's operators with LayerNorm (5 FLOPs per normalised element).
    #[arg(long)]
    pub layernorm: bool,
    /// Also list every layer (node) with its multiply-adds and parameters.
    #[arg(long)]
    pub layers: bool,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct FlopsJson<'a> {
    model: String,
    shape: &'static str,
    mflops: f64,
    #[serde(flatten)]
    profile: &'a FlopsProfile,
}

/// Runs `recpim flops`.
pub fn run(args: FlopsArgs) -> anyhow::Result<()> {
    let schema = args.shape.synthetic().schema();
    let (name, profile) = match (&args.genotype, &args.model) {
        (Some(path), _) => {
            let g = Genotype::read_file(path)
                .with_context(|| format!("reading genotype {}", path.display()))?;
            let opts = ModelOptions {
                layernorm: args.layernorm,
                ..ModelOptions::default()
            };
            let p = profile_genotype(&g, &schema, &opts)
                .with_context(|| format!("building genotype {}", path.display()))?;
            (path.display().to_string(), p)
        }
        (None, Some(m)) => {
            let kind = BaselineKind::from_name(m)
                .with_context(|| format!("--model {m}: allowed are lr, fm, dnn, deepfm, dlrm"))?;
            (m.clone(), profile_baseline(kind, &schema))
        }
        (None, None) => anyhow::bail!("give --genotype FILE or --model NAME"),
    };
    let shape = args.shape.synthetic().name();
    if args.json {
        let out = FlopsJson {
            model: name,
            shape,
            mflops: profile.total_macs as f64 / 1e6,
            profile: &profile,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print!(
        "{}",
        profile.to_markdown(&format!("{name} ({shape} shape)"))
    );
    if args.layers {
        println!("\n| node | layer | kind | MACs | dense params |\n|---:|---|---|---:|---:|");
        for l in &profile.layers {
            println!(
                "| {} | {} | {} | {} | {} |",
                l.node, l.layer, l.kind, l.macs, l.dense_params
            );
        }
    }
    Ok(())
}
