//! Supernet training and sub-network evaluation on small synthetic data (two blocks, small
//! tables): exact resume, thread-count determinism, the full-path warm-up, that evaluation
//! without fine-tuning is the supernet's own forward, that fine-tuning trains only a private head
//! (the shared weights stay untouched) and lowers the loss, clear errors on bad input, and the
//! operator-balancing switch (an unbalanced supernet trains and resumes exactly; checkpoints
//! written before the switch load as balanced).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{load_synthetic, EncoderOptions, LoadOptions, LoadedData};
use recpim_model::genotype::{Genotype, SearchSpace};
use recpim_model::metrics::log_loss_from_logits;
use recpim_model::train::BatchSource;
use recpim_search::nas::sampling::{PathSampler, PathStrategy};
use recpim_search::nas::subnet_eval::{evaluate_subnet, SubnetEvalConfig};
use recpim_search::nas::supernet_training::{
    read_checkpoint, train_supernet, SupernetRunControl, SupernetTrainConfig,
};

fn data() -> LoadedData {
    let options = LoadOptions {
        encoder: EncoderOptions {
            min_count: 1,
            max_table_rows: 40,
        },
        ..LoadOptions::default()
    };
    load_synthetic(SyntheticShape::Criteo, 1200, 3, &options).unwrap()
}

fn config() -> SupernetTrainConfig {
    SupernetTrainConfig {
        space: SearchSpace::Small,
        num_blocks: 1,
        steps: 8,
        batch_size: 64,
        seed: 5,
        ..SupernetTrainConfig::default()
    }
}

fn subnet(seed: u64) -> Genotype {
    PathSampler {
        num_blocks: 1,
        ..PathSampler::default_for(SearchSpace::Small)
    }
    .sample(&mut ChaCha8Rng::seed_from_u64(seed))
}

fn train_to(path: &std::path::Path, stop: Option<u64>, resume: bool) -> u64 {
    train_with(&config(), path, stop, resume).unwrap()
}

fn train_with(
    config: &SupernetTrainConfig,
    path: &std::path::Path,
    stop: Option<u64>,
    resume: bool,
) -> recpim_search::Result<u64> {
    let d = data();
    let outcome = train_supernet(
        &d.train,
        &d.encoder.schema(),
        config,
        SupernetRunControl {
            checkpoint: Some(path),
            checkpoint_every: Some(3),
            resume,
            stop_after_steps: stop,
        },
        &mut |_, _| {},
    )?;
    Ok(outcome.header.steps_done)
}

#[test]
fn paused_and_resumed_training_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ckpt");
    let parts = dir.path().join("parts.ckpt");
    assert_eq!(train_to(&whole, None, false), 8);
    assert_eq!(train_to(&parts, Some(5), false), 5);
    assert_ne!(
        std::fs::read(&parts).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    assert_eq!(train_to(&parts, None, true), 8);
    assert_eq!(
        std::fs::read(&parts).unwrap(),
        std::fs::read(&whole).unwrap()
    );
}

#[test]
fn one_and_two_threads_train_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: usize, name: &str| {
        let path = dir.path().join(name);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| train_to(&path, Some(4), false));
        std::fs::read(path).unwrap()
    };
    assert_eq!(run(1, "one.ckpt"), run(2, "two.ckpt"));
}

#[test]
fn warm_up_runs_the_full_path_early_and_never_after() {
    let d = data();
    let schema = d.encoder.schema();
    let run = |frac: f64| {
        let config = SupernetTrainConfig {
            steps: 6,
            full_path_warmup_frac: frac,
            ..config()
        };
        train_supernet(
            &d.train,
            &schema,
            &config,
            SupernetRunControl::default(),
            &mut |_, _| {},
        )
        .unwrap()
        .header
        .full_path_steps
    };
    assert_eq!(run(0.0), 0);
    // Probabilities 1, 5/6, ..., 1/6: step 0 always runs the full path.
    let full = run(1.0);
    assert!((1..=6).contains(&full), "{full}");
}

#[test]
fn evaluation_without_finetuning_is_the_supernet_forward_and_leaves_it_untouched() {
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ckpt");
    train_to(&path, None, false);
    let (_, supernet) = read_checkpoint(&path).unwrap();
    let mut before = Vec::new();
    supernet.save_state(&mut before).unwrap();
    let g = subnet(17);
    let no_ft = SubnetEvalConfig {
        finetune_steps: 0,
        val_batches: 2,
        val_batch_size: 50,
        ..SubnetEvalConfig::default()
    };
    let score = evaluate_subnet(&supernet, &g, &d.train, &d.val, &no_ft).unwrap();
    assert_eq!(score.val_rows, 100);
    let rows: Vec<usize> = (0..100).collect();
    let batch = d.val.gather(&rows);
    let logits = supernet.forward_subnet(&g, &batch).unwrap();
    let expected = log_loss_from_logits(&batch.labels.to_vec(), &logits.to_vec()).unwrap();
    assert!(
        (score.val_logloss - expected).abs() < 1e-9,
        "{} {expected}",
        score.val_logloss
    );
    let standalone = supernet.extract_standalone(&g).unwrap();
    assert_eq!(score.flops, standalone.forward_macs_per_example());

    // Fine-tuning the head on the training split lowers the loss there, and the shared weights
    // do not move.
    let ft = SubnetEvalConfig {
        finetune_steps: 40,
        finetune_lr: 0.2,
        finetune_batch: 128,
        val_batches: 1,
        val_batch_size: 400,
        ..SubnetEvalConfig::default()
    };
    let train_as_val = |cfg: &SubnetEvalConfig| {
        evaluate_subnet(&supernet, &g, &d.train, &d.train, cfg)
            .unwrap()
            .val_logloss
    };
    let without = train_as_val(&SubnetEvalConfig {
        finetune_steps: 0,
        ..ft.clone()
    });
    let with = train_as_val(&ft);
    assert!(with < without, "fine-tuned {with} vs {without}");
    let mut after = Vec::new();
    supernet.save_state(&mut after).unwrap();
    assert!(before == after, "evaluation changed the supernet");
    // Same inputs, same bits.
    assert_eq!(train_as_val(&ft).to_bits(), with.to_bits());
}

#[test]
fn bad_checkpoints_and_mismatched_resumes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.ckpt");
    std::fs::write(&junk, b"not a checkpoint at all").unwrap();
    let err = read_checkpoint(&junk).unwrap_err().to_string();
    assert!(
        err.contains("junk.ckpt") && err.contains("bad magic"),
        "{err}"
    );

    let path = dir.path().join("s.ckpt");
    train_to(&path, Some(2), false);
    let d = data();
    let other = SupernetTrainConfig {
        strategy: PathStrategy::AnyOpAnyConn,
        ..config()
    };
    let err = train_supernet(
        &d.train,
        &d.encoder.schema(),
        &other,
        SupernetRunControl {
            checkpoint: Some(&path),
            resume: true,
            ..SupernetRunControl::default()
        },
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("other options"), "{err}");
    let err = SupernetTrainConfig {
        steps: 0,
        ..config()
    }
    .check()
    .unwrap_err()
    .to_string();
    assert!(err.contains("--steps 0"), "{err}");
}

fn unbalanced() -> SupernetTrainConfig {
    SupernetTrainConfig {
        operator_balancing: false,
        ..config()
    }
}

#[test]
fn unbalanced_supernet_resumes_exactly_and_refuses_a_balanced_resume() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ckpt");
    let parts = dir.path().join("parts.ckpt");
    assert_eq!(train_with(&unbalanced(), &whole, None, false).unwrap(), 8);
    assert_eq!(
        train_with(&unbalanced(), &parts, Some(5), false).unwrap(),
        5
    );
    let err = train_with(&config(), &parts, None, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("without the operator-balancing projection")
            && err.contains("--no-operator-balancing"),
        "{err}"
    );
    assert_eq!(train_with(&unbalanced(), &parts, None, true).unwrap(), 8);
    assert_eq!(
        std::fs::read(&parts).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    // The checkpoint rebuilds an unbalanced supernet, and its sub-networks score.
    let (header, supernet) = read_checkpoint(&whole).unwrap();
    assert!(!header.config.operator_balancing);
    let d = data();
    let score = evaluate_subnet(
        &supernet,
        &subnet(3),
        &d.train,
        &d.val,
        &SubnetEvalConfig {
            finetune_steps: 2,
            finetune_batch: 64,
            val_batches: 1,
            val_batch_size: 50,
            ..SubnetEvalConfig::default()
        },
    )
    .unwrap();
    assert!(score.val_logloss.is_finite());
}

#[test]
fn checkpoint_headers_record_operator_balancing_compatibly() {
    // Balanced (the default): no field, the header of checkpoints written before the switch.
    let json = serde_json::to_value(config()).unwrap();
    assert!(json.get("operator_balancing").is_none(), "{json}");
    let old: SupernetTrainConfig = serde_json::from_value(json).unwrap();
    assert!(
        old.operator_balancing,
        "a header without the field is balanced"
    );
    assert_eq!(old, config());
    // Unbalanced: recorded, and read back.
    let json = serde_json::to_value(unbalanced()).unwrap();
    assert_eq!(json["operator_balancing"], serde_json::Value::Bool(false));
    let back: SupernetTrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, unbalanced());
}
