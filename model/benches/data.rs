//! Parse + encode throughput of the data readers (rows/s): a 200,000-row synthetic Criteo TSV
//! and the real Frappe libsvm file (57,722 rows) when present.
//!
//! Run: `cargo bench -p recpim-model --bench data -- --sample-count 10`

use recpim_model::data::{
    generate, read_rows, write_synthetic, DataFormat, Encoder, EncoderOptions, ReadOptions,
    SyntheticShape,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CRITEO_ROWS: u64 = 200_000;

fn main() {
    divan::main();
}

/// The synthetic Criteo file, written once per bench process.
fn criteo_file() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("criteo.tsv");
        write_synthetic(SyntheticShape::Criteo, CRITEO_ROWS, 1, &path).expect("write synthetic");
        (dir, path)
    });
    path
}

fn parse_and_encode(path: &Path, format: DataFormat) -> usize {
    let (rows, _) = read_rows(path, format, &ReadOptions::default()).expect("readable");
    let encoder = Encoder::fit(&rows, &EncoderOptions::default()).expect("fit");
    encoder.encode(&rows).expect("encode").len()
}

#[divan::bench(sample_count = 10)]
fn criteo_tsv_parse_encode(bencher: divan::Bencher) {
    let path = criteo_file();
    bencher
        .counter(divan::counter::ItemsCount::new(CRITEO_ROWS))
        .bench(|| parse_and_encode(divan::black_box(path), DataFormat::Criteo));
}

#[divan::bench(sample_count = 10)]
fn criteo_tsv_parse_only(bencher: divan::Bencher) {
    let path = criteo_file();
    bencher
        .counter(divan::counter::ItemsCount::new(CRITEO_ROWS))
        .bench(|| {
            read_rows(
                divan::black_box(path),
                DataFormat::Criteo,
                &ReadOptions::default(),
            )
            .map(|(r, _)| r.len())
        });
}

#[divan::bench(sample_count = 10)]
fn frappe_libsvm_parse_encode(bencher: divan::Bencher) {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/frappe_valid.libsvm"
    ));
    if !path.exists() {
        eprintln!("skipping: {} not present", path.display());
        return;
    }
    bencher
        .counter(divan::counter::ItemsCount::new(57_722usize))
        .bench(|| parse_and_encode(divan::black_box(path), DataFormat::Libsvm));
}

#[divan::bench(sample_count = 10)]
fn synthetic_criteo_in_memory(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(100_000usize))
        .bench(|| {
            generate(SyntheticShape::Criteo, divan::black_box(100_000), 1)
                .1
                .len()
        });
}
