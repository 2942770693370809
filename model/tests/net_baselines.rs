//! The hand-crafted baselines (lr, fm, dnn, deepfm, dlrm): shapes and parameter counts from their
//! definitions, finite-difference gradients, and that they train on Criteo- and Frappe-shaped data.

mod net_support;

use net_support::{fd_check, random_batch};
use recpim_model::net::baselines::compile_baseline;
use recpim_model::net::{build_baseline, build_model, BaselineKind, ModelOptions, ModelSpec};
use recpim_model::{CtrModel, DataSchema, StepHyper};

#[test]
fn names_round_trip() {
    for k in BaselineKind::ALL {
        assert_eq!(BaselineKind::from_name(k.name()), Some(k));
    }
    assert_eq!(BaselineKind::from_name("xgboost"), None);
}

#[test]
fn parameter_counts_follow_the_definitions() {
    let criteo = DataSchema {
        n_dense: 13,
        table_rows: vec![100; 26],
    };
    let lr = build_baseline(BaselineKind::Lr, &criteo, 0).expect("lr");
    // One weight per dense feature + bias; one weight per categorical value.
    assert_eq!(lr.param_counts().dense, 13 + 1);
    assert_eq!(lr.param_counts().embedding, 26 * 100);
    let fm = build_baseline(BaselineKind::Fm, &criteo, 0).expect("fm");
    assert_eq!(fm.param_counts().embedding, 26 * 100 * (1 + 16));
    // DLRM Kaggle (baselines.md §4.1 [V]): bottom 13-512-256-64-16, top (16 + 27*26/2)-512-256-1.
    let bottom = 13 * 512 + 512 + 512 * 256 + 256 + 256 * 64 + 64 + 64 * 16 + 16;
    let top_in = 16 + 27 * 26 / 2;
    let top = top_in * 512 + 512 + 512 * 256 + 256 + 256 + 1;
    let dlrm = build_baseline(BaselineKind::Dlrm, &criteo, 0).expect("dlrm");
    assert_eq!(dlrm.param_counts().dense, bottom + top);
    assert_eq!(dlrm.param_counts().embedding, 26 * 100 * 16);
    // DNN: [13 + 26*16] -> 512 -> 256 -> 128 -> 1.
    let dnn = build_baseline(BaselineKind::Dnn, &criteo, 0).expect("dnn");
    let n_in = 13 + 26 * 16;
    assert_eq!(
        dnn.param_counts().dense,
        n_in * 512 + 512 + 512 * 256 + 256 + 256 * 128 + 128 + 128 + 1
    );
    // DeepFM = LR + FM + DNN sharing the 16-wide embeddings.
    let deepfm = build_baseline(BaselineKind::DeepFm, &criteo, 0).expect("deepfm");
    assert_eq!(deepfm.param_counts().dense, dnn.param_counts().dense + 14);
    assert_eq!(deepfm.param_counts().embedding, fm.param_counts().embedding);
}

#[test]
fn baseline_gradients_match_finite_differences() {
    let schema = DataSchema {
        n_dense: 3,
        table_rows: vec![5, 4, 6],
    };
    for k in BaselineKind::ALL {
        let g = compile_baseline(k, schema.n_dense, schema.n_sparse());
        let checked = fd_check(g, &schema, 4, 31, 12);
        assert!(checked >= 10, "{}: {checked}", k.name());
    }
    // Without dense features.
    let schema = DataSchema {
        n_dense: 0,
        table_rows: vec![5, 4, 6],
    };
    for k in BaselineKind::ALL {
        fd_check(compile_baseline(k, 0, 3), &schema, 4, 32, 12);
    }
}

#[test]
fn baselines_train_on_criteo_and_frappe_shapes() {
    let criteo = DataSchema {
        n_dense: 13,
        table_rows: vec![50; 26],
    };
    let frappe = DataSchema {
        n_dense: 0,
        table_rows: vec![30; 10],
    };
    for k in BaselineKind::ALL {
        for schema in [&criteo, &frappe] {
            let mut m = build_model(&ModelSpec::Baseline(k), schema, &ModelOptions::default(), 1)
                .expect("builds");
            let batch = random_batch(schema, 200, 3);
            let stats = m.train_step(&batch, &StepHyper::default());
            assert!(
                stats.loss.is_finite() && stats.grad_norm > 0.0,
                "{}",
                k.name()
            );
            assert!(m.predict_logits(&batch).iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn baselines_learn_a_planted_pairwise_signal() {
    // Click iff fields 0 and 1 agree in parity: FM-style models can fit it, LR only partly.
    let schema = DataSchema {
        n_dense: 2,
        table_rows: vec![8, 8, 5],
    };
    let mut batches = Vec::new();
    for i in 0..6 {
        let mut b = random_batch(&schema, 128, 200 + i);
        for r in 0..128 {
            b.labels[r] = if (b.sparse[[r, 0]] + b.sparse[[r, 1]]).is_multiple_of(2) {
                1.0
            } else {
                0.0
            };
        }
        batches.push(b);
    }
    let hyper = StepHyper {
        lr: 0.1,
        ..StepHyper::default()
    };
    for k in [
        BaselineKind::Fm,
        BaselineKind::DeepFm,
        BaselineKind::Dlrm,
        BaselineKind::Dnn,
    ] {
        let mut m = build_baseline(k, &schema, 4).expect("builds");
        let mut last = f32::INFINITY;
        for _ in 0..40 {
            last = batches
                .iter()
                .map(|b| m.train_step(b, &hyper).loss)
                .sum::<f32>()
                / 6.0;
        }
        assert!(last < 0.45, "{} final loss {last}", k.name());
    }
}
