//! Streaming training (`train_stream`): a file read through a bounded shuffle buffer trains
//! with the same schedule, early stopping and checkpoints as in-memory data, resumes exactly,
//! and never holds more rows than the buffer.

use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{
    fit_encoder_streaming, read_rows, write_synthetic, BatchStream, DataFormat, Encoder,
    EncoderOptions, ReadOptions, StreamOptions, StreamPosition,
};
use recpim_model::net::{build_model, BaselineKind, ModelOptions, ModelSpec};
use recpim_model::train::{train_stream, EpochRecord, StreamingSource, TrainConfig};
use recpim_model::{CtrModel, ModelError};
use std::path::Path;

const BATCH: usize = 32;
const SHUFFLE_ROWS: usize = 50;

fn fit(path: &Path) -> (Encoder, u64) {
    let (encoder, report) = fit_encoder_streaming(
        path,
        DataFormat::Criteo,
        &ReadOptions::default(),
        &EncoderOptions::default(),
    )
    .expect("fit");
    (encoder, report.rows_read)
}

fn stream_options(batch_size: usize) -> StreamOptions {
    StreamOptions {
        batch_size,
        shuffle_buffer_rows: SHUFFLE_ROWS,
        seed: 7,
        read: ReadOptions::default(),
    }
}

fn config(dir: &Path) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: BATCH,
        lr: 0.05,
        seed: 7,
        patience: None,
        checkpoint_path: Some(dir.join("checkpoint.bin")),
        ..TrainConfig::default()
    }
}

fn state_bytes(model: &dyn CtrModel) -> Vec<u8> {
    let mut out = Vec::new();
    model.save_state(&mut out).expect("save");
    out
}

/// Trains a DLRM on the streamed `train_path` (validating on `val_path` in memory).
fn run(
    train_path: &Path,
    val_path: &Path,
    cfg: &TrainConfig,
    resume: bool,
) -> (Vec<u8>, Vec<EpochRecord>, bool, u64) {
    let (encoder, rows) = fit(train_path);
    let (val_rows, _) =
        read_rows(val_path, DataFormat::Criteo, &ReadOptions::default()).expect("val");
    let val = encoder.encode(&val_rows).expect("encode val");
    let mut model = build_model(
        &ModelSpec::Baseline(BaselineKind::Dlrm),
        &encoder.schema(),
        &ModelOptions::default(),
        3,
    )
    .expect("model");
    let options = stream_options(cfg.batch_size);
    let open = |position: StreamPosition| {
        BatchStream::open(train_path, DataFormat::Criteo, &encoder, &options, position)
    };
    let source = StreamingSource {
        open: &open,
        rows_per_epoch: rows,
    };
    let outcome = train_stream(
        model.as_mut(),
        &source,
        Some(&val),
        cfg,
        resume,
        &mut |_| {},
    )
    .expect("train");
    (
        state_bytes(model.as_ref()),
        outcome.history,
        outcome.paused,
        outcome.steps,
    )
}

fn synthetic_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let train = dir.join("train.txt");
    let val = dir.join("val.txt");
    write_synthetic(SyntheticShape::Criteo, 300, 21, &train).expect("synth train");
    write_synthetic(SyntheticShape::Criteo, 100, 22, &val).expect("synth val");
    (train, val)
}

#[test]
fn streaming_training_learns_and_counts_its_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (train_path, val_path) = synthetic_files(dir.path());
    let (_, history, paused, steps) = run(&train_path, &val_path, &config(dir.path()), false);
    assert!(!paused);
    // 300 rows in batches of 32 -> 10 steps per epoch (the last one has 12 rows).
    assert_eq!(steps, 30);
    assert_eq!(
        history.iter().map(|r| r.steps).collect::<Vec<_>>(),
        vec![10, 20, 30]
    );
    for r in &history {
        assert!(r.train_logloss().is_finite());
        assert!(r.val_logloss().is_some_and(f64::is_finite));
    }
}

#[test]
fn streaming_resume_equals_an_uninterrupted_run() {
    let train_dir = tempfile::tempdir().expect("tempdir");
    let (train_path, val_path) = synthetic_files(train_dir.path());
    let straight = run(&train_path, &val_path, &config(train_dir.path()), false);
    // Pause mid-epoch (step 13 is in epoch 2) and at an epoch end (step 20), then resume.
    for pause_at in [13u64, 20] {
        let paused_dir = tempfile::tempdir().expect("tempdir");
        let first = TrainConfig {
            stop_after_steps: Some(pause_at),
            ..config(paused_dir.path())
        };
        let (_, _, paused, steps) = run(&train_path, &val_path, &first, false);
        assert!(paused, "pause at {pause_at}");
        assert_eq!(steps, pause_at);
        let resumed = run(&train_path, &val_path, &config(paused_dir.path()), true);
        assert_eq!(
            resumed.0, straight.0,
            "model bytes after a pause at {pause_at}"
        );
        assert_eq!(resumed.1, straight.1, "history after a pause at {pause_at}");
        assert_eq!(resumed.3, straight.3);
    }
}

#[test]
fn a_stream_longer_or_shorter_than_counted_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (train_path, val_path) = synthetic_files(dir.path());
    let (encoder, rows) = fit(&train_path);
    let (val_rows, _) =
        read_rows(&val_path, DataFormat::Criteo, &ReadOptions::default()).expect("val");
    let val = encoder.encode(&val_rows).expect("encode val");
    let options = stream_options(BATCH);
    let open = |position: StreamPosition| {
        BatchStream::open(
            &train_path,
            DataFormat::Criteo,
            &encoder,
            &options,
            position,
        )
    };
    for counted in [rows - 40, rows + 40] {
        let mut model = build_model(
            &ModelSpec::Baseline(BaselineKind::Lr),
            &encoder.schema(),
            &ModelOptions::default(),
            3,
        )
        .expect("model");
        let source = StreamingSource {
            open: &open,
            rows_per_epoch: counted,
        };
        let cfg = TrainConfig {
            checkpoint_path: None,
            ..config(dir.path())
        };
        let err = train_stream(
            model.as_mut(),
            &source,
            Some(&val),
            &cfg,
            false,
            &mut |_| {},
        )
        .expect_err("mismatch must fail");
        assert!(
            matches!(&err, ModelError::Data(m) if m.contains("did the training file change")),
            "{err}"
        );
    }
}

/// Writes a Criteo file whose first dense feature is the row's index in the file, so an
/// emitted example tells which file row it came from.
fn indexed_file(path: &Path, rows: usize) {
    let mut text = String::new();
    for i in 0..rows {
        text.push_str(&format!("{}\t{i}", i % 2));
        for _ in 1..13 {
            text.push_str("\t1");
        }
        for f in 0..26 {
            text.push_str(&format!("\t{:08x}", (i * 31 + f) % 97));
        }
        text.push('\n');
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn the_stream_never_holds_more_rows_than_its_shuffle_buffer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("indexed.txt");
    let rows = 400usize;
    indexed_file(&path, rows);
    let (encoder, counted) = fit(&path);
    assert_eq!(counted, rows as u64);
    let options = StreamOptions {
        batch_size: 7,
        ..stream_options(7)
    };
    for epoch in 0..2u64 {
        let stream = BatchStream::open(
            &path,
            DataFormat::Criteo,
            &encoder,
            &options,
            StreamPosition {
                epoch,
                rows_emitted: 0,
            },
        )
        .expect("open");
        let mut emitted = 0usize;
        let mut seen = vec![false; rows];
        let mut max_lead = 0usize;
        for batch in stream {
            let batch = batch.expect("batch");
            for r in 0..batch.len() {
                // Dense features are log(x + 1): invert to the file index.
                let index = (f64::from(batch.dense[[r, 0]]).exp() - 1.0).round() as usize;
                assert!(index < rows && !seen[index], "row {index} emitted twice");
                seen[index] = true;
                // The example emitted at position p was read at or before position p: by then
                // at most p + buffer rows have been read (the buffer is full, then one row in
                // per row out), so a file row further ahead would mean a larger buffer.
                assert!(
                    index < emitted + SHUFFLE_ROWS,
                    "file row {index} emitted at position {emitted} with a buffer of \
                     {SHUFFLE_ROWS} rows"
                );
                // How far ahead of the emission count this row was in the file.
                max_lead = max_lead.max((index + 1).saturating_sub(emitted));
                emitted += 1;
            }
        }
        assert_eq!(emitted, rows);
        assert!(seen.iter().all(|s| *s));
        // The bound is tight (the buffer is really used), so the check above can fail.
        assert_eq!(max_lead, SHUFFLE_ROWS, "epoch {epoch}");
    }
}
