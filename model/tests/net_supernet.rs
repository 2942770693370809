//! The weight-sharing supernet by slicing (nasrec-spec §7.2): a subnet's forward inside the
//! supernet equals its standalone model's with the same weights; gradients land in its slices
//! only; the row layout matches the reference's zero-masked max-width inputs.

mod net_support;

use net_support::random_batch;
use recpim_model::genotype::{Genotype, SearchSpace};
use recpim_model::net::params::RowRun;
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
    let Some(g) = genotype_file("ea_criteo_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let sn = Supernet::new(SearchSpace::Full, &schema(), &LN, 0).expect("supernet");
    let specs = sn.subnet_params(&g).expect("subnet");
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
    assert!(Supernet::new(
        SearchSpace::Full,
        &schema,
        &ModelOptions {
            layernorm: true,
            operator_balancing: false
        },
        0
    )
    .is_err());
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
