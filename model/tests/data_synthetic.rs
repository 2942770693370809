//! The synthetic generator: determinism, file = in-memory rows, calibration, Bayes log loss.

use recpim_model::data::synthetic::{read_true_p, true_p_path};
use recpim_model::data::{
    bayes_logloss, constant_logloss, generate, load_synthetic, logloss, read_rows, write_synthetic,
    LoadOptions, ReadOptions, SyntheticShape,
};

const SHAPES: [SyntheticShape; 3] = [
    SyntheticShape::Criteo,
    SyntheticShape::Avazu,
    SyntheticShape::Kdd,
];

#[test]
fn same_seed_same_rows_other_seed_other_rows_and_prefix_stable() {
    for shape in SHAPES {
        let (a, pa) = generate(shape, 500, 3);
        let (b, pb) = generate(shape, 500, 3);
        assert_eq!(pa, pb);
        assert_eq!(a.labels(), b.labels());
        for i in 0..a.len() {
            assert_eq!(a.sparse_row(i), b.sparse_row(i));
        }
        let (c, pc) = generate(shape, 500, 4);
        assert_ne!(pa, pc);
        assert_ne!(a.sparse_row(0), c.sparse_row(0));
        let (short, ps) = generate(shape, 100, 3);
        assert_eq!(&pa[..100], &ps[..]);
        assert_eq!(&a.labels()[..100], short.labels());
    }
}

#[test]
fn written_files_read_back_as_the_in_memory_rows_and_are_byte_identical_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    for shape in SHAPES {
        let path = dir.path().join(format!("{shape}.data"));
        let summary = write_synthetic(shape, 800, 5, &path).unwrap();
        let copy = dir.path().join(format!("{shape}.copy"));
        write_synthetic(shape, 800, 5, &copy).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&copy).unwrap(),
            "{shape}: same bytes"
        );
        let (rows, report) = read_rows(&path, shape.format(), &ReadOptions::default()).unwrap();
        assert_eq!(report.malformed_rows, 0, "{report}");
        let (expected, p) = generate(shape, 800, 5);
        assert_eq!(
            (rows.n_dense(), rows.n_sparse()),
            (expected.n_dense(), expected.n_sparse())
        );
        assert_eq!(rows.labels(), expected.labels());
        for i in 0..rows.len() {
            assert_eq!(
                rows.sparse_row(i),
                expected.sparse_row(i),
                "{shape} row {i}"
            );
            for (x, y) in rows.dense_row(i).iter().zip(expected.dense_row(i)) {
                assert!(
                    x == y || (x.is_nan() && y.is_nan()),
                    "{shape} row {i}: {x} vs {y}"
                );
            }
        }
        assert_eq!(read_true_p(&true_p_path(&path)).unwrap(), p);
        assert!((summary.bayes_logloss - bayes_logloss(rows.labels(), &p).unwrap()).abs() < 1e-9);
    }
}

#[test]
fn calibrated_positive_rate_and_bayes_logloss_beats_the_constant_predictor() {
    for shape in SHAPES {
        let (rows, p) = generate(shape, 20_000, 1);
        let rate = rows.positive_rate();
        assert!((rate - 0.25).abs() < 0.02, "{shape}: positive rate {rate}");
        let mean_p = p.iter().map(|&x| f64::from(x)).sum::<f64>() / p.len() as f64;
        assert!(
            (mean_p - rate).abs() < 0.02,
            "{shape}: mean true p {mean_p} vs rate {rate}"
        );
        let bayes = bayes_logloss(rows.labels(), &p).unwrap();
        let constant = constant_logloss(rows.labels()).unwrap();
        assert!(
            bayes < constant - 0.03,
            "{shape}: Bayes {bayes} vs constant {constant}"
        );
    }
}

#[test]
fn categoricals_are_zipf_skewed_with_shuffled_ids() {
    let (rows, _) = generate(SyntheticShape::Criteo, 20_000, 2);
    // Field C3 (200,000 values, exponent 1.05): the most frequent id is common, and ids are not
    // small integers in rank order.
    let mut counts = std::collections::HashMap::new();
    for i in 0..rows.len() {
        *counts.entry(rows.sparse_row(i)[2]).or_insert(0usize) += 1;
    }
    let (&top_key, &top) = counts.iter().max_by_key(|(_, &c)| c).unwrap();
    assert!(top > 1000, "head value count {top}");
    assert!(counts.len() > 2000, "long tail: {} distinct", counts.len());
    assert!(top_key > 1000, "ids are permuted, not ranks");
}

#[test]
fn logloss_golden_and_errors() {
    // -(ln 0.8 + ln 0.6) / 2 = 0.366985...
    let value = logloss(&[1.0, 0.0], &[0.8, 0.4]).unwrap();
    assert!((value - 0.366_985_0).abs() < 1e-6, "{value}");
    assert!(logloss(&[1.0], &[0.5, 0.5]).is_err());
    assert!(logloss(&[], &[]).is_err());
    assert!(logloss(&[1.0], &[0.0]).unwrap().is_finite(), "clipped");
}

#[test]
fn load_synthetic_gives_splits_with_their_true_probabilities() {
    let data = load_synthetic(SyntheticShape::Criteo, 5000, 7, &LoadOptions::default()).unwrap();
    let truth = data.true_p.unwrap();
    let test = data.test.unwrap();
    assert_eq!(data.train.len() + data.val.len() + test.len(), 5000);
    assert_eq!(
        (truth.train.len(), truth.val.len(), truth.test.len()),
        (data.train.len(), data.val.len(), test.len())
    );
    assert_eq!(data.train.schema(), &data.encoder.schema());
    assert_eq!(data.encoder.schema().n_dense, 13);
    let bayes = bayes_logloss(test.labels().as_slice().unwrap(), &truth.test).unwrap();
    assert!(bayes < constant_logloss(test.labels().as_slice().unwrap()).unwrap());
}
