//! Sweep throughput: points of the shipped default space (hwconfigs/sweeps/default.toml, over
//! the NASRec 7-block workload) evaluated with the analytic engine on 1 and 2 threads, and the
//! merge of a sweep's rows.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use divan::counter::ItemsCount;
use divan::Bencher;
use recpim_search::sweep::runner::evaluate_points;
use recpim_search::sweep::{NamedWorkload, SweepEngine, SweepSpace};

fn main() {
    divan::main();
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

static DEFAULT_SPACE: LazyLock<(SweepSpace, Vec<NamedWorkload>)> = LazyLock::new(|| {
    let space =
        SweepSpace::load(&repo("hwconfigs/sweeps/default.toml")).unwrap_or_else(|e| panic!("{e}"));
    let workloads = space.load_workloads().unwrap_or_else(|e| panic!("{e}"));
    (space, workloads)
});

/// Every 10th point of the 10,000-point grid: 1,000 points spread over all axes (the skipped
/// combinations included, as in a real sweep).
fn spread_points() -> Vec<u64> {
    (0..1000).map(|k| k * 10).collect()
}

#[divan::bench(args = [1, 2], sample_count = 10)]
fn default_space_analytic_1000_points(bencher: Bencher, threads: usize) {
    let (space, workloads) = &*DEFAULT_SPACE;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let points = spread_points();
    bencher.counter(ItemsCount::new(points.len())).bench(|| {
        pool.install(|| {
            evaluate_points(space, workloads, SweepEngine::Analytic, &points)
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
}

#[divan::bench(sample_count = 10)]
fn merge_four_shards_of_1000_rows(bencher: Bencher) {
    let (space, workloads) = &*DEFAULT_SPACE;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rows = evaluate_points(space, workloads, SweepEngine::Analytic, &spread_points())
        .unwrap_or_else(|e| panic!("{e}"));
    let header = recpim_search::sweep::runner::header_of(space);
    let mut inputs = Vec::new();
    for shard in 0..4 {
        let fields: Vec<Vec<String>> = rows
            .iter()
            .skip(shard)
            .step_by(4)
            .map(|r| r.fields())
            .collect();
        let refs: Vec<&[String]> = fields.iter().map(Vec::as_slice).collect();
        let path = dir.path().join(format!("shard{shard}")).join("rows.csv");
        std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        recpim_search::sweep::rows::write_table(&path, &header, &refs)
            .unwrap_or_else(|e| panic!("{e}"));
        inputs.push(path);
    }
    let out = dir.path().join("merged.csv");
    bencher.counter(ItemsCount::new(rows.len())).bench(|| {
        recpim_search::sweep::merge_files(&inputs, &out, None).unwrap_or_else(|e| panic!("{e}"))
    });
}
