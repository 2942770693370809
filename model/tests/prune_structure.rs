//! Structured pruning removes whole neurons for real: smaller tensors, fewer multiply-adds, a
//! smaller simulator workload, and the kept neurons compute exactly what the hard-masked model
//! computes (f64).

mod net_support;

use net_support::random_inputs;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::data::SyntheticShape;
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{map_graph, MapOptions};
use recpim_model::net::genotype_graph::{compile_genotype, GenotypeBuild};
use recpim_model::net::graph::Graph;
use recpim_model::net::Network;
use recpim_model::prune::{
    hard_masked, prunable_layers, prune_graph, prune_network, NeuronMask, PrunableLayer,
};
use recpim_model::quant::BitAssignment;
use recpim_model::{DataSchema, ModelError};

fn schema() -> DataSchema {
    DataSchema {
        n_dense: 13,
        table_rows: vec![7; 26],
    }
}

const NO_LN: GenotypeBuild = GenotypeBuild {
    layernorm: false,
    operator_balancing: true,
};

/// Two blocks of linear-2d + linear-3d, block 1 reading block 0.
fn two_blocks() -> Genotype {
    let text = r#"{"micro": [
        {"active_nodes": [0, 2], "dense_in_dims": 32, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0},
        {"active_nodes": [0, 2], "dense_in_dims": 16, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0}],
      "macro": [
        {"dense_idx": [0], "sparse_idx": [0], "dense_left_idx": [0], "dense_right_idx": [0]},
        {"dense_idx": [1], "sparse_idx": [1], "dense_left_idx": [1], "dense_right_idx": [1]}],
      "num_blocks": 2, "use_layernorm": 0, "config": "autoctr"}"#;
    Genotype::from_json_str(text, "two_blocks").unwrap()
}

fn layer<'a>(layers: &'a [PrunableLayer], name: &str) -> &'a PrunableLayer {
    layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("{name} is not prunable: {layers:?}"))
}

fn drop_neurons(mask: &mut NeuronMask, name: &str, neurons: &[usize]) {
    let l = mask.layers.iter_mut().find(|l| l.layer == name).unwrap();
    for &j in neurons {
        l.keep[j] = false;
    }
}

/// Sum of rows x cols over the workload's crossbar MVMs.
fn mvm_cells(graph: &Graph, schema: &DataSchema) -> u64 {
    let bits = BitAssignment::uniform(graph.operators.clone(), 8, 8).unwrap();
    let mapped = map_graph(graph, &schema.table_rows, &bits, &MapOptions::default()).unwrap();
    mapped
        .workload
        .ops
        .iter()
        .map(|op| match op {
            recpim_sim::Op::Mvm { rows, cols, .. } => rows * cols,
            _ => 0,
        })
        .sum()
}

fn max_logit_gap(a: &Network<f64>, b: &Network<f64>, schema: &DataSchema) -> f64 {
    let (dense, sparse, _) = random_inputs(schema, 300, 11);
    let la = a.logits(dense.view(), sparse.view());
    let lb = b.logits(dense.view(), sparse.view());
    la.iter()
        .zip(&lb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn hand_built_genotype_shrinks_by_the_hand_counted_amount() {
    let s = schema();
    let graph = compile_genotype(&two_blocks(), 13, 26, NO_LN).unwrap();
    let layers = prunable_layers(&graph);
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "b0.linear-2d.fc",
            "b0.linear-3d.fc",
            "b1.linear-2d.fc",
            "b1.linear-3d.fc"
        ]
    );
    // 13*32 + 26*16*16 + 32*16 + 16*16*16 + (16 + 16*16).
    assert_eq!(graph.forward_macs_per_example(), 11_952);
    let mut mask = NeuronMask::full(&layers);
    drop_neurons(&mut mask, "b0.linear-2d.fc", &[0, 3, 4, 9, 10, 20, 30, 31]);
    drop_neurons(&mut mask, "b1.linear-3d.fc", &[1, 5, 6, 15]);
    let pruned = prune_graph(&graph, &layers, &mask).unwrap();
    // b0.linear-2d: 8 of 32 neurons: -13*8 own, -8*16 rows of b1.linear-2d.
    // b1.linear-3d: 4 of 16 items: -16*4*16 own, -4*16 rows of the head.
    assert_eq!(
        pruned.forward_macs_per_example(),
        11_952 - 13 * 8 - 8 * 16 - 16 * 4 * 16 - 4 * 16
    );
    let shape = |g: &Graph, key: &str| {
        g.params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.shape)
            .unwrap()
    };
    assert_eq!(shape(&pruned, "b0.linear-2d.fc.w"), (13, 24));
    assert_eq!(shape(&pruned, "b0.linear-2d.fc.b"), (24, 1));
    assert_eq!(shape(&pruned, "b1.linear-2d.fc.w"), (24, 16));
    assert_eq!(shape(&pruned, "b1.linear-3d.fc.w"), (16, 12));
    assert_eq!(shape(&pruned, "head.w"), (16 + 12 * 16, 1));
    // The simulator workload shrinks by exactly the removed weights.
    let removed = 13 * 8 + 8 * 16 + 16 * 4 + 4 * 16;
    assert_eq!(mvm_cells(&graph, &s) - mvm_cells(&pruned, &s), removed);
}

#[test]
fn pruned_network_equals_hard_masked_network() {
    let s = schema();
    let graph = compile_genotype(&two_blocks(), 13, 26, NO_LN).unwrap();
    let layers = prunable_layers(&graph);
    let net: Network<f64> = Network::init(graph, &s, 5).unwrap();
    let mut mask = NeuronMask::full(&layers);
    drop_neurons(&mut mask, "b0.linear-2d.fc", &[1, 2, 17]);
    drop_neurons(&mut mask, "b0.linear-3d.fc", &[0, 8]);
    drop_neurons(&mut mask, "b1.linear-2d.fc", &[15]);
    drop_neurons(&mut mask, "b1.linear-3d.fc", &[3, 4, 5]);
    let hard = hard_masked(&net, &layers, &mask).unwrap();
    let pruned = prune_network(&net, &layers, &mask).unwrap();
    assert!(
        pruned.dense.iter().map(|a| a.len()).sum::<usize>()
            < net.dense.iter().map(|a| a.len()).sum::<usize>()
    );
    let gap = max_logit_gap(&hard, &pruned, &s);
    assert!(gap < 1e-12, "pruned and hard-masked logits differ by {gap}");
    // And the mask really matters: the unmasked network computes something else.
    assert!(max_logit_gap(&net, &pruned, &s) > 1e-6);
}

/// Every shipped genotype: prune a random ~40% of every prunable layer; the pruned network
/// equals the hard-masked one, and MACs and crossbar cells go down.
#[test]
fn shipped_genotypes_prune_exactly() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/nasrec_genotypes"
    );
    for (ds, shape) in [
        ("criteo", SyntheticShape::Criteo),
        ("avazu", SyntheticShape::Avazu),
        ("kdd", SyntheticShape::Kdd),
    ] {
        for space in ["xlarge", "autoctr"] {
            let path = format!("{dir}/ea_{ds}_kaggle_{space}_best_1shot.json");
            let Ok(g) = Genotype::read_file(path.as_ref()) else {
                eprintln!("skipping: {path} not found");
                return;
            };
            // Small tables keep the test fast; the dense part is the real one.
            let s = DataSchema {
                n_dense: shape.schema().n_dense,
                table_rows: vec![5; shape.schema().n_sparse()],
            };
            let graph = compile_genotype(&g, s.n_dense, s.n_sparse(), NO_LN).unwrap();
            let layers = prunable_layers(&graph);
            assert!(!layers.is_empty(), "{ds} {space}: no prunable layer");
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut mask = NeuronMask::full(&layers);
            for l in &mut mask.layers {
                let n = l.keep.len();
                for j in 0..n {
                    l.keep[j] = rng.random_bool(0.6);
                }
                l.keep[rng.random_range(0..n)] = true;
            }
            let net: Network<f64> = Network::init(graph.clone(), &s, 9).unwrap();
            let hard = hard_masked(&net, &layers, &mask).unwrap();
            let pruned = prune_network(&net, &layers, &mask).unwrap();
            let gap = max_logit_gap(&hard, &pruned, &s);
            eprintln!(
                "{ds} {space}: {} prunable layers, {} neurons, MACs {} -> {}, gap {gap:e}",
                layers.len(),
                mask.total(),
                graph.forward_macs_per_example(),
                pruned.graph.forward_macs_per_example()
            );
            assert!(gap < 1e-9, "{ds} {space}: gap {gap}");
            assert!(pruned.graph.forward_macs_per_example() < graph.forward_macs_per_example());
            assert!(mvm_cells(&pruned.graph, &s) < mvm_cells(&graph, &s));
        }
    }
}

#[test]
fn bad_masks_are_rejected_with_the_layer_named() {
    let graph = compile_genotype(&two_blocks(), 13, 26, NO_LN).unwrap();
    let layers = prunable_layers(&graph);
    let mut short = NeuronMask::full(&layers);
    short.layers[0].keep.pop();
    let err = prune_graph(&graph, &layers, &short).unwrap_err();
    assert!(matches!(err, ModelError::InvalidPruneMask { .. }));
    assert!(err.to_string().contains("b0.linear-2d.fc"), "{err}");
    let mut empty = NeuronMask::full(&layers);
    empty.layers[1].keep.iter_mut().for_each(|k| *k = false);
    let err = prune_graph(&graph, &layers, &empty).unwrap_err();
    assert!(err.to_string().contains("no neuron kept"), "{err}");
    let mut fewer = NeuronMask::full(&layers);
    fewer.layers.pop();
    assert!(prune_graph(&graph, &layers, &fewer).is_err());
}

#[test]
fn layernorm_blocks_pruning_of_what_it_normalises() {
    // With LayerNorm a zero neuron still shifts the mean and variance: nothing before an LN is
    // prunable (only the last layers feeding the head without LN would be, and there are none).
    let ln = GenotypeBuild {
        layernorm: true,
        operator_balancing: true,
    };
    let graph = compile_genotype(&two_blocks(), 13, 26, ln).unwrap();
    assert!(prunable_layers(&graph).is_empty());
    let _ = layer(
        &prunable_layers(&compile_genotype(&two_blocks(), 13, 26, NO_LN).unwrap()),
        "b0.linear-2d.fc",
    );
}
