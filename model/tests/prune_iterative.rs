//! Iterative pruning with lottery-ticket retraining on a small synthetic Criteo-shaped set:
//! the schedule removes 20% of each layer's kept neurons per iteration, every retraining starts
//! from the same init, the masked model's hard mask holds during training, the folded and
//! pruned model computes what the masked model computes, and runs are deterministic.

use ndarray::Axis;
use recpim_model::data::{load_synthetic, LoadOptions, LoadedData, SyntheticShape};
use recpim_model::genotype::Genotype;
use recpim_model::net::genotype_graph::{compile_genotype, GenotypeBuild};
use recpim_model::net::graph::Graph;
use recpim_model::net::NetModel;
use recpim_model::prune::{
    iterative_prune, prunable_layers, prune_step, table_markdown, MaskedModel, NeuronMask,
    PruneConfig, PruneMethod,
};
use recpim_model::train::{train, BatchSource, TrainConfig};
use recpim_model::{CtrModel, StepHyper};

fn data() -> LoadedData {
    load_synthetic(SyntheticShape::Criteo, 3000, 4, &LoadOptions::default()).unwrap()
}

fn graph(d: &LoadedData) -> Graph {
    let text = r#"{"micro": [
        {"active_nodes": [0, 2], "dense_in_dims": 32, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 1},
        {"active_nodes": [0, 2], "dense_in_dims": 16, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0}],
      "macro": [
        {"dense_idx": [0], "sparse_idx": [0], "dense_left_idx": [0], "dense_right_idx": [0]},
        {"dense_idx": [1], "sparse_idx": [1], "dense_left_idx": [1], "dense_right_idx": [1]}],
      "num_blocks": 2, "use_layernorm": 0, "config": "autoctr"}"#;
    let g = Genotype::from_json_str(text, "test").unwrap();
    let s = d.train.schema();
    compile_genotype(
        &g,
        s.n_dense,
        s.n_sparse(),
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .unwrap()
}

fn small_train() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 256,
        patience: None,
        ..TrainConfig::default()
    }
}

#[test]
fn prune_step_removes_a_fifth_of_the_kept_neurons_per_layer() {
    let d = data();
    let g = graph(&d);
    let layers = prunable_layers(&g);
    let sizes: Vec<usize> = layers.iter().map(|l| l.neurons).collect();
    let mask = NeuronMask::full(&layers);
    // Scores: neuron j of every layer scores j, so the lowest indices go first.
    let scores: Vec<Vec<f64>> = sizes
        .iter()
        .map(|&n| (0..n).map(|j| j as f64).collect())
        .collect();
    let m1 = prune_step(&mask, &scores, 0.2);
    for (l, &n) in m1.layers.iter().zip(&sizes) {
        let removed = n / 5;
        assert!(l.keep[..removed].iter().all(|&k| !k), "{}", l.layer);
        assert!(l.keep[removed..].iter().all(|&k| k), "{}", l.layer);
    }
    // Removed neurons stay removed; a layer always keeps one neuron.
    let m2 = prune_step(&m1, &scores, 0.99);
    for (a, b) in m1.layers.iter().zip(&m2.layers) {
        assert!(a.keep.iter().zip(&b.keep).all(|(&x, &y)| x || !y));
        assert_eq!(b.keep.iter().filter(|&&k| k).count(), 1);
    }
}

#[test]
fn masked_model_starts_from_the_plain_models_init_and_keeps_its_hard_mask() {
    let d = data();
    let g = graph(&d);
    let schema = d.train.schema().clone();
    let plain = NetModel::new("m", g.clone(), &schema, 21).unwrap();
    let layers = prunable_layers(&g);
    let mut mask = NeuronMask::full(&layers);
    mask.layers[0].keep[..10]
        .iter_mut()
        .for_each(|k| *k = false);
    let mut masked = MaskedModel::new("m", g, &schema, 21, mask, Some(8)).unwrap();
    // Lottery ticket: same seed => the very same initial weights and tables.
    assert_eq!(masked.network().dense, plain.network().dense);
    assert_eq!(masked.network().tables, plain.network().tables);
    train(
        &mut masked,
        &d.train,
        Some(&d.val),
        &small_train(),
        false,
        &mut |_| {},
    )
    .unwrap();
    let eff = masked.effective_network();
    let w = &eff.dense[masked.layers()[0].weight];
    for j in 0..10 {
        assert!(w.column(j).iter().all(|&v| v == 0.0), "column {j}");
    }
    assert!(w.column(10).iter().any(|&v| v != 0.0));
    // The structurally pruned model gives the masked model's logits.
    let pruned = masked.pruned_model().unwrap();
    assert_eq!(
        pruned.graph().params[masked.layers()[0].weight].shape.1,
        layers_first_neurons(&masked) - 10
    );
    let rows: Vec<usize> = (0..d.val.num_rows()).collect();
    let batch = d.val.gather(&rows);
    let a = masked.predict_logits(&batch);
    let b = pruned.predict_logits(&batch);
    let gap = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0f32, f32::max);
    assert!(gap < 1e-4, "pruned vs masked logits differ by {gap}");
}

fn layers_first_neurons(m: &MaskedModel) -> usize {
    m.layers()[0].neurons
}

#[test]
fn masked_model_state_round_trips() {
    let d = data();
    let g = graph(&d);
    let schema = d.train.schema().clone();
    let layers = prunable_layers(&g);
    let mut m = MaskedModel::new("m", g, &schema, 3, NeuronMask::full(&layers), Some(4)).unwrap();
    let batch = d.train.gather(&(0..256).collect::<Vec<_>>());
    m.train_step(&batch, &StepHyper::default());
    let mut saved = Vec::new();
    m.save_state(&mut saved).unwrap();
    let before = m.predict_logits(&batch);
    m.train_step(&batch, &StepHyper::default());
    assert_ne!(m.predict_logits(&batch), before);
    m.load_state(&mut saved.as_slice()).unwrap();
    assert_eq!(m.predict_logits(&batch), before);
    assert!(m.load_state(&mut &saved[..saved.len() - 4]).is_err());
}

#[test]
fn iterative_pruning_shrinks_flops_and_is_deterministic() {
    let d = data();
    let g = graph(&d);
    let schema = d.train.schema().clone();
    let config = PruneConfig {
        iterations: 2,
        train: small_train(),
        mask_hidden: 8,
        ..PruneConfig::default()
    };
    let run = |method| {
        iterative_prune(
            "t",
            &g,
            &schema,
            &d.train,
            &d.val,
            d.test.as_ref().map(|t| t as &dyn BatchSource),
            method,
            &config,
            &mut |_| {},
        )
        .unwrap()
    };
    for method in [PruneMethod::Mask, PruneMethod::Magnitude] {
        let out = run(method);
        assert_eq!(out.rows.len(), 3);
        assert_eq!(out.rows[0].macs, g.forward_macs_per_example());
        assert!((out.rows[0].macs_kept_percent - 100.0).abs() < 1e-12);
        assert!(out.rows[1].macs < out.rows[0].macs);
        assert!(out.rows[2].macs < out.rows[1].macs);
        // b0's linear-2d output is added to its FM term (a padded sum), so it is not prunable;
        // b0's linear-3d feeds the FM (zero items add nothing) and b1. Three layers of 16
        // neurons: -3 each, then -2 each (floor of 20% of 13).
        let names: Vec<String> = prunable_layers(&g).into_iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            ["b0.linear-3d.fc", "b1.linear-2d.fc", "b1.linear-3d.fc"]
        );
        assert_eq!(out.rows[0].neurons_total, 48);
        assert_eq!(out.rows[1].neurons_kept, 48 - 9);
        assert_eq!(out.rows[2].neurons_kept, 48 - 9 - 6);
        for r in &out.rows {
            assert!(r.val_logloss.is_some_and(f64::is_finite));
            assert!(r.test_logloss.is_some_and(f64::is_finite));
        }
        assert_eq!(
            out.pruned.graph().forward_macs_per_example(),
            out.rows[2].macs
        );
        // Same inputs => same bytes.
        let again = run(method);
        assert_eq!(again.rows, out.rows);
        assert_eq!(again.mask, out.mask);
        let md = table_markdown(&out.rows);
        assert_eq!(md.lines().count(), 2 + 3);
    }
    let logits = |m: &NetModel| m.predict_logits(&d.val.gather(&[0, 1, 2]));
    let a = run(PruneMethod::Mask);
    let b = run(PruneMethod::Magnitude);
    // The methods score neurons differently.
    assert_ne!(a.mask, b.mask);
    assert_eq!(logits(&a.pruned).len_of(Axis(0)), 3);
}
