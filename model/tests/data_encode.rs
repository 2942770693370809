//! Vocabularies (min count, OOV, cap + modulo, serialisation), in-memory batches, stratified
//! splits of labels and files, and the bounded shuffle buffer of the streaming reader.

use recpim_model::data::synthetic::write_synthetic;
use recpim_model::data::{
    fit_encoder_streaming, read_rows, split_file, stratified_split_indices, transform_dense,
    BatchStream, DataFormat, Encoder, EncoderOptions, RawRow, RawRows, ReadOptions, SplitOptions,
    StreamOptions, StreamPosition, SyntheticShape, MISSING_KEY, MISSING_ROW, OOV_ROW,
};
use recpim_model::ModelError;
use std::collections::HashMap;
use std::path::Path;

/// One-field rows with keys (MISSING_KEY = missing) and one dense value each.
fn one_field(keys: &[u64]) -> RawRows {
    let mut rows = RawRows::new(1, 1);
    for (i, &k) in keys.iter().enumerate() {
        rows.push(&RawRow {
            label: (i % 2) as f32,
            dense: vec![i as f32],
            sparse: vec![k],
        });
    }
    rows
}

fn rows_of(encoder: &Encoder, keys: &[u64]) -> Vec<u32> {
    encoder
        .encode(&one_field(keys))
        .unwrap()
        .sparse()
        .column(0)
        .to_vec()
}

const A: u64 = 0xa;
const B: u64 = 0xb;
const C: u64 = 0xc;
const D: u64 = 0xd;
const M: u64 = MISSING_KEY;

#[test]
fn min_count_gives_own_rows_by_first_appearance_and_rare_values_share_oov() {
    // A x3, B x1, C x2, one missing.
    let train = one_field(&[A, B, C, A, M, C, A]);
    let enc = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 2,
            max_table_rows: 100,
        },
    )
    .unwrap();
    assert_eq!(enc.schema().table_rows, vec![4]); // missing, OOV, A, C
    assert_eq!(
        rows_of(&enc, &[A, B, C, M, D]),
        vec![2, OOV_ROW, 3, MISSING_ROW, OOV_ROW]
    );

    let enc = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 1,
            max_table_rows: 100,
        },
    )
    .unwrap();
    assert_eq!(enc.schema().table_rows, vec![5]);
    assert_eq!(
        rows_of(&enc, &[A, B, C, M, D]),
        vec![2, 3, 4, MISSING_ROW, OOV_ROW]
    );
}

#[test]
fn beyond_the_cap_values_are_hashed_modulo_into_the_capped_table() {
    let train = one_field(&[10, 11, 12, 13, 10]);
    // 4 kept + 2 reserved > 4: hashed into 4 rows, row = 2 + key % 2.
    let enc = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 1,
            max_table_rows: 4,
        },
    )
    .unwrap();
    assert!(enc.fields[0].is_hashed());
    assert_eq!(enc.schema().table_rows, vec![4]);
    assert_eq!(
        rows_of(&enc, &[10, 11, 12, 13, 15, M]),
        vec![2, 3, 2, 3, 3, MISSING_ROW]
    );
    // min_count 2: only key 10 is kept; still over a cap of 2 + 0? No: 1 kept + 2 <= 3, exact.
    let enc = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 2,
            max_table_rows: 3,
        },
    )
    .unwrap();
    assert!(!enc.fields[0].is_hashed());
    assert_eq!(rows_of(&enc, &[10, 11]), vec![2, OOV_ROW]);
    // min_count 2 over the cap: kept values hashed, rare and unseen ones to OOV.
    let train = one_field(&[10, 10, 11, 11, 12, 12, 13]);
    let enc = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 2,
            max_table_rows: 4,
        },
    )
    .unwrap();
    assert!(enc.fields[0].is_hashed());
    assert_eq!(
        rows_of(&enc, &[10, 11, 12, 13, 14]),
        vec![2, 3, 2, OOV_ROW, OOV_ROW]
    );
}

#[test]
fn dense_transform_is_log_of_clamped_value_plus_one() {
    assert_eq!(transform_dense(-5.0), 0.0);
    assert_eq!(transform_dense(0.0), 0.0);
    assert_eq!(transform_dense(f32::NAN), 0.0);
    assert!((transform_dense(std::f32::consts::E - 1.0) - 1.0).abs() < 1e-6);
    assert!((transform_dense(3.0) - 4.0f32.ln()).abs() < 1e-6);
}

#[test]
fn encoder_round_trips_through_json_and_rejects_bad_options_and_files() {
    let train = one_field(&[A, B, C, A, M, C, A]);
    let enc = Encoder::fit(&train, &EncoderOptions::default()).unwrap();
    let back = Encoder::from_json(&enc.to_json().unwrap()).unwrap();
    assert_eq!(back, enc);
    assert_eq!(back.encode(&train).unwrap(), enc.encode(&train).unwrap());
    let hashed = Encoder::fit(
        &train,
        &EncoderOptions {
            min_count: 1,
            max_table_rows: 3,
        },
    )
    .unwrap();
    assert_eq!(
        Encoder::from_json(&hashed.to_json().unwrap()).unwrap(),
        hashed
    );

    for options in [
        EncoderOptions {
            min_count: 0,
            max_table_rows: 10,
        },
        EncoderOptions {
            min_count: 1,
            max_table_rows: 2,
        },
    ] {
        assert!(matches!(
            Encoder::fit(&train, &options),
            Err(ModelError::InvalidOption { .. })
        ));
    }
    let bad = hashed
        .to_json()
        .unwrap()
        .replace("\"rows\":3", "\"rows\":1");
    assert!(
        Encoder::from_json(&bad).is_err(),
        "a hand-edited 1-row hashed table must be rejected"
    );
    // Rows wider than the fitted encoder are an error, not a panic.
    let mut wide = RawRows::new(1, 2);
    wide.push(&RawRow {
        label: 1.0,
        dense: vec![1.0],
        sparse: vec![A, B],
    });
    assert!(enc.encode(&wide).is_err());
}

#[test]
fn table_sizes_come_from_the_data_not_a_fixed_constant() {
    let Some(path) = Some(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/frappe_valid.libsvm"
    )))
    .filter(|p| p.exists()) else {
        eprintln!("skipping: frappe_valid.libsvm not present");
        return;
    };
    let (rows, _) = read_rows(path, DataFormat::Libsvm, &ReadOptions::default()).unwrap();
    let enc = Encoder::fit(
        &rows,
        &EncoderOptions {
            min_count: 1,
            ..EncoderOptions::default()
        },
    )
    .unwrap();
    let schema = enc.schema();
    assert_eq!(schema.n_dense, 0);
    // Every index 0..5381 of the README occurs in exactly one field: the tables' kept values
    // add up to the distinct indices seen.
    let mut distinct = std::collections::HashSet::new();
    for i in 0..rows.len() {
        distinct.extend(rows.sparse_row(i).iter().copied());
    }
    let kept: usize = schema.table_rows.iter().map(|r| r - 2).sum();
    assert_eq!(kept, distinct.len());
}

#[test]
fn stratified_split_preserves_class_counts_within_one_row_and_covers_every_row_once() {
    let labels: Vec<f32> = (0..1013)
        .map(|i| if i % 7 == 0 || i % 11 == 0 { 1.0 } else { 0.0 })
        .collect();
    let positives = labels.iter().filter(|&&y| y == 1.0).count() as f64;
    let negatives = labels.len() as f64 - positives;
    for fractions in [vec![0.8, 0.1, 0.1], vec![0.9, 0.1], vec![0.33, 0.33, 0.34]] {
        let parts = stratified_split_indices(&labels, &fractions, 2018).unwrap();
        let mut seen = vec![0u8; labels.len()];
        for (part, fraction) in parts.iter().zip(&fractions) {
            assert!(part.windows(2).all(|w| w[0] < w[1]), "file order kept");
            let p = part.iter().filter(|&&i| labels[i] == 1.0).count() as f64;
            assert!(
                (p - positives * fraction).abs() <= 1.0,
                "{p} vs {}",
                positives * fraction
            );
            assert!(((part.len() as f64 - p) - negatives * fraction).abs() <= 1.0);
            for &i in part {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert_eq!(
            parts,
            stratified_split_indices(&labels, &fractions, 2018).unwrap(),
            "deterministic"
        );
        assert_ne!(
            parts,
            stratified_split_indices(&labels, &fractions, 7).unwrap(),
            "seeded"
        );
    }
    for bad in [vec![0.8, 0.1], vec![0.5, -0.1, 0.6], vec![], vec![0.25; 4]] {
        assert!(matches!(
            stratified_split_indices(&labels, &bad, 1),
            Err(ModelError::InvalidOption { .. })
        ));
    }
}

#[test]
fn encoded_dataset_batches_are_seeded_and_cover_each_example_once() {
    let keys: Vec<u64> = (0..103).map(|i| i % 10).collect();
    let data = Encoder::fit(&one_field(&keys), &EncoderOptions::default())
        .unwrap()
        .encode(&one_field(&keys))
        .unwrap();
    let batches: Vec<_> = data.batches(10, 3).unwrap().collect();
    assert_eq!(batches.len(), 11);
    assert_eq!(batches[10].len(), 3);
    // Dense value i identifies example i (transform is monotone).
    let mut order: Vec<f32> = batches
        .iter()
        .flat_map(|b| b.dense.column(0).to_vec())
        .collect();
    assert_eq!(batches, data.batches(10, 3).unwrap().collect::<Vec<_>>());
    assert_ne!(batches, data.batches(10, 4).unwrap().collect::<Vec<_>>());
    order.sort_by(f32::total_cmp);
    let expected: Vec<f32> = (0..103).map(|i| transform_dense(i as f32)).collect();
    assert_eq!(order, expected);
    assert!(data.batches(0, 1).is_err());
    let parts = data.stratified_split(&[0.9, 0.1], 5).unwrap();
    assert_eq!(parts[0].len() + parts[1].len(), 103);
    assert_eq!(parts[0].schema(), data.schema());
    assert!(data.batch_of(&[103]).is_err());
}

fn synthetic_file(dir: &Path, rows: u64) -> std::path::PathBuf {
    let path = dir.join("s.tsv");
    write_synthetic(SyntheticShape::Criteo, rows, 11, &path).unwrap();
    path
}

#[test]
fn split_file_writes_stratified_deterministic_parts_holding_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = synthetic_file(dir.path(), 3000);
    let options = SplitOptions::default();
    let summary = split_file(&input, DataFormat::Criteo, &dir.path().join("a"), &options).unwrap();
    split_file(&input, DataFormat::Criteo, &dir.path().join("b"), &options).unwrap();
    let text = std::fs::read_to_string(&input).unwrap();
    let total_pos = text.lines().filter(|l| l.starts_with('1')).count() as f64;
    let mut all: Vec<String> = Vec::new();
    for (part, fraction) in summary.parts.iter().zip([0.8, 0.1, 0.1]) {
        let a = std::fs::read(&part.path).unwrap();
        let b = std::fs::read(dir.path().join("b").join(part.path.file_name().unwrap())).unwrap();
        assert_eq!(a, b, "same seed, same bytes");
        assert!((part.positives as f64 - total_pos * fraction).abs() <= 1.0);
        all.extend(String::from_utf8(a).unwrap().lines().map(str::to_string));
    }
    let mut original: Vec<String> = text.lines().map(str::to_string).collect();
    original.sort();
    all.sort();
    assert_eq!(all, original, "every input row in exactly one output");
}

#[test]
fn split_file_keeps_csv_headers_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.csv.gz");
    write_synthetic(SyntheticShape::Avazu, 500, 2, &input).unwrap();
    let summary = split_file(
        &input,
        DataFormat::Avazu,
        &dir.path().join("out"),
        &SplitOptions::default(),
    )
    .unwrap();
    let mut total = 0;
    for part in &summary.parts {
        assert!(part.path.to_string_lossy().ends_with(".csv.gz"));
        let (rows, report) =
            read_rows(&part.path, DataFormat::Avazu, &ReadOptions::default()).unwrap();
        assert_eq!(report.malformed_rows, 0);
        assert_eq!(rows.len() as u64, part.rows);
        total += rows.len();
    }
    assert_eq!(total, 500);
}

/// Map from an encoded example's sparse row to its index in the file.
fn file_index(data: &recpim_model::data::EncodedDataset) -> HashMap<Vec<u32>, usize> {
    let mut map = HashMap::new();
    for (i, row) in data.sparse().rows().into_iter().enumerate() {
        map.entry(row.to_vec()).or_insert(i);
    }
    map
}

#[test]
fn streaming_shuffle_is_bounded_deterministic_complete_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let path = synthetic_file(dir.path(), 2000);
    let read = ReadOptions::default();
    let options = EncoderOptions {
        min_count: 1,
        ..EncoderOptions::default()
    };
    let (encoder, _) = fit_encoder_streaming(&path, DataFormat::Criteo, &read, &options).unwrap();
    let (rows, _) = read_rows(&path, DataFormat::Criteo, &read).unwrap();
    assert_eq!(
        encoder,
        Encoder::fit(&rows, &options).unwrap(),
        "streaming fit = in-memory fit"
    );
    let in_memory = encoder.encode(&rows).unwrap();
    let index = file_index(&in_memory);
    assert_eq!(index.len(), 2000, "synthetic rows are distinct");

    let stream_options = StreamOptions {
        batch_size: 64,
        shuffle_buffer_rows: 100,
        seed: 9,
        read,
    };
    let open = |position| {
        BatchStream::open(
            &path,
            DataFormat::Criteo,
            &encoder,
            &stream_options,
            position,
        )
        .unwrap()
    };
    let batches: Vec<_> = open(StreamPosition::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(batches.len(), 2000usize.div_ceil(64));
    let emitted: Vec<usize> = batches
        .iter()
        .flat_map(|b| {
            b.sparse
                .rows()
                .into_iter()
                .map(|r| index[&r.to_vec()])
                .collect::<Vec<_>>()
        })
        .collect();
    for (k, &i) in emitted.iter().enumerate() {
        assert!(
            i < k + 100,
            "example {k} came from file row {i}: beyond the 100-row buffer"
        );
    }
    let mut sorted = emitted.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..2000).collect::<Vec<_>>(),
        "every row exactly once"
    );
    assert_ne!(emitted, (0..2000).collect::<Vec<_>>(), "shuffled");
    // Labels and dense values travel with their row.
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.len() {
            let i = emitted[b * 64 + r];
            assert_eq!(batch.labels[r], in_memory.labels()[i]);
            assert_eq!(batch.dense.row(r), in_memory.dense().row(i));
        }
    }
    let again: Vec<_> = open(StreamPosition::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(again, batches, "same seed, same batches");
    let next_epoch: Vec<_> = open(StreamPosition {
        epoch: 1,
        rows_emitted: 0,
    })
    .map(Result::unwrap)
    .collect();
    assert_ne!(next_epoch, batches, "each epoch has its own order");
    // Resume after 7 batches: the rest is exactly the rest of the uninterrupted stream.
    let mut stream = open(StreamPosition::default());
    for _ in 0..7 {
        stream.next().unwrap().unwrap();
    }
    let position = stream.position();
    assert_eq!(
        position,
        StreamPosition {
            epoch: 0,
            rows_emitted: 7 * 64
        }
    );
    let resumed: Vec<_> = open(position).map(Result::unwrap).collect();
    assert_eq!(resumed, batches[7..].to_vec());
    // A one-row buffer is file order.
    let ordered = StreamOptions {
        shuffle_buffer_rows: 1,
        ..stream_options.clone()
    };
    let first = BatchStream::open(
        &path,
        DataFormat::Criteo,
        &encoder,
        &ordered,
        StreamPosition::default(),
    )
    .unwrap()
    .next()
    .unwrap()
    .unwrap();
    assert_eq!(
        first.sparse,
        in_memory.sparse().slice(ndarray::s![..64, ..]).to_owned()
    );
}

#[test]
fn streaming_reports_malformed_rows_and_strict_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.libsvm");
    std::fs::write(&path, "1 1:1 2:1\n0 x\n1 3:1 2:1\n0 1:1 4:1\n").unwrap();
    let read = ReadOptions::default();
    let (encoder, report) =
        fit_encoder_streaming(&path, DataFormat::Libsvm, &read, &EncoderOptions::default())
            .unwrap();
    assert_eq!(report.malformed_line_numbers(), vec![2]);
    let options = StreamOptions {
        batch_size: 2,
        shuffle_buffer_rows: 2,
        seed: 0,
        read,
    };
    let mut stream = BatchStream::open(
        &path,
        DataFormat::Libsvm,
        &encoder,
        &options,
        StreamPosition::default(),
    )
    .unwrap();
    let total: usize = stream.by_ref().map(|b| b.unwrap().len()).sum();
    assert_eq!(total, 3);
    assert_eq!(stream.report().malformed_rows, 1);
    let strict = StreamOptions {
        read: ReadOptions {
            strict: true,
            ..ReadOptions::default()
        },
        ..options
    };
    let results: Vec<_> = BatchStream::open(
        &path,
        DataFormat::Libsvm,
        &encoder,
        &strict,
        StreamPosition::default(),
    )
    .unwrap()
    .collect();
    assert_eq!(results.len(), 1, "the stream ends after its error");
    assert!(results[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("a.libsvm:2:"));
    let zero = StreamOptions {
        batch_size: 0,
        ..StreamOptions::default()
    };
    assert!(BatchStream::open(
        &path,
        DataFormat::Libsvm,
        &encoder,
        &zero,
        StreamPosition::default()
    )
    .is_err());
}

#[test]
fn fit_and_encode_are_identical_with_one_and_two_threads() {
    let (rows, _) = recpim_model::data::generate(SyntheticShape::Criteo, 20_000, 6);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let encoder = Encoder::fit(
                &rows,
                &EncoderOptions {
                    min_count: 2,
                    max_table_rows: 1000,
                },
            )
            .unwrap();
            let data = encoder.encode(&rows).unwrap();
            (encoder.to_json().unwrap(), data)
        })
    };
    let (json1, data1) = run(1);
    let (json2, data2) = run(2);
    assert_eq!(json1, json2);
    assert_eq!(data1, data2);
}
