//! Cost of training under masks (model/PRUNING.md): one `train_step` (batch 256, 2 threads) of the
//! Criteo NASRec-Small genotype as a plain `NetModel`, as a `MaskedModel` with only the hard
//! neuron mask (magnitude-based pruning), with the learned mask MLPs (mask-based pruning,
//! 16 hidden units), and of the structurally pruned model after three 20% steps.

use divan::Bencher;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::Genotype;
use recpim_model::net::genotype_graph::{compile_genotype, GenotypeBuild};
use recpim_model::net::graph::Graph;
use recpim_model::net::NetModel;
use recpim_model::prune::{prunable_layers, prune_step, MaskedModel, NeuronMask};
use recpim_model::{Batch, CtrModel, DataSchema, StepHyper};

const TABLE_ROWS: usize = 10_000;
const BATCH: usize = 256;

fn schema() -> DataSchema {
    DataSchema {
        n_dense: 13,
        table_rows: vec![TABLE_ROWS; 26],
    }
}

fn graph() -> Graph {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/nasrec_genotypes/ea_criteo_kaggle_autoctr_best_1shot.json"
    );
    let g = Genotype::read_file(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    compile_genotype(
        &g,
        13,
        26,
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn batch() -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    Batch {
        dense: ndarray::Array2::from_shape_simple_fn((BATCH, 13), || rng.random_range(0.0..5.0f32)),
        sparse: ndarray::Array2::from_shape_simple_fn((BATCH, 26), || {
            rng.random_range(0..TABLE_ROWS as u32)
        }),
        labels: ndarray::Array1::from_shape_simple_fn(BATCH, || {
            if rng.random_bool(0.25) {
                1.0
            } else {
                0.0
            }
        }),
    }
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Three pruning steps of 20% (lowest index first), as `recpim prune --iterations 3` shapes it.
fn mask_after_three_steps(g: &Graph) -> NeuronMask {
    let layers = prunable_layers(g);
    let scores: Vec<Vec<f64>> = layers
        .iter()
        .map(|l| (0..l.neurons).map(|j| j as f64).collect())
        .collect();
    let mut mask = NeuronMask::full(&layers);
    for _ in 0..3 {
        mask = prune_step(&mask, &scores, 0.2);
    }
    mask
}

fn step(bencher: Bencher, mut model: Box<dyn CtrModel>) {
    let data = batch();
    let hyper = StepHyper::default();
    let p = pool();
    bencher.bench_local(|| p.install(|| model.train_step(&data, &hyper)));
}

#[divan::bench]
fn plain_net_model(bencher: Bencher) {
    let m = NetModel::new("b", graph(), &schema(), 0).unwrap_or_else(|e| panic!("{e}"));
    step(bencher, Box::new(m));
}

#[divan::bench]
fn masked_hard_only(bencher: Bencher) {
    let g = graph();
    let mask = NeuronMask::full(&prunable_layers(&g));
    let m = MaskedModel::new("b", g, &schema(), 0, mask, None).unwrap_or_else(|e| panic!("{e}"));
    step(bencher, Box::new(m));
}

#[divan::bench]
fn masked_with_mask_mlps(bencher: Bencher) {
    let g = graph();
    let mask = NeuronMask::full(&prunable_layers(&g));
    let m =
        MaskedModel::new("b", g, &schema(), 0, mask, Some(16)).unwrap_or_else(|e| panic!("{e}"));
    step(bencher, Box::new(m));
}

#[divan::bench]
fn pruned_after_three_steps(bencher: Bencher) {
    let g = graph();
    let mask = mask_after_three_steps(&g);
    let m = MaskedModel::new("b", g, &schema(), 0, mask, None).unwrap_or_else(|e| panic!("{e}"));
    let pruned = m.pruned_model().unwrap_or_else(|e| panic!("{e}"));
    step(bencher, Box::new(pruned));
}

fn main() {
    divan::main();
}
