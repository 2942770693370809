//! The training loop against the `CtrModel` contract, with two test models defined here:
//! logistic regression (a real learner with Adagrad and sparse rows) and a scripted model whose
//! quality follows a fixed script (to test early stopping exactly).

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::train::{epoch_order, train, Checkpoint, TrainConfig};
use recpim_model::{Batch, CtrModel, ModelError, ParamCounts, StepHyper, StepStats};
use std::io::{Read, Write};

const N_DENSE: usize = 3;
const TABLE_ROWS: [usize; 4] = [8, 20, 5, 50];

/// Logistic regression: one weight per dense feature, one scalar per embedding row, a bias;
/// Adagrad (acc += g^2; w -= lr g / (sqrt(acc) + eps)), global-norm clipping, sparse rows.
struct LogReg {
    w_dense: Vec<f32>,
    tables: Vec<Vec<f32>>,
    bias: f32,
    acc_dense: Vec<f32>,
    acc_tables: Vec<Vec<f32>>,
    acc_bias: f32,
}

impl LogReg {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        LogReg {
            w_dense: (0..N_DENSE)
                .map(|_| rng.random_range(-0.01..0.01))
                .collect(),
            tables: TABLE_ROWS
                .iter()
                .map(|&r| (0..r).map(|_| rng.random_range(-0.01..0.01)).collect())
                .collect(),
            bias: 0.0,
            acc_dense: vec![0.0; N_DENSE],
            acc_tables: TABLE_ROWS.iter().map(|&r| vec![0.0; r]).collect(),
            acc_bias: 0.0,
        }
    }

    fn logit(&self, batch: &Batch, i: usize) -> f32 {
        let mut z = self.bias;
        for j in 0..N_DENSE {
            z += self.w_dense[j] * batch.dense[[i, j]];
        }
        for (f, table) in self.tables.iter().enumerate() {
            z += table[batch.sparse[[i, f]] as usize];
        }
        z
    }

    fn all_values(&self) -> Vec<f32> {
        let mut v = self.w_dense.clone();
        self.tables.iter().for_each(|t| v.extend(t));
        v.push(self.bias);
        v.extend(&self.acc_dense);
        self.acc_tables.iter().for_each(|t| v.extend(t));
        v.push(self.acc_bias);
        v
    }

    fn set_values(&mut self, v: &[f32]) {
        let mut it = v.iter().copied();
        let mut next = || it.next().unwrap_or(0.0);
        self.w_dense.iter_mut().for_each(|x| *x = next());
        self.tables.iter_mut().flatten().for_each(|x| *x = next());
        self.bias = next();
        self.acc_dense.iter_mut().for_each(|x| *x = next());
        self.acc_tables
            .iter_mut()
            .flatten()
            .for_each(|x| *x = next());
        self.acc_bias = next();
    }
}

fn adagrad(w: &mut f32, acc: &mut f32, g: f32, h: &StepHyper) {
    *acc += g * g;
    *w -= h.lr * g / (acc.sqrt() + h.adagrad_eps);
}

impl CtrModel for LogReg {
    fn train_step(&mut self, batch: &Batch, h: &StepHyper) -> StepStats {
        let b = batch.len();
        let mut g_dense = [0.0f32; N_DENSE];
        let mut g_bias = 0.0f32;
        let mut g_rows: Vec<std::collections::BTreeMap<u32, f32>> =
            vec![Default::default(); TABLE_ROWS.len()];
        let mut loss = 0.0f32;
        for i in 0..b {
            let z = self.logit(batch, i);
            let y = batch.labels[i];
            loss += z.max(0.0) - z * y + (-z.abs()).exp().ln_1p();
            let d = (1.0 / (1.0 + (-z).exp()) - y) / b as f32;
            g_bias += d;
            for (g, x) in g_dense.iter_mut().zip(batch.dense.row(i)) {
                *g += d * x;
            }
            for (f, rows) in g_rows.iter_mut().enumerate() {
                *rows.entry(batch.sparse[[i, f]]).or_insert(0.0) += d;
            }
        }
        let norm_sq: f32 = g_dense.iter().map(|g| g * g).sum::<f32>()
            + g_bias * g_bias
            + g_rows
                .iter()
                .flat_map(|r| r.values())
                .map(|g| g * g)
                .sum::<f32>();
        let norm = norm_sq.sqrt();
        let scale = if norm > h.clip_norm {
            h.clip_norm / norm
        } else {
            1.0
        };
        for ((w, acc), g) in self
            .w_dense
            .iter_mut()
            .zip(&mut self.acc_dense)
            .zip(g_dense)
        {
            adagrad(w, acc, g * scale, h);
        }
        adagrad(&mut self.bias, &mut self.acc_bias, g_bias * scale, h);
        for (f, rows) in g_rows.iter().enumerate() {
            for (&r, &g) in rows {
                let r = r as usize;
                adagrad(
                    &mut self.tables[f][r],
                    &mut self.acc_tables[f][r],
                    g * scale,
                    h,
                );
            }
        }
        StepStats {
            loss: loss / b as f32,
            grad_norm: norm,
        }
    }

    fn predict_logits(&self, batch: &Batch) -> Array1<f32> {
        (0..batch.len()).map(|i| self.logit(batch, i)).collect()
    }

    fn param_counts(&self) -> ParamCounts {
        ParamCounts {
            dense: N_DENSE + 1,
            embedding: TABLE_ROWS.iter().sum(),
        }
    }

    fn save_state(&self, out: &mut dyn Write) -> Result<(), ModelError> {
        let bytes: Vec<u8> = self
            .all_values()
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        out.write_all(&bytes)
            .map_err(|e| ModelError::Checkpoint(e.to_string()))
    }

    fn load_state(&mut self, input: &mut dyn Read) -> Result<(), ModelError> {
        let mut bytes = Vec::new();
        input
            .read_to_end(&mut bytes)
            .map_err(|e| ModelError::Checkpoint(e.to_string()))?;
        if bytes.len() != self.all_values().len() * 4 {
            return Err(ModelError::Checkpoint("state of another shape".into()));
        }
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        self.set_values(&v);
        Ok(())
    }
}

/// Examples of a planted logistic truth: bias, dense weights and one effect per row.
fn planted_data(rows: usize, seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // The truth is the same for every split (seed 0); `seed` draws the examples.
    let truth_rng = &mut ChaCha8Rng::seed_from_u64(0);
    let effects: Vec<Vec<f32>> = TABLE_ROWS
        .iter()
        .map(|&r| (0..r).map(|_| truth_rng.random_range(-1.5..1.5)).collect())
        .collect();
    let mut dense = Array2::<f32>::zeros((rows, N_DENSE));
    let mut sparse = Array2::<u32>::zeros((rows, TABLE_ROWS.len()));
    let mut labels = Array1::<f32>::zeros(rows);
    for i in 0..rows {
        let mut z = -1.0f32;
        for j in 0..N_DENSE {
            let x: f32 = rng.random_range(0.0..2.0);
            dense[[i, j]] = x;
            z += [0.8, -0.5, 0.0][j] * x;
        }
        for (f, &r) in TABLE_ROWS.iter().enumerate() {
            let row = rng.random_range(0..r);
            sparse[[i, f]] = row as u32;
            z += effects[f][row];
        }
        let p = 1.0 / (1.0 + (-z).exp());
        labels[i] = (rng.random::<f32>() < p) as u8 as f32;
    }
    Batch {
        dense,
        sparse,
        labels,
    }
}

fn state_bytes(model: &dyn CtrModel) -> Vec<u8> {
    let mut v = Vec::new();
    model.save_state(&mut v).unwrap();
    v
}

fn config(dir: &std::path::Path) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 64,
        lr: 0.1,
        patience: None,
        checkpoint_path: Some(dir.join("checkpoint.bin")),
        ..TrainConfig::default()
    }
}

#[test]
fn logistic_regression_learns_the_planted_model() {
    let train_set = planted_data(4000, 1);
    let val_set = planted_data(1000, 2);
    let mut model = LogReg::new(7);
    let cfg = TrainConfig {
        epochs: 5,
        batch_size: 64,
        lr: 0.2,
        ..TrainConfig::default()
    };
    let out = train(
        &mut model,
        &train_set,
        Some(&val_set),
        &cfg,
        false,
        &mut |_| {},
    )
    .unwrap();
    let best = out.best_val.unwrap();
    // The constant predictor at the base rate is the floor to beat.
    let rate = val_set.labels.mean().unwrap() as f64;
    let constant = -(rate * rate.ln() + (1.0 - rate) * (1.0 - rate).ln());
    assert!(
        best.logloss < constant - 0.05,
        "{} vs constant {constant}",
        best.logloss
    );
    assert!(best.auc.unwrap() > 0.7, "{:?}", best.auc);
    assert_eq!(out.steps, out.history.last().unwrap().steps);
    assert!(out.samples_this_session > 0);
}

#[test]
fn epoch_order_is_a_seeded_permutation() {
    let a = epoch_order(1000, 5, 0);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_eq!(a, epoch_order(1000, 5, 0));
    assert_ne!(a, epoch_order(1000, 5, 1));
    assert_ne!(a, epoch_order(1000, 6, 0));
}

/// Interrupting after any step and resuming gives the bytes of an uninterrupted run.
#[test]
fn resume_equals_an_uninterrupted_run() {
    let train_set = planted_data(1000, 3); // 16 batches of 64 per epoch (last one 40)
    let val_set = planted_data(300, 4);
    let straight_dir = tempfile::tempdir().unwrap();
    let mut straight = LogReg::new(11);
    let cfg = config(straight_dir.path());
    let reference = train(
        &mut straight,
        &train_set,
        Some(&val_set),
        &cfg,
        false,
        &mut |_| {},
    )
    .unwrap();
    let reference_bytes = state_bytes(&straight);
    let reference_ckpt = std::fs::read(straight_dir.path().join("checkpoint.bin")).unwrap();

    // Pause mid-epoch (step 5), at an epoch end (16) and mid second epoch (21).
    for pause_at in [5u64, 16, 21] {
        let dir = tempfile::tempdir().unwrap();
        let mut first = LogReg::new(11);
        let cfg_pause = TrainConfig {
            stop_after_steps: Some(pause_at),
            checkpoint_every: Some(4),
            ..config(dir.path())
        };
        let part = train(
            &mut first,
            &train_set,
            Some(&val_set),
            &cfg_pause,
            false,
            &mut |_| {},
        )
        .unwrap();
        assert!(part.paused);
        assert_eq!(part.steps, pause_at);
        let ckpt = Checkpoint::read(&dir.path().join("checkpoint.bin")).unwrap();
        assert_eq!(ckpt.trainer.step, pause_at);

        // A fresh process: the model is rebuilt from its seed and restored from the checkpoint.
        let mut resumed = LogReg::new(11);
        let cfg_resume = config(dir.path());
        let rest = train(
            &mut resumed,
            &train_set,
            Some(&val_set),
            &cfg_resume,
            true,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(rest.steps, reference.steps);
        assert_eq!(rest.history, reference.history, "pause at {pause_at}");
        assert_eq!(rest.best_epoch, reference.best_epoch);
        assert_eq!(rest.best_val, reference.best_val);
        assert_eq!(
            state_bytes(&resumed),
            reference_bytes,
            "pause at {pause_at}"
        );
        let ckpt_bytes = std::fs::read(dir.path().join("checkpoint.bin")).unwrap();
        assert_eq!(
            ckpt_bytes, reference_ckpt,
            "final checkpoint, pause at {pause_at}"
        );
    }
}

#[test]
fn resume_refuses_a_checkpoint_of_another_run_or_none() {
    let train_set = planted_data(300, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut m = LogReg::new(1);
    let missing = train(
        &mut m,
        &train_set,
        None,
        &config(dir.path()),
        true,
        &mut |_| {},
    );
    assert!(matches!(missing, Err(ModelError::Io { .. })), "{missing:?}");
    train(
        &mut m,
        &train_set,
        None,
        &config(dir.path()),
        false,
        &mut |_| {},
    )
    .unwrap();
    let other = TrainConfig {
        batch_size: 32,
        ..config(dir.path())
    };
    let err = train(
        &mut LogReg::new(1),
        &train_set,
        None,
        &other,
        true,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("different run"), "{err}");
    std::fs::write(dir.path().join("checkpoint.bin"), b"RPIMCKP1\x05").unwrap();
    let err = train(
        &mut LogReg::new(1),
        &train_set,
        None,
        &config(dir.path()),
        true,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

/// A model whose loss turns NaN at step `nan_at` (1-based), like a diverging run.
struct NanAt {
    inner: LogReg,
    steps: u64,
    nan_at: u64,
}

impl CtrModel for NanAt {
    fn train_step(&mut self, batch: &Batch, h: &StepHyper) -> StepStats {
        self.steps += 1;
        let stats = self.inner.train_step(batch, h);
        if self.steps >= self.nan_at {
            self.inner.bias = f32::NAN;
            return StepStats {
                loss: f32::NAN,
                ..stats
            };
        }
        stats
    }
    fn predict_logits(&self, batch: &Batch) -> Array1<f32> {
        self.inner.predict_logits(batch)
    }
    fn param_counts(&self) -> ParamCounts {
        self.inner.param_counts()
    }
    fn save_state(&self, out: &mut dyn Write) -> Result<(), ModelError> {
        self.inner.save_state(out)
    }
    fn load_state(&mut self, input: &mut dyn Read) -> Result<(), ModelError> {
        self.inner.load_state(input)
    }
}

#[test]
fn a_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint() {
    let train_set = planted_data(1000, 5);
    let dir = tempfile::tempdir().unwrap();
    let mut model = NanAt {
        inner: LogReg::new(2),
        steps: 0,
        nan_at: 23,
    };
    let cfg = TrainConfig {
        checkpoint_every: Some(5),
        ..config(dir.path())
    };
    let err = train(&mut model, &train_set, None, &cfg, false, &mut |_| {}).unwrap_err();
    match err {
        ModelError::NonFiniteLoss { step, loss } => {
            assert_eq!(step, 23);
            assert!(loss.is_nan());
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
    // Checkpoints: step 5, 10, 15, epoch end 16, then 20; step 23 never reached the disk.
    let ckpt = Checkpoint::read(&dir.path().join("checkpoint.bin")).unwrap();
    assert_eq!(ckpt.trainer.step, 20);
    let mut restored = LogReg::new(99);
    restored
        .load_state(&mut ckpt.model_state.as_slice())
        .unwrap();
    assert!(restored.all_values().iter().all(|v| v.is_finite()));
}

/// Quality follows a script: after step k the constant logit is `script[k-1]`. Validation
/// labels are balanced, so the loss is lowest for the logit nearest 0.
struct Scripted {
    script: Vec<f32>,
    steps: usize,
    logit: f32,
}

impl CtrModel for Scripted {
    fn train_step(&mut self, _batch: &Batch, _h: &StepHyper) -> StepStats {
        self.logit = self.script[self.steps.min(self.script.len() - 1)];
        self.steps += 1;
        StepStats {
            loss: 0.5,
            grad_norm: 0.0,
        }
    }
    fn predict_logits(&self, batch: &Batch) -> Array1<f32> {
        Array1::from_elem(batch.len(), self.logit)
    }
    fn param_counts(&self) -> ParamCounts {
        ParamCounts {
            dense: 1,
            embedding: 0,
        }
    }
    fn save_state(&self, out: &mut dyn Write) -> Result<(), ModelError> {
        out.write_all(&self.logit.to_le_bytes())
            .map_err(|e| ModelError::Checkpoint(e.to_string()))
    }
    fn load_state(&mut self, input: &mut dyn Read) -> Result<(), ModelError> {
        let mut b = [0u8; 4];
        input
            .read_exact(&mut b)
            .map_err(|e| ModelError::Checkpoint(e.to_string()))?;
        self.logit = f32::from_le_bytes(b);
        Ok(())
    }
}

fn balanced(rows: usize) -> Batch {
    Batch {
        dense: Array2::zeros((rows, 0)),
        sparse: Array2::zeros((rows, 0)),
        labels: (0..rows).map(|i| (i % 2) as f32).collect(),
    }
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    // Two steps per epoch; end-of-epoch logits 2.0, 0.1 (best), 1.0, 1.5, then never reached.
    let script = vec![3.0, 2.0, 0.5, 0.1, 0.8, 1.0, 1.2, 1.5, 0.0, 0.0, 0.0, 0.0];
    let mut model = Scripted {
        script,
        steps: 0,
        logit: 0.0,
    };
    let cfg = TrainConfig {
        epochs: 6,
        batch_size: 5,
        patience: Some(2),
        ..TrainConfig::default()
    };
    let mut seen = Vec::new();
    let out = train(
        &mut model,
        &balanced(10),
        Some(&balanced(10)),
        &cfg,
        false,
        &mut |r| seen.push(r.epoch),
    )
    .unwrap();
    assert_eq!(seen, vec![1, 2, 3, 4]);
    assert!(out.stopped_early);
    assert_eq!(out.best_epoch, Some(2));
    assert_eq!(out.steps, 8);
    // The model holds epoch 2's weights again.
    assert_eq!(model.logit, 0.1);
    // ln(1 + e^-0.1) / 2 + ln(1 + e^0.1) / 2 for logit 0.1 on balanced labels.
    let z = 0.1f64;
    let expected = 0.5 * ((1.0 + (-z).exp()).ln() + (1.0 + z.exp()).ln());
    assert!((out.best_val.unwrap().logloss - expected).abs() < 1e-6);
    assert_eq!(out.best_val.unwrap().auc, Some(0.5));
}

#[test]
fn without_patience_all_epochs_run_and_the_best_is_still_kept() {
    let script = vec![3.0, 0.2, 1.0, 2.0];
    let mut model = Scripted {
        script,
        steps: 0,
        logit: 0.0,
    };
    let cfg = TrainConfig {
        epochs: 4,
        batch_size: 10,
        patience: None,
        ..TrainConfig::default()
    };
    let out = train(
        &mut model,
        &balanced(10),
        Some(&balanced(10)),
        &cfg,
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out.history.len(), 4);
    assert!(!out.stopped_early);
    assert_eq!(out.best_epoch, Some(2));
    assert_eq!(model.logit, 0.2);
}

#[test]
fn bad_options_are_named() {
    let mut model = Scripted {
        script: vec![0.0],
        steps: 0,
        logit: 0.0,
    };
    for (cfg, name) in [
        (
            TrainConfig {
                epochs: 0,
                ..TrainConfig::default()
            },
            "epochs",
        ),
        (
            TrainConfig {
                batch_size: 0,
                ..TrainConfig::default()
            },
            "batch",
        ),
        (
            TrainConfig {
                lr: -1.0,
                ..TrainConfig::default()
            },
            "lr",
        ),
        (
            TrainConfig {
                warmup_frac: 1.5,
                ..TrainConfig::default()
            },
            "warmup-frac",
        ),
        (
            TrainConfig {
                patience: Some(0),
                ..TrainConfig::default()
            },
            "patience",
        ),
    ] {
        match train(&mut model, &balanced(4), None, &cfg, false, &mut |_| {}) {
            Err(ModelError::InvalidOption { name: n, .. }) => assert_eq!(n, name),
            other => panic!("expected InvalidOption {name}, got {other:?}"),
        }
    }
    let empty = balanced(0);
    assert!(matches!(
        train(
            &mut model,
            &empty,
            None,
            &TrainConfig::default(),
            false,
            &mut |_| {}
        ),
        Err(ModelError::Data(_))
    ));
}
