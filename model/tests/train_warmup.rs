//! Regression test for the minimum warm-up (`TrainConfig::min_warmup_steps`, see
//! `train::schedule`): Criteo-Full without LayerNorm on the first 12,000 rows of Frappe, one
//! epoch of batch 64 (150 updates), diverged with the old default warm-up of 10% (15 updates:
//! validation AUC 0.62-0.72, train log loss 3.6) and trains with the default minimum of 100
//! updates (capped at half the run: 75 updates, AUC 0.80-0.84).

use recpim_model::data::{load_dataset, DataFormat, LoadOptions};
use recpim_model::genotype::Genotype;
use recpim_model::net::{build_model, ModelOptions, ModelSpec};
use recpim_model::train::schedule::DEFAULT_MIN_WARMUP_STEPS;
use recpim_model::train::{train, CosineWarmup, TrainConfig};
use std::io::{BufRead, Write};
use std::path::Path;

const FRAPPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/frappe_valid.libsvm"
);
const GENOTYPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/nasrec_genotypes/ea_criteo_kaggle_xlarge_best_1shot.json"
);
const ROWS: usize = 12000;
const BATCH: usize = 64;

/// Validation AUC after one epoch with `min_warmup_steps`; the rest as `recpim train
/// --genotype ... --epochs 1 --batch 64` (split seed 2018, model seed 0, no LayerNorm).
fn val_auc(data: &Path, min_warmup_steps: u64) -> f64 {
    let loaded = load_dataset(data, DataFormat::Libsvm, None, &LoadOptions::default())
        .expect("the Frappe head loads");
    let text = std::fs::read_to_string(GENOTYPE).expect("genotype file");
    let genotype: Genotype = serde_json::from_str(&text).expect("genotype parses");
    let schema = loaded.encoder.schema();
    let mut model = build_model(
        &ModelSpec::Genotype(genotype),
        &schema,
        &ModelOptions {
            layernorm: false,
            ..ModelOptions::default()
        },
        0,
    )
    .expect("Criteo-Full adapts to Frappe's fields");
    let config = TrainConfig {
        epochs: 1,
        batch_size: BATCH,
        min_warmup_steps,
        ..TrainConfig::default()
    };
    let outcome = train(
        model.as_mut(),
        &loaded.train,
        Some(&loaded.val),
        &config,
        false,
        &mut |_| {},
    )
    .expect("training runs");
    assert_eq!(outcome.steps, 150);
    let train_logloss = outcome.history.first().map(|r| r.train_logloss());
    eprintln!("min_warmup_steps {min_warmup_steps}: train log loss {train_logloss:?}");
    outcome
        .best_val
        .and_then(|m| m.auc)
        .expect("validation AUC")
}

#[test]
fn no_layernorm_full_genotype_trains_on_a_short_run_with_the_minimum_warmup() {
    let Ok(file) = std::fs::File::open(FRAPPE) else {
        eprintln!("{FRAPPE} is absent: skipping");
        return;
    };
    if !Path::new(GENOTYPE).exists() {
        eprintln!("{GENOTYPE} is absent: skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let head = dir.path().join("frappe_head.libsvm");
    let mut out = std::fs::File::create(&head).expect("temp file");
    for line in std::io::BufReader::new(file).lines().take(ROWS) {
        writeln!(out, "{}", line.expect("readable line")).expect("write");
    }
    drop(out);

    // The schedule the default gives this run: 75 warm-up updates instead of 15.
    let with_floor =
        CosineWarmup::with_min_warmup_steps(0.1, 1e-8, 150, 0.1, DEFAULT_MIN_WARMUP_STEPS);
    assert_eq!(with_floor.warmup_steps, 75);
    assert_eq!(CosineWarmup::new(0.1, 1e-8, 150, 0.1).warmup_steps, 15);

    let before = val_auc(&head, 0);
    let after = val_auc(&head, DEFAULT_MIN_WARMUP_STEPS);
    eprintln!("validation AUC: fraction-only warm-up {before:.4}, minimum warm-up {after:.4}");
    // The short warm-up trains far worse (train log loss 3.6 against 0.96 on 29 Nov; its AUC
    // wanders between 0.62 and 0.72 with float-rounding changes in the kernels, so the test
    // asserts the gap rather than a fixed figure).
    assert!(
        before < after - 0.05,
        "the old warm-up no longer trains worse here: AUC {before} against {after}"
    );
    assert!(
        after > 0.75,
        "the minimum warm-up should train: AUC {after}"
    );
}
