//! Readers: every format on the real samples in /work/shared/data (skipped when absent),
//! transparent gzip/zstd, malformed rows with exact line numbers, strict mode.

use recpim_model::data::{read_rows, DataFormat, RawRows, ReadOptions, MISSING_KEY};
use recpim_model::ModelError;
use std::io::Write;
use std::path::{Path, PathBuf};

fn shared(name: &str) -> Option<PathBuf> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} not present", path.display());
        None
    }
}

fn read(path: &Path, format: DataFormat) -> RawRows {
    let (rows, report) = read_rows(path, format, &ReadOptions::default()).expect("readable sample");
    assert_eq!(report.malformed_rows, 0, "{report}");
    assert_eq!(report.rows_read, rows.len() as u64);
    rows
}

/// Row-by-row equality that treats NaN (missing dense) as equal to NaN.
fn assert_same_rows(a: &RawRows, b: &RawRows) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.n_dense(), b.n_dense());
    assert_eq!(a.n_sparse(), b.n_sparse());
    assert_eq!(a.labels(), b.labels());
    for i in 0..a.len() {
        assert_eq!(a.sparse_row(i), b.sparse_row(i), "row {i}");
        for (x, y) in a.dense_row(i).iter().zip(b.dense_row(i)) {
            assert!(x == y || (x.is_nan() && y.is_nan()), "row {i}: {x} vs {y}");
        }
    }
}

fn positives(rows: &RawRows) -> usize {
    rows.labels().iter().filter(|&&y| y == 1.0).count()
}

#[test]
fn criteo_tsv_sample_parses_with_golden_first_row() {
    let Some(path) = shared("deepctr_criteo_sample.tsv") else {
        return;
    };
    let rows = read(&path, DataFormat::Criteo);
    // data/README.md: 200 rows, positive rate 0.245.
    assert_eq!(rows.len(), 200);
    assert_eq!(positives(&rows), 49);
    assert_eq!((rows.n_dense(), rows.n_sparse()), (13, 26));
    // First line: "0\t\t3\t260\t\t17668\t..." and C1 = 05db9164, C20 empty.
    assert_eq!(rows.labels()[0], 0.0);
    let dense = rows.dense_row(0);
    assert!(dense[0].is_nan());
    assert_eq!(&dense[1..3], &[3.0, 260.0]);
    assert_eq!(dense[4], 17668.0);
    let sparse = rows.sparse_row(0);
    assert_eq!(sparse[0], 0x05db_9164);
    assert_eq!(sparse[1], 0x08d6_d899);
    assert_eq!(sparse[19], MISSING_KEY);
    // Second row has I2 = -1: kept raw (the encoder clamps at 0).
    assert_eq!(rows.dense_row(1)[1], -1.0);
}

#[test]
fn criteo_csv_reads_the_same_rows_as_the_tsv() {
    let (Some(csv), Some(tsv)) = (
        shared("deepctr_criteo_sample.csv"),
        shared("deepctr_criteo_sample.tsv"),
    ) else {
        return;
    };
    assert_same_rows(
        &read(&csv, DataFormat::CriteoCsv),
        &read(&tsv, DataFormat::Criteo),
    );
}

#[test]
fn avazu_sample_drops_id_by_default_and_keeps_it_on_request() {
    let Some(path) = shared("deepctr_avazu_sample.csv") else {
        return;
    };
    let rows = read(&path, DataFormat::Avazu);
    assert_eq!(rows.len(), 100);
    assert_eq!(positives(&rows), 20); // README: positive rate 0.20
    assert_eq!((rows.n_dense(), rows.n_sparse()), (1, 22));
    assert!(
        rows.dense_row(0).iter().all(|&x| x == 0.0),
        "NASRec's all-zero pseudo dense feature"
    );
    // First row: hour 14102100, C1 1005, banner_pos 0, site_id 1fbe01fe (hex fallback).
    assert_eq!(
        &rows.sparse_row(0)[..4],
        &[14_102_100, 1005, 0, 0x1fbe_01fe]
    );
    let options = ReadOptions {
        avazu_keep_id: true,
        ..ReadOptions::default()
    };
    let (with_id, _) = read_rows(&path, DataFormat::Avazu, &options).unwrap();
    assert_eq!(with_id.n_sparse(), 23);
    assert_eq!(with_id.sparse_row(0)[0], 1_000_009_418_151_094_273);
    assert_eq!(&with_id.sparse_row(0)[1..], rows.sparse_row(0));
}

#[test]
fn kdd_sample_maps_click_impression_depth_position() {
    let Some(path) = shared("kdd12_track2_sample.tsv") else {
        return;
    };
    let rows = read(&path, DataFormat::Kdd);
    assert_eq!(rows.len(), 11);
    assert_eq!(positives(&rows), 0); // README: all 11 rows have Click=0
    assert_eq!((rows.n_dense(), rows.n_sparse()), (3, 8));
    // "0 1 4298118681424644510 7686695 385 3 3 1601 5521 7709 576 490234"
    assert_eq!(rows.dense_row(0), &[1.0, 3.0, 3.0]);
    assert_eq!(
        rows.sparse_row(0),
        &[
            4_298_118_681_424_644_510,
            7_686_695,
            385,
            1601,
            5521,
            7709,
            576,
            490_234
        ]
    );
}

#[test]
fn frappe_libsvm_has_ten_one_hot_fields() {
    let Some(path) = shared("frappe_valid.libsvm") else {
        return;
    };
    let rows = read(&path, DataFormat::Libsvm);
    assert_eq!(rows.len(), 57_722);
    assert_eq!((rows.n_dense(), rows.n_sparse()), (0, 10));
    let rate = rows.positive_rate();
    assert!(
        (rate - 0.330).abs() < 0.005,
        "README: positive rate 0.330, got {rate}"
    );
    assert_eq!(rows.labels()[0], 1.0);
    assert_eq!(
        rows.sparse_row(0),
        &[266, 1244, 5042, 5049, 5054, 5055, 5058, 5062, 5074, 5149]
    );
    for i in 0..rows.len() {
        assert!(
            rows.sparse_row(i).iter().all(|&k| k < 5382),
            "README: global index 0..5381"
        );
    }
}

#[test]
fn xlearn_libffm_fields_come_from_the_field_number() {
    let Some(path) = shared("xlearn_criteo_ffm_small_train.txt") else {
        return;
    };
    let rows = read(&path, DataFormat::Libffm);
    assert_eq!(rows.len(), 200);
    assert_eq!(rows.n_sparse(), 18); // README: fields 0..17
    assert_eq!(positives(&rows), 48); // README: positive rate 0.24
                                      // "1 0:0:0.3651 2:1163:0.3651 ... 17:2434:0.50000 16:7755:0.50000": field 1 absent.
                                      // Line 9 repeats field 17 ("17:5398 17:2434 17:3723"): the first is kept.
    assert_eq!(rows.sparse_row(8)[17], 5398);
    let first = rows.sparse_row(0);
    assert_eq!(first[0], 0);
    assert_eq!(first[1], MISSING_KEY);
    assert_eq!(first[2], 1163);
    assert_eq!(first[16], 7755);
    assert_eq!(first[17], 2434);
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn gzip_and_zstd_read_transparently_by_magic_bytes() {
    let Some(path) = shared("deepctr_criteo_sample.tsv") else {
        return;
    };
    let plain = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let expected = read(&path, DataFormat::Criteo);
    // Named by extension, and misnamed (detection is by content).
    for (name, bytes) in [
        ("a.tsv.gz", &gz),
        ("a.tsv.zst", &zst),
        ("gz_named.txt", &gz),
        ("zst_named.bin", &zst),
    ] {
        let file = write_file(dir.path(), name, bytes);
        assert_same_rows(&read(&file, DataFormat::Criteo), &expected);
    }
}

#[test]
fn truncated_gzip_is_an_io_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"1 3:1 4:1\n".repeat(2000)).unwrap();
    let bytes = gz.finish().unwrap();
    let file = write_file(dir.path(), "cut.gz", &bytes[..bytes.len() / 2]);
    let err = read_rows(&file, DataFormat::Libsvm, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err}");
    assert!(err.to_string().contains("cut.gz"));
}

/// A Criteo line with `label`, 13 dense and 26 categorical columns.
fn criteo_line(label: &str, first_dense: &str) -> Vec<u8> {
    let mut cols = vec![label.to_string(), first_dense.to_string()];
    cols.extend((1..13).map(|i| i.to_string()));
    cols.extend((0..26).map(|i| format!("{:08x}", 0xabc0 + i)));
    cols.join("\t").into_bytes()
}

fn malformed_criteo_file(dir: &Path) -> PathBuf {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    lines.push(criteo_line("1", "5")); // 1 ok
    let good = criteo_line("0", "7");
    lines.push(good[..good.len() / 2].to_vec()); // 2 truncated: too few columns
    lines.push(criteo_line("2", "7")); // 3 bad label
    lines.push(criteo_line("0", "abc")); // 4 unparsable number
    let mut garbage = criteo_line("0", "7");
    garbage[30] = 0xff; // 5 invalid UTF-8
    garbage[31] = 0xfe;
    lines.push(garbage);
    lines.push(criteo_line("0", "")); // 6 ok (missing dense)
    lines.push(Vec::new()); // 7 empty line
    let mut long = criteo_line("1", "1");
    long.extend_from_slice(b"\textra");
    lines.push(long); // 8 too many columns
    lines.push(criteo_line("1", "-3")); // 9 ok, no trailing newline
    let mut bytes = lines.join(&b'\n');
    bytes.truncate(bytes.len());
    write_file(dir, "bad.tsv", &bytes)
}

#[test]
fn malformed_rows_are_counted_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = malformed_criteo_file(dir.path());
    let (rows, report) = read_rows(&path, DataFormat::Criteo, &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows.labels(), &[1.0, 0.0, 1.0]);
    assert_eq!(report.rows_read, 3);
    assert_eq!(report.malformed_rows, 6);
    assert_eq!(report.malformed_line_numbers(), vec![2, 3, 4, 5, 7, 8]);
    let messages: Vec<&str> = report
        .first_malformed
        .iter()
        .map(|m| m.message.as_str())
        .collect();
    assert!(
        messages[0].contains("columns, expected 40"),
        "{}",
        messages[0]
    );
    assert!(messages[1].contains("label \"2\""), "{}", messages[1]);
    assert!(
        messages[2].contains("\"abc\" is not a number"),
        "{}",
        messages[2]
    );
    assert!(messages[3].contains("UTF-8"), "{}", messages[3]);
    assert!(messages[4].contains("empty line"), "{}", messages[4]);
    assert!(messages[5].contains("41 columns"), "{}", messages[5]);

    let few = ReadOptions {
        keep_malformed_lines: 2,
        ..ReadOptions::default()
    };
    let (_, report) = read_rows(&path, DataFormat::Criteo, &few).unwrap();
    assert_eq!(report.malformed_rows, 6);
    assert_eq!(report.malformed_line_numbers(), vec![2, 3]);
    assert!(report.to_string().contains("... and 4 more"));
}

#[test]
fn strict_mode_stops_at_the_first_malformed_row_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = malformed_criteo_file(dir.path());
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    match read_rows(&path, DataFormat::Criteo, &strict) {
        Err(ModelError::MalformedRow {
            path: p,
            line,
            message,
        }) => {
            assert_eq!(p, path);
            assert_eq!(line, 2);
            assert!(message.contains("columns"));
        }
        other => panic!("expected MalformedRow, got {other:?}"),
    }
    let text = read_rows(&path, DataFormat::Criteo, &strict)
        .unwrap_err()
        .to_string();
    assert!(text.contains("bad.tsv:2:"), "{text}");
}

#[test]
fn max_rows_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "a.svm", b"1 1:1\n0 2:1\n1 3:1\n");
    let options = ReadOptions {
        max_rows: Some(2),
        ..ReadOptions::default()
    };
    let (rows, _) = read_rows(&path, DataFormat::Libsvm, &options).unwrap();
    assert_eq!(rows.labels(), &[1.0, 0.0]);
}

#[test]
fn libsvm_and_libffm_bad_rows_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let svm = write_file(
        dir.path(),
        "a.libsvm",
        b"1 5:1 7:1\n0 5:1 x\n-1 9:1 4:0\n+1 2:0.5 3:1 8:1\n3 1:1\n1 1:nan\n",
    );
    let (rows, report) = read_rows(&svm, DataFormat::Libsvm, &ReadOptions::default()).unwrap();
    assert_eq!(report.malformed_line_numbers(), vec![2, 5, 6]);
    assert_eq!(
        rows.n_sparse(),
        3,
        "the widest row has 3 pairs; earlier rows are padded"
    );
    assert_eq!(rows.labels(), &[1.0, 0.0, 1.0]);
    assert_eq!(rows.sparse_row(0), &[5, 7, MISSING_KEY]);
    assert_eq!(
        rows.sparse_row(1),
        &[9, MISSING_KEY, MISSING_KEY],
        "value 0 = absent"
    );
    assert_eq!(
        rows.sparse_row(2),
        &[2, 3, 8],
        "non-1 values switch the feature on"
    );

    let ffm = write_file(
        dir.path(),
        "a.ffm",
        b"1 0:3:1 2:9:0.4\n0 1:4:1 1:5:1\n1 0:1\n0 99999:1:1\n1 3:7:1\n0 1:x:1\n",
    );
    let (rows, report) = read_rows(&ffm, DataFormat::Libffm, &ReadOptions::default()).unwrap();
    assert_eq!(report.malformed_line_numbers(), vec![3, 4, 6]);
    assert_eq!(rows.n_sparse(), 4);
    assert_eq!(rows.sparse_row(0), &[3, MISSING_KEY, 9, MISSING_KEY]);
    assert_eq!(
        rows.sparse_row(1),
        &[MISSING_KEY, 4, MISSING_KEY, MISSING_KEY],
        "multi-hot field keeps its first"
    );
    assert_eq!(
        rows.sparse_row(2),
        &[MISSING_KEY, MISSING_KEY, MISSING_KEY, 7]
    );
}

#[test]
fn avazu_and_kdd_bad_rows_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let avazu = write_file(
        dir.path(),
        "a.csv",
        b"id,click,hour,C1\n1,0,14102100,1005\n2,1,14102100\n3,x,1,2\n4,1,,7\n",
    );
    let (rows, report) = read_rows(&avazu, DataFormat::Avazu, &ReadOptions::default()).unwrap();
    assert_eq!(report.malformed_line_numbers(), vec![3, 4]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.sparse_row(1), &[MISSING_KEY, 7]);

    let no_click = write_file(dir.path(), "b.csv", b"id,hour,C1\n1,2,3\n");
    let err = read_rows(&no_click, DataFormat::Avazu, &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("b.csv:1:") && err.to_string().contains("click"),
        "{err}"
    );
    let empty = write_file(dir.path(), "c.csv", b"");
    assert!(read_rows(&empty, DataFormat::Avazu, &ReadOptions::default()).is_err());

    let kdd = write_file(
        dir.path(),
        "k.txt",
        b"2\t3\t1\t2\t3\t1\t1\t4\t5\t6\t7\t8\n-1\t3\t1\t2\t3\t1\t1\t4\t5\t6\t7\t8\n0\t1\t1\n",
    );
    let (rows, report) = read_rows(&kdd, DataFormat::Kdd, &ReadOptions::default()).unwrap();
    assert_eq!(rows.labels(), &[1.0], "label = click > 0");
    assert_eq!(report.malformed_line_numbers(), vec![2, 3]);
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_rows(
        Path::new("/nonexistent/x.tsv"),
        DataFormat::Criteo,
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/x.tsv"));
}

#[test]
fn format_names_parse_and_unknown_ones_are_rejected() {
    for format in recpim_model::data::ALL_FORMATS {
        assert_eq!(format.name().parse::<DataFormat>().unwrap(), format);
    }
    let err = "parquet".parse::<DataFormat>().unwrap_err();
    assert!(err
        .to_string()
        .contains("criteo, criteo-csv, avazu, kdd, libsvm, libffm"));
}
