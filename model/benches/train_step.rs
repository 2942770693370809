//! Training speed of the NASRec networks (issue 3 item 7): one `train_step` (forward, backward,
//! clip, Adagrad) of the Criteo-Full and Criteo-Small genotypes at batch 256 and 1024 with
//! 10,000-row tables, on 1 and 2 threads; and a supernet sampled step against the standalone step
//! of the same subnet. Samples/s = batch / time per step. Before the benchmarks it prints each
//! model's forward multiply-adds per example (for GFLOP/s) and at the end the peak resident memory.

use divan::Bencher;
use recpim_model::net::{build_nasrec, ModelOptions, Supernet};
use recpim_model::{CtrModel, StepHyper};

mod bench_support;
use bench_support::{batch, genotype, model, schema};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[divan::bench(args = ["xlarge", "autoctr"], consts = [256, 1024])]
fn standalone_1_thread<const B: usize>(bencher: Bencher, space: &str) {
    let mut m = model(space);
    let data = batch(B, 1);
    let p = pool(1);
    let hyper = StepHyper::default();
    bencher.bench_local(|| p.install(|| m.train_step(&data, &hyper)));
}

#[divan::bench(args = ["xlarge", "autoctr"], consts = [256, 1024])]
fn standalone_2_threads<const B: usize>(bencher: Bencher, space: &str) {
    let mut m = model(space);
    let data = batch(B, 1);
    let p = pool(2);
    let hyper = StepHyper::default();
    bencher.bench_local(|| p.install(|| m.train_step(&data, &hyper)));
}

#[divan::bench(args = ["xlarge", "autoctr"])]
fn predict_256_2_threads(bencher: Bencher, space: &str) {
    let m = model(space);
    let data = batch(256, 1);
    let p = pool(2);
    bencher.bench_local(|| p.install(|| m.predict_logits(&data)));
}

#[divan::bench(args = ["xlarge", "autoctr"])]
fn supernet_subnet_step_256_2_threads(bencher: Bencher, space: &str) {
    let opts = ModelOptions {
        layernorm: true,
        operator_balancing: true,
    };
    let space_id =
        recpim_model::genotype::SearchSpace::from_name(space).unwrap_or_else(|| panic!("{space}"));
    let mut net = Supernet::new(space_id, &schema(), &opts, 0).unwrap_or_else(|e| panic!("{e}"));
    let g = genotype(space);
    let data = batch(256, 1);
    let p = pool(2);
    let hyper = StepHyper::default();
    bencher.bench_local(|| p.install(|| net.train_step_subnet(&g, &data, &hyper)));
}

#[divan::bench(args = ["xlarge", "autoctr"])]
fn standalone_ln_step_256_2_threads(bencher: Bencher, space: &str) {
    let opts = ModelOptions {
        layernorm: true,
        operator_balancing: true,
    };
    let mut m =
        build_nasrec(&genotype(space), &schema(), &opts, 0).unwrap_or_else(|e| panic!("{e}"));
    let data = batch(256, 1);
    let p = pool(2);
    let hyper = StepHyper::default();
    bencher.bench_local(|| p.install(|| m.train_step(&data, &hyper)));
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Process CPU seconds (user + system, all threads) from /proc/self/stat.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Wall and CPU time of `steps` training steps: on a shared machine the CPU time per step is
/// the fairer figure (samples per CPU-second times threads is the throughput if the cores
/// were ours alone and scaling were perfect).
fn cpu_time_table() {
    println!("space    batch threads  wall samples/s  samples/CPU-s  GMAC/CPU-s(fwd+bwd=3x fwd)");
    for space in ["xlarge", "autoctr"] {
        for b in [256usize, 1024] {
            for threads in [1usize, 2] {
                let mut m = model(space);
                let data = batch(b, 1);
                let p = pool(threads);
                let hyper = StepHyper::default();
                p.install(|| m.train_step(&data, &hyper));
                let steps = 8192 / b;
                let (c0, w0) = (cpu_seconds().unwrap_or(0.0), std::time::Instant::now());
                for _ in 0..steps {
                    p.install(|| m.train_step(&data, &hyper));
                }
                let wall = w0.elapsed().as_secs_f64();
                let cpu = cpu_seconds().unwrap_or(0.0) - c0;
                let samples = (steps * b) as f64;
                let per_cpu = samples / cpu.max(1e-9);
                let gmac = per_cpu * 3.0 * m.forward_macs_per_example() as f64 / 1e9;
                println!(
                    "{space:8} {b:5} {threads:7} {:15.0} {per_cpu:14.0} {gmac:10.2}",
                    samples / wall
                );
            }
        }
    }
    println!("supernet subnet step vs standalone step of the same genotype (LayerNorm on, batch 256, 2 threads)");
    println!("space    model        wall samples/s  samples/CPU-s");
    let opts = ModelOptions {
        layernorm: true,
        operator_balancing: true,
    };
    for space in ["xlarge", "autoctr"] {
        let g = genotype(space);
        let data = batch(256, 1);
        let p = pool(2);
        let hyper = StepHyper::default();
        let space_id = recpim_model::genotype::SearchSpace::from_name(space)
            .unwrap_or_else(|| panic!("{space}"));
        let mut sn = Supernet::new(space_id, &schema(), &opts, 0).unwrap_or_else(|e| panic!("{e}"));
        let mut alone = build_nasrec(&g, &schema(), &opts, 0).unwrap_or_else(|e| panic!("{e}"));
        for (name, is_super) in [("supernet", true), ("standalone", false)] {
            let mut step = || {
                if is_super {
                    sn.train_step_subnet(&g, &data, &hyper)
                        .map(|_| ())
                        .unwrap_or_else(|e| panic!("{e}"));
                } else {
                    alone.train_step(&data, &hyper);
                }
            };
            p.install(&mut step);
            let (c0, w0) = (cpu_seconds().unwrap_or(0.0), std::time::Instant::now());
            for _ in 0..16 {
                p.install(&mut step);
            }
            let wall = w0.elapsed().as_secs_f64();
            let cpu = cpu_seconds().unwrap_or(0.0) - c0;
            println!(
                "{space:8} {name:12} {:15.0} {:14.0}",
                16.0 * 256.0 / wall,
                16.0 * 256.0 / cpu.max(1e-9)
            );
        }
    }
    if let Some(kb) = peak_rss_kb() {
        println!(
            "peak resident memory (VmHWM): {:.1} MiB",
            kb as f64 / 1024.0
        );
    }
}

fn main() {
    for space in ["xlarge", "autoctr"] {
        let m = model(space);
        let c = m.param_counts();
        println!(
            "{space}: forward MACs/example = {}, dense params = {}, embedding params = {}",
            m.forward_macs_per_example(),
            c.dense,
            c.embedding
        );
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        // `--profile SPACE BATCH STEPS [THREADS]`: one configuration (default one thread), for
        // `perf record` and quick A/B runs.
        let space = args.get(i + 1).map_or("xlarge", String::as_str);
        let b: usize = args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(256);
        let steps: usize = args.get(i + 3).and_then(|v| v.parse().ok()).unwrap_or(100);
        let threads: usize = args.get(i + 4).and_then(|v| v.parse().ok()).unwrap_or(1);
        let mut m = model(space);
        let data = batch(b, 1);
        let p = pool(threads);
        let hyper = StepHyper::default();
        p.install(|| m.train_step(&data, &hyper));
        let c0 = cpu_seconds().unwrap_or(0.0);
        let w0 = std::time::Instant::now();
        // Per-step wall times too: on a shared host the median and the fastest step show
        // the code's speed through other tenants' bursts better than the mean.
        let mut step_s: Vec<f64> = (0..steps)
            .map(|_| {
                let t = std::time::Instant::now();
                p.install(|| m.train_step(&data, &hyper));
                t.elapsed().as_secs_f64()
            })
            .collect();
        let wall = w0.elapsed().as_secs_f64();
        let cpu = cpu_seconds().unwrap_or(0.0) - c0;
        let samples = (steps * b) as f64;
        step_s.sort_by(f64::total_cmp);
        let median = step_s.get(steps / 2).copied().unwrap_or(f64::NAN);
        let fastest = step_s.first().copied().unwrap_or(f64::NAN);
        println!(
            "{space} batch {b}, {threads} thread(s): {steps} steps, {:.0} samples/s wall, {:.0} samples/CPU-s, median step {:.0}, fastest step {:.0} samples/s",
            samples / wall,
            samples / cpu.max(1e-9),
            b as f64 / median,
            b as f64 / fastest
        );
        return;
    }
    if args.iter().any(|a| a == "--cpu-time") {
        cpu_time_table();
        return;
    }
    divan::main();
    if let Some(kb) = peak_rss_kb() {
        println!(
            "peak resident memory (VmHWM): {:.1} MiB",
            kb as f64 / 1024.0
        );
    }
}
