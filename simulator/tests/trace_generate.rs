//! Lookup traces: shapes, skew, shuffled ids, determinism, CSV round trip and bad input.

use recpim_sim::trace::{
    generate, read_trace, write_trace, IdPermutation, LookupTrace, TraceError, TraceShape,
    TraceSpec, DCNV2_POOLING,
};
use std::collections::HashMap;

fn spec(shape: TraceShape, seed: u64) -> TraceSpec {
    TraceSpec::new(shape, 2, 16, seed)
}

#[test]
fn dcnv2_uses_the_mlperf_multi_hot_sizes_and_criteo_is_one_hot() {
    // baselines.md §4.1: the DCNv2 multi-hot sizes sum to 214 lookups per sample.
    assert_eq!(DCNV2_POOLING.iter().sum::<u32>(), 214);
    let trace = generate(&spec(TraceShape::Dcnv2, 1)).unwrap();
    assert_eq!(trace.lookups.len(), 2 * 16 * 214);
    assert_eq!(trace.sls_ops(), 2 * 16 * 26);
    let in_table_20 = trace.lookups.iter().filter(|l| l.table == 20).count();
    assert_eq!(in_table_20, 2 * 16 * 100);
    let criteo = generate(&spec(TraceShape::Criteo, 1)).unwrap();
    assert_eq!(criteo.lookups.len(), 2 * 16 * 26);
    assert_eq!(criteo.sls_ops(), criteo.lookups.len());
    assert_eq!(
        generate(&spec(TraceShape::Avazu, 1))
            .unwrap()
            .table_rows
            .len(),
        23
    );
    assert_eq!(
        generate(&spec(TraceShape::Kdd, 1))
            .unwrap()
            .table_rows
            .len(),
        10
    );
    for trace in [&trace, &criteo] {
        for lookup in &trace.lookups {
            assert!(lookup.row < trace.table_rows[lookup.table as usize]);
        }
    }
}

#[test]
fn pooling_override_applies_to_every_table() {
    let mut spec = spec(TraceShape::Criteo, 3);
    spec.pooling_override = Some(5);
    let trace = generate(&spec).unwrap();
    assert_eq!(trace.lookups.len(), 2 * 16 * 26 * 5);
    assert_eq!(trace.sls_ops(), 2 * 16 * 26);
}

#[test]
fn same_seed_gives_the_same_trace_and_other_seeds_differ() {
    let a = generate(&spec(TraceShape::Dcnv2, 42)).unwrap();
    let b = generate(&spec(TraceShape::Dcnv2, 42)).unwrap();
    let c = generate(&spec(TraceShape::Dcnv2, 43)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn big_tables_are_skewed_small_tables_are_uniform() {
    // Table 0 of DCNv2 has 40M rows (Zipf 1.05): a few ids take a large share of lookups.
    let mut spec = TraceSpec::new(TraceShape::Criteo, 1, 4000, 5);
    spec.pooling_override = Some(1);
    let trace = generate(&spec).unwrap();
    let mut counts: HashMap<(u32, u64), u32> = HashMap::new();
    for lookup in &trace.lookups {
        *counts.entry((lookup.table, lookup.row)).or_insert(0) += 1;
    }
    // Criteo table 2 has 10,131,227 rows: uniform sampling would almost never repeat a row
    // in 4000 draws; Zipf(1.05) puts several percent of the mass on its top id.
    let top_big = counts
        .iter()
        .filter(|((t, _), _)| *t == 2)
        .map(|(_, &c)| c)
        .max()
        .unwrap();
    assert!(
        top_big > 200,
        "top row of a 10M-row Zipf table drew {top_big} of 4000"
    );
    // Criteo table 0 has 1460 rows (< 10k => uniform): expected 2.7 draws per row.
    let top_small = counts
        .iter()
        .filter(|((t, _), _)| *t == 0)
        .map(|(_, &c)| c)
        .max()
        .unwrap();
    assert!(
        top_small < 20,
        "top row of a uniform 1460-row table drew {top_small}"
    );
    // Shuffled ids: the hottest id of the big table is not at the low end of the id space.
    let hottest = counts
        .iter()
        .filter(|((t, _), _)| *t == 2)
        .max_by_key(|(key, &c)| (c, std::cmp::Reverse(key.1)))
        .map(|((_, row), _)| *row)
        .unwrap();
    assert!(
        hottest > 1000,
        "hottest id {hottest} clusters at the start of the table"
    );
}

#[test]
fn id_permutation_is_a_bijection_and_not_the_identity() {
    for n in [1u64, 2, 3, 10, 1000, 4097] {
        let permutation = IdPermutation::new(n, 99);
        let mut images: Vec<u64> = (0..n).map(|i| permutation.apply(i)).collect();
        let fixed = images
            .iter()
            .enumerate()
            .filter(|(i, &v)| *i as u64 == v)
            .count();
        images.sort_unstable();
        assert_eq!(images, (0..n).collect::<Vec<_>>(), "n = {n}");
        if n >= 1000 {
            assert!(fixed < (n / 10) as usize, "n = {n}: {fixed} fixed points");
        }
    }
}

#[test]
fn csv_round_trip_is_exact_and_byte_identical_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let trace = generate(&spec(TraceShape::Dcnv2, 9)).unwrap();
    let first = dir.path().join("a.csv");
    let second = dir.path().join("b.csv");
    write_trace(&trace, &first).unwrap();
    write_trace(&generate(&spec(TraceShape::Dcnv2, 9)).unwrap(), &second).unwrap();
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert_eq!(read_trace(&first).unwrap(), trace);
}

#[test]
fn table_sizes_are_inferred_without_the_table_rows_comment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "batch,sample,table,row\n0,0,0,5\n0,0,1,2\n0,1,0,7\n").unwrap();
    let trace = read_trace(&path).unwrap();
    assert_eq!(trace.table_rows, vec![8, 3]);
    assert_eq!(trace.lookups.len(), 3);
    assert_eq!(trace.sls_ops(), 3);
}

fn parse_error(text: &str) -> TraceError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, text).unwrap();
    read_trace(&path).unwrap_err()
}

#[test]
fn bad_trace_files_name_the_line() {
    let error = parse_error("batch,sample,table,row\n0,0,0,1\n0,0,x,1\n");
    assert!(
        matches!(error, TraceError::Parse { line: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("table"), "{error}");
    let error = parse_error("# table_rows=4,4\nbatch,sample,table,row\n0,0,1,4\n");
    assert!(
        matches!(error, TraceError::Parse { line: 3, .. }),
        "{error}"
    );
    let error = parse_error("# table_rows=4\nbatch,sample,table,row\n0,0,1,0\n");
    assert!(
        error.to_string().contains("table 1 does not exist"),
        "{error}"
    );
    let error = parse_error("a,b\n0,0\n");
    assert!(
        matches!(error, TraceError::Parse { line: 1, .. }),
        "{error}"
    );
    let error = parse_error("batch,sample,table,row\n0,0,0,1,9\n");
    assert!(error.to_string().contains("too many fields"), "{error}");
    assert!(matches!(
        parse_error("batch,sample,table,row\n"),
        TraceError::Empty { .. }
    ));
    let missing = read_trace(std::path::Path::new("/nonexistent/trace.csv")).unwrap_err();
    assert!(matches!(missing, TraceError::Io { .. }));
}

#[test]
fn bad_generator_parameters_are_rejected() {
    let mut zero = spec(TraceShape::Criteo, 1);
    zero.batches = 0;
    assert!(matches!(
        generate(&zero),
        Err(TraceError::InvalidParameter {
            name: "batches",
            ..
        })
    ));
    let mut alpha = spec(TraceShape::Criteo, 1);
    alpha.zipf_alpha = -1.0;
    assert!(matches!(
        generate(&alpha),
        Err(TraceError::InvalidParameter {
            name: "zipf_alpha",
            ..
        })
    ));
    let mut pooling = spec(TraceShape::Criteo, 1);
    pooling.pooling_override = Some(0);
    assert!(matches!(
        generate(&pooling),
        Err(TraceError::InvalidParameter {
            name: "pooling",
            ..
        })
    ));
    assert!(matches!(
        TraceShape::from_name("movielens"),
        Err(TraceError::UnknownShape { .. })
    ));
    let empty = LookupTrace {
        table_rows: vec![],
        lookups: vec![],
    };
    assert_eq!(empty.sls_ops(), 0);
}
