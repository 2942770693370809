//! The standalone NASRec model and the trainable-model machinery: whole-model gradients, the six
//! shipped genotypes, determinism (seed and thread count), saved states, sparse Adagrad.

mod net_support;

use net_support::{fd_check, random_batch, random_inputs};
use recpim_model::genotype::{Genotype, MacroChoice, MicroChoice};
use recpim_model::net::{build_nasrec, compile_genotype, GenotypeBuild, ModelOptions, Network};
use recpim_model::optim::{adagrad_dense, clip_coefficient};
use recpim_model::{CtrModel, DataSchema, ModelError, StepHyper};

fn micro(nodes: [usize; 2], d: usize, s: usize, dsi: u8, fm: u8) -> MicroChoice {
    MicroChoice {
        active_nodes: nodes.to_vec(),
        dense_in_dims: d,
        sparse_in_dims: s,
        dense_sparse_interact: dsi,
        deep_fm: fm,
    }
}

fn macro_(dense: &[usize], sparse: &[usize], l: usize, r: usize) -> MacroChoice {
    MacroChoice {
        dense_idx: dense.to_vec(),
        sparse_idx: sparse.to_vec(),
        dense_left_idx: vec![l],
        dense_right_idx: vec![r],
    }
}

/// A 4-block NASRec-Full genotype with tiny widths that uses every node and both mergers.
fn tiny_genotype() -> Genotype {
    Genotype {
        micro: vec![
            micro([2, 4], 4, 3, 1, 0),
            micro([1, 5], 6, 2, 0, 1),
            micro([3, 5], 5, 4, 1, 1),
            micro([0, 4], 3, 2, 0, 0),
        ],
        macro_: vec![
            macro_(&[0], &[0], 0, 0),
            macro_(&[1, 0], &[0, 1], 1, 0),
            macro_(&[2], &[2, 1], 2, 1),
            macro_(&[3, 1], &[3], 0, 3),
        ],
        num_blocks: 4,
        use_layernorm: 1,
        config: "xlarge".to_string(),
        test_loss: None,
    }
}

/// [`tiny_genotype`] compiled for `n_dense` dense features and the four tables of
/// [`tiny_schema`], LayerNorm and operator balancing on.
fn tiny_graph(n_dense: usize) -> recpim_model::net::graph::Graph {
    compile_genotype(
        &tiny_genotype(),
        n_dense,
        4,
        GenotypeBuild {
            layernorm: true,
            operator_balancing: true,
        },
    )
    .expect("compiles")
}

fn tiny_schema() -> DataSchema {
    DataSchema {
        n_dense: 3,
        table_rows: vec![5, 4, 6, 3],
    }
}

fn genotype_file(name: &str) -> Option<Genotype> {
    let path = format!(
        "{}/../../shared/data/nasrec_genotypes/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("shipped genotype parses")),
        Err(_) => {
            eprintln!("skipping: {path} not found");
            None
        }
    }
}

#[test]
fn whole_model_gradients_match_finite_differences() {
    for (ln, balancing) in [(false, true), (true, true), (true, false)] {
        let graph = compile_genotype(
            &tiny_genotype(),
            3,
            4,
            GenotypeBuild {
                layernorm: ln,
                operator_balancing: balancing,
            },
        )
        .expect("tiny genotype compiles");
        let checked = fd_check(graph, &tiny_schema(), 5, 21, 25);
        assert!(checked > 500, "only {checked} entries checked");
    }
}

#[test]
fn whole_model_gradients_without_dense_features() {
    let schema = DataSchema {
        n_dense: 0,
        table_rows: vec![5, 4, 6, 3],
    };
    let graph = tiny_graph(0);
    assert!(fd_check(graph, &schema, 4, 22, 20) > 300);
}

#[test]
fn six_shipped_genotypes_build_and_train_on_criteo_and_frappe_shapes() {
    let criteo = DataSchema {
        n_dense: 13,
        table_rows: vec![50; 26],
    };
    let frappe = DataSchema {
        n_dense: 0,
        table_rows: vec![30; 10],
    };
    for ds in ["criteo", "avazu", "kdd"] {
        for space in ["autoctr", "xlarge"] {
            let Some(g) = genotype_file(&format!("ea_{ds}_kaggle_{space}_best_1shot.json")) else {
                return;
            };
            for schema in [&criteo, &frappe] {
                let mut m = build_nasrec(&g, schema, &ModelOptions::default(), 1).expect("builds");
                let batch = random_batch(schema, 16, 2);
                let stats = m.train_step(&batch, &StepHyper::default());
                assert!(
                    stats.loss.is_finite() && stats.grad_norm.is_finite() && stats.grad_norm > 0.0
                );
                let logits = m.predict_logits(&batch);
                assert_eq!(logits.len(), 16);
                assert!(logits.iter().all(|v| v.is_finite()));
                let counts = m.param_counts();
                assert_eq!(
                    counts.embedding,
                    schema.table_rows.iter().sum::<usize>() * 16
                );
                assert!(counts.dense > 10_000);
            }
        }
    }
}

#[test]
fn criteo_full_head_reads_last_block_dense_and_sparse() {
    let Some(g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let schema = DataSchema {
        n_dense: 13,
        table_rows: vec![10; 26],
    };
    let m = build_nasrec(&g, &schema, &ModelOptions::default(), 0).expect("builds");
    // Last block: d = 128, s = 48 with dsi = 0: head in = 128 + 48 * 16 (nasrec-spec §1 "Head").
    let head = m
        .graph()
        .params
        .iter()
        .find(|p| p.key == "head.w")
        .expect("head");
    assert_eq!(head.shape, (128 + 48 * 16, 1));
    // Block 0: gating over the raw dense input (13 wide) to d = 128, transformer to s = 64 over 26 items.
    let gate = m
        .graph()
        .params
        .iter()
        .find(|p| p.key == "b0.sigmoid-gating.gate.w")
        .expect("gate");
    assert_eq!(gate.shape, (13, 13));
    let proj = m
        .graph()
        .params
        .iter()
        .find(|p| p.key == "b0.transformer.item_proj.w")
        .expect("item proj");
    assert_eq!(proj.shape, (26, 64));
    // Block 2 reads sparse outputs [2, 1, 0]: 32 + 64 + 26 items (block 1: s = 64, no dsi; block 0: 64 + 8).
    let l3 = m
        .graph()
        .params
        .iter()
        .find(|p| p.key == "b2.linear-3d.fc.w")
        .expect("linear-3d");
    assert_eq!(l3.shape, (64 + (64 + 8) + 26, 32));
    // Block 6 reads dense [0, 3, 2] and sparse [3, 1] (outputs of blocks 2 and 1) and has no
    // binary node; blocks 3, 4 and 5 feed only each other, so they cannot change the logit and
    // are not built.
    for dead in ["b3.", "b4.", "b5."] {
        assert!(
            m.graph().params.iter().all(|p| !p.key.starts_with(dead)),
            "{dead}"
        );
    }
    for live in ["b0.", "b1.", "b2.", "b6."] {
        assert!(
            m.graph().params.iter().any(|p| p.key.starts_with(live)),
            "{live}"
        );
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let g = tiny_genotype();
    let schema = tiny_schema();
    let state = |seed: u64| {
        let mut m = build_nasrec(&g, &schema, &ModelOptions::default(), seed).expect("builds");
        for step in 0..3 {
            m.train_step(&random_batch(&schema, 40, step), &StepHyper::default());
        }
        let mut bytes = Vec::new();
        m.save_state(&mut bytes).expect("save");
        bytes
    };
    assert_eq!(state(5), state(5));
    assert_ne!(state(5), state(6));
}

#[test]
fn one_and_two_threads_give_identical_bits() {
    let Some(g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let schema = DataSchema {
        n_dense: 13,
        table_rows: vec![40; 26],
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let mut m = build_nasrec(&g, &schema, &ModelOptions::default(), 3).expect("builds");
            // 300 rows = 3 chunks of at most 128.
            for step in 0..2 {
                m.train_step(&random_batch(&schema, 300, step), &StepHyper::default());
            }
            let mut bytes = Vec::new();
            m.save_state(&mut bytes).expect("save");
            (bytes, m.predict_logits(&random_batch(&schema, 300, 9)))
        })
    };
    let (a, la) = run(1);
    let (b, lb) = run(2);
    assert!(a == b, "states differ between 1 and 2 threads");
    assert_eq!(la, lb);
}

#[test]
fn chunked_batch_equals_one_chunk() {
    let graph = tiny_graph(3);
    let net = Network::<f64>::init(graph, &tiny_schema(), 4).expect("init");
    let (d, s, l) = random_inputs(&tiny_schema(), 300, 8);
    let mut work = Vec::new();
    let chunked = net.loss_grads(d.view(), s.view(), l.view(), &mut work);
    assert!(work.len() >= 3);
    let mut whole = net.zero_grads();
    let single = net.loss_grads_chunk(d.view(), s.view(), l.view(), 1.0, &mut whole);
    assert!((chunked - single).abs() < 1e-12, "{chunked} vs {single}");
    for (a, b) in work[0].dense.iter().zip(&whole.dense) {
        let diff = (a - b).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(diff < 1e-12, "gradient differs by {diff}");
    }
}

#[test]
fn save_load_round_trip_and_shape_errors() {
    let g = tiny_genotype();
    let schema = tiny_schema();
    let mut a = build_nasrec(&g, &schema, &ModelOptions::default(), 1).expect("builds");
    a.train_step(&random_batch(&schema, 20, 1), &StepHyper::default());
    let mut bytes = Vec::new();
    a.save_state(&mut bytes).expect("save");
    let mut b = build_nasrec(&g, &schema, &ModelOptions::default(), 2).expect("builds");
    b.load_state(&mut bytes.as_slice()).expect("load");
    let batch = random_batch(&schema, 20, 3);
    assert_eq!(a.predict_logits(&batch), b.predict_logits(&batch));
    a.train_step(&batch, &StepHyper::default());
    b.train_step(&batch, &StepHyper::default());
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    a.save_state(&mut sa).expect("save");
    b.save_state(&mut sb).expect("save");
    assert!(sa == sb, "optimizer state was restored too");

    // Another architecture (LayerNorm adds tensors): a clear error, and the model is unchanged.
    let mut c = build_nasrec(
        &g,
        &schema,
        &ModelOptions {
            layernorm: true,
            operator_balancing: true,
        },
        1,
    )
    .expect("builds");
    let before = c.predict_logits(&batch);
    let err = c
        .load_state(&mut bytes.as_slice())
        .expect_err("shape mismatch");
    assert!(matches!(err, ModelError::Checkpoint(_)), "{err}");
    assert_eq!(c.predict_logits(&batch), before);
    // Other table sizes.
    let mut d = build_nasrec(
        &g,
        &DataSchema {
            n_dense: 3,
            table_rows: vec![5, 4, 6, 4],
        },
        &ModelOptions::default(),
        1,
    )
    .expect("builds");
    assert!(d.load_state(&mut bytes.as_slice()).is_err());
    // Garbage and truncation.
    assert!(a.load_state(&mut &b"not a state"[..]).is_err());
    assert!(a.load_state(&mut &bytes[..bytes.len() / 2]).is_err());
}

#[test]
fn embedding_rows_outside_the_batch_are_untouched() {
    let g = tiny_genotype();
    let schema = DataSchema {
        n_dense: 3,
        table_rows: vec![50, 40, 60, 30],
    };
    let mut m = build_nasrec(&g, &schema, &ModelOptions::default(), 1).expect("builds");
    let mut batch = random_batch(&schema, 8, 4);
    batch.sparse.column_mut(0).fill(7);
    let before = m.network().tables[0][0].clone();
    m.train_step(&batch, &StepHyper::default());
    let after = &m.network().tables[0][0];
    for r in 0..50 {
        let changed = before.row(r) != after.row(r);
        assert_eq!(changed, r == 7, "row {r}");
    }
}

#[test]
fn an_empty_batch_changes_nothing() {
    let schema = tiny_schema();
    let mut m =
        build_nasrec(&tiny_genotype(), &schema, &ModelOptions::default(), 1).expect("builds");
    let empty = random_batch(&schema, 0, 1);
    let (mut before, mut after) = (Vec::new(), Vec::new());
    m.save_state(&mut before).expect("save");
    let stats = m.train_step(&empty, &StepHyper::default());
    assert_eq!((stats.loss, stats.grad_norm), (0.0, 0.0));
    assert_eq!(m.predict_logits(&empty).len(), 0);
    m.save_state(&mut after).expect("save");
    assert!(before == after);
}

#[test]
fn rows_outside_a_table_read_the_oov_row() {
    let g = tiny_genotype();
    let schema = tiny_schema();
    let m = build_nasrec(&g, &schema, &ModelOptions::default(), 1).expect("builds");
    let mut batch = random_batch(&schema, 6, 4);
    batch.sparse.column_mut(2).fill(0);
    let expect = m.predict_logits(&batch);
    batch.sparse.column_mut(2).fill(1_000_000);
    assert_eq!(m.predict_logits(&batch), expect);
}

#[test]
fn adagrad_and_clip_match_hand_computation() {
    // p = 1, g = 0.5, lr = 0.1, eps = 0.01: sum = 0.25, p = 1 - 0.1 * 0.5 / (0.5 + 0.01).
    let mut p = [1.0f32];
    let mut acc = [0.0f32];
    adagrad_dense(&mut p, &[0.5], &mut acc, 0.1, 0.01, 1.0, 0.0);
    assert!((p[0] - (1.0 - 0.05 / 0.51)).abs() < 1e-7);
    assert_eq!(acc[0], 0.25);
    // Second step with g = 0.5 again: sum = 0.5.
    adagrad_dense(&mut p, &[0.5], &mut acc, 0.1, 0.01, 1.0, 0.0);
    assert!((p[0] - (1.0 - 0.05 / 0.51 - 0.05 / (0.5f32.sqrt() + 0.01))).abs() < 1e-6);
    // clip_grad_norm_: factor max/(norm + 1e-6) when above, 1 otherwise.
    assert_eq!(clip_coefficient(4.0, 5.0), 1.0);
    assert!((clip_coefficient(10.0, 5.0) - 0.5).abs() < 1e-6);
    assert_eq!(clip_coefficient(1e9, f32::INFINITY), 1.0);
}

#[test]
fn training_learns_a_planted_signal() {
    let g = tiny_genotype();
    let schema = DataSchema {
        n_dense: 3,
        table_rows: vec![20, 4, 6, 3],
    };
    let mut m = build_nasrec(&g, &schema, &ModelOptions::default(), 1).expect("builds");
    let mut batches = Vec::new();
    for i in 0..8 {
        let mut b = random_batch(&schema, 64, 100 + i);
        for r in 0..64 {
            b.labels[r] = if b.sparse[[r, 0]] < 10 { 1.0 } else { 0.0 };
        }
        batches.push(b);
    }
    let hyper = StepHyper {
        lr: 0.05,
        ..StepHyper::default()
    };
    let first: f32 = batches
        .iter()
        .map(|b| m.train_step(b, &hyper).loss)
        .sum::<f32>()
        / 8.0;
    let mut last = 0.0;
    for _ in 0..15 {
        last = batches
            .iter()
            .map(|b| m.train_step(b, &hyper).loss)
            .sum::<f32>()
            / 8.0;
    }
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

#[test]
fn invalid_genotypes_are_rejected_with_the_block_and_key() {
    let schema = tiny_schema();
    let opts = ModelOptions::default();
    let mut g = tiny_genotype();
    g.macro_[1].dense_idx = vec![2];
    let e = build_nasrec(&g, &schema, &opts, 0)
        .expect_err("later block")
        .to_string();
    assert!(e.contains("block 1") && e.contains("dense_idx"), "{e}");
    let mut g = tiny_genotype();
    g.macro_[2].sparse_idx.clear();
    let e = build_nasrec(&g, &schema, &opts, 0)
        .expect_err("empty")
        .to_string();
    assert!(e.contains("block 2") && e.contains("sparse_idx"), "{e}");
    let mut g = tiny_genotype();
    g.micro[0].active_nodes = vec![9, 4];
    let e = build_nasrec(&g, &schema, &opts, 0)
        .expect_err("node")
        .to_string();
    assert!(e.contains("active_nodes"), "{e}");
    let mut g = tiny_genotype();
    g.micro[0].active_nodes = vec![4, 5];
    assert!(
        build_nasrec(&g, &schema, &opts, 0).is_err(),
        "no dense node"
    );
    let mut g = tiny_genotype();
    g.config = "huge".to_string();
    assert!(build_nasrec(&g, &schema, &opts, 0).is_err());
    let mut g = tiny_genotype();
    g.num_blocks = 5;
    assert!(build_nasrec(&g, &schema, &opts, 0).is_err());
    let bad_schema = DataSchema {
        n_dense: 3,
        table_rows: vec![5, 0, 6, 3],
    };
    assert!(build_nasrec(&tiny_genotype(), &bad_schema, &opts, 0).is_err());
}

/// Prediction runs the attention layers without keeping their softmax exponentials but gives the
/// training forward's logits bit for bit (f32: the production kernels), for a genotype with two
/// transformer nodes.
#[test]
fn inference_logits_equal_the_training_forwards() {
    let graph = tiny_graph(3);
    let net = Network::<f32>::init(graph, &tiny_schema(), 5).expect("init");
    let batch = random_batch(&tiny_schema(), 37, 9);
    let (dense, sparse) = (batch.dense.view(), batch.sparse.view());
    let training = recpim_model::net::engine::forward(&net.graph, net.params(), dense, sparse)
        .logits(&net.graph);
    let inference = net.logits_chunk(dense, sparse);
    let bits = |a: &ndarray::Array1<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(training.len(), 37);
    assert_eq!(bits(&training), bits(&inference));
}
