//! The weight-sharing supernet by slicing (nasrec-spec §7.2): a subnet's forward inside the
//! supernet equals its standalone model's with the same weights; gradients land in its slices
//! only; the row layout matches the reference's zero-masked max-width inputs. With the
//! operator-balancing projection off (§7.6), the dot product's output projection has one max row
//! per pair of the max item list, and the same holds.

mod net_support;

use ndarray::Array2;
use net_support::random_batch;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::{
    Genotype, MacroChoice, MicroChoice, SearchSpace, DENSE_DIMS, SPARSE_DIMS,
};
use recpim_model::net::params::{ParamSpec, RowRun};
use recpim_model::net::{ModelOptions, Supernet};
use recpim_model::{CtrModel, DataSchema, StepHyper};

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

fn schema() -> DataSchema {
    DataSchema {
        n_dense: 13,
        table_rows: vec![30; 26],
    }
}

const LN: ModelOptions = ModelOptions {
    layernorm: true,
    operator_balancing: true,
};

/// A NASRec-Full supernet (LayerNorm, balancing on) and the shipped Criteo-Full genotype's
/// parameter slices in it, or `None` when the shared data is not there.
fn criteo_full_subnet() -> Option<(Supernet, Vec<ParamSpec>)> {
    let g = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json")?;
    let sn = Supernet::new(SearchSpace::Full, &schema(), &LN, 0).expect("supernet");
    let specs = sn.subnet_params(&g).expect("subnet");
    Some((sn, specs))
}

fn max_abs_diff(a: &ndarray::Array1<f32>, b: &ndarray::Array1<f32>) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn subnet_forward_equals_extracted_standalone() {
    for (file, space) in [
        ("ea_criteo_kaggle_xlarge_best_1shot.json", SearchSpace::Full),
        (
            "ea_criteo_kaggle_autoctr_best_1shot.json",
            SearchSpace::Small,
        ),
    ] {
        let Some(g) = genotype_file(file) else { return };
        let mut sn = Supernet::new(space, &schema(), &LN, 7).expect("supernet");
        let batch = random_batch(&schema(), 40, 1);
        // Before and after training a few subnet steps (gradients written back into the slices).
        for round in 0..2 {
            let inside = sn.forward_subnet(&g, &batch).expect("subnet forward");
            let standalone = sn.extract_standalone(&g).expect("extract");
            let alone = standalone.predict_logits(&batch);
            assert!(
                max_abs_diff(&inside, &alone) < 1e-5,
                "round {round}: {}",
                max_abs_diff(&inside, &alone)
            );
            for s in 0..3 {
                let st = sn
                    .train_step_subnet(
                        &g,
                        &random_batch(&schema(), 32, 10 + s),
                        &StepHyper::default(),
                    )
                    .expect("step");
                assert!(st.loss.is_finite());
            }
        }
    }
}

#[test]
fn standalone_and_supernet_steps_agree() {
    // One step of the subnet inside the supernet equals one step of its extracted standalone
    // model (fresh Adagrad state in both), so the step is the standalone step on the slices.
    let Some(g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let mut sn = Supernet::new(SearchSpace::Full, &schema(), &LN, 3).expect("supernet");
    let mut alone = sn.extract_standalone(&g).expect("extract");
    let batch = random_batch(&schema(), 50, 2);
    let a = sn
        .train_step_subnet(&g, &batch, &StepHyper::default())
        .expect("step");
    let b = alone.train_step(&batch, &StepHyper::default());
    assert_eq!(a, b);
    let probe = random_batch(&schema(), 20, 5);
    let inside = sn.forward_subnet(&g, &probe).expect("forward");
    assert!(max_abs_diff(&inside, &alone.predict_logits(&probe)) < 1e-5);
}

#[test]
fn gradients_land_in_the_subnet_slices_only() {
    let Some(g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let mut sn = Supernet::new(SearchSpace::Full, &schema(), &LN, 3).expect("supernet");
    // Block 6 (the last, so live; blocks 4 and 5 of this genotype feed nothing): linear-2d with
    // d = 128 over dense sources [0, 3, 2].
    let key = "b6.linear-2d.fc.w";
    let before = sn.tensor(key).expect("tensor").clone();
    assert_eq!(
        before.dim(),
        (13 + 6 * 1024, 1024),
        "max width: every source 0..=6, 1024 outputs"
    );
    sn.train_step_subnet(&g, &random_batch(&schema(), 32, 1), &StepHyper::default())
        .expect("step");
    let after = sn.tensor(key).expect("tensor");
    // Active rows: source 0 at 0..13, source k >= 1 at 13 + 1024 (k - 1) + (0..d_k) with d of
    // blocks 1 and 2 = 32 and 768 (sources 2 and 3).
    let mut active = vec![false; before.nrows()];
    for (start, len) in [(0, 13), (13 + 1024, 32), (13 + 2 * 1024, 768)] {
        active[start..start + len]
            .iter_mut()
            .for_each(|a| *a = true);
    }
    for r in 0..before.nrows() {
        for c in [0, 100, 127, 128, 500] {
            let changed = before[[r, c]] != after[[r, c]];
            let in_slice = active[r] && c < 128;
            if !in_slice {
                assert!(!changed, "row {r} col {c} changed outside the subnet");
            }
        }
    }
    let changed_inside = (0..13)
        .filter(|&r| (0..128).any(|c| before[[r, c]] != after[[r, c]]))
        .count();
    assert!(changed_inside > 0, "the subnet's own slice was trained");
}

#[test]
fn row_runs_follow_the_reference_zero_masked_layout() {
    let Some((sn, specs)) = criteo_full_subnet() else {
        return;
    };
    // Block 2 linear-3d reads sparse outputs [2, 1, 0]: block 1 output (s = 64, no dsi) at max
    // slot 2, block 0 output (s = 64 + dsi 8) at slot 1, raw (26 items) at slot 0. Max slots are
    // 26, 72, 72 items; dsi items sit at 64..72 of their slot.
    let l3 = specs
        .iter()
        .find(|p| p.key == "b2.linear-3d.fc.w")
        .expect("b2 linear-3d");
    assert_eq!(
        l3.row_runs,
        vec![
            RowRun {
                compact_start: 0,
                max_start: 26 + 72,
                len: 64
            },
            RowRun {
                compact_start: 64,
                max_start: 26,
                len: 64
            },
            RowRun {
                compact_start: 128,
                max_start: 26 + 64,
                len: 8
            },
            RowRun {
                compact_start: 136,
                max_start: 0,
                len: 26
            },
        ]
    );
    assert_eq!(l3.max_shape, (26 + 72 + 72, 64));
    // The head reads block 6: d = 128 then 48 items (flattened, leading).
    let head = specs.iter().find(|p| p.key == "head.w").expect("head");
    assert_eq!(
        head.row_runs,
        vec![
            RowRun {
                compact_start: 0,
                max_start: 0,
                len: 128
            },
            RowRun {
                compact_start: 128,
                max_start: 1024,
                len: 48 * 16
            }
        ]
    );
    assert_eq!(head.max_shape, (1024 + 72 * 16, 1));
    // Every subnet tensor fits its max tensor.
    for p in &specs {
        let t = sn.tensor(&p.key).expect("present");
        assert_eq!(t.dim(), p.max_shape, "{}", p.key);
        for r in &p.row_runs {
            assert!(
                r.max_start + r.len <= p.max_shape.0 && p.shape.1 <= p.max_shape.1,
                "{}",
                p.key
            );
        }
    }
}

#[test]
fn full_path_trains_and_threads_do_not_change_bits() {
    let schema = DataSchema {
        n_dense: 13,
        table_rows: vec![20; 26],
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let mut sn =
                Supernet::with_blocks(SearchSpace::Small, 3, &schema, &LN, 1).expect("supernet");
            let full = sn.full_path();
            let mut losses = Vec::new();
            for s in 0..2 {
                losses.push(
                    sn.train_step_subnet(
                        &full,
                        &random_batch(&schema, 200, s),
                        &StepHyper::default(),
                    )
                    .expect("step")
                    .loss,
                );
            }
            let probe = random_batch(&schema, 10, 9);
            (losses, sn.forward_subnet(&full, &probe).expect("forward"))
        })
    };
    let (la, pa) = run(1);
    let (lb, pb) = run(2);
    assert!(la.iter().all(|l| l.is_finite()));
    assert_eq!(la, lb);
    assert_eq!(pa, pb);
}

#[test]
fn mismatched_subnets_and_options_are_errors() {
    let schema = schema();
    let Some(small) = genotype_file("ea_criteo_kaggle_autoctr_best_1shot.json") else {
        return;
    };
    let sn = Supernet::new(SearchSpace::Full, &schema, &LN, 0).expect("supernet");
    let batch = random_batch(&schema, 4, 0);
    assert!(
        sn.forward_subnet(&small, &batch).is_err(),
        "a Small genotype in the Full supernet"
    );
    let Some(mut g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    g.micro[6].dense_in_dims = 2048;
    let e = sn
        .forward_subnet(&g, &batch)
        .expect_err("too wide")
        .to_string();
    assert!(e.contains("does not fit"), "{e}");
}

// ---- operator balancing off ----

const UNBALANCED: ModelOptions = ModelOptions {
    layernorm: true,
    operator_balancing: false,
};

/// Few fields and blocks: the unbalanced max-width interaction grows with the square of the
/// block's candidate items (here 1 + 6 + 72 i).
fn small_schema() -> DataSchema {
    DataSchema {
        n_dense: 5,
        table_rows: vec![30; 6],
    }
}

/// A random NASRec-Small genotype whose every block has the dot product (node 1) and reads a
/// random, randomly ordered set of sparse sources; `dense_idx` holds the previous output so that
/// every block is live.
fn random_dot_product_genotype(blocks: usize, seed: u64) -> Genotype {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut micro = Vec::new();
    let mut macro_ = Vec::new();
    for i in 0..blocks {
        let mut sources: Vec<usize> = (0..=i).collect();
        sources.shuffle(&mut rng);
        let n = rng.random_range(1..=sources.len().min(4));
        let sparse_idx = sources[..n].to_vec();
        let mut dense_idx = vec![i];
        if i > 0 && rng.random_bool(0.5) {
            dense_idx.push(rng.random_range(0..i));
        }
        micro.push(MicroChoice {
            active_nodes: if rng.random_bool(0.3) {
                vec![0, 1, 2]
            } else {
                vec![1, 2]
            },
            dense_in_dims: DENSE_DIMS[rng.random_range(0..DENSE_DIMS.len())],
            sparse_in_dims: SPARSE_DIMS[rng.random_range(0..SPARSE_DIMS.len())],
            dense_sparse_interact: rng.random_range(0..2),
            deep_fm: rng.random_range(0..2),
        });
        macro_.push(MacroChoice {
            dense_idx,
            sparse_idx,
            dense_left_idx: vec![rng.random_range(0..=i)],
            dense_right_idx: vec![rng.random_range(0..=i)],
        });
    }
    Genotype {
        micro,
        macro_,
        num_blocks: blocks,
        use_layernorm: 1,
        config: "autoctr".to_string(),
        test_loss: None,
    }
}

#[test]
fn unbalanced_subnets_forward_equals_standalone() {
    let schema = small_schema();
    let mut sn = Supernet::with_blocks(SearchSpace::Small, 3, &schema, &UNBALANCED, 5)
        .expect("an unbalanced supernet");
    let mut seen = std::collections::HashSet::new();
    for seed in 0..8 {
        let g = random_dot_product_genotype(3, 100 + seed);
        seen.insert(g.macro_[2].sparse_idx.clone());
        let batch = random_batch(&schema, 24, seed);
        for round in 0..2 {
            let inside = sn.forward_subnet(&g, &batch).expect("subnet forward");
            let alone = sn
                .extract_standalone(&g)
                .expect("extract")
                .predict_logits(&batch);
            let diff = max_abs_diff(&inside, &alone);
            assert!(diff < 1e-5, "genotype {seed} round {round}: {diff}");
            let st = sn
                .train_step_subnet(
                    &g,
                    &random_batch(&schema, 32, 50 + seed),
                    &StepHyper::default(),
                )
                .expect("step");
            assert!(st.loss.is_finite());
        }
    }
    assert!(
        seen.len() >= 4,
        "the draws read different source sets: {seen:?}"
    );
    // The full path (every source, every pair) runs too.
    let full = sn.full_path();
    let batch = random_batch(&schema, 8, 99);
    let inside = sn.forward_subnet(&full, &batch).expect("full path");
    let alone = sn
        .extract_standalone(&full)
        .expect("extract")
        .predict_logits(&batch);
    assert!(max_abs_diff(&inside, &alone) < 1e-5);
}

/// `i (i - 1) / 2`: first row of pair row i in the strict lower triangle.
fn tril(i: usize) -> usize {
    i * i.saturating_sub(1) / 2
}

/// Block 2 of NASRec-Small reading sparse sources [2, 0] (out of slot order) with the dot product
/// at d = 32; block 1 has s = 16 and the dense-to-sparse items.
fn pair_layout_genotype() -> Genotype {
    let mut g = random_dot_product_genotype(3, 7);
    g.micro[1].sparse_in_dims = 16;
    g.micro[1].dense_sparse_interact = 1;
    g.micro[2].active_nodes = vec![1, 2];
    g.micro[2].dense_in_dims = 32;
    g.macro_[2].sparse_idx = vec![2, 0];
    g
}

/// Max item position of every compact item of block 2's interaction input in
/// [`pair_layout_genotype`], derived from the reference's zero-padded concatenation: item 0 is the
/// dense item; then the sources' slots (raw 6 items, block 0 and block 1 outputs 64 + 8 items
/// each), read in the genotype's order.
fn pair_layout_positions() -> Vec<usize> {
    let n_sparse = 6;
    let slot = |k: usize| 1 + if k == 0 { 0 } else { n_sparse + 72 * (k - 1) };
    let mut pos = vec![0];
    // Source 2 = block 1's output: 16 items, then its 8 dense-to-sparse items at 64..72.
    pos.extend((0..16).map(|n| slot(2) + n));
    pos.extend((64..72).map(|n| slot(2) + n));
    // Source 0 = the raw embeddings.
    pos.extend((0..n_sparse).map(|n| slot(0) + n));
    pos
}

#[test]
fn unbalanced_interaction_rows_are_the_pairs_of_the_max_item_list() {
    let schema = small_schema();
    let sn =
        Supernet::with_blocks(SearchSpace::Small, 3, &schema, &UNBALANCED, 1).expect("supernet");
    let g = pair_layout_genotype();
    let key = "b2.dot-product.out_proj.w";
    let spec = sn
        .subnet_params(&g)
        .expect("subnet")
        .into_iter()
        .find(|p| p.key == key)
        .expect("out_proj");
    let pos = pair_layout_positions();
    let p = pos.len();
    // Max item list of block 2: the dense item, raw 6 items, blocks 0 and 1 at 72 items each.
    let max_p = 1 + 6 + 2 * 72;
    assert_eq!(spec.shape, (tril(p), 32));
    assert_eq!(spec.max_shape, (tril(max_p), 1024));
    assert_eq!(sn.tensor(key).expect("tensor").dim(), spec.max_shape);
    // Compact pair (i, j), i > j, at row tril(i) + j; its max row is the unordered pair's.
    let mut expected = vec![usize::MAX; tril(p)];
    for i in 1..p {
        for j in 0..i {
            let (hi, lo) = (pos[i].max(pos[j]), pos[i].min(pos[j]));
            expected[tril(i) + j] = tril(hi) + lo;
        }
    }
    let mut got = vec![usize::MAX; tril(p)];
    for r in &spec.row_runs {
        for k in 0..r.len {
            assert_eq!(got[r.compact_start + k], usize::MAX, "row mapped twice");
            got[r.compact_start + k] = r.max_start + k;
        }
    }
    assert_eq!(got, expected);
    // Pairs inside one source keep their orientation and form runs: compact item 5 (source 2's
    // item 4, max position 79 + 4) with source 2's items 0..4 (compact 1..5, max 79..83), and
    // then the next row's first pair (item 6 with the dense item, max (84, 0)) follows in both.
    assert!(
        spec.row_runs.contains(&RowRun {
            compact_start: tril(5) + 1,
            max_start: tril(83) + 79,
            len: 5
        }),
        "{:?}",
        &spec.row_runs[..12]
    );
    // Source 0 is read after source 2 but sits before it in the max list: its pairs with source
    // 2's items are stored the other way round, one row each (6 x 24 of the runs).
    assert!(
        spec.row_runs.len() < tril(p) / 2,
        "{} runs",
        spec.row_runs.len()
    );

    // The reference's computation: T zero-padded to the max item list, every max pair, times the
    // max-width weight, equals the compact pairs times the subnet's rows.
    let w_max = sn.tensor(key).expect("tensor");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let t = Array2::from_shape_simple_fn((p, 16), || rng.random_range(-1.0f64..1.0));
    let mut t_max = Array2::<f64>::zeros((max_p, 16));
    for (c, &m) in pos.iter().enumerate() {
        t_max.row_mut(m).assign(&t.row(c));
    }
    let d = 32;
    let mut y_compact = vec![0.0f64; d];
    let mut y_max = vec![0.0f64; d];
    for i in 1..p {
        for j in 0..i {
            let z = t.row(i).dot(&t.row(j));
            let row = got[tril(i) + j];
            for (c, y) in y_compact.iter_mut().enumerate() {
                *y += z * f64::from(w_max[[row, c]]);
            }
        }
    }
    for i in 1..max_p {
        for j in 0..i {
            let z = t_max.row(i).dot(&t_max.row(j));
            if z != 0.0 {
                for (c, y) in y_max.iter_mut().enumerate() {
                    *y += z * f64::from(w_max[[tril(i) + j, c]]);
                }
            }
        }
    }
    for (a, b) in y_compact.iter().zip(&y_max) {
        assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

#[test]
fn unbalanced_gradients_land_in_the_pair_rows() {
    let schema = small_schema();
    let mut sn =
        Supernet::with_blocks(SearchSpace::Small, 3, &schema, &UNBALANCED, 2).expect("supernet");
    let g = pair_layout_genotype();
    let key = "b2.dot-product.out_proj.w";
    let before = sn.tensor(key).expect("tensor").clone();
    let mut alone = sn.extract_standalone(&g).expect("extract");
    let batch = random_batch(&schema, 40, 4);
    let a = sn
        .train_step_subnet(&g, &batch, &StepHyper::default())
        .expect("step");
    let b = alone.train_step(&batch, &StepHyper::default());
    assert_eq!(a, b, "the supernet step is the standalone step");
    let spec = sn
        .subnet_params(&g)
        .expect("subnet")
        .into_iter()
        .find(|p| p.key == key)
        .expect("out_proj");
    let net = alone.network();
    let id = net
        .graph
        .params
        .iter()
        .position(|p| p.key == key)
        .expect("standalone out_proj");
    let trained = &net.dense[id];
    assert_ne!(
        trained,
        &{
            let mut w = Array2::zeros(spec.shape);
            for r in &spec.row_runs {
                for k in 0..r.len {
                    w.row_mut(r.compact_start + k).assign(
                        &before
                            .row(r.max_start + k)
                            .slice(ndarray::s![..spec.shape.1]),
                    );
                }
            }
            w
        },
        "the step changed the subnet's rows"
    );
    let after = sn.tensor(key).expect("tensor");
    let pos = pair_layout_positions();
    let mut owner = vec![None; before.nrows()];
    for i in 1..pos.len() {
        for j in 0..i {
            owner[tril(pos[i].max(pos[j])) + pos[i].min(pos[j])] = Some(tril(i) + j);
        }
    }
    let cols = spec.shape.1;
    for (m, o) in owner.iter().enumerate() {
        for c in [0, 7, cols - 1, cols, 500, 1023] {
            match o {
                Some(r) if c < cols => assert_eq!(
                    after[[m, c]],
                    trained[[*r, c]],
                    "max row {m} (compact row {r}) col {c}"
                ),
                _ => assert_eq!(
                    after[[m, c]],
                    before[[m, c]],
                    "row {m} col {c} outside the subnet"
                ),
            }
        }
    }
    // And the two networks go on agreeing.
    let probe = random_batch(&schema, 12, 8);
    let inside = sn.forward_subnet(&g, &probe).expect("forward");
    assert!(max_abs_diff(&inside, &alone.predict_logits(&probe)) < 1e-5);
}

#[test]
fn balanced_interaction_layout_is_unchanged() {
    // With balancing on, the interaction's items are the dense item and the projected items
    // (leading): one run from row 0, and the output projection's max weight keeps its 1035 rows
    // (tril(46)), so existing checkpoints load.
    let Some((_, specs)) = criteo_full_subnet() else {
        return;
    };
    let dp = specs
        .iter()
        .find(|p| p.key == "b2.dot-product.out_proj.w")
        .expect("b2 dot product");
    // d = 768: p = 39 projected items + the dense item.
    assert_eq!(dp.max_shape, (tril(46), 1024));
    assert_eq!(
        dp.row_runs,
        vec![RowRun {
            compact_start: 0,
            max_start: 0,
            len: tril(40)
        }]
    );
}
